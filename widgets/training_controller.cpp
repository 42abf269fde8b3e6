#include "widgets/training_controller.h"

#include <QDockWidget>
#include <QFutureWatcher>
#include <QStatusBar>
#include <QtConcurrent/QtConcurrentRun>

#include "store/store_path.h"
#include "util/log.h"
#include "widgets/decode_controller.h"
#include "widgets/main_window.h"
#include "widgets/reward_panel.h"
#include "widgets/run_explorer.h"
#include "widgets/store_poller.h"
#include "widgets/token_init_panel.h"
#include "widgets/trace_picker.h"
#include "widgets/training_dashboard.h"
#include "widgets/training_launcher.h"

namespace nmar::widgets {
namespace {

auto guiLog() { return core::logger("gui"); }

QString initialStorePath(const MainWindow* window) {
  if (!window->runStorePath().isEmpty()) return window->runStorePath();
  try {
    return QString::fromStdString(core::defaultStorePath().string());
  } catch (const std::exception& e) {
    guiLog()->warn("no default run store: {}", e.what());
    return {};
  }
}

}  // namespace

TrainingController::TrainingController(MainWindow* window, DecodeController* decode)
    : QObject(window), m_window(window), m_decode(decode) {
  m_poller = new StorePoller(this);
  m_dashboard = new TrainingDashboard(m_poller);
  m_explorer = new RunExplorer(m_poller);
  QDockWidget* dashboard =
      window->addPanel(m_dashboard, tr("Training dashboard"), QStringLiteral("dashboardDock"),
                       Qt::BottomDockWidgetArea, QKeySequence(tr("Ctrl+Shift+D")));
  QDockWidget* explorer =
      window->addPanel(m_explorer, tr("Run explorer"), QStringLiteral("explorerDock"),
                       Qt::BottomDockWidgetArea, QKeySequence(tr("Ctrl+Shift+E")));
  m_rewards = new RewardPanel(m_poller);
  QDockWidget* rewards =
      window->addPanel(m_rewards, tr("Per-token rewards"), QStringLiteral("rewardsDock"),
                       Qt::BottomDockWidgetArea, QKeySequence(tr("Ctrl+Shift+W")));
  m_launcher = new TrainingLauncher;
  QDockWidget* launcher =
      window->addPanel(m_launcher, tr("Training launcher"), QStringLiteral("launcherDock"),
                       Qt::BottomDockWidgetArea, QKeySequence(tr("Ctrl+Shift+T")));
  m_tokenInit = new TokenInitPanel;
  QDockWidget* tokenInit =
      window->addPanel(m_tokenInit, tr("Token init"), QStringLiteral("tokenInitDock"),
                       Qt::BottomDockWidgetArea, QKeySequence(tr("Ctrl+Shift+I")));
  // The training panels share the attention panel's place (tabs below the generation stack), so
  // each gets the width of the window instead of a strip beside the decode view.
  if (auto* attention = window->findChild<QDockWidget*>(QStringLiteral("attentionDock")))
    window->tabifyDockWidget(attention, dashboard);
  window->tabifyDockWidget(dashboard, explorer);
  window->tabifyDockWidget(explorer, rewards);
  window->tabifyDockWidget(rewards, launcher);
  window->tabifyDockWidget(launcher, tokenInit);
  if (auto* attention = window->findChild<QDockWidget*>(QStringLiteral("attentionDock")))
    attention->raise();  // the decode view first; View menu, --show-panel or a tab for the rest
  else
    dashboard->raise();

  connect(m_launcher, &TrainingLauncher::launchFailed, this,
          [this](const QString& message) { report(false, tr("training not started: %1").arg(message)); });
  connect(m_launcher, &TrainingLauncher::runStarted, this, [this](qint64 runId) {
    report(true, tr("training run %1 started").arg(runId));
    m_poller->pollNow();
  });
  connect(m_launcher, &TrainingLauncher::runEnded, this,
          [this](TrainState state, const QString& message) {
            report(state != TrainState::kFailed,
                   tr("training run %1").arg(trainStateName(state)) +
                       (message.isEmpty() ? QString() : QStringLiteral(": ") + message));
            m_poller->pollNow();
          });
  connect(m_tokenInit, &TokenInitPanel::failed, this,
          [this](const QString& message) { report(false, tr("token init: %1").arg(message)); });
  if (m_decode) {
    connect(m_decode, &DecodeController::modelLoaded, m_tokenInit,
            [this](const ModelInfo& info) { m_tokenInit->setCheckpoint(info.dir); });
  }

  connect(m_rewards, &RewardPanel::problem, this,
          [this](const QString& message) { report(false, message); });
  if (m_decode) {
    connect(m_rewards, &RewardPanel::replayRequested, m_decode, &DecodeController::openEntry);
  }

  connect(m_dashboard, &TrainingDashboard::problem, this,
          [this](const QString& message) { report(false, message); });
  connect(m_explorer, &RunExplorer::actionFinished, this, &TrainingController::report);
  connect(m_explorer, &RunExplorer::plotRequested, this,
          [this, dashboard](const std::set<std::int64_t>& ids) {
            m_dashboard->setCheckedRuns(ids);
            dashboard->show();
            dashboard->raise();
          });
  connect(m_explorer, &RunExplorer::openTracesRequested, this,
          &TrainingController::openRunTraces);
  connect(window, &MainWindow::openRequested, this, [this](OpenKind kind, const QString& path) {
    if (kind == OpenKind::RunStore) setStorePath(path);
  });

  m_catalog = new QFutureWatcher<std::pair<QString, TraceCatalog>>(this);
  connect(m_catalog, &QFutureWatcher<std::pair<QString, TraceCatalog>>::finished, this, [this] {
    const auto [error, catalog] = m_catalog->result();
    if (!error.isEmpty()) {
      report(false, tr("could not list the run's traces: %1").arg(error));
      return;
    }
    const qint64 run = catalog.entries.isEmpty() ? -1 : catalog.entries.front().runId;
    if (catalog.entries.isEmpty()) {
      report(false, tr("the run holds no trace"));
    } else if (m_decode) {
      m_decode->tracePicker()->setCatalog(catalog);
      m_decode->tracePicker()->show();
      m_decode->tracePicker()->raise();
    }
    Q_EMIT runTracesListed(run, int(catalog.entries.size()));
  });

  setStorePath(initialStorePath(window));
  m_poller->start();
}

TrainingController::~TrainingController() { m_catalog->waitForFinished(); }

void TrainingController::setStorePath(const QString& path) {
  if (path == m_poller->storePath()) return;
  guiLog()->info("training panels read the run store {}", path.toStdString());
  m_poller->setStorePath(path);
  m_launcher->setStorePath(path);
}

QString TrainingController::storePath() const { return m_poller->storePath(); }

void TrainingController::openRunTraces(const QString& storePath, qint64 runId) {
  m_catalog->waitForFinished();
  m_catalog->setFuture(QtConcurrent::run([storePath, runId] {
    std::pair<QString, TraceCatalog> out;
    try {
      out.second = listStoreTraces(storePath, runId);
    } catch (const std::exception& e) {
      out.first = QString::fromStdString(e.what());
    }
    return out;
  }));
}

void TrainingController::report(bool ok, const QString& message) {
  if (ok)
    guiLog()->info("{}", message.toStdString());
  else
    guiLog()->error("{}", message.toStdString());
  m_window->statusBar()->showMessage(message, 8000);
}

}  // namespace nmar::widgets
