#pragma once
/**
 * @file Runs a suite's plan (suite.h) into a run store, in this process, one run after another:
 * each run is recorded with its suite tags (suite:, exp:, variant:, seed:, size:, cfg:<hash>), and
 * a run whose configuration hash already has a finished run in the store is skipped, so an
 * interrupted suite resumes where it stopped and identical runs of two experiments train once.
 */
#include <atomic>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "experiments/suite.h"
#include "store/run_record.h"
#include "train/train_observer.h"

namespace nmar::core {

class RunStore;

/** Progress of a suite. Callbacks run on the caller's thread; they must not throw. */
class SuiteObserver {
 public:
  virtual ~SuiteObserver() = default;
  /** Run @p index (0-based) of @p total is about to train. */
  virtual void onRunStart(std::size_t index, std::size_t total, const PlannedRun& run) {}
  /** Run @p index is skipped: run @p runId of the store already finished it. */
  virtual void onRunSkipped(std::size_t index, std::size_t total, const PlannedRun& run,
                            std::int64_t runId) {}
  /** Run @p index ended as @p status after @p seconds (@p message: why, when not finished). */
  virtual void onRunDone(std::size_t index, std::size_t total, const PlannedRun& run,
                         std::int64_t runId, RunStatus status, double seconds,
                         const std::string& message) {}
  /** Where the trainer's own reports go (may be null). */
  virtual TrainObserver* trainObserver() { return nullptr; }
};

/** What runSuite() did. */
struct SuiteOutcome {
  int trained = 0, skipped = 0, failed = 0;
  bool cancelled = false;
  double seconds = 0.0;  ///< wall time of the whole call
};

/**
 * The newest finished run of @p store with the tag cfg:<run.hash> (and the suite's tag), if any.
 */
std::optional<RunInfo> findFinishedRun(RunStore& store, const PlannedRun& run);

/**
 * Trains every run of @p plan that has no finished run in @p store (SFT or GRPO by its kind),
 * recording it with its tags; a skipped run gets any tags it lacks (another experiment's). A run
 * whose config has a cancelled run in the store with a checkpoint in its output folder continues
 * from that checkpoint on the same run id (reopened; the trainer checks the checkpoint's config).
 * A run that fails (an Error from the trainer, a NaN loss) is recorded as failed and the suite
 * goes on with the next; raising @p cancel (may be null) stops the current run (recorded as
 * cancelled) and the suite. Store errors are thrown. @p only (plan indices; empty: all) restricts
 * the call to those runs: `nmar experiments run --jobs N` runs each run in its own process so.
 */
SuiteOutcome runSuite(const std::vector<PlannedRun>& plan, RunStore& store,
                      SuiteObserver* observer = nullptr, const std::atomic<bool>* cancel = nullptr,
                      const std::vector<std::size_t>& only = {});

}  // namespace nmar::core
