#pragma once
/**
 * @file How well the deviation detector separates deviations from correct tokens (issue 12):
 * AUROC, precision and recall at a threshold tau, and the false-trigger rate on correct tokens.
 * Torch-free and pure.
 */
#include <cstdint>
#include <vector>

#include <nlohmann/json.hpp>

namespace nmar::core {

/** The measurements on one labelled set. Rates are NaN where their denominator is 0. */
struct DetectorMetrics {
  std::int64_t tokens = 0;     ///< labelled tokens
  std::int64_t positives = 0;  ///< tokens labelled 1 (deviations / wrong)
  double tau = 0.5;
  double auroc = 0.0;             ///< P(score of a random positive > a random negative), ties 1/2
  double precision = 0.0;         ///< positives among tokens with score > tau
  double recall = 0.0;            ///< positives with score > tau, over all positives
  double falseTriggerRate = 0.0;  ///< negatives (correct tokens) with score > tau
  double meanScorePositive = 0.0;
  double meanScoreNegative = 0.0;

  /** {"tokens", "positives", "tau", "auroc", "precision", "recall", "false_trigger_rate",
   *  "mean_score_pos", "mean_score_neg"}; NaN values as null. */
  nlohmann::json toJson() const;
};

/**
 * AUROC of @p scores for binary @p labels (1 positive, 0 negative; other values are skipped),
 * by ranks with ties counted one half. NaN when a class is empty. Throws Error when the sizes
 * differ.
 */
double auroc(const std::vector<double>& scores, const std::vector<int>& labels);

/** Every metric of @p scores against @p labels at threshold @p tau (score > tau triggers). */
DetectorMetrics detectorMetrics(const std::vector<double>& scores, const std::vector<int>& labels,
                                double tau);

}  // namespace nmar::core
