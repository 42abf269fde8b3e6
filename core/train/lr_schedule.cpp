#include "train/lr_schedule.h"

#include <algorithm>
#include <cmath>

#include "util/error.h"

namespace nmar::core {

const char* lrDecayName(LrDecay decay) {
  switch (decay) {
    case LrDecay::kConstant:
      return "constant";
    case LrDecay::kLinear:
      return "linear";
    case LrDecay::kCosine:
      return "cosine";
  }
  return "?";
}

LrDecay parseLrDecay(const std::string& name, const std::string& where) {
  if (name == "constant") return LrDecay::kConstant;
  if (name == "linear") return LrDecay::kLinear;
  if (name == "cosine") return LrDecay::kCosine;
  throw Error(where + ": unknown schedule '" + name + "' (expected constant, linear or cosine)");
}

double LrSchedule::factor(std::int64_t step) const {
  if (warmupSteps > 0 && step < warmupSteps) {
    return static_cast<double>(step + 1) / static_cast<double>(warmupSteps);
  }
  if (decay == LrDecay::kConstant) return 1.0;
  const std::int64_t span = std::max<std::int64_t>(1, totalSteps - warmupSteps);
  const double t = std::clamp(static_cast<double>(step - warmupSteps) / span, 0.0, 1.0);
  const double shape = decay == LrDecay::kLinear ? 1.0 - t : 0.5 * (1.0 + std::cos(M_PI * t));
  return minRatio + (1.0 - minRatio) * shape;
}

void LrSchedule::validate(const std::string& where) const {
  if (!(peak > 0.0) || !std::isfinite(peak)) {
    throw Error(where + ".lr: must be a positive number, got " + std::to_string(peak));
  }
  if (warmupSteps < 0) throw Error(where + ".warmup: must be >= 0");
  if (totalSteps < 1) throw Error(where + ".steps: must be >= 1");
  if (!(minRatio >= 0.0 && minRatio <= 1.0)) {
    throw Error(where + ".min_lr_ratio: must be in [0, 1], got " + std::to_string(minRatio));
  }
}

}  // namespace nmar::core
