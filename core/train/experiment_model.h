#pragma once
/**
 * @file The model of an experiment: loaded from `[model] checkpoint` (with the UNDO token added
 * when missing) or built from a preset with the character tokenizer, on the experiment's device.
 * Torch header: not for viz/ or widgets/.
 */
#include "model/pretrained.h"
#include "train/experiment.h"

namespace nmar::core {

class TrainObserver;

/**
 * Builds or loads the model and tokenizer of @p config (a message goes to @p observer, may be
 * null, when the UNDO token had to be added). Throws Error naming the file and field: a checkpoint
 * without tokenizer files, bf16 on a CPU device, a bad `[model] config`.
 */
Pretrained buildExperimentModel(const ExperimentConfig& config, TrainObserver* observer);

/** A frozen copy of @p model (same config and weights, eval mode, no gradients). */
Transformer frozenCopy(const Transformer& model);

}  // namespace nmar::core
