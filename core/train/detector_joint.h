#pragma once
/**
 * @file The deviation detector trained jointly with masked SFT (issue 12, [detector] of an SFT
 * experiment): stack labels of a training batch as a tensor, the auxiliary binary cross-entropy
 * on the model's final hidden states, and the detector's share of an evaluation (AUROC on
 * injected and natural errors, decoding with the verifier trigger). Torch header: not for viz/ or
 * widgets/.
 */
#include <atomic>
#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include <ATen/core/Tensor.h>

#include "data/sequence.h"
#include "train/detector.h"
#include "train/evaluator.h"
#include "train/experiment.h"

namespace nmar::core {

class Tokenizer;

/** The stack labels of a whole batch: what the loss normaliser and class weight come from. */
struct DetectorLabelCounts {
  std::int64_t positives = 0;  ///< pushed tokens a later UNDO pops
  std::int64_t negatives = 0;  ///< pushed completion tokens that survive

  std::int64_t total() const { return positives + negatives; }
  /** negatives / positives when @p balance and both exist, else 1. */
  double posWeight(bool balance) const;
};

/** Counts the stack labels of every row of @p rows (stackLabels, detector_labels.h). */
DetectorLabelCounts countStackLabels(const std::vector<TrainingSequence>& rows,
                                     std::int64_t undoId);

/**
 * Rows [@p begin, @p end) of @p rows as a `[B, T]` float tensor on @p device: 1 deviation, 0
 * surviving push, -1 no label (prompt, UNDO, padding beyond a row's length). Right-padded as
 * buildSftBatch pads the ids.
 */
at::Tensor stackLabelTensor(const std::vector<TrainingSequence>& rows, std::size_t begin,
                            std::size_t end, std::int64_t width, std::int64_t undoId,
                            c10::Device device);

/** The auxiliary loss of one micro-batch. */
struct JointDetectorLoss {
  at::Tensor loss;        ///< sum / @p normaliser (scalar, differentiable)
  double sum = 0.0;       ///< class-weighted BCE summed over the labelled positions
  std::int64_t count = 0; ///< labelled positions of this micro-batch
  std::int64_t correct = 0;  ///< labelled positions where (score > 1/2) == label
};

/**
 * Binary cross-entropy with logits of @p head on @p hidden (`[B, T, D]`, detached first when
 * @p detach) at the positions where @p labels (`[B, T]`, -1: none) is 0 or 1, positives weighted
 * by @p posWeight, summed and divided by @p normaliser (>= 1). A batch without labels gives a zero
 * loss that still depends on the head (so every rank runs the same backward).
 */
JointDetectorLoss jointDetectorLoss(DetectorHead& head, const at::Tensor& hidden,
                                    const at::Tensor& labels, double posWeight,
                                    double normaliser, bool detach);

/**
 * The detector's measurements on held-out @p examples with the model as it is now, named as
 * metrics:
 * - eval/detector_auroc, _precision, _recall, _false_trigger: injected confusable deviations
 *   (stack labels, tau of @p spec), seeded by @p settings.seed;
 * - eval/detector_auroc_natural, eval/detector_natural_errors (wrong tokens of the greedy
 *   outputs) when spec.evalNatural (AUROC NaN, left out, when the model made no error);
 * - when spec.evalTrigger: eval/clean_acc_verifier, eval/recovery_hard_verifier,
 *   eval/recovery_soft_verifier, eval/verifier_undo_per_seq (the model's UNDO and the forced
 *   trigger at tau), and the same with suffix _verifier_only with the model's own UNDO
 *   suppressed (logit bias -1e4: only the trigger undoes).
 * @p base are the evaluation settings of the plain evaluation (ids, lengths, seed). Runs under
 * a NoGradGuard; the head's and model's training flags are restored.
 */
std::map<std::string, double> evaluateDetector(Transformer model, const Tokenizer& tokenizer,
                                               const std::vector<Example>& examples,
                                               const OutputVerifier& verify, DetectorHead& head,
                                               const DetectorSpec& spec,
                                               const EvalSettings& base,
                                               const std::atomic<bool>* cancel = nullptr);

}  // namespace nmar::core
