#include "train/grpo_report.h"

#include <cmath>

#include <ATen/ATen.h>

namespace nmar::core {
namespace {

/** Accumulates the finite values of each key. */
class Means {
 public:
  void add(const std::string& key, double v) {
    if (!std::isfinite(v)) return;
    auto& [sum, n] = m_sums[key];
    sum += v;
    n += 1;
  }
  std::map<std::string, double> result() const {
    std::map<std::string, double> out;
    for (const auto& [k, s] : m_sums) out[k] = s.first / s.second;
    return out;
  }

 private:
  std::map<std::string, std::pair<double, double>> m_sums;
};

}  // namespace

std::map<std::string, double> grpoMetrics(const std::vector<GrpoStepStats>& window) {
  Means m;
  for (const GrpoStepStats& s : window) {
    m.add("train/loss", s.loss);
    m.add("train/lr", s.lr);
    m.add("train/grad_norm", s.gradNorm);
    m.add("train/reward", s.reward);
    m.add("train/reward_std", s.rewardStd);
    for (const auto& [name, ms] : s.rewardByFunction) {
      m.add("train/rewards/" + name + "/mean", ms.first);
      m.add("train/rewards/" + name + "/std", ms.second);
    }
    m.add("train/frac_reward_zero_std", s.fracZeroStd);
    m.add("train/kl", s.kl);
    m.add("train/entropy", s.entropy);
    m.add("train/clip_ratio", s.clipRatio);
    m.add("train/completion_length", s.completionLength);
    m.add("train/undo_per_completion", s.undoPerCompletion);
    m.add("train/accuracy", s.accuracy);
    m.add("train/useless_undo_rate", s.uselessUndoRate);
    m.add("train/seconds_per_step", s.seconds);
  }
  return m.result();
}

std::vector<ScoredTrace> scoredTraces(const std::vector<Rollout>& rollouts,
                                      const std::vector<std::string>& rewardNames,
                                      const at::Tensor& advantage, const at::Tensor& ratio,
                                      int groups) {
  std::vector<ScoredTrace> out;
  const at::Tensor adv = advantage.to(at::kCPU, at::kFloat).contiguous();
  const at::Tensor rat = ratio.defined() ? ratio.to(at::kCPU, at::kFloat).contiguous() : ratio;
  for (std::size_t b = 0; b < rollouts.size(); ++b) {
    const Rollout& r = rollouts[b];
    if (r.group >= groups) continue;
    ScoredTrace st;
    st.group = r.group;
    st.trace = r.trace;
    nlohmann::json rewards = {{"total", r.rewards.total},
                              {"advantage", r.advantage},
                              {"over_budget", r.rewards.overBudget}};
    for (std::size_t f = 0; f < rewardNames.size() && f < r.rewards.values.size(); ++f) {
      rewards[rewardNames[f]] = r.rewards.values[f];
    }
    st.trace.rewards = rewards;
    const auto bi = static_cast<std::int64_t>(b);
    for (std::size_t k = 0; k < r.trace.steps.size(); ++k) {
      const auto ki = static_cast<std::int64_t>(k);
      TokenScore s;
      s.position = static_cast<int>(k);
      s.token = r.trace.steps[k].token;
      s.reward = r.credit.credit[k];
      s.advantage = adv[bi][ki].item<double>();
      s.logprob = r.trace.steps[k].logprob;
      if (rat.defined()) s.ratio = rat[bi][ki].item<double>();
      st.scores.push_back(s);
    }
    out.push_back(std::move(st));
  }
  return out;
}

}  // namespace nmar::core
