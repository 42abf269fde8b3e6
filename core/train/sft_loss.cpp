#include "train/sft_loss.h"

#include <cmath>
#include <limits>

#include <ATen/ATen.h>
#include <torch/csrc/autograd/grad_mode.h>

namespace nmar::core {

void SftLoss::accumulate(const SftLoss& o) {
  value = (value * weight + o.value * o.weight) / std::max(1.0, weight + o.weight);
  weight += o.weight;
  for (int g = 0; g < kTargetGroupCount; ++g) {
    groupNll[g] += o.groupNll[g];
    groupCount[g] += o.groupCount[g];
  }
  deviationLogprob += o.deviationLogprob;
  deviationCount += o.deviationCount;
  tokens += o.tokens;
}

std::vector<double> SftLoss::sums() const {
  std::vector<double> v = {value * std::max(1.0, weight), weight};
  v.insert(v.end(), groupNll.begin(), groupNll.end());
  v.insert(v.end(), groupCount.begin(), groupCount.end());
  v.push_back(deviationLogprob);
  v.push_back(deviationCount);
  v.push_back(static_cast<double>(tokens));
  return v;
}

SftLoss SftLoss::fromSums(const std::vector<double>& v) {
  SftLoss out;
  std::size_t i = 0;
  const double nll = v.at(i++);
  out.weight = v.at(i++);
  out.value = nll / std::max(1.0, out.weight);
  for (int g = 0; g < kTargetGroupCount; ++g) out.groupNll[g] = v.at(i++);
  for (int g = 0; g < kTargetGroupCount; ++g) out.groupCount[g] = v.at(i++);
  out.deviationLogprob = v.at(i++);
  out.deviationCount = v.at(i++);
  out.tokens = static_cast<std::int64_t>(v.at(i++));
  return out;
}

double SftLoss::groupMean(TargetGroup group) const {
  const int g = static_cast<int>(group);
  return groupCount[g] > 0 ? groupNll[g] / groupCount[g] : std::numeric_limits<double>::quiet_NaN();
}

double SftLoss::deviationLikelihood() const {
  return deviationCount > 0 ? deviationLogprob / deviationCount
                            : std::numeric_limits<double>::quiet_NaN();
}

double sftWeightSum(const NmarBatch& batch, bool naive, bool promptTargets) {
  at::Tensor w = batch.weights(naive).to(at::kFloat);
  if (promptTargets) {
    w = w + (batch.targetGroup == static_cast<int>(TargetGroup::kPrompt)).to(at::kFloat);
  }
  return w.sum().item<double>();
}

SftLoss sftLoss(const at::Tensor& logits, const NmarBatch& batch, bool naive, bool promptTargets) {
  SftLoss out;
  const auto V = logits.size(-1);
  at::Tensor logp = at::log_softmax(logits.to(at::kFloat), -1);
  at::Tensor targets = batch.targets.to(logits.device());
  at::Tensor nll = -logp.gather(-1, targets.unsqueeze(-1)).squeeze(-1);  // [B,T]
  at::Tensor groups = batch.targetGroup.to(logits.device());
  at::Tensor w = batch.weights(naive).to(logits.device(), at::kFloat);
  if (promptTargets) {
    w = w + (groups == static_cast<int>(TargetGroup::kPrompt)).to(at::kFloat);
  }
  at::Tensor wsum = w.sum();
  out.nllSum = (nll * w).sum();
  out.loss = out.nllSum / wsum.clamp_min(1.0);
  (void)V;

  torch::NoGradGuard noGrad;
  out.value = out.loss.item<double>();
  out.weight = wsum.item<double>();
  at::Tensor nllD = nll.detach();
  // Per-group sums in one pass: scatter into kTargetGroupCount bins.
  at::Tensor flatGroups = groups.reshape({-1}).to(at::kLong);
  at::Tensor sums = at::zeros({kTargetGroupCount}, nllD.options().dtype(at::kDouble));
  sums.index_add_(0, flatGroups, nllD.reshape({-1}).to(at::kDouble));
  at::Tensor counts = at::bincount(flatGroups, {}, kTargetGroupCount).to(at::kDouble).cpu();
  sums = sums.cpu();
  for (int g = 0; g < kTargetGroupCount; ++g) {
    out.groupNll[g] = sums[g].item<double>();
    out.groupCount[g] = counts[g].item<double>();
  }
  const int dev = static_cast<int>(TargetGroup::kDeviation);
  out.deviationLogprob = -out.groupNll[dev];
  out.deviationCount = out.groupCount[dev];
  return out;
}

}  // namespace nmar::core
