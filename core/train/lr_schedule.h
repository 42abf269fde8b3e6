#pragma once
/** @file Learning-rate schedules: linear warmup, then constant, linear or cosine decay. */
#include <cstdint>
#include <string>

#include <nlohmann/json_fwd.hpp>

namespace nmar::core {

/** The shape of the learning rate after warmup. */
enum class LrDecay { kConstant, kLinear, kCosine };

/** "constant" / "linear" / "cosine". */
const char* lrDecayName(LrDecay decay);

/**
 * lr(step) = peak * factor(step): factor rises linearly from 1/warmup to 1 over the first
 * @c warmupSteps optimiser steps, then decays to @c minRatio at @c totalSteps (and stays there).
 * A pure function of the step, so a resumed run follows the same curve.
 */
struct LrSchedule {
  double peak = 1e-3;
  std::int64_t warmupSteps = 0;
  std::int64_t totalSteps = 1;
  LrDecay decay = LrDecay::kCosine;
  double minRatio = 0.1;

  /** The multiplier of @c peak for 0-based optimiser step @p step. */
  double factor(std::int64_t step) const;
  /** peak * factor(step). */
  double at(std::int64_t step) const { return peak * factor(step); }
  /** Throws Error naming @p where and the field for a negative warmup, totalSteps < 1, ratio
   * outside [0, 1] or a non-positive peak. */
  void validate(const std::string& where) const;
};

/** Parses "constant" / "linear" / "cosine"; Error naming @p where otherwise. */
LrDecay parseLrDecay(const std::string& name, const std::string& where);

}  // namespace nmar::core
