// nmar experiments run SUITE.toml [--quick] [--only A,B] [--seeds N] [--store FILE] [--out DIR]
//                                 [--jobs N]
// nmar experiments report SUITE.toml [--quick] [--only A,B] [--seeds N] [--store FILE] [--out FILE]
// A suite of training runs over seeds into the run store, and its Markdown report.
#include <CLI/CLI.hpp>

#include <atomic>
#include <csignal>
#include <cstdio>
#include <fstream>
#include <iostream>
#include <memory>

#include "cli_common.h"
#include "experiments/suite.h"
#include "experiments/suite_plot.h"
#include "experiments/suite_report.h"
#include "experiments/suite_runner.h"
#include "suite_jobs.h"
#include "store/run_store.h"
#include "store/store_path.h"
#include "train/evaluator.h"
#include "util/error.h"

namespace nmar::app {
namespace {

std::atomic<bool> g_cancel{false};
void onInterrupt(int) { g_cancel = true; }

struct SuiteArgs {
  std::string suite, storePath, out;
  std::vector<std::string> only;
  int seeds = 0;
  bool quick = false, quiet = false, dryRun = false;
  int jobs = 1;
  int runIndex = -1;  ///< a child of --jobs: plan run this index alone
};

/** Eval lines of the run in training, prefixed with the run's name. */
class EvalPrinter : public core::TrainObserver {
 public:
  explicit EvalPrinter(bool quiet) : m_quiet(quiet) {}
  void setRun(const std::string& name) { m_run = name; }
  void onEval(std::int64_t step, const core::EvalResult& r) override {
    if (m_quiet) return;
    std::fprintf(stderr,
                 "  %s eval @%lld: clean %.3f  recovery hard %.3f soft %.3f  detection %.3f  "
                 "deviation logp %.3f\n",
                 m_run.c_str(), static_cast<long long>(step), r.cleanAccuracy, r.recoveryHard,
                 r.recoverySoft, r.detectionRate, r.deviationLikelihood);
  }
  void onMessage(const std::string& text) override { std::cerr << "  " << text << "\n"; }

 private:
  bool m_quiet;
  std::string m_run;
};

class ConsoleSuiteObserver : public core::SuiteObserver {
 public:
  explicit ConsoleSuiteObserver(bool quiet) : m_quiet(quiet), m_eval(quiet) {}
  void onRunStart(std::size_t i, std::size_t n, const core::PlannedRun& run) override {
    m_eval.setRun(run.config.name);
    if (!m_quiet && run.evaluateOnly)
      std::fprintf(stderr, "[%zu/%zu] %s: evaluating\n", i + 1, n, run.config.name.c_str());
    else if (!m_quiet)
      std::fprintf(stderr, "[%zu/%zu] %s: training %lld steps\n", i + 1, n, run.config.name.c_str(),
                   static_cast<long long>(run.config.train.steps));
  }
  void onRunSkipped(std::size_t i, std::size_t n, const core::PlannedRun& run,
                    std::int64_t runId) override {
    if (!m_quiet)
      std::fprintf(stderr, "[%zu/%zu] %s: done before (run %lld), skipped\n", i + 1, n,
                   run.config.name.c_str(), static_cast<long long>(runId));
  }
  void onRunDone(std::size_t i, std::size_t n, const core::PlannedRun& run, std::int64_t runId,
                 core::RunStatus status, double seconds, const std::string& message) override {
    std::fprintf(stderr, "[%zu/%zu] %s: %s as run %lld in %.0f s%s%s\n", i + 1, n,
                 run.config.name.c_str(), core::runStatusName(status).c_str(),
                 static_cast<long long>(runId), seconds, message.empty() ? "" : ": ",
                 message.c_str());
  }
  core::TrainObserver* trainObserver() override { return &m_eval; }

 private:
  bool m_quiet;
  EvalPrinter m_eval;
};

std::filesystem::path storePathOf(const SuiteArgs& a) {
  return a.storePath.empty() ? core::defaultStorePath() : std::filesystem::path(a.storePath);
}

std::vector<core::PlannedRun> plan(const core::Suite& suite, const SuiteArgs& a) {
  core::SuitePlanOptions options;
  options.quick = a.quick;
  options.seeds = a.seeds;
  options.only = a.only;
  options.outDir = a.out;
  return core::planSuite(suite, options);
}

int runSuiteCommand(const SuiteArgs& a) {
  const core::Suite suite = core::loadSuite(a.suite);
  const std::vector<core::PlannedRun> runs = plan(suite, a);
  if (a.dryRun) {
    for (const auto& r : runs) {
      std::cout << r.config.name << "  steps " << r.config.train.steps << "  cfg " << r.hash
                << "  out " << r.config.outDir.string();
      if (r.fromIndex >= 0) std::cout << "  from " << runs.at(r.fromIndex).config.name;
      if (!r.undoInit.empty()) std::cout << "  undo_init " << r.undoInit;
      if (r.evaluateOnly) std::cout << "  evaluate_only";
      std::cout << "\n";
    }
    return 0;
  }
  if (a.runIndex >= static_cast<int>(runs.size()))
    throw core::Error("experiments: --run-index " + std::to_string(a.runIndex) + ": the plan has " +
                      std::to_string(runs.size()) + " runs");
  core::RunStore store(storePathOf(a));
  ConsoleSuiteObserver observer(a.quiet);
  std::signal(SIGINT, onInterrupt);
  std::signal(SIGTERM, onInterrupt);
  if (a.runIndex >= 0) {  // a child of --jobs: one run, its outcome as the exit status
    const core::SuiteOutcome o = core::runSuite(runs, store, &observer, &g_cancel,
                                                {static_cast<std::size_t>(a.runIndex)});
    return o.cancelled ? 130 : o.failed > 0 ? 1 : 0;
  }
  std::cerr << "suite " << suite.name << ": " << runs.size() << " runs ("
            << (a.quick ? "quick" : "full") << ") into " << store.path().string();
  if (a.jobs > 1) std::cerr << ", " << a.jobs << " at a time";
  std::cerr << "\n";
  int trained = 0, skipped = 0, failed = 0;
  bool cancelled = false;
  double seconds = 0.0, runSeconds = 0.0;
  if (a.jobs > 1) {
    const std::string storeFile = std::filesystem::absolute(store.path()).string();
    auto childArgs = [&](std::size_t i) {
      std::vector<std::string> args{"experiments", "run", a.suite, "--store", storeFile,
                                    "--run-index", std::to_string(i), "--quiet"};
      if (a.quick) args.push_back("--quick");
      if (a.seeds > 0) args.insert(args.end(), {"--seeds", std::to_string(a.seeds)});
      if (!a.out.empty()) args.insert(args.end(), {"--out", a.out});
      if (!a.only.empty()) {
        std::string only;
        for (std::size_t k = 0; k < a.only.size(); ++k) only += (k ? "," : "") + a.only[k];
        args.insert(args.end(), {"--only", only});
      }
      return args;
    };
    const SuiteJobsOutcome o = runSuiteJobs(runs, store, a.jobs, childArgs, g_cancel, a.quiet);
    trained = o.trained, skipped = o.skipped, failed = o.failed, cancelled = o.cancelled;
    seconds = o.seconds, runSeconds = o.runSeconds;
  } else {
    const core::SuiteOutcome o = core::runSuite(runs, store, &observer, &g_cancel);
    trained = o.trained, skipped = o.skipped, failed = o.failed, cancelled = o.cancelled;
    seconds = o.seconds;
  }
  std::signal(SIGINT, SIG_DFL);
  std::signal(SIGTERM, SIG_DFL);
  std::printf("suite %s: %d trained, %d skipped (finished before), %d failed%s in %.0f s",
              suite.name.c_str(), trained, skipped, failed, cancelled ? ", cancelled" : "",
              seconds);
  if (a.jobs > 1) std::printf(" (the runs took %.0f s added up)", runSeconds);
  std::printf("\n");
  if (cancelled) return 130;
  return failed > 0 ? 1 : 0;
}

int reportCommand(const SuiteArgs& a) {
  const core::Suite suite = core::loadSuite(a.suite);
  const std::vector<core::PlannedRun> runs = plan(suite, a);
  core::StoreOptions options;
  options.readOnly = true;
  options.create = false;
  core::RunStore store(storePathOf(a), options);
  const core::SuiteResults results = core::collectResults(suite, runs, store);
  std::string command = "nmar experiments report " + a.suite;
  if (a.quick) command += " --quick";
  if (a.seeds > 0) command += " --seeds " + std::to_string(a.seeds);
  if (!a.only.empty()) {
    command += " --only ";
    for (std::size_t i = 0; i < a.only.size(); ++i) command += (i ? "," : "") + a.only[i];
  }
  command += " --store " + store.path().string();
  if (!a.out.empty()) command += " --out " + a.out;
  if (a.out.empty()) {
    std::cout << core::renderMarkdown(suite, results, command);
    return 0;
  }
  // Plots (SVG) next to the report: <folder>/<suite>-<experiment>.svg.
  const std::string prefix = suite.name + "-";
  const std::filesystem::path folder = std::filesystem::path(a.out).parent_path();
  auto write = [](const std::filesystem::path& file, const std::string& text) {
    std::ofstream out(file, std::ios::binary | std::ios::trunc);
    out << text;
    out.close();
    if (!out) throw core::Error("cannot write '" + file.string() + "'");
    std::cerr << "wrote " << file.string() << "\n";
  };
  for (const core::ExperimentResult& e : results.experiments) {
    const std::string svg = core::renderExperimentSvg(e);
    if (!svg.empty()) write(folder / core::plotFileName(prefix, e.experiment->name), svg);
  }
  write(a.out, core::renderMarkdown(suite, results, command, prefix));
  return 0;
}

void addCommon(CLI::App* cmd, const std::shared_ptr<SuiteArgs>& args) {
  cmd->add_option("suite", args->suite, "Suite TOML file (e.g. experiments/suite.toml)")
      ->required();
  cmd->add_flag("--quick", args->quick,
                "The suite's [quick] size: its overrides (fewer steps, fewer eval examples) and "
                "seeds (a CI smoke test, not the science)");
  cmd->add_option("--only", args->only, "Only these experiments (comma-separated names)")
      ->delimiter(',');
  cmd->add_option("--seeds", args->seeds, "Seeds 1..N (default: [suite].seeds, [quick].seeds)")
      ->check(CLI::Range(1, 100));
  cmd->add_option("--store", args->storePath,
                  "Run store file (default: $NMAR_STORE or ~/.local/share/nmar/runs.sqlite)");
}

}  // namespace

void registerExperimentsCommand(CLI::App& app) {
  CLI::App* cmd = app.add_subcommand(
      "experiments",
      "Experiment suites: a TOML file lists experiments, each a base experiment TOML with\n"
      "variants given as field overrides (set = { \"train.loss\" = \"naive\" }), run over seeds\n"
      "1..N into the run store with tags suite:, exp:, variant:, seed:, size:, cfg:<hash>.\n"
      "`run` trains what the store does not have finished yet (a rerun resumes the suite);\n"
      "`report` writes Markdown tables of the final metrics (mean ± std over seeds).\n"
      "See experiments/suite.toml.");
  cmd->require_subcommand(1);

  auto runArgs = std::make_shared<SuiteArgs>();
  CLI::App* run =
      cmd->add_subcommand("run", "Train the suite's runs that are not finished in the store");
  addCommon(run, runArgs);
  run->add_option("--out", runArgs->out, "Checkpoint folder (default: the suite's out_dir)");
  run->add_flag("--dry-run", runArgs->dryRun, "List the planned runs and exit");
  run->add_flag("-q,--quiet", runArgs->quiet, "Only one line per run");
  run->add_option("-j,--jobs", runArgs->jobs,
                  "Runs at a time, each in its own nmar process (OMP_NUM_THREADS=1 unless set); a "
                  "staged run waits for its stage. On a 2-core machine --jobs 2 halves the wall "
                  "time")
      ->check(CLI::Range(1, 64))
      ->capture_default_str();
  run->add_option("--run-index", runArgs->runIndex,
                  "Internal (--jobs): train only this run of the plan (0-based)")
      ->check(CLI::NonNegativeNumber)
      ->group("");
  run->callback([runArgs] {
    const int rc = runSuiteCommand(*runArgs);
    if (rc != 0) throw CLI::RuntimeError(rc);
  });

  auto reportArgs = std::make_shared<SuiteArgs>();
  CLI::App* report =
      cmd->add_subcommand("report", "Write the suite's results from the run store as Markdown");
  addCommon(report, reportArgs);
  report->add_option("--out", reportArgs->out,
                     "Markdown file to write, with an SVG plot per experiment next to it (default: "
                     "stdout, no plots)");
  report->callback([reportArgs] {
    const int rc = reportCommand(*reportArgs);
    if (rc != 0) throw CLI::RuntimeError(rc);
  });
}

}  // namespace nmar::app
