#pragma once
/**
 * @file The model of a finished run loaded for an evaluation after training (multi-deviation
 * recovery, the compute-matched baseline). Torch header: not for viz/ or widgets/.
 */
#include <cstdint>
#include <memory>
#include <optional>

#include "data/example_source.h"
#include "model/pretrained.h"
#include "train/experiment.h"

namespace nmar::core {

struct PostEvalModel {
  Pretrained pretrained;                   ///< model in eval mode, tokenizer present
  std::int64_t undoId = -1;                ///< the UNDO token
  std::optional<std::int64_t> eosId;       ///< the tokenizer's EOS, if any
  std::unique_ptr<ExampleSource> heldOut;  ///< the config's held-out examples, from its eval seed
};

/**
 * Loads @p checkpoint with the model in eval mode, its UNDO and EOS ids and the held-out stream of
 * @p config (its eval data, or its data, with its eval seed). Throws Error naming @p checkpoint
 * for a checkpoint without tokenizer files or UNDO token, and naming the config file
 * ("FILE: [eval_data]: ...") for bad eval data.
 */
PostEvalModel loadPostEvalModel(const ExperimentConfig& config,
                                const std::filesystem::path& checkpoint);

}  // namespace nmar::core
