// `nmar experiments`: stages (`from`, `undo_init`) planned in order, refused when they cycle or
// name nothing, and run with the stage's checkpoint; derived metrics (steps to a threshold, max
// over a step range) on hand-made series; and the shipped suite's staged experiments (token init,
// curriculum, GRPO) at quick size with their values present and sane.
#include <cmath>
#include <limits>
#include <regex>

#include "cli_test_support.h"
#include "experiments/suite_metric.h"
#include "experiments/suite_runner.h"
#include "store/run_store.h"
#include "util/error.h"

namespace nmar::testing {
namespace {

const std::string kBase = std::string(NMAR_SOURCE_DIR) + "/experiments/addition-tiny.toml";
const std::string kShipped = std::string(NMAR_SOURCE_DIR) + "/experiments/suite.toml";

/**
 * Experiment "b" (listed first) starts from "a.pre"; a.pre is plain SFT without deviations,
 * b.init re-initialises UNDO with mean init. Quick size: 10 steps.
 */
std::string stagedSuite(const std::string& bFrom = "a.pre", const std::string& aExtra = "") {
  return "[suite]\nname = \"st\"\nseeds = 2\n"
         "[quick]\nseeds = 1\nset = { \"train.steps\" = 10, \"eval.every\" = 0, "
         "\"eval.examples\" = 8, \"eval.traces\" = 1, \"optim.warmup\" = 2, "
         "\"train.log_every\" = 2 }\n"
         "[[experiment]]\nname = \"b\"\nbase = \"" +
         kBase + "\"\nfrom = \"" + bFrom +
         "\"\nmetrics = [\"init/kl_shift\", \"max(train/loss,..4)\", \"eval/clean_acc\"]\n"
         "reading = \"Too short to mean anything.\"\n"
         "  [[experiment.variant]]\n  name = \"init\"\n  undo_init = \"mean\"\n"
         "  [[experiment.variant]]\n  name = \"plain\"\n"
         "[[experiment]]\nname = \"a\"\nbase = \"" +
         kBase + "\"\nmetrics = [\"eval/clean_acc\"]\n" + aExtra +
         "  [[experiment.variant]]\n  name = \"pre\"\n  set = { \"deviation.kind\" = \"none\" }\n";
}

void writeFile(const std::string& path, const std::string& text) {
  std::ofstream(path, std::ios::binary) << text;
}

std::vector<core::MetricPoint> series(std::initializer_list<std::pair<std::int64_t, double>> p) {
  std::vector<core::MetricPoint> out;
  for (const auto& [step, value] : p) out.push_back({step, value, 0});
  return out;
}

TEST(ExperimentsMetrics, DerivedValuesOfHandMadeSeries) {
  const auto detection =
      series({{100, 0.1}, {200, 0.35}, {300, std::nan("")}, {400, 0.6}, {500, 0.55}});
  auto value = [&](const std::string& spec, const std::vector<core::MetricPoint>& s) {
    return core::evaluateMetric(core::parseMetricSpec(spec, "t"), s);
  };
  EXPECT_EQ(value("steps_to(eval/detection_rate>=0.3)", detection), 200.0);
  EXPECT_EQ(value("steps_to(eval/detection_rate >= 0.6)", detection), 400.0);
  EXPECT_TRUE(std::isnan(value("steps_to(eval/detection_rate>0.6)", detection)));
  EXPECT_EQ(value("steps_to(eval/detection_rate<0.2)", detection), 100.0);
  EXPECT_EQ(value("eval/detection_rate", detection), 0.55);  // the highest step
  EXPECT_EQ(value("max(eval/detection_rate)", detection), 0.6);
  EXPECT_EQ(value("max(eval/detection_rate,..300)", detection), 0.35);
  EXPECT_EQ(value("min(eval/detection_rate,200..)", detection), 0.35);
  EXPECT_NEAR(value("mean(eval/detection_rate,100..200)", detection), 0.225, 1e-12);
  EXPECT_NEAR(value("last_mean(eval/detection_rate,2)", detection), 0.575, 1e-12);
  EXPECT_NEAR(value("last_mean(eval/detection_rate,50)", detection), 0.4, 1e-12);
  // Out of order points are taken by step; an empty range or series is NaN.
  const auto shuffled = series({{30, 2.0}, {10, 5.0}, {20, 1.0}});
  EXPECT_EQ(value("steps_to(x<=2)", shuffled), 20.0);
  EXPECT_EQ(value("x", shuffled), 2.0);
  EXPECT_TRUE(std::isnan(value("max(x,40..50)", shuffled)));
  EXPECT_TRUE(std::isnan(value("x", {})));
  // Labels for the table headers.
  EXPECT_EQ(core::parseMetricSpec("max(train/loss, ..100)", "t").label(), "max loss (steps ..100)");
  EXPECT_EQ(core::parseMetricSpec("max(train/loss, ..100)", "t").text, "max(train/loss,..100)");
  EXPECT_EQ(core::parseMetricSpec("steps_to(eval/detection_rate>=0.5)", "t").label(),
            "steps to detection_rate>=0.5");
  EXPECT_EQ(core::parseMetricSpec("eval/clean_acc", "t").label(), "clean_acc");
}

TEST(ExperimentsMetrics, MalformedSpecsNameTheMetric) {
  const std::vector<std::pair<std::string, std::string>> bad = {
      {"median(x)", "unknown function 'median'"},
      {"max(x,5..1)", "step range"},
      {"max(x,abc)", "FROM..TO"},
      {"steps_to(x)", ">="},
      {"steps_to(x>=high)", "not a number"},
      {"last_mean(x,0)", "N a count"},
      {"max(x", "closing ')'"},
      {"max()", "missing the key"},
      {"x>=1", "expected KEY"},
  };
  for (const auto& [spec, expected] : bad) {
    SCOPED_TRACE(spec);
    try {
      core::parseMetricSpec(spec, "suite.toml: [[experiment]] 1");
      ADD_FAILURE() << "accepted";
    } catch (const core::Error& e) {
      const std::string m = e.what();
      EXPECT_NE(m.find("suite.toml: [[experiment]] 1: metric '" + spec + "'"), std::string::npos)
          << m;
      EXPECT_NE(m.find(expected), std::string::npos) << m;
    }
  }
}

TEST_F(Cli, ExperimentsStagesPlanFirstAndRefuseCyclesAndUnknownReferences) {
  const std::string file = path("suite.toml");
  writeFile(file, stagedSuite());
  const Result dry = run("experiments run " + file + " --quick --seeds 2 --dry-run");
  ASSERT_EQ(dry.code, 0) << dry.out;
  const std::vector<std::string> l = lines(dry.out);
  ASSERT_EQ(l.size(), 6u) << dry.out;
  // a.pre (both seeds) comes before b, although b is listed first; each b run names its seed's.
  EXPECT_EQ(l[0].rfind("st/a/pre/s1 ", 0), 0u) << dry.out;
  EXPECT_EQ(l[1].rfind("st/a/pre/s2 ", 0), 0u) << dry.out;
  EXPECT_EQ(l[2].rfind("st/b/init/s1 ", 0), 0u) << dry.out;
  EXPECT_NE(l[2].find("from st/a/pre/s1  undo_init mean"), std::string::npos) << dry.out;
  EXPECT_NE(l[3].find("from st/a/pre/s2"), std::string::npos) << dry.out;
  EXPECT_NE(l[4].find("st/b/plain/s1 "), std::string::npos) << dry.out;
  EXPECT_EQ(l[4].find("undo_init"), std::string::npos) << dry.out;
  // --only b pulls in its stage.
  const Result only = run("experiments run " + file + " --quick --only b --dry-run");
  ASSERT_EQ(only.code, 0) << only.out;
  ASSERT_EQ(lines(only.out).size(), 3u) << only.out;
  EXPECT_EQ(lines(only.out)[0].rfind("st/a/pre/s1 ", 0), 0u) << only.out;
  // The staged hash does not depend on where the stage's folder is.
  const Result moved =
      run("experiments run " + file + " --quick --only b --dry-run --out " + path("elsewhere"));
  ASSERT_EQ(moved.code, 0) << moved.out;
  auto hashes = [](const std::string& out) {
    std::vector<std::string> h;
    for (const auto& line : lines(out)) h.push_back(line.substr(line.find("cfg ") + 4, 16));
    return h;
  };
  EXPECT_EQ(hashes(only.out), hashes(moved.out));

  const std::vector<std::tuple<std::string, std::string, std::vector<std::string>>> bad = {
      {"unknown-experiment",
       stagedSuite("z.pre"),
       {"suite.toml", "experiment 'b' variant 'init'", "'from'", "no variant 'pre'",
        "experiment 'z'"}},
      {"unknown-variant",
       stagedSuite("a.nope"),
       {"experiment 'b' variant 'init'", "no variant 'nope'"}},
      {"malformed", stagedSuite("pre"), {"experiment 'b' variant 'init'", "EXPERIMENT.VARIANT"}},
      {"cycle",
       stagedSuite("a.pre", "from = \"b.plain\"\n"),
       {"experiment 'b' variant 'init'", "cycle", "b.init -> a.pre -> b.plain -> a.pre"}},
      {"self", stagedSuite("b.init"), {"experiment 'b' variant 'init'", "cycle"}},
      {"bad-init",
       std::regex_replace(stagedSuite(), std::regex("undo_init = \"mean\""),
                          "undo_init = \"zeros\""),
       {"variant 'init'", "undo_init", "zeros"}},
      {"eval-only-without-from",
       std::regex_replace(stagedSuite(), std::regex("name = \"pre\"\n"),
                          "name = \"pre\"\n  evaluate_only = true\n  compute_matched = 2\n"),
       {"'a': variant 'pre'", "evaluate_only", "needs `from`"}},
      {"eval-only-nothing",
       std::regex_replace(stagedSuite(), std::regex("name = \"plain\"\n"),
                          "name = \"plain\"\n  evaluate_only = true\n"),
       {"variant 'plain'", "evaluate_only", "nothing to evaluate"}},
      {"bad-metric",
       std::regex_replace(stagedSuite(), std::regex("max\\(train/loss,\\.\\.4\\)"),
                          "top(train/loss)"),
       {"'b'", "metrics", "unknown function 'top'"}},
  };
  for (const auto& [name, text, expected] : bad) {
    SCOPED_TRACE(name);
    writeFile(file, text);
    const Result r = run("experiments run " + file + " --quick --dry-run");
    EXPECT_EQ(r.code, 1) << r.out;
    for (const std::string& e : expected) EXPECT_NE(r.out.find(e), std::string::npos) << r.out;
  }
}

TEST_F(Cli, ExperimentsStagedRunStartsFromItsStagesCheckpoint) {
  const std::string file = path("suite.toml"), store = path("runs.sqlite");
  writeFile(file, stagedSuite());
  const Result r = run("experiments run " + file + " --quick --store " + store + " --out " +
                       path("out") + " -q");
  ASSERT_EQ(r.code, 0) << r.out;
  EXPECT_NE(r.out.find("3 trained, 0 skipped (finished before), 0 failed"), std::string::npos)
      << r.out;
  core::StoreOptions ro;
  ro.readOnly = true;
  core::RunStore s(store, ro);
  std::map<std::string, core::RunInfo> byName;
  for (core::RunInfo& info : s.listRuns()) byName[info.name] = info;
  ASSERT_EQ(byName.size(), 3u);
  const core::RunInfo& pre = byName.at("st/a/pre/s1");
  std::string preCheckpoint;
  for (const core::Artifact& a : s.artifacts(pre.id))
    if (a.kind == "checkpoint") preCheckpoint = std::filesystem::path(a.path).parent_path();
  ASSERT_FALSE(preCheckpoint.empty());
  EXPECT_EQ(std::filesystem::path(preCheckpoint).filename(), "checkpoint-10");
  // plain trains from a.pre's checkpoint as [model] checkpoint; init from its UNDO-initialised
  // copy.
  const core::RunInfo& plain = byName.at("st/b/plain/s1");
  EXPECT_EQ(plain.config.at("model").at("checkpoint"), preCheckpoint);
  EXPECT_EQ(plain.config.at("suite").at("from"), "st/a/pre/s1");
  const core::RunInfo& init = byName.at("st/b/init/s1");
  const std::string initCheckpoint = init.config.at("model").at("checkpoint");
  EXPECT_EQ(std::filesystem::path(initCheckpoint).filename(), "undo-init");
  EXPECT_TRUE(std::filesystem::exists(std::filesystem::path(initCheckpoint) / "config.json"));
  EXPECT_EQ(init.config.at("model").at("undo_init"), "mean");
  std::map<std::string, core::MetricSummary> m;
  for (const core::MetricSummary& x : s.metricSummaries(init.id)) m[x.key] = x;
  ASSERT_TRUE(m.count("init/kl_shift") && m.count("init/p_undo_mean"));
  EXPECT_EQ(m.at("init/kl_shift").last.step, 0);
  EXPECT_GE(m.at("init/kl_shift").last.value, 0.0);
  EXPECT_LT(m.at("init/kl_shift").last.value, 5.0);
  EXPECT_GT(m.at("init/p_undo_mean").last.value, 0.0);
  EXPECT_LT(m.at("init/p_undo_mean").last.value, 1.0);
  EXPECT_EQ(s.metricSummaries(plain.id).size() > 0, true);
  for (const core::MetricSummary& x : s.metricSummaries(plain.id))
    EXPECT_NE(x.key.rfind("init/", 0), 0u) << x.key;  // no re-init asked

  // The report: a derived column and the stage in the overrides column.
  const Result rep = run("experiments report " + file + " --quick --store " + store);
  ASSERT_EQ(rep.code, 0) << rep.out;
  EXPECT_NE(rep.out.find("| kl_shift | max loss (steps ..4) | clean_acc |"), std::string::npos)
      << rep.out;
  EXPECT_NE(rep.out.find("| init | `from a.pre, undo init mean` | 1 |"), std::string::npos)
      << rep.out;
  EXPECT_NE(rep.out.find("**Reading.** Too short to mean anything."), std::string::npos) << rep.out;
  EXPECT_NE(rep.out.find("model: the final checkpoint of a.pre (same seed)"), std::string::npos)
      << rep.out;

  // A stage whose checkpoint is gone fails the staged run with a message naming the stage.
  std::filesystem::remove_all(preCheckpoint);
  const std::string store2 = path("runs2.sqlite");
  std::filesystem::copy_file(store, store2);
  {
    core::RunStore w(store2);
    w.deleteRuns({plain.id, init.id});
  }
  const Result again = run("experiments run " + file + " --quick --only b --store " + store2 +
                           " --out " + path("out") + " -q");
  EXPECT_EQ(again.code, 1) << again.out;
  EXPECT_NE(again.out.find("0 trained, 1 skipped (finished before), 2 failed"), std::string::npos)
      << again.out;
  EXPECT_NE(again.out.find("stage st/a/pre/s1"), std::string::npos) << again.out;
  EXPECT_NE(again.out.find("no checkpoint on disk"), std::string::npos) << again.out;
}

TEST_F(Cli, ExperimentsJobsRunStagesFirstThenInParallelProcesses) {
  // b.init and b.plain start from a.pre; n evaluates a.pre's checkpoint on sampled completions.
  const std::string file = path("suite.toml"), store = path("runs.sqlite");
  writeFile(file, stagedSuite() + "[[experiment]]\nname = \"n\"\nbase = \"" + kBase +
                      "\"\nfrom = \"a.pre\"\nevaluate_only = true\nnatural_samples = 2\n"
                      "metrics = [\"post/natural_errors_per_seq\", \"post/natural_acc\"]\n");
  const std::string args = file + " --quick --store " + store + " --out " + path("out");
  const Result r = run("experiments run " + args + " --jobs 2");
  ASSERT_EQ(r.code, 0) << r.out;
  EXPECT_NE(r.out.find(", 2 at a time"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("4 trained, 0 skipped (finished before), 0 failed"), std::string::npos)
      << r.out;
  // The stage ran alone (nothing else could start); two of its dependants then ran together.
  const auto pre = r.out.find("st/a/pre/s1: started (process ");
  ASSERT_NE(pre, std::string::npos) << r.out;
  EXPECT_NE(r.out.find("1 running)", pre), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("2 running)"), std::string::npos) << r.out;
  for (const char* name : {"st/b/init/s1", "st/b/plain/s1", "st/n/default/s1"})
    EXPECT_GT(r.out.find(std::string(name) + ": started"), pre) << name << "\n" << r.out;
  EXPECT_NE(r.out.find("(the runs took "), std::string::npos) << r.out;

  core::StoreOptions ro;
  ro.readOnly = true;
  std::map<std::string, core::RunInfo> byName;
  {
    core::RunStore s(store, ro);
    for (core::RunInfo& info : s.listRuns()) byName[info.name] = info;
    ASSERT_EQ(byName.size(), 4u);
    for (const auto& [name, info] : byName) EXPECT_EQ(info.status, core::RunStatus::kFinished);
    std::string preCheckpoint;
    for (const core::Artifact& a : s.artifacts(byName.at("st/a/pre/s1").id))
      if (a.kind == "checkpoint") preCheckpoint = std::filesystem::path(a.path).parent_path();
    EXPECT_EQ(byName.at("st/b/plain/s1").config.at("model").at("checkpoint"), preCheckpoint);
    // The natural-error evaluation of a 10-step model: it errs, and the rates are rates.
    std::map<std::string, double> m;
    for (const core::MetricSummary& x : s.metricSummaries(byName.at("st/n/default/s1").id))
      m[x.key] = x.last.value;
    ASSERT_TRUE(m.count("post/natural_errors") && m.count("post/natural_acc")) << m.size();
    EXPECT_GT(m.at("post/natural_errors"), 0.0);
    EXPECT_NEAR(m.at("post/natural_errors_per_seq"), m.at("post/natural_errors") / 16.0, 1e-9);
    EXPECT_TRUE(m.at("post/natural_acc") >= 0.0 && m.at("post/natural_acc") <= 1.0);
    for (const char* k : {"post/natural_undo_next", "post/natural_undo_later",
                          "post/natural_recovery", "post/natural_false_undo"}) {
      if (m.count(k)) {
        EXPECT_TRUE(m.at(k) >= 0.0 && m.at(k) <= 1.0) << k << " " << m.at(k);
      }
    }
    if (m.count("post/natural_undo_next") && m.count("post/natural_undo_later")) {
      EXPECT_LE(m.at("post/natural_undo_next"), m.at("post/natural_undo_later"));
    }
  }
  // A rerun with jobs skips everything; a run index outside the plan is refused.
  const Result again = run("experiments run " + args + " --jobs 2");
  ASSERT_EQ(again.code, 0) << again.out;
  EXPECT_NE(again.out.find("0 trained, 4 skipped"), std::string::npos) << again.out;
  const Result bad = run("experiments run " + args + " --run-index 4");
  EXPECT_NE(bad.code, 0);
  EXPECT_NE(bad.out.find("--run-index 4: the plan has 4 runs"), std::string::npos) << bad.out;
}

/** The value cells of a report table row as numbers (mean of "m ± s"; NaN for "n/a"). */
std::vector<double> rowMeans(const std::string& md, const std::string& section,
                             const std::string& variant) {
  const auto at = md.find(section);
  if (at == std::string::npos) return {};
  std::stringstream in(md.substr(at));
  for (std::string l; std::getline(in, l);) {
    if (l.rfind("| " + variant + " |", 0) != 0) continue;
    std::vector<double> out;
    std::smatch m;
    std::string rest = l;
    const std::regex cell(R"(\| (n/a|(-?\d+\.\d+(?:e[-+]\d+)?) ± \d+\.\d+(?:e[-+]\d+)?)[^|]*)");
    while (std::regex_search(rest, m, cell)) {
      out.push_back(m[2].matched ? std::stod(m[2]) : std::nan(""));
      rest = m.suffix();
    }
    return out;
  }
  return {};
}

TEST_F(Cli, ExperimentsShippedStagedExperimentsQuick) {
  const std::string store = path("runs.sqlite"), md = path("R.md");
  const std::string common =
      " --quick --only token-init,curriculum,grpo,compute-matched --store " + store;
  const Result r = run("experiments run " + kShipped + common + " --out " + path("out") + " -q");
  ASSERT_EQ(r.code, 0) << r.out;
  // The stages (clean, masked, naive) once each, then 4 + 3 + 4 + 3 staged runs.
  EXPECT_NE(r.out.find("17 trained, 0 skipped (finished before), 0 failed"), std::string::npos)
      << r.out;
  const Result rep = run("experiments report " + kShipped + common + " --out " + md);
  ASSERT_EQ(rep.code, 0) << rep.out;
  const std::string text = fileText(md);
  EXPECT_EQ(text.find("## 1. Negative learning"), std::string::npos);  // a stage only
  // token-init: kl_shift, p_undo_mean, max loss (..100, 10..100), mean loss, clean_acc,
  // detection, recovery.
  for (const char* v : {"random", "mean", "semantic", "hewitt"}) {
    SCOPED_TRACE(v);
    const std::vector<double> x = rowMeans(text, "Token initialisation", v);
    ASSERT_EQ(x.size(), 8u) << text;
    EXPECT_TRUE(x[0] >= 0.0 && x[0] < 10.0) << x[0];
    EXPECT_TRUE(x[1] > 0.0 && x[1] < 1.0) << x[1];
    // max over steps ..100 >= max over 10..100, and >= the mean; all positive losses.
    EXPECT_TRUE(x[2] >= x[3] && x[2] >= x[4] && x[4] > 0.0 && x[2] < 20.0) << x[2] << " " << x[4];
    for (int i : {5, 6, 7}) EXPECT_TRUE(x[i] >= 0.0 && x[i] <= 1.0) << i << ": " << x[i];
  }
  // curriculum: steps-to columns are a step of the run (<= 20) or n/a; rates in [0, 1].
  for (const char* v : {"none", "steps", "competence"}) {
    SCOPED_TRACE(v);
    const std::vector<double> x = rowMeans(text, "Curriculum", v);
    ASSERT_EQ(x.size(), 8u) << text;
    for (int i : {0, 1}) EXPECT_TRUE(std::isnan(x[i]) || (x[i] >= 10 && x[i] <= 20)) << x[i];
    for (int i : {2, 3, 4, 7}) EXPECT_TRUE(x[i] >= 0.0 && x[i] <= 1.0) << i << ": " << x[i];
    EXPECT_TRUE(x[5] >= 1.0 && x[5] <= 3.0) << x[5];  // forced: 3 at most, one per answer digit
    EXPECT_TRUE(x[6] >= 0.0 && x[6] < 20.0) << x[6];
  }
  // grpo: sampled accuracy and UNDOs per completion, greedy eval.
  for (const char* v : {"lambda-0", "lambda-0_05", "lambda-0_2", "token-credit"}) {
    SCOPED_TRACE(v);
    const std::vector<double> x = rowMeans(text, "GRPO", v);
    ASSERT_EQ(x.size(), 6u) << text;
    EXPECT_TRUE(x[0] >= 0.0 && x[0] <= 1.0) << x[0];
    EXPECT_TRUE(x[1] >= 0.0 && x[1] <= 7.0) << x[1];  // the UNDO budget is 6
    for (int i : {3, 4}) EXPECT_TRUE(x[i] >= 0.0 && x[i] <= 1.0) << i << ": " << x[i];
    EXPECT_TRUE(x[5] >= 0.0 && x[5] < 20.0) << x[5];
  }
  // compute-matched: accuracies in [0, 1], tokens per answer: one plain sample costs 2 to 12
  // (the answer, EOS), 8 cost 8 times as many; pruned decoding at least one; matched N in 1..8.
  for (const char* v : {"masked", "naive", "grpo"}) {
    SCOPED_TRACE(v);
    const std::vector<double> x = rowMeans(text, "Compute-matched", v);
    ASSERT_EQ(x.size(), 10u) << text;
    for (int i : {0, 2, 5, 6, 7, 8}) EXPECT_TRUE(x[i] >= 0.0 && x[i] <= 1.0) << i << ": " << x[i];
    EXPECT_TRUE(x[3] >= 2.0 && x[3] <= 12.0) << x[3];
    EXPECT_TRUE(x[1] >= 2.0 && x[1] <= 40.0) << x[1];
    EXPECT_TRUE(x[4] >= 1.0 && x[4] <= 8.0) << x[4];
    EXPECT_NEAR(x[9], 8 * x[3], 2.5 * x[3]) << x[9];  // 8 samples, each about as long
  }
  EXPECT_NE(text.find("no training (evaluations of that checkpoint"), std::string::npos) << text;
  EXPECT_NE(text.find("| lambda-0_2 | `rewards.undo_penalty=0.2, from negative-learning.masked`"),
            std::string::npos)
      << text;
}

}  // namespace
}  // namespace nmar::testing
