#include "train/grpo_settings.h"

#include "data/config_reader.h"
#include "util/error.h"

namespace nmar::core {
namespace {

bool flag(ConfigReader& r, const std::string& key, bool fallback) {
  const nlohmann::json& v = r.raw(key);
  if (v.is_null()) return fallback;
  if (!v.is_boolean()) r.fail(key, "expected true or false, got " + jsonTypeName(v));
  return v.get<bool>();
}

}  // namespace

const char* rewardScalingName(RewardScaling scaling) {
  switch (scaling) {
    case RewardScaling::kGroup:
      return "group";
    case RewardScaling::kBatch:
      return "batch";
    case RewardScaling::kNone:
      return "none";
  }
  return "?";
}

const char* grpoLossTypeName(GrpoLossType type) {
  switch (type) {
    case GrpoLossType::kGrpo:
      return "grpo";
    case GrpoLossType::kDapo:
      return "dapo";
    case GrpoLossType::kDrGrpo:
      return "dr_grpo";
  }
  return "?";
}

nlohmann::json GrpoSettings::toJson() const {
  return {{"num_generations", numGenerations},
          {"prompts_per_step", promptsPerStep},
          {"num_iterations", numIterations},
          {"epsilon", epsilon},
          {"epsilon_high", epsilonHigh},
          {"beta", beta},
          {"scale_rewards", rewardScalingName(scaleRewards)},
          {"loss_type", grpoLossTypeName(lossType)},
          {"temperature", temperature},
          {"undo_logit_bias", undoLogitBias},
          {"max_completion_length", maxCompletionLength},
          {"token_credit", tokenCredit},
          {"credit_alpha", creditAlpha},
          {"credit_beta", creditBeta},
          {"traces", traces}};
}

GrpoSettings GrpoSettings::fromJson(const nlohmann::json& table, const std::string& where) {
  ConfigReader r(table, where);
  GrpoSettings s;
  s.numGenerations = static_cast<int>(r.integer("num_generations", s.numGenerations, 2, 4096));
  s.promptsPerStep = static_cast<int>(r.integer("prompts_per_step", s.promptsPerStep, 1, 1 << 16));
  s.numIterations = static_cast<int>(r.integer("num_iterations", s.numIterations, 1, 1024));
  s.epsilon = r.number("epsilon", s.epsilon, 0.0, 0.999);
  s.epsilonHigh = r.number("epsilon_high", s.epsilon, 0.0, 1e6);
  s.beta = r.number("beta", s.beta, 0.0, 1e6);
  const std::string scale = r.string("scale_rewards", "group", {"group", "batch", "none"});
  s.scaleRewards = scale == "group"   ? RewardScaling::kGroup
                   : scale == "batch" ? RewardScaling::kBatch
                                      : RewardScaling::kNone;
  const std::string loss = r.string("loss_type", "dapo", {"grpo", "dapo", "dr_grpo"});
  s.lossType = loss == "grpo"   ? GrpoLossType::kGrpo
               : loss == "dapo" ? GrpoLossType::kDapo
                                : GrpoLossType::kDrGrpo;
  s.temperature = r.number("temperature", s.temperature, 1e-3, 100.0);
  s.undoLogitBias = r.number("undo_logit_bias", s.undoLogitBias, -100.0, 100.0);
  s.maxCompletionLength =
      static_cast<int>(r.integer("max_completion_length", s.maxCompletionLength, 1, 1 << 16));
  s.tokenCredit = flag(r, "token_credit", s.tokenCredit);
  s.creditAlpha = r.number("credit_alpha", s.creditAlpha, 0.0, 1e6);
  s.creditBeta = r.number("credit_beta", s.creditBeta, 0.0, 1e6);
  s.traces = static_cast<int>(r.integer("traces", s.traces, 0, 1 << 16));
  r.rejectUnknown();
  return s;
}

nlohmann::json RewardSettings::toJson() const {
  return {{"outcome", outcome}, {"efficiency", efficiency},    {"process", process},
          {"format", format},   {"undo_penalty", undoPenalty}, {"undo_budget", undoBudget}};
}

RewardSettings RewardSettings::fromJson(const nlohmann::json& table, const std::string& where) {
  ConfigReader r(table, where);
  RewardSettings s;
  s.outcome = r.number("outcome", s.outcome, -1e6, 1e6);
  s.efficiency = r.number("efficiency", s.efficiency, -1e6, 1e6);
  s.process = r.number("process", s.process, -1e6, 1e6);
  s.format = r.number("format", s.format, -1e6, 1e6);
  s.undoPenalty = r.number("undo_penalty", s.undoPenalty, 0.0, 1e6);
  s.undoBudget = static_cast<int>(r.integer("undo_budget", s.undoBudget, -1, 1 << 20));
  r.rejectUnknown();
  if (s.outcome == 0 && s.efficiency == 0 && s.process == 0 && s.format == 0) {
    throw Error(where + ": every reward weight is 0 (set outcome, efficiency, process or format)");
  }
  return s;
}

}  // namespace nmar::core
