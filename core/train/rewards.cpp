#include "train/rewards.h"

#include "trace/trace.h"

namespace nmar::core {

CompletionFacts completionFacts(const Trace& trace, const Verdict& verdict) {
  CompletionFacts f;
  f.verdict = verdict;
  f.steps = static_cast<int>(trace.steps.size());
  for (const TraceStep& s : trace.steps) f.undos += s.kind == StepKind::kPop ? 1 : 0;
  f.endedWithEos = trace.eosId >= 0 && !trace.steps.empty() &&
                   trace.steps.back().kind == StepKind::kPush &&
                   trace.steps.back().token == trace.eosId;
  return f;
}

double outcomeReward(const CompletionFacts& facts) { return facts.verdict.correct ? 1.0 : 0.0; }

double efficiencyReward(const CompletionFacts& facts, double lambda) {
  return -lambda * static_cast<double>(facts.undos);
}

double processReward(const CompletionFacts& facts) { return facts.verdict.process; }

double formatReward(const CompletionFacts& facts) { return facts.endedWithEos ? 1.0 : 0.0; }

std::vector<RewardFunction> makeRewardFunctions(const RewardSettings& s) {
  std::vector<RewardFunction> out;
  if (s.outcome != 0) out.push_back({"outcome", s.outcome, outcomeReward});
  if (s.efficiency != 0) {
    const double lambda = s.undoPenalty;
    out.push_back({"efficiency", s.efficiency,
                   [lambda](const CompletionFacts& f) { return efficiencyReward(f, lambda); }});
  }
  if (s.process != 0) out.push_back({"process", s.process, processReward});
  if (s.format != 0) out.push_back({"format", s.format, formatReward});
  return out;
}

RewardBreakdown scoreCompletion(const std::vector<RewardFunction>& functions,
                                const CompletionFacts& facts, int undoBudget) {
  RewardBreakdown r;
  r.overBudget = undoBudget >= 0 && facts.undos > undoBudget;
  for (const RewardFunction& f : functions) {
    const double v = r.overBudget ? 0.0 : f.fn(facts);
    r.values.push_back(v);
    r.total += f.weight * v;
  }
  return r;
}

}  // namespace nmar::core
