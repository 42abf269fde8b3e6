#include "train/grpo_loss.h"

#include <algorithm>
#include <string>

#include <ATen/ATen.h>
#include <torch/csrc/autograd/grad_mode.h>

#include "util/error.h"

namespace nmar::core {
namespace {

void checkShape(const at::Tensor& t, const at::Tensor& like, const char* name) {
  if (!t.defined() || t.sizes() != like.sizes()) {
    throw Error(std::string("grpo loss: ") + name + " must have the shape of logp");
  }
}

double maskedMean(const at::Tensor& x, const at::Tensor& m, double n) {
  return n > 0 ? (x * m).sum().item<double>() / n : 0.0;
}

}  // namespace

GrpoLoss grpoLoss(const GrpoLossInput& in, const GrpoLossOptions& o) {
  if (!in.logp.defined() || in.logp.dim() != 2) throw Error("grpo loss: logp must be [B, L]");
  checkShape(in.oldLogp, in.logp, "oldLogp");
  checkShape(in.advantages, in.logp, "advantages");
  checkShape(in.mask, in.logp, "mask");
  const bool withKl = o.beta > 0.0 && in.refLogp.defined();
  if (withKl) checkShape(in.refLogp, in.logp, "refLogp");

  const at::Tensor logp = in.logp.to(at::kFloat);
  const at::Tensor mask = in.mask.to(logp.device(), at::kFloat);
  const at::Tensor adv = in.advantages.to(logp.device(), at::kFloat);
  const at::Tensor ratio = at::exp(logp - in.oldLogp.to(logp.device(), at::kFloat));
  const at::Tensor clipped = at::clamp(ratio, 1.0 - o.epsilonLow, 1.0 + o.epsilonHigh);
  at::Tensor perToken = -at::min(ratio * adv, clipped * adv);
  at::Tensor kl;
  if (withKl) {
    const at::Tensor d = in.refLogp.to(logp.device(), at::kFloat) - logp;
    kl = at::exp(d) - d - 1.0;
    perToken = perToken + o.beta * kl;
  }
  const at::Tensor masked = perToken * mask;
  GrpoLoss out;
  const double completions =
      o.totalCompletions > 0 ? o.totalCompletions : static_cast<double>(logp.size(0));
  switch (o.type) {
    case GrpoLossType::kGrpo:
      out.loss = (masked.sum(1) / mask.sum(1).clamp_min(1.0)).sum() / completions;
      break;
    case GrpoLossType::kDapo:
      out.loss = o.totalTokens > 0 ? masked.sum() / std::max(1.0, o.totalTokens)
                                   : masked.sum() / mask.sum().clamp_min(1.0);
      break;
    case GrpoLossType::kDrGrpo:
      out.loss = masked.sum() / (completions * o.maxCompletionLength);
      break;
  }

  torch::NoGradGuard noGrad;
  out.value = out.loss.item<double>();
  out.tokens = mask.sum().item<double>();
  const at::Tensor r = ratio.detach();
  out.ratio = r;
  out.ratioMean = maskedMean(r, mask, out.tokens);
  const at::Tensor low = ((r < 1.0 - o.epsilonLow) & (adv < 0)).to(at::kFloat);
  const at::Tensor high = ((r > 1.0 + o.epsilonHigh) & (adv > 0)).to(at::kFloat);
  out.clipLow = maskedMean(low, mask, out.tokens);
  out.clipHigh = maskedMean(high, mask, out.tokens);
  out.clipRatio = out.clipLow + out.clipHigh;
  out.kl = withKl ? maskedMean(kl.detach(), mask, out.tokens) : 0.0;
  return out;
}

}  // namespace nmar::core
