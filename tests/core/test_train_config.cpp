// Learning-rate schedules, the masked SFT loss on a hand-made batch, and TOML experiment files
// (good files, every kind of bad input).
#include <gtest/gtest.h>

#include <cmath>
#include <functional>

#include <ATen/ATen.h>

#include "data/curriculum.h"
#include "data/deviation.h"
#include "data/example_source.h"
#include "nmar_test_paths.h"
#include "nmar/masks.h"
#include "train/experiment.h"
#include "train/lr_schedule.h"
#include "train/sft_loss.h"
#include "util/error.h"
#include "test_common.h"

using namespace nmar::core;
using namespace nmar::core::testing;

namespace {

const char* kGood = R"(
[run]
name = "demo"
seed = 7
out_dir = "out/demo"

[model]
family = "gpt2"
preset = "tiny"
config = { n_positions = 64 }

[data]
task = "addition"
min_difficulty = 2
max_difficulty = 3

[deviation]
kind = "random"
fraction = 0.5

[curriculum]
kind = "steps"

[optim]
lr = 3e-3
warmup = 10
schedule = "linear"
clip = 0.5

[train]
steps = 100
batch_size = 8
accumulation = 2
mode = "soft"
loss = "naive"

[eval]
every = 50
examples = 16

[checkpoint]
every = 25
keep = 3
)";

}  // namespace

TEST(LrSchedule, WarmupThenCosineToMinRatio) {
  LrSchedule s{1.0, 10, 110, LrDecay::kCosine, 0.1};
  EXPECT_DOUBLE_EQ(s.factor(0), 0.1);
  EXPECT_DOUBLE_EQ(s.factor(4), 0.5);
  EXPECT_DOUBLE_EQ(s.factor(9), 1.0);
  EXPECT_DOUBLE_EQ(s.factor(10), 1.0);
  EXPECT_NEAR(s.factor(60), 0.1 + 0.9 * 0.5, 1e-12);  // halfway through the decay
  EXPECT_NEAR(s.factor(110), 0.1, 1e-12);
  EXPECT_NEAR(s.factor(500), 0.1, 1e-12);
}

TEST(LrSchedule, LinearAndConstant) {
  LrSchedule lin{2.0, 0, 100, LrDecay::kLinear, 0.0};
  EXPECT_DOUBLE_EQ(lin.at(0), 2.0);
  EXPECT_DOUBLE_EQ(lin.at(50), 1.0);
  EXPECT_DOUBLE_EQ(lin.at(100), 0.0);
  LrSchedule c{2.0, 4, 100, LrDecay::kConstant, 0.0};
  EXPECT_DOUBLE_EQ(c.at(1), 1.0);
  EXPECT_DOUBLE_EQ(c.at(99), 2.0);
  EXPECT_NE(errorOf([] { LrSchedule{0.0, 0, 1, LrDecay::kCosine, 0.1}.validate("x"); }).find("x.lr"),
            std::string::npos);
  EXPECT_NE(errorOf([] { parseLrDecay("step", "cfg"); }).find("unknown schedule 'step'"),
            std::string::npos);
}

TEST(SftLoss, MaskedAndNaiveWeightsOnSpecExample) {
  // prompt p p, then a x U b (x is the deviation): targets a, x, U, b (+ none at the end).
  const std::int64_t U = 9;
  at::Tensor ids = at::tensor(std::vector<std::int64_t>{1, 2, 3, 4, U, 5}).reshape({1, 6});
  NmarBatch batch = buildNmarBatch(ids, {2}, U);
  // Logits that put probability 1/2 on the target everywhere.
  at::Tensor logits = at::full({1, 6, 10}, -1e9);
  for (int i = 0; i < 5; ++i) {
    const auto t = batch.targets[0][i].item<std::int64_t>();
    logits[0][i][t] = 0.0;
    logits[0][i][(t + 1) % 10] = 0.0;
  }
  SftLoss masked = sftLoss(logits, batch, false, false);
  SftLoss naive = sftLoss(logits, batch, true, false);
  SftLoss withPrompt = sftLoss(logits, batch, false, true);
  const double ln2 = std::log(2.0);
  EXPECT_NEAR(masked.value, ln2, 1e-6);
  EXPECT_DOUBLE_EQ(masked.weight, 3.0);      // a, U, b: the deviation x is masked
  EXPECT_DOUBLE_EQ(naive.weight, 4.0);       // x trained on too
  EXPECT_DOUBLE_EQ(withPrompt.weight, 4.0);  // + the prompt target p2
  EXPECT_DOUBLE_EQ(masked.groupCount[static_cast<int>(TargetGroup::kDetect)], 1.0);
  EXPECT_DOUBLE_EQ(masked.groupCount[static_cast<int>(TargetGroup::kCorrect)], 1.0);
  EXPECT_DOUBLE_EQ(masked.deviationCount, 1.0);
  EXPECT_NEAR(masked.deviationLikelihood(), -ln2, 1e-6);
  EXPECT_NEAR(masked.groupMean(TargetGroup::kDetect), ln2, 1e-6);
  EXPECT_TRUE(std::isnan(masked.groupMean(TargetGroup::kRest)));
  // The gradient of the masked loss does not reach the deviation's prediction.
  at::Tensor l = logits.clone().requires_grad_(true);
  sftLoss(l, batch, false, false).loss.backward();
  EXPECT_EQ(l.grad()[0][2].abs().sum().item<double>(), 0.0);  // position 2 predicts x
  EXPECT_GT(l.grad()[0][3].abs().sum().item<double>(), 0.0);  // position 3 predicts U
}

TEST(Experiment, ParsesEveryTable) {
  ExperimentConfig c = parseExperiment(kGood, "/exp/demo.toml");
  EXPECT_EQ(c.name, "demo");
  EXPECT_EQ(c.seed, 7u);
  EXPECT_EQ(c.outDir, std::filesystem::path("/exp/out/demo"));
  EXPECT_EQ(c.model.family, "gpt2");
  EXPECT_EQ(c.model.overrides["n_positions"], 64);
  EXPECT_EQ(c.data["task"], "addition");
  EXPECT_EQ(c.deviation["fraction"], 0.5);
  EXPECT_DOUBLE_EQ(c.optim.schedule.peak, 3e-3);
  EXPECT_EQ(c.optim.schedule.decay, LrDecay::kLinear);
  EXPECT_EQ(c.optim.schedule.totalSteps, 100);
  EXPECT_DOUBLE_EQ(c.optim.clipNorm, 0.5);
  EXPECT_EQ(c.train.accumulation, 2);
  EXPECT_EQ(c.train.mode, AttentionMode::kSoft);
  EXPECT_TRUE(c.train.naive);
  EXPECT_EQ(c.eval.examples, 16);
  EXPECT_EQ(c.checkpoint.keep, 3);
  // JSON round trip (what the run store keeps).
  ExperimentConfig back = experimentFromJson(c.toJson(), "/exp/demo.toml");
  EXPECT_EQ(back.toJson(), c.toJson());
}

TEST(Experiment, BadInputNamesFileSectionAndKey) {
  auto err = [](const std::string& text) { return errorOf([&] { parseExperiment(text, "e.toml"); }); };
  const std::string data = "[data]\ntask = \"addition\"\n";
  EXPECT_NE(err(data + "[train]\nstep = 3\n").find("e.toml: [train]: unknown field 'step'"),
            std::string::npos);
  EXPECT_NE(err(data + "[train]\nsteps = \"many\"\n").find("[train]: field 'steps': expected"),
            std::string::npos);
  EXPECT_NE(err(data + "[train]\nmode = \"medium\"\n").find("[train]: field 'mode'"),
            std::string::npos);
  EXPECT_NE(err(data + "[optim]\nbeta1 = 1.5\n").find("[optim]: field 'beta1'"), std::string::npos);
  EXPECT_NE(err(data + "[optim]\nschedule = \"step\"\n").find("field 'schedule'"), std::string::npos);
  EXPECT_NE(err(data + "[trian]\nsteps = 3\n").find("[trian]: unknown table"), std::string::npos);
  EXPECT_NE(err("[run]\nname = \"x\"\n").find("[data]: missing"), std::string::npos);
  EXPECT_NE(err(data + "[run]\ndtype = \"fp8\"\n").find("[run]: field 'dtype'"), std::string::npos);
  const std::string syntax = err(data + "[train\nsteps = 3\n");
  EXPECT_NE(syntax.find("e.toml:3:"), std::string::npos) << syntax;
  EXPECT_NE(syntax.find("TOML syntax error"), std::string::npos);
  EXPECT_NE(errorOf([] { loadExperiment("/nonexistent/x.toml"); }).find("/nonexistent/x.toml"),
            std::string::npos);
}

// Every experiment file shipped in experiments/ parses, and its data, deviation and curriculum
// tables are valid (a typo there would only show when someone runs it).
TEST(Experiment, EveryShippedExperimentIsValid) {
  const std::filesystem::path dir = std::filesystem::path(NMAR_SOURCE_DIR) / "experiments";
  int files = 0;
  for (const auto& entry : std::filesystem::directory_iterator(dir)) {
    if (entry.path().extension() != ".toml") continue;
    // The suite of experiments (`nmar experiments`) is checked by test_cli_experiments.
    if (entry.path().filename() == "suite.toml") continue;
    SCOPED_TRACE(entry.path().string());
    ++files;
    ExperimentConfig c = loadExperiment(entry.path());
    EXPECT_EQ(c.name + ".toml", entry.path().filename().string()) << "[run].name follows the file";
    EXPECT_NO_THROW(makeExampleSource(c.data, c.seed, dir));
    if (!c.isGrpo()) {
      EXPECT_NO_THROW(DeviationSettings::fromJson(c.deviation, "deviation"));
      EXPECT_NO_THROW(Curriculum::fromJson(c.curriculum, "curriculum"));
    }
    if (!c.model.checkpoint.empty()) {
      // Stage-2 experiments start from another experiment's output under <repo>/runs/.
      EXPECT_EQ(c.model.checkpoint.lexically_normal().parent_path().parent_path().filename(), "runs");
    }
  }
  EXPECT_GE(files, 6);
}
