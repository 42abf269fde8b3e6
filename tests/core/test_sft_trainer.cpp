// The masked SFT job on a tiny model: training lowers the loss, resume is exact, a NaN ends the run
// failed with its last good checkpoint kept, cancellation checkpoints, bad checkpoints are named,
// evaluation fills its metrics, and the store observer records a run.
#include <gtest/gtest.h>

#include <atomic>
#include <cmath>
#include <fstream>
#include <functional>
#include <limits>

#include <ATen/ATen.h>
#include <torch/csrc/autograd/grad_mode.h>

#include "model/pretrained.h"
#include "store/run_store.h"
#include "train/evaluator.h"
#include "train/experiment.h"
#include "train/sft_trainer.h"
#include "train/store_observer.h"
#include "util/error.h"
#include "test_common.h"

using namespace nmar::core;
using namespace nmar::core::testing;
namespace fs = std::filesystem;

namespace {

std::string experimentText(const fs::path& out, int steps, const std::string& extra = "") {
  return "[run]\nname = \"t\"\nseed = 3\nout_dir = \"" + out.string() +
         "\"\n"
         "[model]\nfamily = \"llama\"\npreset = \"tiny\"\n"
         "[data]\ntask = \"addition\"\nmin_difficulty = 1\nmax_difficulty = 2\n"
         "[deviation]\nkind = \"random\"\nfraction = 0.5\n"
         "[optim]\nlr = 3e-3\nwarmup = 2\n"
         "[train]\nsteps = " + std::to_string(steps) + "\nbatch_size = 8\nlog_every = 1\n"
         "[eval]\nevery = 0\nexamples = 4\ntraces = 2\n"
         "[checkpoint]\nevery = 0\nkeep = 0\n" + extra;
}

ExperimentConfig experiment(const fs::path& out, int steps, const std::string& extra = "") {
  return parseExperiment(experimentText(out, steps, extra), out / "exp.toml");
}

/** Records what the trainer reports. */
struct Recorder : TrainObserver {
  std::vector<double> losses;
  std::vector<std::string> messages;
  std::function<void(std::int64_t)> onStep;
  void onMetrics(std::int64_t, const std::map<std::string, double>& m) override {
    if (m.count("train/loss")) losses.push_back(m.at("train/loss"));
  }
  void onProgress(std::int64_t step, std::int64_t, double, double) override {
    if (onStep) onStep(step);
  }
  void onMessage(const std::string& text) override { messages.push_back(text); }
};

double maxAbsDiff(const TensorMap& a, const TensorMap& b) {
  double d = 0.0;
  for (const auto& [name, t] : a) d = std::max(d, (t - b.at(name)).abs().max().item<double>());
  return d;
}

}  // namespace

TEST(SftTrainer, TrainingLowersTheLoss) {
  TempDir dir;
  Recorder rec;
  SftTrainer trainer(experiment(dir.path(), 40), &rec);
  TrainOutcome out = trainer.run();
  EXPECT_EQ(out.status, TrainStatus::kFinished);
  EXPECT_EQ(out.step, 40);
  ASSERT_EQ(rec.losses.size(), 40u);
  double first = 0, last = 0;
  for (int i = 0; i < 5; ++i) first += rec.losses[i], last += rec.losses[rec.losses.size() - 1 - i];
  EXPECT_LT(last, 0.7 * first) << "first " << first / 5 << " last " << last / 5;
  EXPECT_EQ(out.lastCheckpoint, dir.path() / "checkpoint-40");
  // The checkpoint is a Hugging Face folder with the UNDO token in its tokenizer.
  Pretrained p = loadPretrained(out.lastCheckpoint);
  ASSERT_TRUE(p.tokenizer);
  EXPECT_EQ(p.tokenizer->tokenId("<|undo|>"), std::optional<int32_t>(trainer.undoId()));
}

TEST(SftTrainer, ResumeEndsWithTheSameWeights) {
  TempDir a, b;
  SftTrainer straight(experiment(a.path(), 8));
  straight.run();
  {
    SftTrainer first(experiment(b.path(), 8));
    for (int i = 0; i < 5; ++i) first.trainStep();
    first.saveCheckpoint();
    first.trainStep();  // lost work: the resumed run redoes step 6
  }
  SftTrainer resumed(experiment(b.path(), 8));
  resumed.resume();
  EXPECT_EQ(resumed.step(), 5);
  TrainOutcome out = resumed.run();
  EXPECT_EQ(out.step, 8);
  EXPECT_LE(maxAbsDiff(straight.model()->stateDict(), resumed.model()->stateDict()), 1e-5);
  // And the weights did move.
  SftTrainer fresh(experiment(b.path() / "other", 8));
  EXPECT_GT(maxAbsDiff(fresh.model()->stateDict(), resumed.model()->stateDict()), 1e-3);
}

TEST(SftTrainer, NanLossFailsKeepingTheLastGoodCheckpoint) {
  TempDir dir;
  SftTrainer trainer(experiment(dir.path(), 10));
  trainer.trainStep();
  trainer.trainStep();
  fs::path good = trainer.saveCheckpoint();
  {
    torch::NoGradGuard g;
    trainer.model()->parameters()[0].fill_(std::numeric_limits<float>::quiet_NaN());
  }
  TrainOutcome out = trainer.run();
  EXPECT_EQ(out.status, TrainStatus::kFailed);
  EXPECT_NE(out.message.find("NaN at step 3"), std::string::npos) << out.message;
  EXPECT_NE(out.message.find(good.string()), std::string::npos) << out.message;
  EXPECT_EQ(out.step, 2);
  EXPECT_EQ(out.lastCheckpoint, good);
  EXPECT_EQ(latestCheckpoint(dir.path()), good);
  Pretrained p = loadPretrained(good);
  for (const auto& [name, t] : p.model->stateDict()) {
    EXPECT_TRUE(at::isfinite(t).all().item<bool>()) << name;
  }
}

TEST(SftTrainer, CancelWritesACheckpointAndEndsCancelled) {
  TempDir dir;
  std::atomic<bool> cancel{false};
  Recorder rec;
  rec.onStep = [&](std::int64_t step) {
    if (step == 3) cancel = true;
  };
  SftTrainer trainer(experiment(dir.path(), 50), &rec);
  TrainOutcome out = trainer.run(&cancel);
  EXPECT_EQ(out.status, TrainStatus::kCancelled);
  EXPECT_EQ(out.step, 3);
  EXPECT_TRUE(fs::exists(dir.path() / "checkpoint-3" / "optimizer.safetensors"));
  EXPECT_FALSE(fs::exists(dir.path() / "checkpoint-3" / "optimizer.pt"));
}

TEST(SftTrainer, ResumeRejectsADifferentExperimentAndCorruptCheckpoints) {
  TempDir dir;
  {
    SftTrainer t(experiment(dir.path(), 4));
    t.trainStep();
    t.saveCheckpoint();
  }
  const fs::path ck = dir.path() / "checkpoint-1";
  std::string e = errorOf([&] {
    SftTrainer t(experiment(dir.path(), 4, "[curriculum]\nkind = \"none\"\nstages = [{events = 2}]\n"));
    t.resume();
  });
  EXPECT_NE(e.find("/curriculum"), std::string::npos) << e;
  // More steps is fine (extending a run).
  EXPECT_EQ(errorOf([&] { SftTrainer(experiment(dir.path(), 9)).resume(); }), "no error");

  std::ofstream(ck / "optimizer.safetensors", std::ios::trunc) << "not a safetensors file";
  e = errorOf([&] { SftTrainer(experiment(dir.path(), 4)).resume(ck); });
  EXPECT_NE(e.find("optimizer.safetensors"), std::string::npos) << e;
  fs::remove(ck / "optimizer.safetensors");
  e = errorOf([&] { SftTrainer(experiment(dir.path(), 4)).resume(ck); });
  EXPECT_NE(e.find("optimizer.safetensors: missing"), std::string::npos) << e;
  // A checkpoint of an earlier version (TorchScript optimizer.pt) is refused, not loaded.
  std::ofstream(ck / "optimizer.pt", std::ios::trunc) << "PK old torch archive";
  e = errorOf([&] { SftTrainer(experiment(dir.path(), 4)).resume(ck); });
  EXPECT_NE(e.find("optimizer.pt: an optimizer state from an earlier nmar"), std::string::npos)
      << e;
  fs::remove(ck / "optimizer.pt");
  std::ofstream(ck / "trainer_state.json", std::ios::trunc) << "{\"format\": 1";
  e = errorOf([&] { SftTrainer(experiment(dir.path(), 4)).resume(ck); });
  EXPECT_NE(e.find("trainer_state.json"), std::string::npos) << e;
  e = errorOf([&] { SftTrainer(experiment(dir.path() / "empty", 4)).resume(); });
  EXPECT_NE(e.find("no checkpoint under"), std::string::npos) << e;
}

TEST(SftTrainer, EvaluationFillsEveryMetric) {
  TempDir dir;
  SftTrainer trainer(experiment(dir.path(), 4));
  EvalResult r = trainer.evaluateNow();
  EXPECT_EQ(r.examples, 4);
  for (double v : {r.cleanAccuracy, r.recoveryHard, r.recoverySoft, r.detectionRate,
                   r.falseUndoRate}) {
    EXPECT_GE(v, 0.0);
    EXPECT_LE(v, 1.0);
  }
  EXPECT_LT(r.deviationLikelihood, 0.0);
  EXPECT_GE(r.tokenOverhead, 1.0);
  ASSERT_EQ(r.traces.size(), 2u);
  EXPECT_TRUE(r.traces[0].verdict.contains("correct"));
  auto m = r.metrics();
  EXPECT_TRUE(m.count("eval/clean_acc"));
  EXPECT_TRUE(m.count("eval/recovery_soft"));
  EXPECT_TRUE(m.count("eval/detection_rate"));
  // The verifier of the task judges gold completions right.
  const Example& ex = trainer.heldOut()[0];
  EXPECT_TRUE(trainer.verify(ex, ex.completion).correct);
  EXPECT_FALSE(trainer.verify(ex, ex.completion + "1").correct);
}

TEST(SftTrainer, StoreObserverRecordsTheRun) {
  TempDir dir;
  RunStore store(dir.path() / "runs.sqlite");
  NewRun nr;
  nr.name = "t";
  nr.kind = "sft";
  const std::int64_t id = store.createRun(nr);
  StoreTrainObserver obs(store, id);
  SftTrainer trainer(experiment(dir.path() / "out", 3), &obs);
  trainer.run();
  store.flush();
  auto keys = store.metricKeys(id);
  EXPECT_NE(std::find(keys.begin(), keys.end(), "train/loss"), keys.end());
  EXPECT_NE(std::find(keys.begin(), keys.end(), "eval/clean_acc"), keys.end());
  EXPECT_EQ(store.traceCount(id), 2);
  auto arts = store.artifacts(id);
  ASSERT_EQ(arts.size(), 1u);
  EXPECT_EQ(arts[0].kind, "checkpoint");
  EXPECT_TRUE(obs.healthy());
}
