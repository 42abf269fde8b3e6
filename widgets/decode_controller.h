#pragma once
/**
 * @file The controller of the live decode and trace replay: it owns the decode worker's thread,
 * adds the generation stack, attention and replay panels to the main window, and keeps them on
 * the same step.
 */
#include <functional>
#include <memory>

#include <QFutureWatcher>
#include <QObject>
#include <QString>

#include "trace/trace.h"
#include "widgets/decode_options.h"
#include "widgets/decode_timeline.h"
#include "widgets/open_kind.h"
#include "widgets/trace_catalog.h"

class QAction;
class QThread;
class QTimer;

namespace nmar::widgets {

class AttentionPanel;
class DecodeWorker;
class DetectorController;
class DeviceMenu;
class GenerationStackPanel;
class MainWindow;
class ReplayBar;
class TracePicker;

/**
 * Wires one MainWindow to one DecodeWorker (on its own QThread, owned here) and to three panels
 * it adds to the window: generation stack, attention, replay. It handles the window's
 * openRequested() for checkpoints and traces, drives Run/Step/Pause/Reset (menu and panel) and
 * Inject error, and keeps one position (steps applied) that every panel follows: during a live
 * decode the newest step, in replay the replay bar's. Errors (bad checkpoint, invalid trace, a
 * failing step) go to the log pane (logger "gui") and the status bar; nothing is modal.
 * GUI thread only; destroy before the window (it stops the worker thread).
 */
class DecodeController : public QObject {
  Q_OBJECT
 public:
  explicit DecodeController(MainWindow* window);
  ~DecodeController() override;

  /**
   * What to open first: the window's startup request if any, else the bundled demo model (and
   * demo trace); without a demo the log pane says where it was looked for.
   */
  void openStartup();

  /** Loads a checkpoint folder on the worker (modelLoaded() or a logged error follows). */
  void openCheckpoint(const QString& dir);
  /**
   * Reads a trace file off the GUI thread and shows it for replay (traceOpened() or an error).
   * A JSONL file with several traces lists them in the trace picker instead (catalogListed()).
   */
  void openTrace(const QString& path);
  /**
   * Lists the traces of the run store (@p store) or JSONL file at @p path off the GUI thread and
   * shows them in the trace picker (catalogListed(), or an error naming the file).
   */
  void openCatalog(const QString& path, bool store);
  /** Loads @p entry of @p catalog off the GUI thread and shows it for replay. */
  void openEntry(const nmar::widgets::TraceCatalog& catalog,
                 const nmar::widgets::TraceEntry& entry);
  /** The dialog that lists a store's or a JSONL file's traces. */
  TracePicker* tracePicker() const { return m_picker; }
  /** Run → Device: where checkpoints are loaded (choosing another reloads the model there). */
  DeviceMenu* deviceMenu() const { return m_deviceMenu; }
  /** Run → Load deviation detector…: the decode's deviation detector (issue 12). */
  DetectorController* detectorController() const { return m_detector; }
  /** The device the next checkpoint loads on ("auto", "cpu", "cuda:N"). */
  QString decodeDevice() const;

  /** Writes the current trace as JSON to @p path; false with @p error on failure. */
  bool exportTrace(const QString& path, QString* error = nullptr) const;
  /** Exports the attention plot (recorded view) to PNG, SVG or PDF by extension. */
  bool exportPlot(const QString& path, QString* error = nullptr) const;

  GenerationStackPanel* stackPanel() const { return m_stack; }
  AttentionPanel* attentionPanel() const { return m_attention; }
  ReplayBar* replayBar() const { return m_replay; }
  const DecodeTimeline& timeline() const { return m_timeline; }
  /** Steps applied in the panels now. */
  int position() const { return m_position; }
  bool modelReady() const { return m_modelReady; }
  bool isRunning() const { return m_running; }
  const ModelInfo& modelInfo() const { return m_model; }

 Q_SIGNALS:
  void modelLoaded(const nmar::widgets::ModelInfo& info);
  void traceOpened(const QString& path);
  /** The traces of @p path (@p count of them) are listed in the trace picker. */
  void catalogListed(const QString& path, int count);
  /** An open, a decode start or a step failed; @p message was logged and shown. */
  void errorShown(const QString& message);
  /** New steps reached the panels (live). */
  void stepsArrived(int total);
  /** The live decode ended. */
  void decodeFinished(const QString& reason);
  void runningChanged(bool running);

 private:
  void createPanels();
  void createMenuActions();
  void connectWorker();
  void onOpenRequested(OpenKind kind, const QString& path);
  void onModelLoaded(const ModelInfo& info);
  void onStarted(const core::Trace& header);
  void onSteps(const QList<core::TraceStep>& steps);
  void onFinished(const core::Trace& trace, const QString& reason);
  void onRunningChanged(bool running);
  void onTraceRead();
  void onCatalogRead();
  /** Reads a trace with @p load on a pool thread; @p label names it in messages. */
  void readTraceWith(const QString& label, std::function<core::Trace()> load);
  void showError(const QString& message);
  void configureWorker();
  void setPosition(int applied, bool animate);
  /** The trace changed (new steps or a new trace): refresh caches and every panel. */
  void traceChanged(bool live);
  /** Hands a copy of the trace to the attention panel (@p compare: ask for hard vs soft too). */
  void pushTraceToAttention(bool compare);
  void updateActions();
  void exportPlotWithDialog();
  void exportTraceWithDialog();

  MainWindow* m_window;
  QThread* m_thread = nullptr;
  DecodeWorker* m_worker = nullptr;
  GenerationStackPanel* m_stack = nullptr;
  AttentionPanel* m_attention = nullptr;
  ReplayBar* m_replay = nullptr;
  QAction* m_exportPlot = nullptr;
  QAction* m_exportTrace = nullptr;
  QAction* m_inject = nullptr;
  QTimer* m_attentionTimer = nullptr;  // coalesces the live copies for the attention map

  DecodeTimeline m_timeline;
  QList<int> m_allDepths;
  QStringList m_stepLabels;
  ModelInfo m_model;
  bool m_modelReady = false;
  bool m_running = false;
  bool m_live = false;  // the timeline comes from the worker (not from a file)
  int m_position = 0;

  struct TraceRead {
    QString path;
    QString error;
    std::shared_ptr<core::Trace> trace;
    QStringList vocabulary;  ///< the trace's own tokenizer's texts; empty: not found
    QString vocabularyNote;  ///< why it was not found
  };
  QFutureWatcher<TraceRead>* m_traceReader = nullptr;
  struct CatalogRead {
    QString error;
    TraceCatalog catalog;
  };
  QFutureWatcher<CatalogRead>* m_catalogReader = nullptr;
  TracePicker* m_picker = nullptr;
  DeviceMenu* m_deviceMenu = nullptr;
  DetectorController* m_detector = nullptr;
};

}  // namespace nmar::widgets
