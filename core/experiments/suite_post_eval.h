#pragma once
/**
 * @file Evaluations a suite runs on a finished run's final checkpoint, beyond what the trainer's
 * evaluator measures: recovery from several forced deviations in one answer ("many backtracks"),
 * and what the model does about its own, unforced errors when it samples ("natural errors").
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

/** What evaluateNaturalErrors() measured (NaN where nothing was measured). */
struct NaturalErrorResult {
  int samples = 0;            ///< completions sampled
  int errors = 0;             ///< natural errors: first wrong pushes (see evaluateNaturalErrors)
  int samplesWithError = 0;   ///< completions with at least one natural error
  double accuracy = 0.0;      ///< sampled completions verified correct
  double errorsPerSeq = 0.0;  ///< natural errors per completion
  double undoNext = 0.0;      ///< errors undone by the very next step (UNDO right after the error)
  double undoLater = 0.0;     ///< errors popped at any later step before the completion ended
  double recovery = 0.0;      ///< completions with a natural error that still verified correct
  double falseUndo = 0.0;     ///< UNDOs that popped a right token, per UNDO
};

/**
 * The model's own errors, unforced: samples @p samples completions per held-out example of
 * @p config (eval.examples of them, its eval seed) at @p temperature in hard mode with the model of
 * @p checkpoint and replays each on the gold completion's stack. A push is **right** when the
 * stack up to and including it is a prefix of the gold completion (EOS included), as for token
 * credit (token_credit.h); a **natural error** is a wrong push onto a right stack (the first wrong
 * token, not the ones written on top of it). For each it records whether the next step pops it
 * (the model noticed at once) and whether it is popped at all before the completion ends. The
 * claim of experiment 5 ("the model undoes its own natural errors") is undoNext. Throws Error as
 * evaluateMultiRecovery() does, and for @p samples < 1 or a temperature <= 0.
 */
NaturalErrorResult evaluateNaturalErrors(const ExperimentConfig& config,
                                         const std::filesystem::path& checkpoint, int samples,
                                         double temperature = 1.0);

}  // namespace nmar::core
