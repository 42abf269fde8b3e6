#pragma once
/**
 * @file The controller of the training side of the window: one StorePoller over the run store
 * and the panels that read it (training dashboard, run explorer, per-token rewards) or start
 * jobs (training launcher, token init).
 */
#include <QObject>
#include <QString>

#include "widgets/trace_catalog.h"

template <typename T>
class QFutureWatcher;

namespace nmar::widgets {

class DecodeController;
class MainWindow;
class RewardPanel;
class TokenInitPanel;
class TrainingLauncher;
class RunExplorer;
class StorePoller;
class TrainingDashboard;

/**
 * Adds the training panels to @p window and keeps them on one run store: the window's
 * --store path, else core::defaultStorePath(); File → Open run store switches to the opened
 * one. Polling runs while the window lives. Opening traces and replaying completions go to
 * @p decode (its trace picker and replay), when given. Messages and errors go to the log pane
 * (logger "gui") and the status bar. GUI thread only; destroy before the window.
 */
class TrainingController : public QObject {
  Q_OBJECT
 public:
  TrainingController(MainWindow* window, DecodeController* decode);
  ~TrainingController() override;

  /** Reads the store at @p path from now on. */
  void setStorePath(const QString& path);
  QString storePath() const;

  StorePoller* poller() const { return m_poller; }
  TrainingDashboard* dashboard() const { return m_dashboard; }
  RunExplorer* explorer() const { return m_explorer; }
  RewardPanel* rewardPanel() const { return m_rewards; }
  TrainingLauncher* launcher() const { return m_launcher; }
  TokenInitPanel* tokenInitPanel() const { return m_tokenInit; }

  /** Lists run @p runId's traces of @p storePath in the trace picker (off the GUI thread). */
  void openRunTraces(const QString& storePath, qint64 runId);

 Q_SIGNALS:
  /** The traces of a run are listed in the trace picker (@p count of them). */
  void runTracesListed(qint64 runId, int count);

 private:
  void report(bool ok, const QString& message);

  MainWindow* m_window;
  DecodeController* m_decode;
  StorePoller* m_poller = nullptr;
  TrainingDashboard* m_dashboard = nullptr;
  RunExplorer* m_explorer = nullptr;
  RewardPanel* m_rewards = nullptr;
  TrainingLauncher* m_launcher = nullptr;
  TokenInitPanel* m_tokenInit = nullptr;
  QFutureWatcher<std::pair<QString, TraceCatalog>>* m_catalog = nullptr;
};

}  // namespace nmar::widgets
