#include "nmar/target_group.h"

namespace nmar::core {

std::string targetGroupName(TargetGroup group) {
  switch (group) {
    case TargetGroup::kNone:
      return "none";
    case TargetGroup::kPrompt:
      return "prompt";
    case TargetGroup::kPrefix:
      return "prefix";
    case TargetGroup::kDetect:
      return "detect";
    case TargetGroup::kCorrect:
      return "correct";
    case TargetGroup::kRest:
      return "rest";
    case TargetGroup::kDeviation:
      return "deviation";
  }
  return "unknown";
}

float lossWeight(TargetGroup group, const LossWeightOptions& options) {
  switch (group) {
    case TargetGroup::kNone:
      return 0.0f;
    case TargetGroup::kPrompt:
      return options.promptTargets ? 1.0f : 0.0f;
    case TargetGroup::kDeviation:
      return options.naive ? 1.0f : 0.0f;
    case TargetGroup::kPrefix:
    case TargetGroup::kDetect:
    case TargetGroup::kCorrect:
    case TargetGroup::kRest:
      return 1.0f;
  }
  return 0.0f;
}

}  // namespace nmar::core
