#pragma once
// `nmar experiments run --jobs N`: the suite's runs in up to N child processes at once.
#include <atomic>
#include <functional>
#include <string>
#include <vector>

#include "experiments/suite.h"

namespace nmar::core {
class RunStore;
}

namespace nmar::app {

/** What runSuiteJobs() did. */
struct SuiteJobsOutcome {
  int trained = 0, skipped = 0, failed = 0;
  bool cancelled = false;
  double seconds = 0.0;     ///< wall time
  double runSeconds = 0.0;  ///< the runs' own wall times added up (the serial cost)
};

/**
 * Runs @p plan with up to @p jobs child processes of this executable at a time, each started with
 * the arguments @p childArgs(i) (it trains plan run i alone, `--run-index i`). A run starts once
 * the run it starts from (`from`) has ended and no other run with the same configuration hash is
 * pending before it or running, so a staged run sees its stage's checkpoint and identical runs of
 * two experiments train once (the second is skipped as finished). Runs finished in @p store
 * before are skipped here. Children get OMP_NUM_THREADS=1 unless it is set. Output goes straight
 * to the terminal. Raising @p cancel (SIGINT/SIGTERM handler) stops starting runs and passes
 * SIGINT on to the children (they checkpoint and record the run as cancelled); the call waits for
 * them. Throws core::Error when a child cannot be started.
 */
SuiteJobsOutcome runSuiteJobs(const std::vector<core::PlannedRun>& plan, core::RunStore& store,
                              int jobs, const std::function<std::vector<std::string>(std::size_t)>& childArgs,
                              const std::atomic<bool>& cancel, bool quiet);

}  // namespace nmar::app
