#include "train/detector_metrics.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <numeric>

#include "util/error.h"

namespace nmar::core {
namespace {

constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();

nlohmann::json num(double v) { return std::isnan(v) ? nlohmann::json() : nlohmann::json(v); }

}  // namespace

nlohmann::json DetectorMetrics::toJson() const {
  return {{"tokens", tokens},
          {"positives", positives},
          {"tau", tau},
          {"auroc", num(auroc)},
          {"precision", num(precision)},
          {"recall", num(recall)},
          {"false_trigger_rate", num(falseTriggerRate)},
          {"mean_score_pos", num(meanScorePositive)},
          {"mean_score_neg", num(meanScoreNegative)}};
}

double auroc(const std::vector<double>& scores, const std::vector<int>& labels) {
  if (scores.size() != labels.size())
    throw Error("auroc: " + std::to_string(scores.size()) + " scores for " +
                std::to_string(labels.size()) + " labels");
  std::vector<std::size_t> order;
  for (std::size_t i = 0; i < scores.size(); ++i)
    if (labels[i] == 0 || labels[i] == 1) order.push_back(i);
  std::sort(order.begin(), order.end(),
            [&](std::size_t a, std::size_t b) { return scores[a] < scores[b]; });
  // Mann-Whitney U: the sum of the positives' ranks (ties get their average rank).
  double rankSum = 0, pos = 0, neg = 0;
  for (std::size_t i = 0; i < order.size();) {
    std::size_t j = i;
    while (j < order.size() && scores[order[j]] == scores[order[i]]) ++j;
    const double rank = 0.5 * (static_cast<double>(i + 1) + static_cast<double>(j));
    for (std::size_t k = i; k < j; ++k) {
      if (labels[order[k]] == 1) {
        rankSum += rank;
        pos += 1;
      } else {
        neg += 1;
      }
    }
    i = j;
  }
  if (pos == 0 || neg == 0) return kNaN;
  return (rankSum - pos * (pos + 1) / 2) / (pos * neg);
}

DetectorMetrics detectorMetrics(const std::vector<double>& scores, const std::vector<int>& labels,
                                double tau) {
  DetectorMetrics m;
  m.tau = tau;
  m.auroc = auroc(scores, labels);
  double tp = 0, fp = 0, pos = 0, neg = 0, sumPos = 0, sumNeg = 0;
  for (std::size_t i = 0; i < scores.size(); ++i) {
    if (labels[i] != 0 && labels[i] != 1) continue;
    const bool trig = scores[i] > tau;
    if (labels[i] == 1) {
      pos += 1;
      sumPos += scores[i];
      tp += trig;
    } else {
      neg += 1;
      sumNeg += scores[i];
      fp += trig;
    }
  }
  m.tokens = static_cast<std::int64_t>(pos + neg);
  m.positives = static_cast<std::int64_t>(pos);
  m.precision = tp + fp > 0 ? tp / (tp + fp) : kNaN;
  m.recall = pos > 0 ? tp / pos : kNaN;
  m.falseTriggerRate = neg > 0 ? fp / neg : kNaN;
  m.meanScorePositive = pos > 0 ? sumPos / pos : kNaN;
  m.meanScoreNegative = neg > 0 ? sumNeg / neg : kNaN;
  return m;
}

}  // namespace nmar::core
