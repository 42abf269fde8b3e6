#include "train/detector_joint.h"

#include <cmath>
#include <limits>
#include <memory>

#include <ATen/ATen.h>
#include <torch/csrc/autograd/grad_mode.h>

#include "train/detector_data.h"
#include "model/eval_mode.h"
#include "train/detector_labels.h"
#include "train/detector_metrics.h"
#include "train/detector_trainer.h"

namespace nmar::core {
namespace {

constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();

}  // namespace

double DetectorLabelCounts::posWeight(bool balance) const {
  if (!balance || positives == 0 || negatives == 0) return 1.0;
  return static_cast<double>(negatives) / static_cast<double>(positives);
}

DetectorLabelCounts countStackLabels(const std::vector<TrainingSequence>& rows,
                                     std::int64_t undoId) {
  DetectorLabelCounts c;
  for (const TrainingSequence& row : rows) {
    for (int label : stackLabels(row.ids, row.promptLength, undoId)) {
      if (label == 1) ++c.positives;
      if (label == 0) ++c.negatives;
    }
  }
  return c;
}

at::Tensor stackLabelTensor(const std::vector<TrainingSequence>& rows, std::size_t begin,
                            std::size_t end, std::int64_t width, std::int64_t undoId,
                            c10::Device device) {
  at::Tensor out = at::full({static_cast<std::int64_t>(end - begin), width}, -1.0, at::kFloat);
  auto acc = out.accessor<float, 2>();
  for (std::size_t b = begin; b < end; ++b) {
    const std::vector<int> labels = stackLabels(rows[b].ids, rows[b].promptLength, undoId);
    const std::size_t n = std::min(labels.size(), static_cast<std::size_t>(width));
    for (std::size_t t = 0; t < n; ++t) acc[b - begin][t] = static_cast<float>(labels[t]);
  }
  return out.to(device);
}

JointDetectorLoss jointDetectorLoss(DetectorHead& head, const at::Tensor& hidden,
                                    const at::Tensor& labels, double posWeight,
                                    double normaliser, bool detach) {
  JointDetectorLoss out;
  const at::Tensor h = detach ? hidden.detach() : hidden;
  const at::Tensor mask = labels.ge(0.0);
  const at::Tensor y = labels.masked_select(mask);
  out.count = y.numel();
  const at::Tensor selected = h.reshape({-1, h.size(-1)}).index(
      {mask.reshape({-1}).nonzero().squeeze(-1)});  // [N, D]
  const at::Tensor logits = head->forward(selected);
  if (out.count == 0) {
    out.loss = logits.sum() * 0.0;
    return out;
  }
  const at::Tensor target = y.to(logits.device(), logits.scalar_type());
  const at::Tensor pw = at::full({1}, posWeight, logits.options());
  const at::Tensor sum =
      at::binary_cross_entropy_with_logits(logits, target, {}, pw, at::Reduction::Sum);
  out.loss = sum / std::max(1.0, normaliser);
  out.sum = sum.item<double>();
  out.correct = logits.detach().gt(0.0).eq(target.gt(0.5)).sum().item<std::int64_t>();
  return out;
}

std::map<std::string, double> evaluateDetector(Transformer model, const Tokenizer& tokenizer,
                                               const std::vector<Example>& examples,
                                               const OutputVerifier& verify, DetectorHead& head,
                                               const DetectorSpec& spec, const EvalSettings& base,
                                               const std::atomic<bool>* cancel) {
  std::map<std::string, double> m;
  EvalMode headScope(head);
  DetectorDataSettings ds;
  ds.undoId = base.undoId;
  ds.eosId = base.eosId;
  ds.maxNewTokens = base.maxNewTokens;
  // Injected deviations: the same kind the detector trains on (confusable, 1-3 events).
  const DetectorSamples injected = injectedSamples(model, tokenizer, examples, ds, base.seed);
  if (injected.size() > 0) {
    const DetectorMetrics dm =
        detectorMetrics(scoreSamples(head, injected), sampleLabels(injected), spec.tau);
    m["eval/detector_auroc"] = dm.auroc;
    m["eval/detector_precision"] = dm.precision;
    m["eval/detector_recall"] = dm.recall;
    m["eval/detector_false_trigger"] = dm.falseTriggerRate;
  }
  if (spec.evalNatural && !(cancel && cancel->load())) {
    const DetectorSamples natural = naturalSamples(model, tokenizer, examples, ds);
    m["eval/detector_natural_errors"] = static_cast<double>(natural.positives());
    if (natural.size() > 0) {
      const DetectorMetrics dm =
          detectorMetrics(scoreSamples(head, natural), sampleLabels(natural), spec.tau);
      m["eval/detector_auroc_natural"] = dm.auroc;  // NaN (left out) without errors
    }
  }
  if (spec.evalTrigger && !(cancel && cancel->load())) {
    EvalSettings s = base;
    s.keepTraces = 0;
    s.verifier.verifier = std::make_shared<DetectorVerifier>(head);
    s.verifier.tau = spec.tau;
    s.verifier.name = "joint detector";
    const EvalResult both = evaluate(model, tokenizer, examples, verify, s, cancel);
    m["eval/clean_acc_verifier"] = both.cleanAccuracy;
    m["eval/recovery_hard_verifier"] = both.recoveryHard;
    m["eval/recovery_soft_verifier"] = both.recoverySoft;
    m["eval/verifier_undo_per_seq"] = both.verifierUndoPerSequence;
    m["eval/undo_per_seq_verifier"] = both.undoPerSequence;
    // Only the trigger undoes: the model's own UNDO is never sampled.
    s.undoLogitBias = -1e4;
    const EvalResult only = evaluate(model, tokenizer, examples, verify, s, cancel);
    m["eval/clean_acc_verifier_only"] = only.cleanAccuracy;
    m["eval/recovery_hard_verifier_only"] = only.recoveryHard;
    m["eval/recovery_soft_verifier_only"] = only.recoverySoft;
    m["eval/undo_per_seq_verifier_only"] = only.undoPerSequence;
  }
  for (auto it = m.begin(); it != m.end();) it = std::isnan(it->second) ? m.erase(it) : ++it;
  return m;
}

}  // namespace nmar::core
