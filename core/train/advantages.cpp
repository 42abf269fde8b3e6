#include "train/advantages.h"

#include <cmath>
#include <string>

#include "util/error.h"

namespace nmar::core {
namespace {

void checkLayout(const std::vector<double>& rewards, int groupSize) {
  if (groupSize < 1 || rewards.size() % static_cast<std::size_t>(groupSize) != 0) {
    throw Error("group advantages: group size " + std::to_string(groupSize) + " does not divide " +
                std::to_string(rewards.size()) + " rewards");
  }
}

std::vector<double> slice(const std::vector<double>& v, std::size_t from, std::size_t n) {
  return std::vector<double>(v.begin() + static_cast<std::ptrdiff_t>(from),
                             v.begin() + static_cast<std::ptrdiff_t>(from + n));
}

}  // namespace

double meanOf(const std::vector<double>& values) {
  if (values.empty()) return 0.0;
  double sum = 0.0;
  for (double v : values) sum += v;
  return sum / static_cast<double>(values.size());
}

double stdOf(const std::vector<double>& values) {
  if (values.size() < 2) return 0.0;
  const double m = meanOf(values);
  double sq = 0.0;
  for (double v : values) sq += (v - m) * (v - m);
  return std::sqrt(sq / static_cast<double>(values.size() - 1));
}

std::vector<double> groupAdvantages(const std::vector<double>& rewards, int groupSize,
                                    RewardScaling scaling) {
  checkLayout(rewards, groupSize);
  const auto G = static_cast<std::size_t>(groupSize);
  const double batchStd = stdOf(rewards);
  std::vector<double> out(rewards.size());
  for (std::size_t g = 0; g < rewards.size(); g += G) {
    const std::vector<double> group = slice(rewards, g, G);
    const double mean = meanOf(group);
    double scale = 1.0;
    if (scaling == RewardScaling::kGroup) scale = stdOf(group) + kAdvantageEpsilon;
    if (scaling == RewardScaling::kBatch) scale = batchStd + kAdvantageEpsilon;
    for (std::size_t i = 0; i < G; ++i) out[g + i] = (rewards[g + i] - mean) / scale;
  }
  return out;
}

double fracZeroStdGroups(const std::vector<double>& rewards, int groupSize) {
  checkLayout(rewards, groupSize);
  if (rewards.empty()) return 0.0;
  const auto G = static_cast<std::size_t>(groupSize);
  double zero = 0.0;
  for (std::size_t g = 0; g < rewards.size(); g += G) {
    zero += stdOf(slice(rewards, g, G)) < 1e-8 ? 1.0 : 0.0;
  }
  return zero / static_cast<double>(rewards.size() / G);
}

}  // namespace nmar::core
