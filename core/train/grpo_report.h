#pragma once
/**
 * @file What a GRPO step reports: metric rows averaged over the steps since the last row, and the
 * completions of the first groups as scored traces for the run store. Torch header.
 */
#include <map>
#include <string>
#include <vector>

#include <ATen/core/Tensor.h>

#include "train/grpo_rollout.h"
#include "train/grpo_trainer.h"
#include "train/scored_trace.h"

namespace nmar::core {

/**
 * The metric row of @p window (means over its steps; NaN values are left out of a mean, and a key
 * with no value at all is left out): train/loss, train/lr, train/grad_norm, train/reward,
 * train/reward_std, train/rewards/<name>/mean and /std, train/frac_reward_zero_std, train/kl,
 * train/entropy, train/clip_ratio, train/completion_length, train/undo_per_completion,
 * train/accuracy, train/useless_undo_rate, train/seconds_per_step. Empty for an empty window.
 */
std::map<std::string, double> grpoMetrics(const std::vector<GrpoStepStats>& window);

/**
 * The completions of the first @p groups groups of @p rollouts as scored traces: the trace with
 * its rewards ({"total", "advantage", "over_budget", one key per reward function}) and per step
 * the token credit (reward), @p advantage[b][k], the trace's logprob and @p ratio[b][k] (rows of
 * both `[B, L]` CPU float tensors in rollout order; ratio may be undefined).
 */
std::vector<ScoredTrace> scoredTraces(const std::vector<Rollout>& rollouts,
                                      const std::vector<std::string>& rewardNames,
                                      const at::Tensor& advantage, const at::Tensor& ratio,
                                      int groups);

}  // namespace nmar::core
