// Drives `nmar launch`: two data-parallel processes train one run (rank 0 records it in the store),
// resume it on the same id, and GRPO from an SFT checkpoint; a failing rank stops the launch with
// its exit status; bad torchrun variables are errors that name the variable.
#include <gtest/gtest.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>

#include "cli_test_support.h"
#include "store/run_store.h"
#include "train/distributed.h"

namespace fs = std::filesystem;
using namespace nmar::core;
using namespace nmar::testing;

namespace {

const std::string kSmoke = std::string(NMAR_SOURCE_DIR) + "/experiments/smoke.toml";

/** The last value of @p key in run @p runId. */
double lastValue(RunStore& s, std::int64_t runId, const std::string& key) {
  for (const MetricSummary& m : s.metricSummaries(runId))
    if (m.key == key) return m.last.value;
  return -1;
}

StoreOptions readOnly() {
  StoreOptions o;
  o.readOnly = true;
  return o;
}

/** Sets the environment variables of @p vars for the life of the object. */
class ScopedEnv {
 public:
  explicit ScopedEnv(std::vector<std::pair<std::string, std::string>> vars)
      : m_vars(std::move(vars)) {
    for (const auto& [k, v] : m_vars) ::setenv(k.c_str(), v.c_str(), 1);
  }
  ~ScopedEnv() {
    for (const auto& [k, v] : m_vars) ::unsetenv(k.c_str());
  }

 private:
  std::vector<std::pair<std::string, std::string>> m_vars;
};

}  // namespace

TEST_F(Cli, LaunchTrainsOneRunWithTwoProcessesAndResumesIt) {
  if (!glooAvailable()) GTEST_SKIP() << "built without Gloo headers (libgloo-dev)";
  const std::string out = path("train"), store = path("runs.sqlite");
  Result r =
      run("launch --nproc 2 -- train " + kSmoke + " --steps 4 --out " + out + " --store " + store);
  ASSERT_EQ(r.code, 0) << r.out;
  EXPECT_NE(r.out.find("launch: 2 processes"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("[rank 0] data-parallel: 2 processes (gloo)"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("[rank 0] finished at step 4"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("[rank 1] finished at step 4"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("; run 1"), std::string::npos) << r.out;
  EXPECT_TRUE(fs::exists(fs::path(out) / "checkpoint-4" / "trainer_state.json"));
  {
    RunStore s(store, readOnly());
    const auto runs = s.listRuns();
    ASSERT_EQ(runs.size(), 1u) << "only rank 0 records the run";
    EXPECT_EQ(runs[0].kind, "sft");
    EXPECT_EQ(runs[0].status, RunStatus::kFinished);
    EXPECT_EQ(runs[0].config["data_parallel"]["world_size"], 2);
    EXPECT_EQ(lastValue(s, 1, "train/world_size"), 2.0);
    EXPECT_GT(lastValue(s, 1, "train/loss"), 0.0);
    EXPECT_GE(lastValue(s, 1, "train/comm_fraction"), 0.0);
  }
  r = run("launch --nproc 2 -- train " + kSmoke + " --steps 6 --resume --quiet --out " + out +
          " --store " + store);
  ASSERT_EQ(r.code, 0) << r.out;
  EXPECT_NE(r.out.find("[rank 0] finished at step 6"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("; run 1"), std::string::npos) << r.out;
  RunStore s(store, readOnly());
  ASSERT_EQ(s.listRuns().size(), 1u);
  EXPECT_EQ(s.listRuns()[0].status, RunStatus::kFinished);
}

TEST_F(Cli, LaunchRunsGrpoOnTwoProcesses) {
  if (!glooAvailable()) GTEST_SKIP() << "built without Gloo headers (libgloo-dev)";
  const std::string sft = path("sft");
  Result r = run("train " + kSmoke + " --steps 2 --quiet --no-store --out " + sft);
  ASSERT_EQ(r.code, 0) << r.out;
  const fs::path grpo = m_dir / "grpo.toml";
  std::ofstream(grpo) << "[run]\nname = \"g\"\nkind = \"grpo\"\nseed = 2\n"
                         "[data]\ntask = \"addition\"\nmin_difficulty = 1\nmax_difficulty = 1\n"
                         "[grpo]\nnum_generations = 3\nprompts_per_step = 2\n"
                         "max_completion_length = 8\ntraces = 2\n"
                         "[rewards]\noutcome = 1.0\nformat = 0.5\n"
                         "[optim]\nlr = 1e-3\n"
                         "[train]\nsteps = 2\nlog_every = 1\n"
                         "[eval]\nevery = 0\nexamples = 2\nmax_new_tokens = 6\n";
  const std::string store = path("runs.sqlite");
  r = run("launch --nproc 2 -- train " + grpo.string() + " --out " + path("g") + " --store " +
          store + " --checkpoint " + sft + "/checkpoint-2");
  ASSERT_EQ(r.code, 0) << r.out;
  EXPECT_NE(r.out.find("[rank 0] step 2: reward "), std::string::npos) << r.out;
  EXPECT_EQ(r.out.find("[rank 1] step 2: reward "), std::string::npos) << r.out;
  RunStore s(store, readOnly());
  const auto runs = s.listRuns();
  ASSERT_EQ(runs.size(), 1u);
  EXPECT_EQ(runs[0].kind, "grpo");
  EXPECT_EQ(runs[0].status, RunStatus::kFinished);
  EXPECT_GE(lastValue(s, 1, "train/reward"), 0.0);
}

TEST_F(Cli, LaunchStopsWhenARankFailsAndReturnsItsStatus) {
  if (!glooAvailable()) GTEST_SKIP() << "built without Gloo headers (libgloo-dev)";
  const Result r = run("launch --nproc 2 -- train " + path("missing.toml") + " --no-store");
  EXPECT_EQ(r.code, 1) << r.out;
  // Both ranks fail; whichever exits first stops the other, maybe before it printed.
  const bool named = r.out.find("[rank 0] nmar: error:") != std::string::npos ||
                     r.out.find("[rank 1] nmar: error:") != std::string::npos;
  EXPECT_TRUE(named) << r.out;
  EXPECT_NE(r.out.find("missing.toml' does not exist"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("exited with status 1; stopping the others"), std::string::npos) << r.out;
  // A batch smaller than the number of processes is refused, naming the field.
  const fs::path tiny = m_dir / "tiny.toml";
  std::ofstream(tiny) << "[data]\ntask = \"addition\"\n[train]\nsteps = 1\nbatch_size = 1\n";
  const Result small =
      run("launch --nproc 2 -- train " + tiny.string() + " --no-store --out " + path("o"));
  EXPECT_EQ(small.code, 1) << small.out;
  EXPECT_NE(small.out.find("tiny.toml: [train].batch_size: 1 is less than the 2 data-parallel"),
            std::string::npos)
      << small.out;
}

TEST_F(Cli, BadTorchrunVariablesAreNamed) {
  {
    ScopedEnv env({{"RANK", "x"}, {"WORLD_SIZE", "2"}});
    const Result r = run("train " + kSmoke + " --no-store --steps 1 --out " + path("o"));
    EXPECT_EQ(r.code, 1) << r.out;
    EXPECT_NE(r.out.find("RANK: expected an integer"), std::string::npos) << r.out;
  }
  {
    ScopedEnv env({{"RANK", "0"}, {"WORLD_SIZE", "2"}, {"MASTER_ADDR", "127.0.0.1"}});
    const Result r = run("train " + kSmoke + " --no-store --steps 1 --out " + path("o"));
    EXPECT_EQ(r.code, 1) << r.out;
    EXPECT_NE(r.out.find("MASTER_PORT: missing"), std::string::npos) << r.out;
  }
  const Result help = run("launch --help");
  EXPECT_EQ(help.code, 0) << help.out;
  EXPECT_NE(help.out.find("torchrun"), std::string::npos) << help.out;
  EXPECT_NE(help.out.find("--nproc"), std::string::npos) << help.out;
  const Result none = run("launch --nproc 2");
  EXPECT_NE(none.code, 0) << none.out;
}
