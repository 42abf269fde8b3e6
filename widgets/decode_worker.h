#pragma once
/**
 * @file The decode job: one worker object on its own QThread owning the model, the tokenizer and
 * a PrunedDecoder (architecture.md, Threading). Torch stays in the .cpp.
 */
#include <atomic>
#include <memory>

#include <QElapsedTimer>
#include <QList>
#include <QObject>
#include <QString>

#include "trace/trace.h"
#include "widgets/attention_map.h"
#include "widgets/decode_options.h"

namespace nmar::widgets {

/**
 * Runs pruned decoding for the GUI. Create it without a parent, move it to a QThread, and call
 * its slots only through queued calls (signals or QMetaObject::invokeMethod); every tensor
 * operation happens on that thread. requestPause() and requestCancel() are the only members safe
 * to call from another thread: an atomic flag checked once per step, so Pause answers within one
 * step and leaves decoder, cache and trace consistent (the decode can be resumed). Steps reach the
 * GUI as stepsReady() batches, at most ~30 per second while running. With a deviation detector
 * loaded (the checkpoint folder's own, or loadDetector()), a decode scores every push and uses
 * the options' VerifierOptions as its trigger. Every error (bad checkpoint,
 * prompt the tokenizer cannot encode, bad settings, a failing step) is reported through failed()
 * or loadFailed() with a message; nothing throws across the thread boundary.
 */
class DecodeWorker : public QObject {
  Q_OBJECT
 public:
  DecodeWorker();
  ~DecodeWorker() override;

  /** Thread-safe: stops a run after the current step (emits paused()). */
  void requestPause() { m_pause.store(true); }
  /** Thread-safe: as requestPause(), for shutdown; no further chunk is scheduled. */
  void requestCancel() {
    m_cancel.store(true);
    m_pause.store(true);
  }

 public Q_SLOTS:
  /**
   * Loads the checkpoint folder @p dir (replacing any model) onto @p device ("auto", "cpu",
   * "cuda:N"; see core::parseDevice): modelLoaded() or loadFailed().
   */
  void loadCheckpoint(const QString& dir, const QString& device = QStringLiteral("cpu"));
  /**
   * Loads the deviation detector in @p dir (detector_config.json + detector.safetensors) for the
   * loaded model: detectorChanged() or detectorFailed() with a message naming the file (missing,
   * corrupt, hidden size not the model's). The detector scores the pushes of the next decode.
   */
  void loadDetector(const QString& dir);
  /** Forgets the loaded detector (detectorChanged() with no detector). */
  void unloadDetector();
  /** Remembers the prompt and options for the next start (Step/Run/Inject when not started). */
  void configure(const QString& prompt, const nmar::widgets::DecodeOptions& options);
  /** Takes one step (starting the decode first if needed). */
  void step();
  /** Steps until the decode ends or a pause is requested (starting it first if needed). */
  void run();
  /** Pushes @p tokenText (empty: a random wrong token) as a forced deviation now. */
  void injectNow(const QString& tokenText);
  /** Schedules an injection at step @p step (0-based) of the current decode. */
  void injectAt(int step, const QString& tokenText);
  /** Ends the current decode and forgets it; emits resetDone(). */
  void reset();
  /**
   * Runs one forward over the whole of @p trace (prompt + every step's token) with the other
   * visibility than it was decoded with (hard trace: causal/soft; soft trace: hard mask) and emits
   * comparisonReady() with the map for @p selection. Needs a loaded model whose vocabulary fits.
   */
  void computeComparison(const nmar::core::Trace& trace,
                         nmar::widgets::AttentionSelection selection, int requestId);

 Q_SIGNALS:
  void modelLoaded(const nmar::widgets::ModelInfo& info);
  void loadFailed(const QString& message);
  /**
   * The detector the next decode uses changed: after every modelLoaded() (the checkpoint
   * folder's own detector when it has one, else none), loadDetector() and unloadDetector().
   */
  void detectorChanged(const nmar::widgets::DetectorInfo& detector);
  /** A detector could not be loaded; @p message names the file and what is wrong with it. */
  void detectorFailed(const QString& message);
  /** A decode started: @p header holds identity, settings and prompt, no steps. */
  void started(const nmar::core::Trace& header);
  /** New steps in order (a coalesced batch). */
  void stepsReady(const QList<nmar::core::TraceStep>& steps);
  /** The decode ended (eos, max_new_tokens, ...); @p trace is final. */
  void finished(const nmar::core::Trace& trace, const QString& reason);
  /** A run stopped on request; the decode can go on. */
  void paused();
  /** Running (true) or idle (false). */
  void runningChanged(bool running);
  void resetDone();
  /** A step, a start or a comparison failed with @p message. */
  void failed(const QString& message);
  void comparisonReady(const nmar::widgets::AttentionMap& map, const QString& title, int requestId);

 private:
  struct Engine;

  /** Stops and forgets the decode (no signal but runningChanged). */
  void clearDecoder();
  bool ensureStarted();
  void runChunk();
  void stepOnce();
  void flush(bool force);
  void afterStep();
  std::int64_t encodeInjection(const QString& text);
  void fail(const QString& what, const std::exception& e);
  /** Loads the detector of @p dir into the engine; throws Error naming the file. */
  void installDetector(const QString& dir);

  std::unique_ptr<Engine> m_engine;
  std::atomic<bool> m_pause{false};
  std::atomic<bool> m_cancel{false};
  bool m_running = false;
  QString m_prompt;
  DecodeOptions m_options;
  QList<Injection> m_pendingInjections;  // scheduled after the start
  QList<Injection> m_nextStart;          // scheduled before it: taken by the next start
  QList<core::TraceStep> m_pending;      // steps not yet sent
  QElapsedTimer m_sinceFlush;
};

}  // namespace nmar::widgets
