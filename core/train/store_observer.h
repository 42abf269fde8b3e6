#pragma once
/**
 * @file A TrainObserver that records a training job in the run store: metric rows, evaluation
 * traces with their verdicts, GRPO group completions with their token scores, checkpoints as
 * artifacts (the store is flushed at each checkpoint).
 */
#include <cstdint>

#include "train/train_observer.h"

namespace nmar::core {

class RunStore;

/**
 * Records into run @p runId of @p store (not owned; must outlive the observer). Metric logging is
 * queued (no disk I/O on the training thread); a store write error is reported once through
 * onMessage of @p next and logging continues without the store, so training never dies of a full
 * disk. Forwards every callback to @p next (may be null) afterwards.
 */
class StoreTrainObserver : public TrainObserver {
 public:
  StoreTrainObserver(RunStore& store, std::int64_t runId, TrainObserver* next = nullptr);

  void onStart(std::int64_t firstStep, std::int64_t totalSteps) override;
  void onProgress(std::int64_t step, std::int64_t totalSteps, double loss,
                  double tokensPerSecond) override;
  void onMetrics(std::int64_t step, const std::map<std::string, double>& metrics) override;
  void onEval(std::int64_t step, const EvalResult& result) override;
  void onTraces(std::int64_t step, const std::vector<ScoredTrace>& traces) override;
  void onCheckpoint(std::int64_t step, const std::filesystem::path& dir) override;
  void onMessage(const std::string& text) override;

  /** False once a store write failed (the message was passed on). */
  bool healthy() const { return m_healthy; }

 private:
  template <typename F>
  void guarded(F&& f);

  RunStore& m_store;
  std::int64_t m_runId;
  TrainObserver* m_next;
  bool m_healthy = true;
};

}  // namespace nmar::core
