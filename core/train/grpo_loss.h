#pragma once
/**
 * @file The GRPO objective (spec §7) over completion-aligned token tensors: the clipped surrogate
 * with per-token importance ratios exp(logp - logp_old), the k3 KL estimate to a reference, and
 * the three aggregations of TRL's loss_type. Torch header: not for viz/ or widgets/.
 */
#include <ATen/core/Tensor.h>

#include "train/grpo_settings.h"

namespace nmar::core {

/** Per-token inputs, all `[B, L]` (B completions, L = the longest completion's steps). */
struct GrpoLossInput {
  at::Tensor logp;        ///< log-probs of the taken tokens under the policy (differentiable)
  at::Tensor oldLogp;     ///< the same under the sampling policy (the decoder's logprobs)
  at::Tensor refLogp;     ///< the same under the frozen reference (undefined: no KL term)
  at::Tensor advantages;  ///< per-token advantage
  at::Tensor mask;        ///< 1 where the token is in the loss (sampled, not forced, not padding)
};

/** How the loss is formed. */
struct GrpoLossOptions {
  GrpoLossType type = GrpoLossType::kDapo;
  double epsilonLow = 0.2;       ///< ratio clipped below at 1 - epsilonLow
  double epsilonHigh = 0.2;      ///< ratio clipped above at 1 + epsilonHigh
  double beta = 0.0;             ///< KL coefficient (used only with refLogp)
  int maxCompletionLength = 64;  ///< the dr_grpo normaliser's length
  /**
   * Data-parallel normalisers (0: this batch's own). A rank's loss is then its share of the loss
   * of the whole batch over all ranks: dapo divides by @c totalTokens, grpo and dr_grpo by
   * @c totalCompletions instead of the local token count and B.
   */
  double totalTokens = 0.0;
  double totalCompletions = 0.0;
};

/** The loss and what it measured (doubles are detached token means over the mask). */
struct GrpoLoss {
  at::Tensor loss;         ///< scalar, differentiable
  double value = 0.0;      ///< loss as a double
  double tokens = 0.0;     ///< tokens in the loss
  double ratioMean = 0.0;  ///< mean importance ratio
  double clipLow = 0.0;    ///< fraction with ratio < 1 - eps_low and a negative advantage
  double clipHigh = 0.0;   ///< fraction with ratio > 1 + eps_high and a positive advantage
  double clipRatio = 0.0;  ///< clipLow + clipHigh (the tokens whose gradient is cut)
  double kl = 0.0;         ///< mean k3 KL (0 without a reference)
  at::Tensor ratio;        ///< `[B, L]` detached importance ratios
};

/**
 * Per token: l = -min(r A, clip(r, 1 - eps_low, 1 + eps_high) A) + beta k3 with r =
 * exp(logp - oldLogp) and k3 = exp(ref - logp) - (ref - logp) - 1. Reduced by @p options.type:
 * grpo: mean over completions of sum(l m) / max(1, sum(m)) per completion; dapo:
 * sum(l m) / max(1, sum(m)); dr_grpo: sum(l m) / (B x maxCompletionLength). Throws Error for
 * tensors of different shapes.
 */
GrpoLoss grpoLoss(const GrpoLossInput& input, const GrpoLossOptions& options);

}  // namespace nmar::core
