#include "experiments/suite_runner.h"

#include <chrono>
#include <memory>

#include "store/run_store.h"
#include "train/grpo_trainer.h"
#include "train/sft_trainer.h"
#include "train/store_observer.h"
#include "util/error.h"
#include "util/log.h"

namespace nmar::core {
namespace {

RunStatus toRunStatus(TrainStatus s) {
  switch (s) {
    case TrainStatus::kFinished:
      return RunStatus::kFinished;
    case TrainStatus::kCancelled:
      return RunStatus::kCancelled;
    case TrainStatus::kFailed:
      break;
  }
  return RunStatus::kFailed;
}

template <typename Trainer>
TrainOutcome train(const PlannedRun& run, RunStore& store, std::int64_t runId, bool resume,
                   TrainObserver* next, const std::atomic<bool>* cancel) {
  Trainer trainer(run.config, next);
  if (resume) trainer.resume();  // the newest checkpoint under the run's output folder
  trainer.setStateExtra(
      {{"run_id", runId}, {"store", std::filesystem::absolute(store.path()).string()}});
  StoreTrainObserver observer(store, runId, next);
  trainer.setObserver(&observer);
  return trainer.run(cancel);
}

/** The newest cancelled run of @p run's config whose output folder has a checkpoint. */
std::optional<RunInfo> findCancelledRun(RunStore& store, const PlannedRun& run) {
  RunFilter filter;
  filter.tag = "cfg:" + run.hash;
  filter.status = RunStatus::kCancelled;
  std::optional<RunInfo> newest;
  for (RunInfo& info : store.listRuns(filter)) newest = std::move(info);
  if (!newest || !std::filesystem::is_directory(run.config.outDir)) return std::nullopt;
  for (const auto& entry : std::filesystem::directory_iterator(run.config.outDir))
    if (entry.path().filename().string().rfind("checkpoint-", 0) == 0) return newest;
  return std::nullopt;
}

}  // namespace

std::optional<RunInfo> findFinishedRun(RunStore& store, const PlannedRun& run) {
  RunFilter filter;
  filter.tag = "cfg:" + run.hash;
  filter.status = RunStatus::kFinished;
  std::optional<RunInfo> newest;
  for (RunInfo& info : store.listRuns(filter)) {
    if (std::find(info.tags.begin(), info.tags.end(), run.tags.front()) == info.tags.end())
      continue;
    newest = std::move(info);  // listRuns orders by id
  }
  return newest;
}

SuiteOutcome runSuite(const std::vector<PlannedRun>& plan, RunStore& store, SuiteObserver* observer,
                      const std::atomic<bool>* cancel) {
  using Clock = std::chrono::steady_clock;
  const auto t0 = Clock::now();
  SuiteOutcome outcome;
  const std::size_t total = plan.size();
  for (std::size_t i = 0; i < total; ++i) {
    const PlannedRun& run = plan[i];
    if (cancel && cancel->load()) {
      outcome.cancelled = true;
      break;
    }
    if (std::optional<RunInfo> done = findFinishedRun(store, run)) {
      store.addTags(done->id, run.tags);
      ++outcome.skipped;
      if (observer) observer->onRunSkipped(i, total, run, done->id);
      continue;
    }
    if (observer) observer->onRunStart(i, total, run);
    NewRun record;
    record.name = run.config.name;
    record.kind = run.config.isGrpo() ? "grpo" : "sft";
    record.config = run.config.toJson();
    record.config["experiment_file"] = std::filesystem::absolute(run.config.source).string();
    record.config["suite"] = {{"experiment", run.experiment},
                              {"variant", run.variant},
                              {"seed", run.seed},
                              {"hash", run.hash}};
    record.tags = run.tags;
    // A cancelled run of this config continues from its checkpoint on its own run id.
    const std::optional<RunInfo> cancelled = findCancelledRun(store, run);
    const std::int64_t runId = cancelled ? cancelled->id : store.createRun(record);
    if (cancelled) store.reopenRun(runId);
    const auto started = Clock::now();
    TrainObserver* next = observer ? observer->trainObserver() : nullptr;
    TrainOutcome result;
    try {
      const bool resume = cancelled.has_value();
      result = run.config.isGrpo() ? train<GrpoTrainer>(run, store, runId, resume, next, cancel)
                                   : train<SftTrainer>(run, store, runId, resume, next, cancel);
    } catch (const Error& e) {
      result.status = TrainStatus::kFailed;
      result.message = e.what();
    }
    const RunStatus status = toRunStatus(result.status);
    store.finishRun(runId, status, result.message);
    const double seconds = std::chrono::duration<double>(Clock::now() - started).count();
    if (status == RunStatus::kFinished)
      ++outcome.trained;
    else if (status == RunStatus::kFailed)
      ++outcome.failed;
    if (observer) observer->onRunDone(i, total, run, runId, status, seconds, result.message);
    if (status == RunStatus::kCancelled) {
      outcome.cancelled = true;
      break;
    }
  }
  outcome.seconds = std::chrono::duration<double>(Clock::now() - t0).count();
  return outcome;
}

}  // namespace nmar::core
