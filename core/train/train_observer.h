#pragma once
/**
 * @file The small, Qt-free control interface of a training job: what it reports while it runs.
 * The CLI implements it with a progress bar and the run store; the GUI with queued signals.
 */
#include <cstdint>
#include <filesystem>
#include <map>
#include <string>
#include <vector>

namespace nmar::core {

struct EvalResult;
struct ScoredTrace;

/** Why a training job ended. */
enum class TrainStatus { kFinished, kCancelled, kFailed };

/** "finished" / "cancelled" / "failed" (the run store's statuses). */
const char* trainStatusName(TrainStatus status);

/** How a training job ended. */
struct TrainOutcome {
  TrainStatus status = TrainStatus::kFinished;
  std::string message;                   ///< the reason when failed or cancelled
  std::int64_t step = 0;                 ///< optimiser steps completed
  std::filesystem::path lastCheckpoint;  ///< newest good checkpoint (empty: none)
};

/**
 * Receives a training job's reports. Every callback runs on the training thread, between steps;
 * an implementation must be quick (hand work to another thread) and must not throw.
 */
class TrainObserver {
 public:
  virtual ~TrainObserver() = default;
  /** Once before the first step; @p firstStep > 0 when resuming. */
  virtual void onStart(std::int64_t firstStep, std::int64_t totalSteps) {}
  /** After every optimiser step. */
  virtual void onProgress(std::int64_t step, std::int64_t totalSteps, double loss,
                          double tokensPerSecond) {}
  /** Metric rows: every train.log_every steps and after each evaluation. */
  virtual void onMetrics(std::int64_t step, const std::map<std::string, double>& metrics) {}
  /** After each evaluation (with its traces). */
  virtual void onEval(std::int64_t step, const EvalResult& result) {}
  /** GRPO: completions of the step's groups with their per-token scores (train/scored_trace.h). */
  virtual void onTraces(std::int64_t step, const std::vector<ScoredTrace>& traces) {}
  /** After a checkpoint was written completely. */
  virtual void onCheckpoint(std::int64_t step, const std::filesystem::path& dir) {}
  /** A human-readable line (stage changes, warnings). */
  virtual void onMessage(const std::string& text) {}
};

}  // namespace nmar::core
