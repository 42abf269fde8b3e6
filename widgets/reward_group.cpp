#include "widgets/reward_group.h"

#include <cmath>
#include <map>

#include "store/run_store.h"
#include "trace/trace.h"
#include "util/error.h"

namespace nmar::widgets {
namespace {

std::unique_ptr<core::RunStore> openReadOnly(const QString& path) {
  core::StoreOptions options;
  options.readOnly = true;
  options.create = false;
  return std::make_unique<core::RunStore>(path.toStdString(), options);
}

std::optional<double> number(const nlohmann::json& j, const char* key) {
  if (!j.is_object() || !j.contains(key) || !j[key].is_number()) return std::nullopt;
  return j[key].get<double>();
}

QString verdictText(const nlohmann::json& v) {
  if (v.is_object() && v.contains("correct") && v["correct"].is_boolean())
    return v["correct"].get<bool>() ? QStringLiteral("ok") : QStringLiteral("wrong");
  return v.is_null() ? QString() : QString::fromStdString(v.dump());
}

}  // namespace

QString tokenMeasureName(TokenMeasure measure) {
  switch (measure) {
    case TokenMeasure::kReward: return QStringLiteral("reward");
    case TokenMeasure::kAdvantage: return QStringLiteral("advantage");
    case TokenMeasure::kLogprob: return QStringLiteral("logprob");
    case TokenMeasure::kRatio: return QStringLiteral("ratio");
  }
  return {};
}

std::optional<double> ScoredToken::value(TokenMeasure measure) const {
  switch (measure) {
    case TokenMeasure::kReward: return reward;
    case TokenMeasure::kAdvantage: return advantage;
    case TokenMeasure::kLogprob: return logprob;
    case TokenMeasure::kRatio: return ratio ? std::optional<double>(*ratio - 1.0) : std::nullopt;
  }
  return std::nullopt;
}

double RewardGroup::maxAbs(TokenMeasure measure) const {
  double m = 0.0;
  for (const ScoredCompletion& c : completions)
    for (const ScoredToken& t : c.tokens)
      if (const auto v = t.value(measure); v && std::isfinite(*v)) m = std::max(m, std::abs(*v));
  return m;
}

std::vector<GroupKey> listRewardGroups(const QString& storePath, qint64 runId) {
  const auto store = openReadOnly(storePath);
  store->getRun(runId);  // names a missing run
  std::map<std::pair<qint64, qint64>, int> counts;
  for (const core::TraceRecord& r : store->traces(runId)) ++counts[{r.step, r.group.value_or(-1)}];
  std::vector<GroupKey> out;
  for (const auto& [key, n] : counts) out.push_back({key.first, key.second, n});
  return out;
}

RewardGroup loadRewardGroup(const QString& storePath, qint64 runId, qint64 step, qint64 group) {
  const auto store = openReadOnly(storePath);
  store->getRun(runId);
  RewardGroup g;
  g.storePath = storePath;
  g.runId = runId;
  g.step = step;
  g.group = group;
  const std::string where = storePath.toStdString() + ": run " + std::to_string(runId);
  for (const core::TraceRecord& r : store->traces(runId, step, true)) {
    if (r.group.value_or(-1) != group) continue;
    const std::string source = where + ": trace " + std::to_string(r.id);
    const core::Trace trace = core::traceFromJson(r.trace, source);
    g.prompt = QString::fromStdString(trace.promptText);
    ScoredCompletion c;
    c.traceId = r.id;
    c.output = QString::fromStdString(trace.outputText);
    c.verdict = verdictText(trace.verdict);
    c.total = number(trace.rewards, "total");
    c.advantage = number(trace.rewards, "advantage");
    std::vector<int> stack;  // step indices of the pushes on the stack
    for (std::size_t k = 0; k < trace.steps.size(); ++k) {
      const core::TraceStep& s = trace.steps[k];
      ScoredToken t;
      t.forced = s.forced;
      t.logprob = s.logprob;
      if (s.kind == core::StepKind::kPop) {
        t.undo = true;
        t.text = QString::fromStdString(s.text);  // the view draws ⟲
        if (!stack.empty()) {  // validated traces never pop an empty stack
          t.link = stack.back();
          c.tokens[stack.back()].popped = true;
          c.tokens[stack.back()].link = static_cast<int>(k);
          stack.pop_back();
        }
      } else {
        t.text = QString::fromStdString(s.text);
        stack.push_back(static_cast<int>(k));
      }
      c.tokens.push_back(t);
    }
    for (const core::TokenScore& s : store->tokenScores(r.id)) {
      if (s.position < 0 || s.position >= c.tokens.size())
        throw core::Error(source + ": token score at position " + std::to_string(s.position) +
                          ", but the trace has " + std::to_string(c.tokens.size()) + " steps");
      ScoredToken& t = c.tokens[s.position];
      t.reward = s.reward;
      t.advantage = s.advantage;
      if (s.logprob) t.logprob = s.logprob;
      t.ratio = s.ratio;
    }
    g.completions.push_back(std::move(c));
  }
  if (g.completions.isEmpty())
    throw core::Error(where + ": no traces at step " + std::to_string(step) + " in group " +
                      std::to_string(group));
  return g;
}

}  // namespace nmar::widgets
