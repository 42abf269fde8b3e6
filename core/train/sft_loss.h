#pragma once
/**
 * @file The masked SFT objective (spec §4) over one NmarBatch, with the per-group breakdown and
 * the deviation likelihood. Torch header: not for viz/ or widgets/.
 */
#include <array>
#include <cstdint>
#include <vector>

#include <ATen/core/Tensor.h>

#include "nmar/masks.h"
#include "nmar/target_group.h"

namespace nmar::core {

/** Loss of one batch. The group sums are detached doubles, ready to accumulate and log. */
struct SftLoss {
  at::Tensor loss;          ///< scalar: sum(w * nll) / sum(w) (differentiable)
  at::Tensor nllSum;        ///< scalar: sum(w * nll) (differentiable; data-parallel ranks divide it
                            ///< by the weight of the whole batch over all ranks)
  double value = 0.0;       ///< loss as a double
  double weight = 0.0;      ///< sum of the weights (trained target tokens)
  std::int64_t tokens = 0;  ///< real tokens of the batch (set by the trainer)
  std::array<double, kTargetGroupCount> groupNll{};    ///< summed nll per TargetGroup
  std::array<double, kTargetGroupCount> groupCount{};  ///< targets per TargetGroup
  double deviationLogprob = 0.0;  ///< summed log p of deviation targets (spec §4)
  double deviationCount = 0.0;    ///< number of deviation targets

  /** Adds @p other's sums (the loss tensor is left alone). */
  void accumulate(const SftLoss& other);
  /** The sums as one vector (value x weight, weight, groups, deviations, tokens). */
  std::vector<double> sums() const;
  /** The inverse of sums() (e.g. after they were all-reduced over data-parallel ranks). */
  static SftLoss fromSums(const std::vector<double>& sums);
  /** Mean nll of @p group, or NaN when it had no targets. */
  double groupMean(TargetGroup group) const;
  /** Mean log p of the deviation targets, or NaN when there were none. */
  double deviationLikelihood() const;
};

/**
 * Cross-entropy of @p logits (`[B,T,V]`) against @p batch's targets with the masked (or, when
 * @p naive, the naive) weights; @p promptTargets gives prompt targets weight 1. The weights of the
 * batch were built without prompt targets, so this adds them when asked.
 */
SftLoss sftLoss(const at::Tensor& logits, const NmarBatch& batch, bool naive, bool promptTargets);

/** The sum of the weights sftLoss() gives @p batch's targets (its SftLoss::weight). */
double sftWeightSum(const NmarBatch& batch, bool naive, bool promptTargets);

}  // namespace nmar::core
