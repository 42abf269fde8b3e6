// The deviation detector trained jointly with masked SFT (issue 12, [detector]): the config
// table, stack labels as a tensor, the auxiliary loss against a hand computation, detach keeping
// the model's update equal to plain SFT, the detector saved in every checkpoint and resumed
// exactly, corrupt detector files named, and evaluations adding the detector's measurements.
#include <gtest/gtest.h>

#include <cmath>
#include <fstream>

#include <ATen/ATen.h>
#include <torch/csrc/autograd/grad_mode.h>

#include "checkpoint/safetensors.h"
#include "model/pretrained.h"
#include "train/detector.h"
#include "train/detector_joint.h"
#include "train/experiment.h"
#include "train/sft_trainer.h"
#include "util/error.h"
#include "test_common.h"

using namespace nmar::core;
using namespace nmar::core::testing;
namespace fs = std::filesystem;

namespace {

constexpr std::int64_t kUndo = 9;

std::string experimentText(const fs::path& out, int steps, const std::string& extra) {
  return "[run]\nname = \"j\"\nseed = 5\nout_dir = \"" + out.string() +
         "\"\n"
         "[model]\nfamily = \"llama\"\npreset = \"tiny\"\n"
         "[data]\ntask = \"addition\"\nmin_difficulty = 1\nmax_difficulty = 2\n"
         "[deviation]\nkind = \"random\"\nfraction = 0.75\n"
         "[optim]\nlr = 3e-3\nwarmup = 2\n"
         "[train]\nsteps = " + std::to_string(steps) + "\nbatch_size = 8\nlog_every = 1\n"
         "[eval]\nevery = 0\nexamples = 6\ntraces = 1\n"
         "[checkpoint]\nevery = 0\nkeep = 0\n" + extra;
}

ExperimentConfig experiment(const fs::path& out, int steps, const std::string& extra = "") {
  return parseExperiment(experimentText(out, steps, extra), out / "exp.toml");
}

double maxAbsDiff(const TensorMap& a, const TensorMap& b) {
  double d = 0.0;
  for (const auto& [name, t] : a) d = std::max(d, (t - b.at(name)).abs().max().item<double>());
  return d;
}

/** Records the metric rows. */
struct Recorder : TrainObserver {
  std::map<std::string, double> last;
  std::map<std::string, double> eval;
  void onMetrics(std::int64_t, const std::map<std::string, double>& m) override {
    for (const auto& [k, v] : m) (k.rfind("eval/", 0) == 0 ? eval : last)[k] = v;
  }
};

}  // namespace

TEST(DetectorJoint, ConfigTableIsReadAndChecked) {
  TempDir dir;
  const ExperimentConfig off = experiment(dir.path(), 3);
  EXPECT_FALSE(off.detector.enabled);
  EXPECT_FALSE(off.toJson().contains("detector"));
  const ExperimentConfig on =
      experiment(dir.path(), 3, "[detector]\nweight = 2.0\ninner_size = 16\ntau = 0.3\n"
                                "detach = true\nbalance = false\neval_trigger = false\n");
  EXPECT_TRUE(on.detector.enabled);
  EXPECT_DOUBLE_EQ(on.detector.weight, 2.0);
  EXPECT_EQ(on.detector.innerSize, 16);
  EXPECT_DOUBLE_EQ(on.detector.tau, 0.3);
  EXPECT_TRUE(on.detector.detach);
  EXPECT_FALSE(on.detector.balance);
  EXPECT_FALSE(on.detector.evalTrigger);
  EXPECT_TRUE(on.detector.evalNatural);
  EXPECT_EQ(on.toJson().at("detector").at("inner_size"), 16);
  // The JSON form reads back to the same.
  EXPECT_EQ(experimentFromJson(on.toJson(), "x.toml").toJson(), on.toJson());

  std::string e = errorOf([&] { experiment(dir.path(), 3, "[detector]\nwieght = 1.0\n"); });
  EXPECT_NE(e.find("[detector]"), std::string::npos) << e;
  EXPECT_NE(e.find("wieght"), std::string::npos) << e;
  e = errorOf([&] { experiment(dir.path(), 3, "[detector]\ntau = 1.5\n"); });
  EXPECT_NE(e.find("tau"), std::string::npos) << e;
  e = errorOf([&] { experiment(dir.path(), 3, "[detector]\nweight = \"big\"\n"); });
  EXPECT_NE(e.find("weight"), std::string::npos) << e;
  const std::string grpo = "[run]\nname = \"g\"\nkind = \"grpo\"\n[model]\ncheckpoint = \"x\"\n"
                           "[data]\ntask = \"addition\"\n[detector]\nweight = 1.0\n";
  e = errorOf([&] { parseExperiment(grpo, dir.path() / "g.toml"); });
  EXPECT_NE(e.find("g.toml: [detector]: only for an sft run"), std::string::npos) << e;
}

TEST(DetectorJoint, StackLabelsAsATensor) {
  // prompt 1 2 | 3 (dev) UNDO 4 5 (dev) 6 (dev) UNDO UNDO 7 | second row shorter.
  std::vector<TrainingSequence> rows(2);
  rows[0].ids = {1, 2, 3, kUndo, 4, 5, 6, kUndo, kUndo, 7};
  rows[0].promptLength = 2;
  rows[1].ids = {1, 2, 4};
  rows[1].promptLength = 2;
  const at::Tensor t = stackLabelTensor(rows, 0, 2, 11, kUndo, at::kCPU);
  ASSERT_EQ(t.sizes(), (std::vector<std::int64_t>{2, 11}));
  const std::vector<float> want0 = {-1, -1, 1, -1, 0, 1, 1, -1, -1, 0, -1};
  const std::vector<float> want1 = {-1, -1, 0, -1, -1, -1, -1, -1, -1, -1, -1};
  for (int i = 0; i < 11; ++i) {
    EXPECT_EQ(t[0][i].item<float>(), want0[i]) << "row 0 position " << i;
    EXPECT_EQ(t[1][i].item<float>(), want1[i]) << "row 1 position " << i;
  }
  const DetectorLabelCounts c = countStackLabels(rows, kUndo);
  EXPECT_EQ(c.positives, 3);
  EXPECT_EQ(c.negatives, 3);
  EXPECT_DOUBLE_EQ(c.posWeight(true), 1.0);
  const DetectorLabelCounts skew{1, 4};
  EXPECT_DOUBLE_EQ(skew.posWeight(true), 4.0);
  EXPECT_DOUBLE_EQ(skew.posWeight(false), 1.0);
  // A row range: the second row alone.
  const at::Tensor r1 = stackLabelTensor(rows, 1, 2, 3, kUndo, at::kCPU);
  EXPECT_EQ(r1.size(0), 1);
  EXPECT_EQ(r1[0][2].item<float>(), 0.0f);
}

TEST(DetectorJoint, LossMatchesAHandComputation) {
  DetectorConfig dc;
  dc.hiddenSize = 2;
  DetectorHead head(dc);
  {
    torch::NoGradGuard g;
    TensorMap w = {{"score.weight", at::tensor({1.0f, -1.0f}).reshape({1, 2})},
                   {"score.bias", at::tensor({0.5f})}};
    head->loadStateDict(w, "hand");
  }
  // Hidden [1, 3, 2]; labels: position 0 none, 1 positive, 2 negative.
  const at::Tensor hidden = at::tensor({0.f, 0.f, 2.f, 1.f, -1.f, 1.f}).reshape({1, 3, 2});
  const at::Tensor labels = at::tensor({-1.f, 1.f, 0.f}).reshape({1, 3});
  const JointDetectorLoss l = jointDetectorLoss(head, hidden, labels, 3.0, 4.0, false);
  // logits: position 1: 2 - 1 + 0.5 = 1.5; position 2: -1 - 1 + 0.5 = -1.5.
  const double pos = 3.0 * std::log1p(std::exp(-1.5));  // -3 log sigmoid(1.5)
  const double neg = std::log1p(std::exp(-1.5));        // -log(1 - sigmoid(-1.5))
  EXPECT_EQ(l.count, 2);
  EXPECT_EQ(l.correct, 2);
  EXPECT_NEAR(l.sum, pos + neg, 1e-5);
  EXPECT_NEAR(l.loss.item<double>(), (pos + neg) / 4.0, 1e-5);
  // No labels: a zero loss that still has a gradient path to the head.
  const JointDetectorLoss none =
      jointDetectorLoss(head, hidden, at::full({1, 3}, -1.0f), 1.0, 1.0, false);
  EXPECT_EQ(none.count, 0);
  EXPECT_EQ(none.loss.item<double>(), 0.0);
  EXPECT_TRUE(none.loss.requires_grad());
}

TEST(DetectorJoint, DetachLeavesTheModelUpdateOfPlainSft) {
  TempDir plainDir, detachDir, jointDir;
  SftTrainer plain(experiment(plainDir.path(), 3));
  SftTrainer detached(experiment(detachDir.path(), 3, "[detector]\nweight = 5.0\ndetach = true\n"));
  SftTrainer joint(experiment(jointDir.path(), 3, "[detector]\nweight = 5.0\n"));
  for (int i = 0; i < 3; ++i) {
    plain.trainStep();
    detached.trainStep();
    joint.trainStep();
  }
  const TensorMap p = plain.model()->stateDict();
  EXPECT_LT(maxAbsDiff(p, detached.model()->stateDict()), 1e-6);
  EXPECT_GT(maxAbsDiff(p, joint.model()->stateDict()), 1e-5);
  // The detached head did learn.
  DetectorConfig dc;
  dc.hiddenSize = plain.model()->config().hiddenSize;
  const DetectorHead fresh(dc, 5 + 7919);
  EXPECT_GT(maxAbsDiff(fresh->stateDict(), detached.detector()->stateDict()), 1e-4);
  EXPECT_FALSE(plain.detector());
}

TEST(DetectorJoint, CheckpointHoldsTheDetectorAndResumesExactly) {
  TempDir a, b;
  const std::string table = "[detector]\nweight = 1.0\ninner_size = 8\n";
  Recorder rec;
  SftTrainer straight(experiment(a.path(), 6, table), &rec);
  const TrainOutcome out = straight.run();
  ASSERT_EQ(out.status, TrainStatus::kFinished) << out.message;
  ASSERT_TRUE(hasDetector(out.lastCheckpoint));
  EXPECT_TRUE(rec.last.count("train/detector_loss"));
  EXPECT_GT(rec.last.at("train/detector_loss"), 0.0);
  EXPECT_GE(rec.last.at("train/detector_acc"), 0.0);
  EXPECT_LE(rec.last.at("train/detector_acc"), 1.0);
  const DetectorHead saved = loadDetector(out.lastCheckpoint, straight.model()->config().hiddenSize);
  EXPECT_EQ(saved->config().innerSize, 8);
  EXPECT_EQ(saved->config().training.at("step"), 6);
  EXPECT_EQ(saved->config().training.at("joint"), true);
  EXPECT_LT(maxAbsDiff(saved->stateDict(), straight.detector()->stateDict()), 1e-7);

  {  // 3 steps, checkpoint, then a new trainer resumes to 6: same model and detector.
    SftTrainer first(experiment(b.path(), 6, table));
    for (int i = 0; i < 3; ++i) first.trainStep();
    first.saveCheckpoint();
  }
  SftTrainer resumed(experiment(b.path(), 6, table));
  resumed.resume();
  EXPECT_EQ(resumed.step(), 3);
  for (int i = 0; i < 3; ++i) resumed.trainStep();
  EXPECT_LT(maxAbsDiff(straight.model()->stateDict(), resumed.model()->stateDict()), 1e-5);
  EXPECT_LT(maxAbsDiff(straight.detector()->stateDict(), resumed.detector()->stateDict()), 1e-5);

  // A checkpoint without the table cannot be resumed with it, and the reverse.
  std::string e = errorOf([&] { SftTrainer(experiment(b.path(), 6)).resume(); });
  EXPECT_NE(e.find("/detector"), std::string::npos) << e;
  // Evaluation settings of the detector may change on resume.
  EXPECT_EQ(errorOf([&] {
              SftTrainer(experiment(b.path(), 6, table + "tau = 0.7\neval_trigger = false\n"))
                  .resume();
            }),
            "no error");
}

TEST(DetectorJoint, CorruptDetectorFilesAreNamedOnResume) {
  TempDir dir;
  const std::string table = "[detector]\nweight = 1.0\n";
  fs::path ck;
  {
    SftTrainer t(experiment(dir.path(), 4, table));
    t.trainStep();
    ck = t.saveCheckpoint();
  }
  {  // truncated weights
    std::ofstream(ck / kDetectorWeightsFile, std::ios::binary | std::ios::trunc) << "garbage";
    const std::string e = errorOf([&] { SftTrainer(experiment(dir.path(), 4, table)).resume(ck); });
    EXPECT_NE(e.find(kDetectorWeightsFile), std::string::npos) << e;
  }
  fs::remove(ck / kDetectorWeightsFile);
  const std::string e = errorOf([&] { SftTrainer(experiment(dir.path(), 4, table)).resume(ck); });
  EXPECT_NE(e.find(kDetectorWeightsFile), std::string::npos) << e;
}

TEST(DetectorJoint, EvaluationAddsTheDetectorMeasurements) {
  TempDir dir;
  Recorder rec;
  SftTrainer t(experiment(dir.path(), 30, "[detector]\nweight = 1.0\ntau = 0.5\n"), &rec);
  const TrainOutcome out = t.run();
  ASSERT_EQ(out.status, TrainStatus::kFinished) << out.message;
  for (const char* k :
       {"eval/detector_auroc", "eval/detector_recall",
        "eval/detector_false_trigger", "eval/detector_natural_errors", "eval/clean_acc_verifier",
        "eval/recovery_hard_verifier", "eval/recovery_soft_verifier",
        "eval/verifier_undo_per_seq", "eval/clean_acc_verifier_only",
        "eval/recovery_hard_verifier_only", "eval/undo_per_seq_verifier_only",
        "eval/detector_seconds"}) {
    ASSERT_TRUE(rec.eval.count(k)) << k;
    EXPECT_TRUE(std::isfinite(rec.eval.at(k))) << k;
  }
  for (const char* k : {"eval/detector_auroc", "eval/detector_recall", "eval/clean_acc_verifier",
                        "eval/recovery_hard_verifier_only"}) {
    EXPECT_GE(rec.eval.at(k), 0.0) << k;
    EXPECT_LE(rec.eval.at(k), 1.0) << k;
  }
  // eval/detector_precision is left out when no token scored over tau (NaN), else a rate.
  if (rec.eval.count("eval/detector_precision")) {
    EXPECT_GE(rec.eval.at("eval/detector_precision"), 0.0);
    EXPECT_LE(rec.eval.at("eval/detector_precision"), 1.0);
  }
  // After 30 steps on stack labels the head separates injected deviations better than chance.
  EXPECT_GT(rec.eval.at("eval/detector_auroc"), 0.6);
}
