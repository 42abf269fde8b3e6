#pragma once
/**
 * @file Evaluation of an N-MAR model on held-out examples (issue "Training I"): clean accuracy,
 * recovery from a forced deviation in hard and soft decoding, detection and false-UNDO rates,
 * deviation likelihood, UNDOs per sequence and token overhead.
 */
#include <cstdint>
#include <functional>
#include <map>
#include <string>
#include <vector>

#include "data/example.h"
#include "decode/token_verifier.h"
#include "model/transformer.h"
#include "nmar/masks.h"
#include "trace/trace.h"

namespace nmar::core {

class Tokenizer;

/** Judges a model output for an example (the task's or dataset's verifier). */
using OutputVerifier = std::function<Verdict(const Example&, const std::string& output)>;

/** What evaluate() measures and how. */
struct EvalSettings {
  std::int64_t undoId = -1;
  std::int64_t eosId = -1;
  int maxNewTokens = 0;                              ///< 0: 2 x the longest gold completion + 8
  AttentionMode teacherMode = AttentionMode::kHard;  ///< mask of the teacher-forced pass
  int deviationTopK = 5;   ///< forced and injected deviations: the model's top-k after argmax
  int keepTraces = 4;      ///< recovery traces returned (first examples)
  std::uint64_t seed = 0;  ///< forced-deviation steps and injection points
  bool recovery = true;    ///< run the forced-deviation decodes (hard and soft)
  bool recoveryResample = false;  ///< also decode the forced deviation in resample mode
  double undoLogitBias = 0.0;     ///< added to the model's UNDO logit in every decode (sampler)
  /** The verifier trigger (issue 12) for every decode (clean and recovery); off by default. */
  VerifierSettings verifier;
};

/** The measurements. Rates are in [0,1]; NaN where nothing was measured. */
struct EvalResult {
  int examples = 0;
  double cleanAccuracy = 0.0;        ///< greedy hard decode, verified
  double cleanProcess = 0.0;         ///< mean process credit of the clean decodes
  double recoveryHard = 0.0;         ///< forced deviation at a random step, hard decoding
  double recoverySoft = 0.0;         ///< the same in soft decoding (UNDO stays in context)
  double recoveryResample = 0.0;     ///< the same in resample decoding (NaN: not asked)
  double detectionRate = 0.0;        ///< argmax is UNDO right after an injected deviation
  double detectionProb = 0.0;        ///< mean P(UNDO) there
  double falseUndoRate = 0.0;        ///< argmax is UNDO on a clean completion prefix
  double falseUndoProb = 0.0;        ///< mean P(UNDO) on clean prefixes
  double deviationLikelihood = 0.0;  ///< mean log p of injected deviation tokens
  double undoPerSequence = 0.0;      ///< UNDOs per clean decode
  double tokenOverhead = 1.0;        ///< generated steps / final output tokens (clean decodes)
  double uselessUndoRate = 0.0;      ///< UNDOs of clean decodes that popped a right token (NaN:
                                     ///< no UNDOs), judged against the gold as in token_credit.h
  double uselessUndoPerSequence = 0.0;  ///< such UNDOs per clean decode
  double verifierUndoPerSequence = 0.0;  ///< UNDOs the verifier caused per clean decode (NaN:
                                         ///< no verifier)
  double seconds = 0.0;
  std::vector<Trace> traces;  ///< recovery traces (hard), verdicts filled
  /**
   * Further measurements by name ("eval/detector_auroc", "eval/recovery_hard_verifier", ...):
   * what the trainer adds when a deviation detector is trained with the model. NaN: left out.
   */
  std::map<std::string, double> extra;

  /** Metric name -> value ("eval/clean_acc", "eval/recovery_hard", ...), NaN entries left out. */
  std::map<std::string, double> metrics() const;
};

/**
 * Evaluates @p model on @p examples. Decodes greedily with PrunedDecoder; the teacher-forced
 * measurements use one masked forward per example with a confusable deviation (from the model's
 * own top-k minus the gold token) injected at a random completion position. Runs under a
 * NoGradGuard and restores the model's training flag. Checks @p cancel (may be null) between
 * examples and returns what it has when it is raised. Throws Error for a model without UNDO.
 */
EvalResult evaluate(Transformer model, const Tokenizer& tokenizer,
                    const std::vector<Example>& examples, const OutputVerifier& verify,
                    const EvalSettings& settings, const std::atomic<bool>* cancel = nullptr);

}  // namespace nmar::core
