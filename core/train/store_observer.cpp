#include "train/store_observer.h"

#include <vector>

#include "store/run_store.h"
#include "train/evaluator.h"
#include "train/scored_trace.h"
#include "util/error.h"

namespace nmar::core {

StoreTrainObserver::StoreTrainObserver(RunStore& store, std::int64_t runId, TrainObserver* next)
    : m_store(store), m_runId(runId), m_next(next) {}

template <typename F>
void StoreTrainObserver::guarded(F&& f) {
  if (!m_healthy) return;
  try {
    f();
  } catch (const Error& e) {
    m_healthy = false;
    if (m_next) {
      m_next->onMessage(std::string("run store: ") + e.what() +
                        " (training goes on; checkpoints are still written)");
    }
  }
}

void StoreTrainObserver::onStart(std::int64_t firstStep, std::int64_t totalSteps) {
  if (m_next) m_next->onStart(firstStep, totalSteps);
}

void StoreTrainObserver::onProgress(std::int64_t step, std::int64_t totalSteps, double loss,
                                    double tokensPerSecond) {
  if (m_next) m_next->onProgress(step, totalSteps, loss, tokensPerSecond);
}

void StoreTrainObserver::onMetrics(std::int64_t step,
                                   const std::map<std::string, double>& metrics) {
  guarded([&] {
    std::vector<MetricValue> values;
    values.reserve(metrics.size());
    for (const auto& [key, value] : metrics) values.push_back({key, value});
    m_store.logMetrics(m_runId, step, values);
  });
  if (m_next) m_next->onMetrics(step, metrics);
}

void StoreTrainObserver::onEval(std::int64_t step, const EvalResult& result) {
  guarded([&] {
    for (const Trace& t : result.traces) m_store.addTrace(m_runId, step, t);
  });
  if (m_next) m_next->onEval(step, result);
}

void StoreTrainObserver::onTraces(std::int64_t step, const std::vector<ScoredTrace>& traces) {
  guarded([&] {
    for (const ScoredTrace& t : traces) m_store.addTrace(m_runId, step, t.trace, t.group, t.scores);
  });
  if (m_next) m_next->onTraces(step, traces);
}

void StoreTrainObserver::onCheckpoint(std::int64_t step, const std::filesystem::path& dir) {
  guarded([&] {
    m_store.addArtifact(m_runId, "checkpoint", dir / "model.safetensors");
    m_store.flush();
  });
  if (m_next) m_next->onCheckpoint(step, dir);
}

void StoreTrainObserver::onMessage(const std::string& text) {
  if (m_next) m_next->onMessage(text);
}

}  // namespace nmar::core
