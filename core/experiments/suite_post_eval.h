#pragma once
/**
 * @file Evaluations a suite runs on a finished run's final checkpoint, beyond what the trainer's
 * evaluator measures: recovery from several forced deviations in one answer ("many backtracks").
 * Torch inside (the .cpp); the header is plain.
 */
#include <filesystem>

#include "train/experiment.h"

namespace nmar::core {

/** What evaluateMultiRecovery() measured (NaN where nothing was measured). */
struct MultiRecoveryResult {
  int examples = 0;
  double accuracy = 0.0;       ///< answers verified correct despite the forced deviations
  double forcedPerSeq = 0.0;   ///< forced deviations that happened per answer
  double undoPerSeq = 0.0;     ///< UNDOs (pops) per answer
  double cleanAccuracy = 0.0;  ///< the same examples decoded without forcing
};

/**
 * Decodes @p config's held-out examples (its eval data and seed, eval.examples of them) greedily
 * in hard mode with the model of @p checkpoint, forcing a confusable deviation (a random token of
 * the model's top-5 after the argmax) at steps 0, 3, 6, ... (deviation, UNDO, correction), at most
 * @p events of them and at most one per gold completion token, and verifies each answer. Throws
 * Error for a checkpoint without UNDO or tokenizer, or bad eval data (naming the config file).
 */
MultiRecoveryResult evaluateMultiRecovery(const ExperimentConfig& config,
                                          const std::filesystem::path& checkpoint, int events);

}  // namespace nmar::core
