#pragma once
/**
 * @file The Qt-free, Torch-free event interface of a decode (spec §3): what the GUI animates and
 * the CLI prints while a PrunedDecoder runs. viz/ and widgets/ may include it.
 */
#include <functional>
#include <string>

#include "trace/trace.h"

namespace nmar::core {

/** Why a decode ended. */
enum class StopReason {
  kNone,          ///< still running (or not started)
  kEos,           ///< the EOS token was pushed (with stop_at_eos)
  kMaxNewTokens,  ///< max_new_tokens steps were taken
  kMaxPositions,  ///< the model cannot take another position (GPT-2 n_positions)
  kCancelled,     ///< the cancellation flag was raised, or stop() was called
};

/** "running", "eos", "max_new_tokens", "max_positions", "cancelled". */
std::string stopReasonName(StopReason reason);

/**
 * Receives the events of one decode, on the thread that runs the decoder, synchronously: a slow
 * sink slows the decode. The GUI forwards them as queued signals; the CLI prints them. A sink must
 * not call back into the decoder that emits to it.
 */
class DecodeEventSink {
 public:
  virtual ~DecodeEventSink() = default;
  /** After the prompt was fed: @p trace holds the header (identity, settings, prompt), no steps. */
  virtual void onStart(const Trace& trace) {}
  /**
   * After step @p index was applied (cache, stack and trace are already updated): @p step is
   * trace.steps[index], a push or a pop, marked forced for a forced deviation.
   */
  virtual void onStep(int index, const TraceStep& step) = 0;
  /** Once, when the decode ended for @p reason; @p trace is final (output ids and text set). */
  virtual void onFinish(const Trace& trace, StopReason reason) {}
};

/** A sink made of std::functions (any may be empty), for tests and small tools. */
class FunctionEventSink : public DecodeEventSink {
 public:
  std::function<void(const Trace&)> start;
  std::function<void(int, const TraceStep&)> step;
  std::function<void(const Trace&, StopReason)> finish;

  void onStart(const Trace& trace) override {
    if (start) start(trace);
  }
  void onStep(int index, const TraceStep& s) override {
    if (step) step(index, s);
  }
  void onFinish(const Trace& trace, StopReason reason) override {
    if (finish) finish(trace, reason);
  }
};

}  // namespace nmar::core
