// The GRPO job on a tiny model: a short run writes GRPO metrics, group traces and per-token
// scores (reward, advantage, logprob, ratio) into a temporary run store; the first inner update's
// ratios are 1; resume gives the weights of an uninterrupted run; a NaN policy ends the run
// failed with its last good checkpoint; a non-GRPO experiment is refused.
#include <gtest/gtest.h>

#include <unistd.h>

#include <algorithm>
#include <cmath>
#include <functional>
#include <limits>

#include <ATen/ATen.h>
#include <torch/csrc/autograd/grad_mode.h>

#include "store/run_store.h"
#include "train/experiment.h"
#include "train/grpo_trainer.h"
#include "train/policy_logprobs.h"
#include "train/sft_trainer.h"
#include "train/store_observer.h"
#include "util/error.h"
#include "test_common.h"

using namespace nmar::core;
using namespace nmar::core::testing;
namespace fs = std::filesystem;

namespace {

ExperimentConfig experiment(const fs::path& out, int steps, const std::string& grpoExtra = "") {
  const std::string text =
      "[run]\nname = \"g\"\nseed = 5\nout_dir = \"" + out.string() +
      "\"\n"
      "[model]\nfamily = \"llama\"\npreset = \"tiny\"\n"
      "[data]\ntask = \"addition\"\nmin_difficulty = 1\nmax_difficulty = 1\n"
      "[optim]\nlr = 3e-3\nwarmup = 0\nschedule = \"constant\"\n"
      "[train]\nsteps = " +
      std::to_string(steps) +
      "\nlog_every = 1\n"
      "[eval]\nevery = 0\nexamples = 3\ntraces = 1\nmax_new_tokens = 8\n"
      "[checkpoint]\nevery = 0\nkeep = 0\n"
      "[grpo]\nnum_generations = 4\nprompts_per_step = 2\nnum_iterations = 2\nbeta = 0.05\n"
      "max_completion_length = 10\nundo_logit_bias = 3.0\ntemperature = 0.9\n"
      "token_credit = true\ntraces = 1\n" +
      grpoExtra + "[rewards]\noutcome = 1.0\nformat = 0.5\nefficiency = 1.0\nundo_penalty = 0.05\n";
  return parseExperiment(text, out / "exp.toml");
}

double maxAbsDiff(const TensorMap& a, const TensorMap& b) {
  double d = 0.0;
  for (const auto& [name, t] : a) d = std::max(d, (t - b.at(name)).abs().max().item<double>());
  return d;
}

bool contains(const std::vector<std::string>& keys, const std::string& key) {
  return std::find(keys.begin(), keys.end(), key) != keys.end();
}

}  // namespace

TEST(GrpoTrainer, AShortRunRecordsMetricsTracesAndTokenScores) {
  TempDir dir;
  RunStore store(dir.path() / "runs.sqlite");
  NewRun nr;
  nr.name = "g";
  nr.kind = "grpo";
  const std::int64_t id = store.createRun(nr);
  StoreTrainObserver obs(store, id);
  GrpoTrainer trainer(experiment(dir.path() / "out", 3), &obs);

  const GrpoStepStats first = trainer.trainStep();
  EXPECT_LT(first.firstRatioMaxDev, 1e-5);
  EXPECT_GT(first.tokens, 0);
  EXPECT_GT(first.undoPerCompletion, 0.0) << "the UNDO bias should make the policy pop";
  // The reference is the starting policy: KL 0 at the first inner update, > 0 after it (the
  // step's KL is the mean over its 2 inner updates).
  EXPECT_GT(first.kl, 0.0);
  EXPECT_LT(first.kl, 0.1);
  ASSERT_EQ(trainer.lastRollouts().size(), 8u);
  // Advantages sum to ~0 within each group.
  for (int g = 0; g < 2; ++g) {
    double sum = 0;
    for (int i = 0; i < 4; ++i) sum += trainer.lastRollouts()[g * 4 + i].advantage;
    EXPECT_NEAR(sum, 0.0, 1e-6);
  }
  TrainOutcome out = trainer.run();
  EXPECT_EQ(out.status, TrainStatus::kFinished);
  EXPECT_EQ(out.step, 3);
  EXPECT_EQ(out.lastCheckpoint, dir.path() / "out" / "checkpoint-3");
  store.flush();

  const auto keys = store.metricKeys(id);
  for (const char* k :
       {"train/loss", "train/reward", "train/reward_std", "train/rewards/outcome/mean",
        "train/rewards/outcome/std", "train/rewards/format/mean", "train/rewards/efficiency/std",
        "train/frac_reward_zero_std", "train/kl", "train/entropy", "train/clip_ratio",
        "train/completion_length", "train/undo_per_completion", "train/accuracy", "eval/clean_acc",
        "eval/undo_per_seq"}) {
    EXPECT_TRUE(contains(keys, k)) << k;
  }
  // One group of 4 completions per step, plus the evaluation's trace.
  const auto traces = store.traces(id, 2, true);
  ASSERT_EQ(traces.size(), 4u);
  EXPECT_EQ(traces[0].group, 0);
  EXPECT_TRUE(traces[0].trace["rewards"].contains("total"));
  EXPECT_TRUE(traces[0].trace["rewards"].contains("outcome"));
  EXPECT_TRUE(traces[0].verdict.contains("correct"));
  const Trace t = store.trace(traces[0].id);
  const auto scores = store.tokenScores(traces[0].id);
  ASSERT_EQ(scores.size(), t.steps.size());
  for (std::size_t k = 0; k < scores.size(); ++k) {
    EXPECT_EQ(scores[k].token, t.steps[k].token);
    ASSERT_TRUE(scores[k].ratio.has_value());
    ASSERT_TRUE(scores[k].advantage.has_value());
    ASSERT_TRUE(scores[k].reward.has_value());
    EXPECT_EQ(scores[k].logprob, t.steps[k].logprob);
    EXPECT_GT(*scores[k].ratio, 0.0);
  }
  EXPECT_TRUE(obs.healthy());
}

TEST(GrpoTrainer, ResumeEndsWithTheSameWeights) {
  TempDir a, b;
  GrpoTrainer straight(experiment(a.path(), 4));
  straight.run();
  {
    GrpoTrainer first(experiment(b.path(), 4));
    first.trainStep();
    first.trainStep();
    first.saveCheckpoint();
    first.trainStep();  // lost work: the resumed run redoes step 3
  }
  GrpoTrainer resumed(experiment(b.path(), 4));
  resumed.resume();
  EXPECT_EQ(resumed.step(), 2);
  TrainOutcome out = resumed.run();
  EXPECT_EQ(out.step, 4);
  EXPECT_LE(maxAbsDiff(straight.model()->stateDict(), resumed.model()->stateDict()), 1e-5);
  GrpoTrainer fresh(experiment(b.path() / "other", 4));
  EXPECT_GT(maxAbsDiff(fresh.model()->stateDict(), resumed.model()->stateDict()), 1e-4);
  // A different GRPO setting is refused.
  GrpoTrainer other(experiment(b.path(), 4, "epsilon_high = 0.3\n"));
  std::string e;
  try {
    other.resume();
  } catch (const Error& err) {
    e = err.what();
  }
  EXPECT_NE(e.find("/grpo/epsilon_high"), std::string::npos) << e;
}

TEST(GrpoTrainer, AnUpdateMovesProbabilityTowardsPositiveAdvantages) {
  TempDir dir;
  GrpoTrainer trainer(experiment(dir.path(), 2));
  trainer.trainStep();
  std::vector<const Trace*> traces;
  for (const Rollout& r : trainer.lastRollouts()) traces.push_back(&r.trace);
  PolicyForwardOptions po;
  po.undoId = trainer.undoId();
  po.temperature = 0.9;
  po.undoLogitBias = 3.0;
  torch::NoGradGuard noGrad;
  Transformer model = trainer.model();
  const PolicyLogprobs after = policyLogprobs(model, traces, po);
  // sum over sampled tokens of (logp_after - logp_sampling) x advantage must be positive.
  double score = 0.0, moved = 0.0;
  for (std::size_t b = 0; b < traces.size(); ++b) {
    const Rollout& r = trainer.lastRollouts()[b];
    for (std::size_t k = 0; k < r.trace.steps.size(); ++k) {
      const double delta = after.logp[b][k].item<double>() - *r.trace.steps[k].logprob;
      score += delta * (r.advantage + r.credit.credit[k]);
      moved += std::abs(delta);
    }
  }
  EXPECT_GT(moved, 1e-3);
  EXPECT_GT(score, 0.0);
}

TEST(GrpoTrainer, EveryLossTypeAndScalingTrains) {
  for (const char* extra : {"loss_type = \"grpo\"\nscale_rewards = \"batch\"\n",
                            "loss_type = \"dr_grpo\"\nscale_rewards = \"none\"\n"}) {
    TempDir dir;
    GrpoTrainer t(experiment(dir.path(), 2, extra));
    const GrpoStepStats s = t.trainStep();
    EXPECT_TRUE(std::isfinite(s.loss)) << extra;
    EXPECT_LT(s.firstRatioMaxDev, 1e-5) << extra;
  }
}

TEST(GrpoTrainer, NanPolicyFailsKeepingTheLastGoodCheckpoint) {
  TempDir dir;
  GrpoTrainer trainer(experiment(dir.path(), 6));
  trainer.trainStep();
  const fs::path good = trainer.saveCheckpoint();
  {
    torch::NoGradGuard g;
    trainer.model()->parameters()[0].fill_(std::numeric_limits<float>::quiet_NaN());
  }
  TrainOutcome out = trainer.run();
  EXPECT_EQ(out.status, TrainStatus::kFailed);
  EXPECT_NE(out.message.find("not finite at step 2"), std::string::npos) << out.message;
  EXPECT_NE(out.message.find(good.string()), std::string::npos) << out.message;
  EXPECT_EQ(out.step, 1);
  EXPECT_EQ(latestCheckpoint(dir.path()), good);
}

TEST(GrpoTrainer, RefusesAnSftExperiment) {
  TempDir dir;
  const ExperimentConfig sft = parseExperiment("[run]\nname = \"s\"\n[data]\ntask = \"addition\"\n",
                                               dir.path() / "sft.toml");
  try {
    GrpoTrainer t(sft);
    FAIL() << "no error";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("[run].kind: expected \"grpo\""), std::string::npos);
  }
}
