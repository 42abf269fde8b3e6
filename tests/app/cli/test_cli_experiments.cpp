// `nmar experiments run|report`: a quick suite end to end (tagged runs in the store, a resumed
// rerun that trains nothing, a report whose numbers match the store), the shipped suite file, and
// malformed suites named by file and field.
#include <cmath>
#include <regex>

#include "cli_test_support.h"
#include "experiments/suite_report.h"
#include "experiments/suite_runner.h"
#include "store/run_store.h"

namespace nmar::testing {
namespace {

const std::string kBase = std::string(NMAR_SOURCE_DIR) + "/experiments/addition-tiny.toml";
const std::string kShipped = std::string(NMAR_SOURCE_DIR) + "/experiments/suite.toml";

/** A two-variant suite over the shipped base, quick size 12 steps. */
std::string tinySuite(const std::string& extra = "") {
  return "[suite]\nname = \"t\"\nseeds = 3\n"
         "[quick]\nseeds = 1\nset = { \"train.steps\" = 12, \"eval.every\" = 0, "
         "\"eval.examples\" = 8, \"eval.traces\" = 1, \"optim.warmup\" = 2 }\n"
         "[[experiment]]\nname = \"neg\"\nbase = \"" +
         kBase +
         "\"\n"
         "metrics = [\"eval/clean_acc\", \"eval/recovery_hard\", \"eval/deviation_logprob\"]\n"
         "expect = [\"masked.eval/deviation_logprob < naive.eval/deviation_logprob\"]\n" +
         extra +
         "  [[experiment.variant]]\n  name = \"masked\"\n  set = { \"train.loss\" = \"masked\" }\n"
         "  [[experiment.variant]]\n  name = \"naive\"\n  set = { train = { loss = \"naive\" } }\n";
}

void writeFile(const std::string& path, const std::string& text) {
  std::ofstream(path, std::ios::binary) << text;
}

/** The cells of the table row that starts with "| NAME |". */
std::vector<std::string> row(const std::string& md, const std::string& name) {
  for (const std::string& l : lines(md)) {
    if (l.rfind("| " + name + " |", 0) != 0) continue;
    std::vector<std::string> cells;
    std::stringstream s(l.substr(1));
    for (std::string c; std::getline(s, c, '|');) cells.push_back(c);
    return cells;
  }
  return {};
}

/** "0.123 ± 0.004" -> 0.123 (NaN when not of that form). */
double meanOf(const std::string& cell) {
  std::smatch m;
  if (!std::regex_search(cell, m, std::regex(R"((-?\d+\.\d+(?:e[-+]\d+)?) ± (\d+\.\d+))")))
    return std::nan("");
  return std::stod(m[1]);
}

TEST_F(Cli, ExperimentsQuickSuiteEndToEnd) {
  const std::string suite = path("suite.toml"), store = path("runs.sqlite"), md = path("R.md");
  writeFile(suite, tinySuite());
  const std::string common = " --quick --seeds 2 --store " + store;
  const Result first = run("experiments run " + suite + common + " --out " + path("out"));
  ASSERT_EQ(first.code, 0) << first.out;
  EXPECT_NE(first.out.find("4 trained, 0 skipped"), std::string::npos) << first.out;

  {
    core::StoreOptions ro;
    ro.readOnly = true;
    core::RunStore s(store, ro);
    core::RunFilter f;
    f.tag = "suite:t";
    const std::vector<core::RunInfo> runs = s.listRuns(f);
    ASSERT_EQ(runs.size(), 4u);
    int naive = 0;
    for (const core::RunInfo& r : runs) {
      EXPECT_EQ(r.status, core::RunStatus::kFinished);
      auto has = [&](const std::string& t) {
        return std::find(r.tags.begin(), r.tags.end(), t) != r.tags.end();
      };
      EXPECT_TRUE(has("exp:neg") && has("size:quick")) << r.name;
      EXPECT_TRUE(has("seed:1") != has("seed:2")) << r.name;
      naive += has("variant:naive");
      EXPECT_EQ(r.config.at("train").at("steps"), 12);
      EXPECT_EQ(r.config.at("train").at("loss"), has("variant:naive") ? "naive" : "masked");
      EXPECT_EQ(r.config.at("run").at("seed"), has("seed:1") ? 1 : 2);
    }
    EXPECT_EQ(naive, 2);
  }

  // A rerun finds every run finished and trains nothing.
  const Result again = run("experiments run " + suite + common + " --out " + path("out"));
  ASSERT_EQ(again.code, 0) << again.out;
  EXPECT_NE(again.out.find("0 trained, 4 skipped"), std::string::npos) << again.out;

  const Result report = run("experiments report " + suite + common + " --out " + md);
  ASSERT_EQ(report.code, 0) << report.out;
  const std::string text = fileText(md);
  EXPECT_NE(text.find("| variant | overrides | seeds | clean_acc | recovery_hard | "
                      "deviation_logprob | wall s / run |"),
            std::string::npos)
      << text;
  for (const char* variant : {"masked", "naive"}) {
    const std::vector<std::string> cells = row(text, variant);
    ASSERT_EQ(cells.size(), 7u) << text;
    EXPECT_EQ(cells[2], " 2 ");  // seeds with a finished run
    for (int i : {3, 4}) {       // accuracies
      const double v = meanOf(cells[i]);
      EXPECT_TRUE(v >= 0.0 && v <= 1.0) << cells[i];
    }
    const double logp = meanOf(cells[5]);
    EXPECT_TRUE(logp < 0.0 && logp > -30.0) << cells[5];
  }
  EXPECT_NE(text.find("`masked.eval/deviation_logprob < naive.eval/deviation_logprob`: "),
            std::string::npos);
  // The plot next to the report: the accuracies (in [0, 1]) with one bar per variant.
  EXPECT_NE(text.find("](t-neg.svg)"), std::string::npos) << text;
  const std::string svg = fileText(path("t-neg.svg"));
  EXPECT_EQ(svg.rfind("<svg", 0), 0u) << svg;
  EXPECT_NE(svg.find(">recovery_hard</text>"), std::string::npos);
  EXPECT_EQ(svg.find(">deviation_logprob</text>"), std::string::npos);  // not in [0, 1]
  EXPECT_NE(svg.find(">naive</text>"), std::string::npos);

  // The report's numbers are the store's: the masked mean equals the mean of its runs' values.
  core::StoreOptions ro;
  ro.readOnly = true;
  core::RunStore s(store, ro);
  core::RunFilter f;
  f.tag = "variant:masked";
  std::vector<double> values;
  for (const core::RunInfo& r : s.listRuns(f))
    for (const core::MetricSummary& m : s.metricSummaries(r.id))
      if (m.key == "eval/deviation_logprob") values.push_back(m.last.value);
  ASSERT_EQ(values.size(), 2u);
  EXPECT_NEAR(meanOf(row(text, "masked")[5]), core::meanStd(values).mean, 0.0006);
}

TEST_F(Cli, ExperimentsShippedSuitePlansAndSharesIdenticalRuns) {
  const Result dry = run("experiments run " + kShipped + " --quick --dry-run");
  ASSERT_EQ(dry.code, 0) << dry.out;
  const std::vector<std::string> planned = lines(dry.out);
  // 3 + 2 + 3 + 3 + 4 + 3 + 4 + 2 + 3 + 1 variants, one seed
  ASSERT_EQ(planned.size(), 28u) << dry.out;
  // masked (negative learning), train-hard and confusable are the same run: one config hash.
  auto hashOf = [&](const std::string& name) {
    for (const auto& l : planned)
      if (l.rfind(name + " ", 0) == 0) return l.substr(l.find("cfg ") + 4, 16);
    return std::string("?");
  };
  EXPECT_EQ(hashOf("claims/negative-learning/masked/s1"),
            hashOf("claims/attention-pollution/train-hard/s1"));
  EXPECT_EQ(hashOf("claims/negative-learning/masked/s1"),
            hashOf("claims/deviation-source/confusable/s1"));
  EXPECT_NE(hashOf("claims/negative-learning/masked/s1"),
            hashOf("claims/negative-learning/naive/s1"));
  const Result full = run("experiments run " + kShipped + " --dry-run --only negative-learning");
  ASSERT_EQ(full.code, 0) << full.out;
  EXPECT_EQ(lines(full.out).size(), 9u);  // 3 variants x 3 seeds
  EXPECT_NE(full.out.find("steps 4000"), std::string::npos);
  // Experiment 8 (real text): its own base, 300 steps, quick 30.
  const Result prose = run("experiments run " + kShipped + " --dry-run --only real-text");
  ASSERT_EQ(prose.code, 0) << prose.out;
  EXPECT_EQ(lines(prose.out).size(), 3u) << prose.out;
  EXPECT_NE(prose.out.find("claims/real-text/confusable/s3"), std::string::npos) << prose.out;
  EXPECT_NE(prose.out.find("steps 300"), std::string::npos) << prose.out;
}

TEST_F(Cli, ExperimentsHashDatasetsByContentNotByPath) {
  // The same JSONL in two folders (two checkouts) is one run; other content is another.
  const std::string line = "{\"prompt\": \"1+1=\", \"completion\": \"2\"}\n";
  std::filesystem::create_directories(path("x"));
  std::filesystem::create_directories(path("y"));
  writeFile(path("x/d.jsonl"), line);
  writeFile(path("y/d.jsonl"), line);
  writeFile(path("y/e.jsonl"), line + line);
  auto hashOf = [&](const std::string& jsonl) {
    return core::configHash(core::parseExperiment(
        "[run]\nname = \"h\"\n[data]\njsonl = \"" + jsonl + "\"\n", path("e.toml")));
  };
  EXPECT_EQ(hashOf(path("x/d.jsonl")), hashOf(path("y/d.jsonl")));
  EXPECT_NE(hashOf(path("x/d.jsonl")), hashOf(path("y/e.jsonl")));
  EXPECT_EQ(hashOf(path("x/d.jsonl")).size(), 16u);
}

/** Raises the cancel flag once training reaches step 10 (as Ctrl-C would). */
class CancelAtStep10 : public core::SuiteObserver, public core::TrainObserver {
 public:
  std::atomic<bool> cancel{false};
  void onProgress(std::int64_t step, std::int64_t, double, double) override {
    if (step >= 10) cancel = true;
  }
  core::TrainObserver* trainObserver() override { return this; }
};

TEST_F(Cli, ExperimentsCancelledRunContinuesOnItsRunId) {
  const std::string file = path("suite.toml");
  writeFile(file, tinySuite());
  core::SuitePlanOptions options;
  options.quick = true;
  options.only = {"neg"};
  options.outDir = path("out");
  std::vector<core::PlannedRun> plan = core::planSuite(core::loadSuite(file), options);
  ASSERT_EQ(plan.size(), 2u);
  plan.resize(1);  // masked, seed 1
  core::RunStore store(path("runs.sqlite"));
  CancelAtStep10 observer;
  const core::SuiteOutcome first = core::runSuite(plan, store, &observer, &observer.cancel);
  EXPECT_TRUE(first.cancelled);
  EXPECT_EQ(first.trained, 0);
  std::vector<core::RunInfo> runs = store.listRuns();
  ASSERT_EQ(runs.size(), 1u);
  EXPECT_EQ(runs[0].status, core::RunStatus::kCancelled);

  const core::SuiteOutcome second = core::runSuite(plan, store);
  EXPECT_FALSE(second.cancelled);
  EXPECT_EQ(second.trained, 1);
  runs = store.listRuns();
  ASSERT_EQ(runs.size(), 1u);  // the same run, continued
  EXPECT_EQ(runs[0].status, core::RunStatus::kFinished);
  store.flush();
  std::int64_t lastEval = -1;
  for (const core::MetricSummary& m : store.metricSummaries(runs[0].id))
    if (m.key == "eval/clean_acc") lastEval = m.last.step;
  EXPECT_EQ(lastEval, 12);  // [quick] train.steps
  EXPECT_EQ(core::findFinishedRun(store, plan[0])->id, runs[0].id);
}

TEST(ExperimentsStats, MeanAndSampleStd) {
  const core::MeanStd m = core::meanStd({1.0, 2.0, 3.0, std::nan("")});
  EXPECT_EQ(m.n, 3);
  EXPECT_DOUBLE_EQ(m.mean, 2.0);
  EXPECT_DOUBLE_EQ(m.std, 1.0);
  EXPECT_EQ(core::formatMeanStd(m), "2.000 ± 1.000");
  EXPECT_EQ(core::formatMeanStd(core::meanStd({})), "n/a");
  EXPECT_EQ(core::formatMeanStd(core::meanStd({0.0001, 0.0003})), "2.00e-04 ± 1.41e-04");
  EXPECT_EQ(core::formatMeanStd(core::meanStd({0.0, 0.0})), "0.000 ± 0.000");
}

struct BadSuite {
  const char* name;
  std::string text;
  std::vector<std::string> expected;  // all in the message
};

TEST_F(Cli, ExperimentsRejectMalformedSuitesNamingFileAndField) {
  const std::vector<BadSuite> cases = {
      {"missing-base",
       std::regex_replace(tinySuite(), std::regex(kBase), "/nope/base.toml"),
       {"suite.toml", "experiment", "'neg'", "base", "/nope/base.toml"}},
      {"unknown-override",
       std::regex_replace(tinySuite(), std::regex("\"train.loss\" = \"masked\""),
                          "\"train.lossx\" = \"masked\""),
       {"suite.toml", "variant 'masked'", "lossx"}},
      {"bad-override-value",
       std::regex_replace(tinySuite(), std::regex("\"train.loss\" = \"masked\""),
                          "\"train.loss\" = \"bogus\""),
       {"suite.toml", "variant 'masked'", "[train]", "loss", "bogus"}},
      {"bad-deviation",
       std::regex_replace(tinySuite(), std::regex("\"train.loss\" = \"masked\""),
                          "\"deviation.kind\" = \"weird\""),
       {"suite.toml", "variant 'masked'", "[deviation]", "weird"}},
      {"unknown-field", tinySuite("colour = \"red\"\n"), {"suite.toml", "'neg'", "colour"}},
      {"unknown-table", "[suit]\nname = \"x\"\n" + tinySuite(), {"suite.toml", "[suit]"}},
      {"syntax", tinySuite() + "[[experiment\n", {"suite.toml:", "TOML syntax error"}},
      {"no-experiments", "[suite]\nname = \"x\"\n", {"suite.toml", "[[experiment]]", "missing"}},
      {"bad-expect",
       std::regex_replace(tinySuite(), std::regex(" < naive"), " << naive"),
       {"suite.toml", "expect", "VARIANT.METRIC OP VARIANT.METRIC"}},
      {"expect-unknown-variant",
       std::regex_replace(tinySuite(), std::regex("< naive"), "< other"),
       {"suite.toml", "expect", "no variant 'other'"}},
      {"duplicate-variant",
       std::regex_replace(tinySuite(), std::regex("name = \"naive\""), "name = \"masked\""),
       {"suite.toml", "'masked' is used twice"}},
      {"bad-name",
       std::regex_replace(tinySuite(), std::regex("name = \"neg\""), "name = \"a b\""),
       {"suite.toml", "field 'name'", "'a b'"}},
  };
  for (const BadSuite& c : cases) {
    SCOPED_TRACE(c.name);
    const std::string file = path("suite.toml");
    writeFile(file, c.text);
    const Result r = run("experiments run " + file + " --quick --dry-run");
    EXPECT_EQ(r.code, 1) << r.out;
    for (const std::string& e : c.expected) EXPECT_NE(r.out.find(e), std::string::npos) << r.out;
    EXPECT_EQ(r.out.find("internal error"), std::string::npos) << r.out;
  }
  const Result missing = run("experiments run " + path("absent.toml") + " --dry-run");
  EXPECT_EQ(missing.code, 1);
  EXPECT_NE(missing.out.find("absent.toml"), std::string::npos) << missing.out;
  writeFile(path("suite.toml"), tinySuite());
  const Result only = run("experiments run " + path("suite.toml") + " --only nope --dry-run");
  EXPECT_EQ(only.code, 1);
  EXPECT_NE(only.out.find("no experiment 'nope'"), std::string::npos) << only.out;
  const Result noStore =
      run("experiments report " + path("suite.toml") + " --store " + path("none.sqlite"));
  EXPECT_EQ(noStore.code, 1);
  EXPECT_NE(noStore.out.find("none.sqlite"), std::string::npos) << noStore.out;
}

}  // namespace
}  // namespace nmar::testing
