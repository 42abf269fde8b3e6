#include "widgets/main_window.h"

#include <QAction>
#include <QCloseEvent>
#include <QDir>
#include <QDockWidget>
#include <QDragEnterEvent>
#include <QDropEvent>
#include <QFileDialog>
#include <QFileInfo>
#include <QLabel>
#include <QMenuBar>
#include <QMimeData>
#include <QSettings>
#include <QStatusBar>

#include "util/log.h"
#include "widgets/about_dialog.h"
#include "widgets/demo_locator.h"
#include "widgets/log_pane.h"
#include "widgets/recent_files.h"
#include "widgets/shortcuts_dialog.h"
#include "widgets/welcome_page.h"

namespace nmar::widgets {
namespace {

constexpr int kLayoutVersion = 1;  // bump when the set of built-in docks changes incompatibly
const char* const kGeometryKey = "mainWindow/geometry";
const char* const kStateKey = "mainWindow/state";
const char* const kLastDirKey = "mainWindow/lastDirectory";
const char* const kLoadModelFirst =
    QT_TRANSLATE_NOOP("nmar::widgets::MainWindow", "load a model first");

QAction* makeAction(QObject* parent, const QString& text, const QString& objectName,
                    const QKeySequence& shortcut, const QString& tip) {
  auto* action = new QAction(text, parent);
  action->setObjectName(objectName);
  action->setShortcut(shortcut);
  action->setStatusTip(tip);
  action->setToolTip(tip);
  return action;
}

QLabel* permanentLabel(QWidget* parent, const QString& objectName, const QString& tip) {
  auto* label = new QLabel(parent);
  label->setObjectName(objectName);
  label->setToolTip(tip);
  label->setContentsMargins(6, 0, 6, 0);
  return label;
}

/** Local paths among the dropped URLs. */
QStringList droppedPaths(const QMimeData* mime) {
  QStringList paths;
  if (!mime || !mime->hasUrls()) return paths;
  for (const QUrl& url : mime->urls()) {
    if (url.isLocalFile()) paths << url.toLocalFile();
  }
  return paths;
}

}  // namespace

MainWindow::MainWindow(QWidget* parent) : QMainWindow(parent) {
  setObjectName(QStringLiteral("mainWindow"));
  setWindowTitle(tr("N-MAR Workbench"));
  setAcceptDrops(true);
  setDockNestingEnabled(true);
  setDockOptions(AnimatedDocks | AllowNestedDocks | AllowTabbedDocks | GroupedDragging);
  resize(1280, 800);

  createActions();
  createMenus();
  createStatusBar();

  m_welcome = new WelcomePage(m_openCheckpoint, m_openTrace, m_openStore, this);
  connect(m_welcome, &WelcomePage::recentFileActivated, this,
          [this](OpenKind kind, const QString& path) {
            openRecent(OpenRequest{kind, path});
          });
  setCentralWidget(m_welcome);

  m_logPane = new LogPane;
  m_logDock = addPanel(m_logPane, tr("Log"), QStringLiteral("logDock"), Qt::BottomDockWidgetArea,
                       QKeySequence(tr("Ctrl+Shift+L")));
  resizeDocks({m_logDock}, {160}, Qt::Vertical);  // the log is a strip, not half the window
  refreshRecentFiles();
  refreshDemos();
}

MainWindow::~MainWindow() = default;

void MainWindow::createActions() {
  m_openCheckpoint = makeAction(
      this, tr("Open &checkpoint…"), QStringLiteral("openCheckpoint"), QKeySequence::Open,
      tr("Open a model folder (config.json, model.safetensors, tokenizer)"));
  connect(m_openCheckpoint, &QAction::triggered, this,
          [this] { openWithDialog(OpenKind::Checkpoint); });
  m_openTrace =
      makeAction(this, tr("Open &trace…"), QStringLiteral("openTrace"), QKeySequence(tr("Ctrl+T")),
                 tr("Open a recorded generation trace (.json)"));
  connect(m_openTrace, &QAction::triggered, this, [this] { openWithDialog(OpenKind::Trace); });
  m_openStore = makeAction(this, tr("Open &run store…"), QStringLiteral("openStore"),
                           QKeySequence(tr("Ctrl+Shift+O")),
                           tr("Open a run store (.sqlite) with training and evaluation runs"));
  connect(m_openStore, &QAction::triggered, this, [this] { openWithDialog(OpenKind::RunStore); });
  m_quit = makeAction(this, tr("&Quit"), QStringLiteral("quit"), QKeySequence::Quit,
                      tr("Quit the workbench"));
  m_quit->setMenuRole(QAction::QuitRole);
  connect(m_quit, &QAction::triggered, this, &QWidget::close);

  m_resetLayout = makeAction(this, tr("&Reset layout"), QStringLiteral("resetLayout"), {},
                             tr("Put every panel back in its default place"));
  connect(m_resetLayout, &QAction::triggered, this, &MainWindow::resetLayout);

  // Run controls exist from the start so their shortcuts are learnable; a model enables them.
  const QString tip = tr(kLoadModelFirst);
  m_run.run = makeAction(this, tr("&Run"), QStringLiteral("run"), QKeySequence(Qt::Key_F5), tip);
  m_run.step =
      makeAction(this, tr("&Step"), QStringLiteral("step"), QKeySequence(Qt::Key_F10), tip);
  m_run.pause =
      makeAction(this, tr("&Pause"), QStringLiteral("pause"), QKeySequence(Qt::Key_F6), tip);
  m_run.reset = makeAction(this, tr("R&eset"), QStringLiteral("reset"),
                           QKeySequence(Qt::SHIFT | Qt::Key_F5), tip);
  for (QAction* action : {m_run.run, m_run.step, m_run.pause, m_run.reset}) {
    action->setEnabled(false);
  }

  m_shortcuts = makeAction(this, tr("&Keyboard shortcuts"), QStringLiteral("shortcuts"),
                           QKeySequence::HelpContents, tr("List the keyboard shortcuts"));
  connect(m_shortcuts, &QAction::triggered, this, &MainWindow::showShortcuts);
  m_about = makeAction(this, tr("&About N-MAR Workbench"), QStringLiteral("about"), {},
                       tr("Versions of the workbench and its libraries"));
  m_about->setMenuRole(QAction::AboutRole);
  connect(m_about, &QAction::triggered, this, &MainWindow::showAbout);
}

void MainWindow::createMenus() {
  QMenu* file = menuBar()->addMenu(tr("&File"));
  file->setObjectName(QStringLiteral("fileMenu"));
  file->addAction(m_openCheckpoint);
  file->addAction(m_openTrace);
  file->addAction(m_openStore);
  m_demoMenu = file->addMenu(tr("Open &demo"));
  m_demoMenu->setObjectName(QStringLiteral("demoMenu"));
  m_demoMenu->setToolTipsVisible(true);
  connect(m_demoMenu, &QMenu::aboutToShow, this, &MainWindow::refreshDemos);
  m_recentMenu = file->addMenu(tr("Recent &files"));
  m_recentMenu->setObjectName(QStringLiteral("recentMenu"));
  file->addSeparator();
  file->addAction(m_quit);

  m_viewMenu = menuBar()->addMenu(tr("&View"));
  m_viewMenu->setObjectName(QStringLiteral("viewMenu"));
  m_viewPanelsEnd = m_viewMenu->addSeparator();
  m_viewMenu->addAction(m_resetLayout);

  QMenu* run = menuBar()->addMenu(tr("&Run"));
  run->setObjectName(QStringLiteral("runMenu"));
  run->setToolTipsVisible(true);
  run->addAction(m_run.run);
  run->addAction(m_run.step);
  run->addAction(m_run.pause);
  run->addSeparator();
  run->addAction(m_run.reset);

  QMenu* help = menuBar()->addMenu(tr("&Help"));
  help->setObjectName(QStringLiteral("helpMenu"));
  help->addAction(m_shortcuts);
  help->addSeparator();
  help->addAction(m_about);
}

void MainWindow::createStatusBar() {
  m_deviceLabel =
      permanentLabel(this, QStringLiteral("deviceLabel"), tr("Device the model runs on"));
  m_modelLabel = permanentLabel(this, QStringLiteral("modelLabel"), tr("The loaded model"));
  m_jobLabel = permanentLabel(this, QStringLiteral("jobLabel"), tr("The running job"));
  statusBar()->addPermanentWidget(m_jobLabel);
  statusBar()->addPermanentWidget(m_modelLabel);
  statusBar()->addPermanentWidget(m_deviceLabel);
  setDeviceText(tr("CPU"));
  setModelText(tr("none"));
  setJobText(tr("idle"));
}

QDockWidget* MainWindow::addPanel(QWidget* panel, const QString& title, const QString& objectName,
                                  Qt::DockWidgetArea area, const QKeySequence& toggleShortcut) {
  auto* dock = new QDockWidget(title, this);
  dock->setObjectName(objectName);
  dock->setWidget(panel);
  addDockWidget(area, dock);
  QAction* toggle = dock->toggleViewAction();
  toggle->setObjectName(objectName + QStringLiteral("Toggle"));
  toggle->setShortcut(toggleShortcut);
  toggle->setStatusTip(tr("Show or hide the %1 panel").arg(title));
  m_viewMenu->insertAction(m_viewPanelsEnd, toggle);
  m_panels.append(Panel{dock, area});
  return dock;
}

QList<QDockWidget*> MainWindow::panels() const {
  QList<QDockWidget*> docks;
  for (const Panel& panel : m_panels) docks.append(panel.dock);
  return docks;
}

void MainWindow::setDeviceText(const QString& text) {
  m_device = text;
  m_deviceLabel->setText(tr("Device: %1").arg(text));
}

void MainWindow::setModelText(const QString& text) {
  m_model = text;
  m_modelLabel->setText(tr("Model: %1").arg(text));
}

void MainWindow::setJobText(const QString& text) {
  m_job = text;
  m_jobLabel->setText(tr("Job: %1").arg(text));
}

void MainWindow::saveLayout() const {
  QSettings settings;
  settings.setValue(QLatin1String(kGeometryKey), saveGeometry());
  settings.setValue(QLatin1String(kStateKey), saveState(kLayoutVersion));
}

bool MainWindow::restoreLayout() {
  m_defaultLayout = saveState(kLayoutVersion);  // every panel is docked: View > Reset layout
  QSettings settings;
  const QByteArray geometry = settings.value(QLatin1String(kGeometryKey)).toByteArray();
  const QByteArray state = settings.value(QLatin1String(kStateKey)).toByteArray();
  if (geometry.isEmpty() && state.isEmpty()) return false;
  bool ok = geometry.isEmpty() || restoreGeometry(geometry);
  ok = (state.isEmpty() || restoreState(state, kLayoutVersion)) && ok;
  if (!ok)
    core::logger("gui")->warn(
        "the saved window layout does not fit this version; "
        "using the default layout");
  return ok;
}

void MainWindow::resetLayout() {
  for (const Panel& panel : m_panels) {
    panel.dock->setFloating(false);
    addDockWidget(panel.area, panel.dock);  // moves an already docked widget back
    panel.dock->show();
  }
  // Then the tabs and splits the panels started with (captured by restoreLayout()).
  if (!m_defaultLayout.isEmpty()) restoreState(m_defaultLayout, kLayoutVersion);
}

void MainWindow::setStartupRequest(const OpenRequest& request) { m_startupRequest = request; }

void MainWindow::setRunStorePath(const QString& path) { m_runStorePath = path; }

void MainWindow::requestOpen(OpenKind kind, const QString& path) {
  addRecentFile(OpenRequest{kind, path});
  refreshRecentFiles();
  core::logger("gui")->info("open requested: {} '{}'", openKindName(kind).toStdString(),
                            path.toStdString());
  statusBar()->showMessage(tr("Open %1: %2").arg(openKindName(kind), path), 5000);
  Q_EMIT openRequested(kind, path);
}

void MainWindow::openWithDialog(OpenKind kind) {
  QSettings settings;
  const QString dir = settings.value(QLatin1String(kLastDirKey), QDir::homePath()).toString();
  QString path;
  switch (kind) {
    case OpenKind::Checkpoint:
      path = QFileDialog::getExistingDirectory(this, tr("Open checkpoint folder"), dir);
      break;
    case OpenKind::Trace:
      path = QFileDialog::getOpenFileName(this, tr("Open trace"), dir,
                                          tr("Traces (*.json *.jsonl);;All files (*)"));
      break;
    case OpenKind::RunStore:
      path =
          QFileDialog::getOpenFileName(this, tr("Open run store"), dir,
                                       tr("Run stores (*.sqlite *.sqlite3 *.db);;All files (*)"));
      break;
  }
  if (path.isEmpty()) return;  // cancelled
  const QFileInfo info(path);
  settings.setValue(QLatin1String(kLastDirKey), info.absolutePath());  // a folder's parent, too
  requestOpen(kind, info.absoluteFilePath());
}

void MainWindow::openRecent(const OpenRequest& entry) {
  if (!QFileInfo::exists(entry.path)) {
    core::logger("gui")->warn("recent {} '{}' no longer exists; removed from the recent files",
                              openKindName(entry.kind).toStdString(), entry.path.toStdString());
    removeRecentFile(entry.path);
    refreshRecentFiles();
    return;
  }
  requestOpen(entry.kind, entry.path);
}

void MainWindow::refreshDemos() {
  m_demoMenu->clear();
  const QList<Demo> demos = findDemos();
  for (const Demo& demo : demos) {
    QAction* action = m_demoMenu->addAction(demo.title);
    action->setObjectName(QStringLiteral("demo_") + demo.name);
    const QString tip = demo.trace.isEmpty()
                            ? tr("Load the model %1").arg(demo.model)
                            : tr("Load the model %1 and replay %2").arg(demo.model, demo.trace);
    action->setToolTip(tip);
    action->setStatusTip(tip);
    connect(action, &QAction::triggered, this, [this, demo] { openDemo(demo); });
  }
  if (demos.isEmpty()) {
    QAction* none = m_demoMenu->addAction(tr("No bundled demo found"));
    none->setEnabled(false);
    none->setToolTip(tr("Looked in %1").arg(demoSearchPaths().join(QStringLiteral(", "))));
  }
}

void MainWindow::openDemo(const Demo& demo) {
  core::logger("gui")->info("opening the {} demo: {}{}", demo.name.toStdString(),
                            demo.model.toStdString(),
                            demo.trace.isEmpty() ? std::string()
                                                 : " with " + demo.trace.toStdString());
  statusBar()->showMessage(tr("Open demo: %1").arg(demo.title), 5000);
  // Not added to the recent files: the demo menu always lists them.
  Q_EMIT openRequested(OpenKind::Checkpoint, demo.model);
  if (!demo.trace.isEmpty()) Q_EMIT openRequested(OpenKind::Trace, demo.trace);
}

void MainWindow::refreshRecentFiles() {
  const QList<OpenRequest> entries = recentFiles();
  m_recentMenu->clear();
  for (int i = 0; i < entries.size(); ++i) {
    const OpenRequest entry = entries[i];
    const QString text =
        QStringLiteral("&%1  %2: %3")
            .arg((i + 1) % 10)
            .arg(openKindName(entry.kind), QDir::toNativeSeparators(entry.path)
                                               .replace(QLatin1Char('&'), QLatin1String("&&")));
    QAction* action = m_recentMenu->addAction(text);
    action->setStatusTip(entry.path);
    connect(action, &QAction::triggered, this, [this, entry] { openRecent(entry); });
  }
  if (!entries.isEmpty()) {
    m_recentMenu->addSeparator();
    QAction* clear = m_recentMenu->addAction(tr("Clear recent files"));
    clear->setObjectName(QStringLiteral("clearRecentFiles"));
    connect(clear, &QAction::triggered, this, [this] {
      clearRecentFiles();
      refreshRecentFiles();
    });
  }
  m_recentMenu->setEnabled(!entries.isEmpty());
  m_welcome->setRecentFiles(entries);
}

void MainWindow::showAbout() {
  if (!m_aboutDialog) m_aboutDialog = new AboutDialog(this);
  m_aboutDialog->show();
  m_aboutDialog->raise();
  m_aboutDialog->activateWindow();
}

void MainWindow::showShortcuts() {
  if (!m_shortcutsDialog) m_shortcutsDialog = new ShortcutsDialog(this);
  m_shortcutsDialog->setEntries(collectShortcuts(menuBar()));  // panels may have added toggles
  m_shortcutsDialog->show();
  m_shortcutsDialog->raise();
  m_shortcutsDialog->activateWindow();
}

void MainWindow::closeEvent(QCloseEvent* event) {
  saveLayout();
  QMainWindow::closeEvent(event);
}

void MainWindow::dragEnterEvent(QDragEnterEvent* event) {
  // Any local file is accepted here, so that dropEvent() can say why one cannot be opened;
  // refusing now would only show a "forbidden" cursor without a reason.
  if (droppedPaths(event->mimeData()).isEmpty()) {
    event->ignore();
  } else {
    event->acceptProposedAction();
  }
}

void MainWindow::dropEvent(QDropEvent* event) {
  bool accepted = false;
  for (const QString& path : droppedPaths(event->mimeData())) {
    QString error;
    if (const auto request = classifyPath(path, &error)) {
      requestOpen(request->kind, request->path);
      accepted = true;
    } else {
      core::logger("gui")->warn("drop: {}", error.toStdString());
      statusBar()->showMessage(error, 8000);
    }
  }
  if (accepted) {
    event->acceptProposedAction();
  } else {
    event->ignore();
  }
}

}  // namespace nmar::widgets
