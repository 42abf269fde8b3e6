#include "experiments/suite_runner.h"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <memory>

#include "experiments/compute_matched.h"
#include "experiments/suite_post_eval.h"
#include "experiments/suite_stage.h"
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
TrainOutcome train(const ExperimentConfig& config, RunStore& store, std::int64_t runId, bool resume,
                   TrainObserver* next, const std::atomic<bool>* cancel) {
  Trainer trainer(config, next);
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

/**
 * The evaluations a run asks for after training (or instead of it), on @p checkpoint, logged at
 * @p step. Throws Error (the run then fails).
 */
void runPostEvaluations(const PlannedRun& run, const ExperimentConfig& config,
                        const std::filesystem::path& checkpoint, RunStore& store,
                        std::int64_t runId, std::int64_t step) {
  if (run.recoveryEvents > 0) {
    const MultiRecoveryResult m = evaluateMultiRecovery(config, checkpoint, run.recoveryEvents);
    store.logMetrics(runId, step,
                     {{"post/recovery_multi", m.accuracy},
                      {"post/clean_acc", m.cleanAccuracy},
                      {"post/forced_per_seq", m.forcedPerSeq},
                      {"post/undo_per_seq", m.undoPerSeq}});
  }
  if (run.computeMatched > 0) {
    ComputeMatchedSettings settings;
    settings.maxSamples = run.computeMatched;
    const ComputeMatchedResult r = evaluateComputeMatched(config, checkpoint, settings);
    std::vector<MetricValue> values;
    const std::map<std::string, double> metrics = r.metrics();
    for (const auto& [key, value] : metrics) values.push_back({key, value});
    store.logMetrics(runId, step, values);
  }
  if (run.naturalSamples > 0) {
    const NaturalErrorResult r = evaluateNaturalErrors(config, checkpoint, run.naturalSamples);
    std::vector<MetricValue> values{{"post/natural_acc", r.accuracy},
                                    {"post/natural_errors", static_cast<double>(r.errors)},
                                    {"post/natural_errors_per_seq", r.errorsPerSeq},
                                    {"post/natural_undo_next", r.undoNext},
                                    {"post/natural_undo_later", r.undoLater},
                                    {"post/natural_recovery", r.recovery},
                                    {"post/natural_false_undo", r.falseUndo}};
    // NaN (no error, no UNDO) is left out: the store keeps finite values only.
    values.erase(std::remove_if(values.begin(), values.end(),
                                [](const MetricValue& v) { return !std::isfinite(v.value); }),
                 values.end());
    store.logMetrics(runId, step, values);
  }
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
                      const std::atomic<bool>* cancel, const std::vector<std::size_t>& only) {
  using Clock = std::chrono::steady_clock;
  const auto t0 = Clock::now();
  SuiteOutcome outcome;
  const std::size_t total = plan.size();
  for (std::size_t i = 0; i < total; ++i) {
    if (!only.empty() && std::find(only.begin(), only.end(), i) == only.end()) continue;
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
    // A staged run starts from its stage's checkpoint (and a fresh UNDO row when asked).
    ExperimentConfig config = run.config;
    std::string stageError;
    std::optional<TokenInitReport> initReport;
    if (run.fromIndex >= 0) {
      try {
        config.model.checkpoint = stageCheckpoint(store, plan.at(run.fromIndex));
        if (!run.undoInit.empty()) {
          const std::filesystem::path to = config.outDir / "undo-init";
          initReport =
              reinitUndoCheckpoint(config.model.checkpoint, to, run.undoInit, run.config.seed);
          config.model.checkpoint = to;
        }
      } catch (const Error& e) {
        stageError = e.what();
      }
    }
    NewRun record;
    record.name = config.name;
    record.kind = run.evaluateOnly ? "eval" : config.isGrpo() ? "grpo" : "sft";
    record.config = config.toJson();
    record.config["experiment_file"] = std::filesystem::absolute(config.source).string();
    record.config["suite"] = {{"experiment", run.experiment},
                              {"variant", run.variant},
                              {"seed", run.seed},
                              {"hash", run.hash}};
    if (run.fromIndex >= 0) record.config["suite"]["from"] = plan.at(run.fromIndex).config.name;
    if (!run.undoInit.empty()) record.config["suite"]["undo_init"] = run.undoInit;
    record.tags = run.tags;
    // A cancelled run of this config continues from its checkpoint on its own run id.
    const std::optional<RunInfo> cancelled = findCancelledRun(store, run);
    const std::int64_t runId = cancelled ? cancelled->id : store.createRun(record);
    if (cancelled) store.reopenRun(runId);
    if (initReport && !cancelled) {
      const TokenInitReport& r = *initReport;
      store.logMetrics(runId, 0,
                       {{"init/kl_shift", r.klFull},
                        {"init/kl_renorm", r.klRenormalised},
                        {"init/p_undo_mean", r.pUndoMean},
                        {"init/p_undo_max", r.pUndoMax},
                        {"init/embedding_norm", r.embeddingNorm},
                        {"init/mean_row_norm", r.meanRowNorm}});
    }
    const auto started = Clock::now();
    TrainObserver* next = observer ? observer->trainObserver() : nullptr;
    TrainOutcome result;
    if (!stageError.empty()) {
      result.status = TrainStatus::kFailed;
      result.message = stageError;
    } else if (run.evaluateOnly) {
      result.status = TrainStatus::kFinished;  // nothing to train; the evaluations follow
    } else {
      try {
        const bool resume = cancelled.has_value();
        result = config.isGrpo() ? train<GrpoTrainer>(config, store, runId, resume, next, cancel)
                                 : train<SftTrainer>(config, store, runId, resume, next, cancel);
      } catch (const Error& e) {
        result.status = TrainStatus::kFailed;
        result.message = e.what();
      }
    }
    const bool post = run.recoveryEvents > 0 || run.computeMatched > 0 || run.naturalSamples > 0;
    if (result.status == TrainStatus::kFinished && post) {
      try {
        const std::filesystem::path checkpoint =
            run.evaluateOnly ? config.model.checkpoint
                             : config.outDir / ("checkpoint-" + std::to_string(config.train.steps));
        runPostEvaluations(run, config, checkpoint, store, runId,
                           run.evaluateOnly ? 0 : config.train.steps);
      } catch (const Error& e) {
        result.status = TrainStatus::kFailed;
        result.message = std::string("after training: ") + e.what();
      }
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
