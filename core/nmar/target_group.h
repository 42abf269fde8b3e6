#pragma once
/** @file Training target groups and loss weights (spec §4), Torch-free. */
#include <cstdint>
#include <string>

namespace nmar::core {

/**
 * The group of the prediction made at position i, i.e. of its target token i+1 (spec §4). The
 * integer values are those stored in NmarBatch::targetGroup.
 */
enum class TargetGroup : std::int8_t {
  kNone = 0,     ///< no target: the last real position, or padding
  kPrompt = 1,   ///< the target is a prompt token (completion-only loss leaves it out)
  kPrefix = 2,   ///< a regular trace token before the first UNDO of the trace (correct prefix)
  kDetect = 3,   ///< the target is an UNDO (detection)
  kCorrect = 4,  ///< the first token after a run of UNDOs (correction)
  kRest = 5,     ///< any other kept trace token
  kDeviation =
      6,  ///< the target is a deviation (a token a later UNDO pops): "deviation likelihood"
};

/** Number of TargetGroup values (for per-group tables). */
inline constexpr int kTargetGroupCount = 7;

/** "none", "prompt", "prefix", "detect", "correct", "rest", "deviation". */
std::string targetGroupName(TargetGroup group);

/** Switches of the loss weights (spec §4). */
struct LossWeightOptions {
  /** Naive SFT baseline: deviations are trained on (weight 1) instead of masked (weight 0). */
  bool naive = false;
  /** Completion-only off: prompt targets get weight 1 instead of 0. */
  bool promptTargets = false;
};

/**
 * Loss weight of a prediction in @p group: 0 for kNone, kPrompt (unless promptTargets) and
 * kDeviation (unless naive); 1 otherwise.
 */
float lossWeight(TargetGroup group, const LossWeightOptions& options);

}  // namespace nmar::core
