// The real main window: menus, docks, status bar, layout memory, recent files, drag and drop.
#include <QAction>
#include <QDir>
#include <QDockWidget>
#include <QFile>
#include <QFileInfo>
#include <QLabel>
#include <QMenu>
#include <QMenuBar>
#include <QMimeData>
#include <QSettings>
#include <QSignalSpy>
#include <QStandardPaths>
#include <QTemporaryDir>
#include <QTest>
#include <QUrl>

#include "util/build_info.h"
#include "widgets/about_dialog.h"
#include "widgets/demo_locator.h"
#include "widgets/log_pane.h"
#include "widgets/main_window.h"
#include "widgets/recent_files.h"
#include "widgets/shortcuts_dialog.h"
#include "widgets/welcome_page.h"

using nmar::widgets::MainWindow;
using nmar::widgets::OpenKind;

namespace {

QMenu* menu(const MainWindow& window, const char* name) {
  return window.findChild<QMenu*>(QString::fromLatin1(name));
}

QStringList menuTitles(const MainWindow& window) {
  QStringList titles;
  for (QAction* action : window.menuBar()->actions()) titles << action->text().remove('&');
  return titles;
}

QString touch(const QTemporaryDir& dir, const QString& name) {
  const QString path = dir.filePath(name);
  QFile file(path);
  file.open(QIODevice::WriteOnly);
  return QFileInfo(path).absoluteFilePath();
}

/** Drops @p paths onto @p window as file URLs; returns whether the drop was accepted. */
bool drop(MainWindow* window, const QStringList& paths) {
  QList<QUrl> urls;
  for (const QString& path : paths) urls << QUrl::fromLocalFile(path);
  QMimeData mime;
  mime.setUrls(urls);
  QDragEnterEvent enter(QPoint(10, 10), Qt::CopyAction, &mime, Qt::LeftButton, Qt::NoModifier);
  QCoreApplication::sendEvent(window, &enter);
  QDropEvent dropEvent(QPointF(10, 10), Qt::CopyAction, &mime, Qt::LeftButton, Qt::NoModifier);
  QCoreApplication::sendEvent(window, &dropEvent);
  return enter.isAccepted() && dropEvent.isAccepted();
}

}  // namespace

class TestMainWindow : public QObject {
  Q_OBJECT
 private Q_SLOTS:
  void initTestCase();
  void init();
  void hasMenusDocksAndStartPage();
  void runActionsWaitForAModel();
  void viewToggleHidesAndShowsLogDock();
  void addPanelDocksAndAddsToggle();
  void resetLayoutRedocksPanels();
  void resetLayoutRestoresTabs();
  void statusLabelsUpdate_data();
  void statusLabelsUpdate();
  void layoutRoundTripsThroughSettings();
  void closeSavesLayout();
  void recentFilesCappedAndOrdered();
  void dropEmitsOpenRequested_data();
  void dropEmitsOpenRequested();
  void dropOfUnknownFileIsRefused();
  void reopenFromRecentMenuAndStaleEntry();
  void demoMenuOpensEachBundledDemo();
  void aboutDialogShowsVersions();
  void shortcutsDialogListsActions();
  void startupRequestIsKept();
};

void TestMainWindow::initTestCase() {
  QStandardPaths::setTestModeEnabled(true);  // QSettings under ~/.qttest, never the user's
  QCoreApplication::setOrganizationName(QStringLiteral("nmar-test"));
  QCoreApplication::setApplicationName(QStringLiteral("test_main_window"));
}

void TestMainWindow::init() { QSettings().clear(); }

void TestMainWindow::hasMenusDocksAndStartPage() {
  MainWindow window;
  QCOMPARE(menuTitles(window), (QStringList{"File", "View", "Run", "Help"}));
  QMenu* file = menu(window, "fileMenu");
  QVERIFY(file);
  QStringList fileActions;
  for (QAction* action : file->actions()) {
    if (!action->isSeparator()) fileActions << action->text().remove('&');
  }
  QCOMPARE(fileActions, (QStringList{"Open checkpoint…", "Open trace…", "Open run store…",
                                     "Open demo", "Recent files", "Quit"}));
  QVERIFY(menu(window, "recentMenu"));
  QVERIFY(!menu(window, "recentMenu")->isEnabled());  // nothing recent yet
  QVERIFY(menu(window, "helpMenu"));

  QVERIFY(window.logDock());
  QCOMPARE(window.logDock()->widget(), window.logPane());
  QCOMPARE(window.panels(), QList<QDockWidget*>{window.logDock()});
  QCOMPARE(window.dockWidgetArea(window.logDock()), Qt::BottomDockWidgetArea);
  QVERIFY(window.isDockNestingEnabled());
  QVERIFY(window.dockOptions().testFlag(QMainWindow::AllowTabbedDocks));
  QCOMPARE(window.centralWidget(), window.welcomePage());
  QVERIFY(window.acceptDrops());
}

void TestMainWindow::runActionsWaitForAModel() {
  MainWindow window;
  const auto& run = window.runActions();
  QMenu* runMenu = menu(window, "runMenu");
  QVERIFY(runMenu);
  for (QAction* action : {run.run, run.step, run.pause, run.reset}) {
    QVERIFY(action);
    QVERIFY(runMenu->actions().contains(action));
    QVERIFY(!action->isEnabled());
    QCOMPARE(action->statusTip(), QStringLiteral("load a model first"));
    QVERIFY(!action->shortcut().isEmpty());
  }
}

void TestMainWindow::viewToggleHidesAndShowsLogDock() {
  MainWindow window;
  window.show();
  QVERIFY(QTest::qWaitForWindowExposed(&window));
  QAction* toggle = window.logDock()->toggleViewAction();
  QVERIFY(menu(window, "viewMenu")->actions().contains(toggle));
  QVERIFY(window.logDock()->isVisible());
  QVERIFY(toggle->isChecked());
  toggle->trigger();
  QVERIFY(!window.logDock()->isVisible());
  QVERIFY(!toggle->isChecked());
  toggle->trigger();
  QVERIFY(window.logDock()->isVisible());
}

void TestMainWindow::addPanelDocksAndAddsToggle() {
  MainWindow window;
  auto* panel = new QLabel(QStringLiteral("attention"));
  QDockWidget* dock =
      window.addPanel(panel, QStringLiteral("Attention"), QStringLiteral("attentionDock"),
                      Qt::RightDockWidgetArea, QKeySequence(QStringLiteral("Ctrl+Shift+A")));
  QCOMPARE(dock->widget(), panel);
  QCOMPARE(dock->objectName(), QStringLiteral("attentionDock"));
  QCOMPARE(window.dockWidgetArea(dock), Qt::RightDockWidgetArea);
  QCOMPARE(window.panels().size(), 2);
  // Panel toggles come first in the View menu, in the order added, then Reset layout.
  const QList<QAction*> view = menu(window, "viewMenu")->actions();
  QCOMPARE(view.at(0), window.logDock()->toggleViewAction());
  QCOMPARE(view.at(1), dock->toggleViewAction());
  QVERIFY(view.at(2)->isSeparator());
  QCOMPARE(view.at(3)->objectName(), QStringLiteral("resetLayout"));
  QCOMPARE(dock->toggleViewAction()->shortcut(), QKeySequence(QStringLiteral("Ctrl+Shift+A")));
}

void TestMainWindow::resetLayoutRedocksPanels() {
  MainWindow window;
  window.show();
  QVERIFY(QTest::qWaitForWindowExposed(&window));
  QDockWidget* dock = window.addPanel(new QLabel, QStringLiteral("Replay"),
                                      QStringLiteral("replayDock"), Qt::BottomDockWidgetArea);
  window.addDockWidget(Qt::LeftDockWidgetArea, dock);
  window.logDock()->setFloating(true);
  window.logDock()->hide();
  window.resetLayout();
  QVERIFY(window.logDock()->isVisible());
  QVERIFY(!window.logDock()->isFloating());
  QCOMPARE(window.dockWidgetArea(window.logDock()), Qt::BottomDockWidgetArea);
  QCOMPARE(window.dockWidgetArea(dock), Qt::BottomDockWidgetArea);
}

void TestMainWindow::resetLayoutRestoresTabs() {
  // init() cleared the settings: restoreLayout() keeps (and records) the layout as built.
  MainWindow window;
  QDockWidget* a = window.addPanel(new QLabel, QStringLiteral("A"), QStringLiteral("aDock"),
                                   Qt::BottomDockWidgetArea);
  QDockWidget* b = window.addPanel(new QLabel, QStringLiteral("B"), QStringLiteral("bDock"),
                                   Qt::BottomDockWidgetArea);
  window.tabifyDockWidget(a, b);
  QVERIFY(!window.restoreLayout());
  window.show();
  QVERIFY(QTest::qWaitForWindowExposed(&window));
  window.addDockWidget(Qt::LeftDockWidgetArea, b);  // the user drags B out of the tabs
  QVERIFY(!window.tabifiedDockWidgets(a).contains(b));
  window.resetLayout();
  QCOMPARE(window.dockWidgetArea(b), Qt::BottomDockWidgetArea);
  QVERIFY(window.tabifiedDockWidgets(a).contains(b));
}

void TestMainWindow::statusLabelsUpdate_data() {
  QTest::addColumn<QString>("label");
  QTest::addColumn<QString>("value");
  QTest::addColumn<QString>("shown");
  QTest::addRow("device") << "deviceLabel"
                          << "cuda:0"
                          << "Device: cuda:0";
  QTest::addRow("model") << "modelLabel"
                         << "demo-addition (llama, 0.8M)"
                         << "Model: demo-addition (llama, 0.8M)";
  QTest::addRow("job") << "jobLabel"
                       << "decode running · 41 tok/s"
                       << "Job: decode running · 41 tok/s";
}

void TestMainWindow::statusLabelsUpdate() {
  QFETCH(QString, label);
  QFETCH(QString, value);
  QFETCH(QString, shown);
  MainWindow window;
  auto* widget = window.findChild<QLabel*>(label);
  QVERIFY(widget);
  QCOMPARE(window.deviceText(), QStringLiteral("CPU"));  // defaults before any setter
  QCOMPARE(window.modelText(), QStringLiteral("none"));
  QCOMPARE(window.jobText(), QStringLiteral("idle"));
  if (label == QLatin1String("deviceLabel")) window.setDeviceText(value);
  if (label == QLatin1String("modelLabel")) window.setModelText(value);
  if (label == QLatin1String("jobLabel")) window.setJobText(value);
  QCOMPARE(widget->text(), shown);
  const QString getter = label == QLatin1String("deviceLabel")  ? window.deviceText()
                         : label == QLatin1String("modelLabel") ? window.modelText()
                                                                : window.jobText();
  QCOMPARE(getter, value);
}

void TestMainWindow::layoutRoundTripsThroughSettings() {
  {
    MainWindow fresh;
    QVERIFY(!fresh.restoreLayout());  // nothing saved yet: the default layout stays
  }
  {
    MainWindow first;
    first.show();
    QVERIFY(QTest::qWaitForWindowExposed(&first));
    first.resize(1000, 700);
    first.logDock()->hide();
    first.saveLayout();
  }
  MainWindow second;
  QVERIFY(!second.logDock()->isHidden());
  QVERIFY(second.restoreLayout());
  QVERIFY(second.logDock()->isHidden());
  QCOMPARE(second.size(), QSize(1000, 700));
  second.show();
  QVERIFY(QTest::qWaitForWindowExposed(&second));
  QVERIFY(!second.logDock()->isVisible());
  QCOMPARE(second.dockWidgetArea(second.logDock()), Qt::BottomDockWidgetArea);
}

void TestMainWindow::closeSavesLayout() {
  MainWindow window;
  window.show();
  QVERIFY(QTest::qWaitForWindowExposed(&window));
  QVERIFY(!QSettings().contains(QStringLiteral("mainWindow/state")));
  window.close();
  QVERIFY(QSettings().contains(QStringLiteral("mainWindow/state")));
  QVERIFY(QSettings().contains(QStringLiteral("mainWindow/geometry")));
}

void TestMainWindow::recentFilesCappedAndOrdered() {
  QTemporaryDir dir;
  MainWindow window;
  QStringList paths;
  for (int i = 0; i < 12; ++i) paths << touch(dir, QStringLiteral("trace%1.json").arg(i));
  for (const QString& path : paths) window.requestOpen(OpenKind::Trace, path);
  QList<nmar::widgets::OpenRequest> recent = nmar::widgets::recentFiles();
  QCOMPARE(recent.size(), nmar::widgets::kMaxRecentFiles);
  QCOMPARE(recent.first().path, paths[11]);       // most recent first
  QCOMPARE(recent.last().path, paths[2]);         // the two oldest fell off
  window.requestOpen(OpenKind::Trace, paths[5]);  // again: moves to the front, no duplicate
  recent = nmar::widgets::recentFiles();
  QCOMPARE(recent.size(), 10);
  QCOMPARE(recent.first().path, paths[5]);
  QCOMPARE(recent.at(1).path, paths[11]);
  int fives = 0;
  for (const auto& entry : recent) fives += entry.path == paths[5];
  QCOMPARE(fives, 1);

  QMenu* recentMenu = menu(window, "recentMenu");
  QVERIFY(recentMenu->isEnabled());
  const QList<QAction*> actions = recentMenu->actions();
  QCOMPARE(actions.size(), 12);  // 10 files, separator, "Clear recent files"
  QVERIFY(actions.first()->text().contains(QStringLiteral("trace5.json")));
  QVERIFY(actions.at(1)->text().contains(QStringLiteral("trace11.json")));
  QCOMPARE(window.welcomePage()->recentFileCount(), 10);

  MainWindow another;  // a new window reads the same list
  QCOMPARE(menu(another, "recentMenu")->actions().size(), 12);

  actions.last()->trigger();  // Clear recent files
  QVERIFY(nmar::widgets::recentFiles().isEmpty());
  QVERIFY(!recentMenu->isEnabled());
  QCOMPARE(window.welcomePage()->recentFileCount(), 0);
}

void TestMainWindow::dropEmitsOpenRequested_data() {
  QTest::addColumn<QString>("dropped");
  QTest::addColumn<OpenKind>("kind");
  QTest::addColumn<QString>("opened");
  QTest::addRow("checkpoint folder") << "model" << OpenKind::Checkpoint << "model";
  QTest::addRow("file inside a checkpoint")
      << "model/model.safetensors" << OpenKind::Checkpoint << "model";
  QTest::addRow("trace") << "trace.json" << OpenKind::Trace << "trace.json";
  QTest::addRow("run store") << "runs.sqlite" << OpenKind::RunStore << "runs.sqlite";
}

void TestMainWindow::dropEmitsOpenRequested() {
  QFETCH(QString, dropped);
  QFETCH(OpenKind, kind);
  QFETCH(QString, opened);
  QTemporaryDir dir;
  QVERIFY(QDir(dir.path()).mkpath(QStringLiteral("model")));
  for (const char* name :
       {"model/config.json", "model/model.safetensors", "trace.json", "runs.sqlite"}) {
    touch(dir, QString::fromLatin1(name));
  }
  MainWindow window;
  QSignalSpy spy(&window, &MainWindow::openRequested);
  QVERIFY(drop(&window, {dir.filePath(dropped)}));
  QCOMPARE(spy.count(), 1);
  QCOMPARE(spy.at(0).at(0).value<OpenKind>(), kind);
  const QString expected = QFileInfo(dir.filePath(opened)).absoluteFilePath();
  QCOMPARE(spy.at(0).at(1).toString(), expected);
  QCOMPARE(nmar::widgets::recentFiles().first().path, expected);
}

void TestMainWindow::dropOfUnknownFileIsRefused() {
  QTemporaryDir dir;
  const QString notes = touch(dir, QStringLiteral("notes.txt"));
  const QString trace = touch(dir, QStringLiteral("trace.json"));
  MainWindow window;
  QSignalSpy spy(&window, &MainWindow::openRequested);
  QVERIFY(!drop(&window, {notes}));  // the drag is accepted, the drop is not
  QCOMPARE(spy.count(), 0);
  QVERIFY(nmar::widgets::recentFiles().isEmpty());
  // The refusal is explained in the log pane, naming the file.
  QTRY_VERIFY(window.logPane()->visibleText().contains(notes));
  // A mixed drop opens what it can.
  QVERIFY(drop(&window, {notes, trace}));
  QCOMPARE(spy.count(), 1);
  QCOMPARE(spy.at(0).at(1).toString(), trace);
}

void TestMainWindow::reopenFromRecentMenuAndStaleEntry() {
  QTemporaryDir dir;
  const QString trace = touch(dir, QStringLiteral("trace.json"));
  MainWindow window;
  QSignalSpy spy(&window, &MainWindow::openRequested);
  QVERIFY(drop(&window, {trace}));
  QMenu* recentMenu = menu(window, "recentMenu");
  recentMenu->actions().first()->trigger();
  QCOMPARE(spy.count(), 2);
  QCOMPARE(spy.at(1).at(0).value<OpenKind>(), OpenKind::Trace);
  QCOMPARE(spy.at(1).at(1).toString(), trace);

  QVERIFY(QFile::remove(trace));
  recentMenu->actions().first()->trigger();  // the file is gone: not opened, entry dropped
  QCOMPARE(spy.count(), 2);
  QVERIFY(nmar::widgets::recentFiles().isEmpty());
  QVERIFY(!recentMenu->isEnabled());
  QTRY_VERIFY(window.logPane()->visibleText().contains(QStringLiteral("no longer exists")));
}

void TestMainWindow::demoMenuOpensEachBundledDemo() {
  QTemporaryDir dir;  // a demo folder: addition without its trace, prose with one
  for (const char* sub : {"addition", "prose", "traces"})
    QVERIFY(QDir(dir.path()).mkpath(QString::fromLatin1(sub)));
  for (const char* name : {"addition/config.json", "prose/config.json", "traces/prose.json"})
    touch(dir, QString::fromLatin1(name));
  qputenv("NMAR_DEMO_DIR", dir.path().toUtf8());  // searched before the source tree's demos
  MainWindow window;
  QMenu* demos = menu(window, "demoMenu");
  QVERIFY(demos != nullptr);
  QCOMPARE(demos->title().remove('&'), QStringLiteral("Open demo"));
  QStringList names;
  for (QAction* action : demos->actions()) names << action->objectName();
  QCOMPARE(names, (QStringList{QStringLiteral("demo_addition"), QStringLiteral("demo_prose")}));
  QAction* prose = demos->actions().at(1);
  QCOMPARE(prose->text(), QStringLiteral("Prose (King James Bible)"));
  const QString proseModel = QFileInfo(dir.filePath(QStringLiteral("prose"))).absoluteFilePath();
  const QString proseTrace =
      QFileInfo(dir.filePath(QStringLiteral("traces/prose.json"))).absoluteFilePath();
  QVERIFY(prose->toolTip().contains(proseModel));
  QVERIFY(prose->toolTip().contains(proseTrace));

  QSignalSpy spy(&window, &MainWindow::openRequested);
  prose->trigger();  // the model, then its trace
  QCOMPARE(spy.count(), 2);
  QCOMPARE(spy.at(0).at(0).value<OpenKind>(), OpenKind::Checkpoint);
  QCOMPARE(spy.at(0).at(1).toString(), proseModel);
  QCOMPARE(spy.at(1).at(0).value<OpenKind>(), OpenKind::Trace);
  QCOMPARE(spy.at(1).at(1).toString(), proseTrace);
  QVERIFY(nmar::widgets::recentFiles().isEmpty());  // the demo menu is their list

  spy.clear();
  demos->actions().at(0)->trigger();  // addition has no trace here: only the model opens
  QCOMPARE(spy.count(), 1);
  QCOMPARE(spy.at(0).at(1).toString(),
           QFileInfo(dir.filePath(QStringLiteral("addition"))).absoluteFilePath());

  // The menu is built again each time it opens: a removed demo falls back to the next folder
  // searched (the source tree's, in a build run in place) or disappears.
  QVERIFY(QDir(dir.filePath(QStringLiteral("prose"))).removeRecursively());
  Q_EMIT demos->aboutToShow();
  QAction* again = window.findChild<QAction*>(QStringLiteral("demo_prose"));
  if (again != nullptr) QVERIFY(!again->toolTip().contains(dir.path()));

  QTemporaryDir empty;  // no demo anywhere: one disabled entry that says where it looked
  qputenv("NMAR_DEMO_DIR", empty.path().toUtf8());
  Q_EMIT demos->aboutToShow();
  if (nmar::widgets::findDemos().isEmpty()) {
    QCOMPARE(demos->actions().size(), 1);
    QVERIFY(!demos->actions().first()->isEnabled());
    QVERIFY(demos->actions().first()->toolTip().contains(empty.path()));
  } else {
    for (QAction* action : demos->actions()) QVERIFY(!action->toolTip().contains(dir.path()));
  }
  qunsetenv("NMAR_DEMO_DIR");
}

void TestMainWindow::aboutDialogShowsVersions() {
  MainWindow window;
  window.showAbout();
  auto* about = window.findChild<nmar::widgets::AboutDialog*>();
  QVERIFY(about);
  QVERIFY(about->isVisible());
  QVERIFY(!about->isModal());
  const nmar::core::BuildInfo info = nmar::core::buildInfo();
  const QString text = about->versionsText();
  QVERIFY2(text.contains(QStringLiteral("Qt: %1").arg(QString::fromLatin1(qVersion()))),
           qPrintable(text));
  QVERIFY(text.contains(QStringLiteral("LibTorch: ") + QString::fromStdString(info.torchVersion)));
  QVERIFY(text.contains(QStringLiteral("SQLite: ") + QString::fromStdString(info.sqliteVersion)));
  QVERIFY(text.contains(QStringLiteral("BLAS: ") + QString::fromStdString(info.blas)));
  QVERIFY(text.contains(QString::fromStdString(info.version)));
  window.showAbout();  // a second request reuses the same dialog
  QCOMPARE(window.findChildren<nmar::widgets::AboutDialog*>().size(), 1);
}

void TestMainWindow::shortcutsDialogListsActions() {
  MainWindow window;
  const QList<nmar::widgets::ShortcutEntry> entries =
      nmar::widgets::collectShortcuts(window.menuBar());
  auto keysFor = [&](const QString& action) {
    for (const auto& entry : entries) {
      if (entry.action == action) return entry.keys;
    }
    return QString();
  };
  QCOMPARE(keysFor(QStringLiteral("Quit")),
           QKeySequence(QKeySequence::Quit).toString(QKeySequence::NativeText));
  QCOMPARE(keysFor(QStringLiteral("Open checkpoint…")),
           QKeySequence(QKeySequence::Open).toString(QKeySequence::NativeText));
  QCOMPARE(keysFor(QStringLiteral("Run")), QStringLiteral("F5"));
  QCOMPARE(keysFor(QStringLiteral("Log")), QStringLiteral("Ctrl+Shift+L"));
  for (const auto& entry : entries) QVERIFY2(!entry.keys.isEmpty(), qPrintable(entry.action));
  window.showShortcuts();
  auto* dialog = window.findChild<nmar::widgets::ShortcutsDialog*>();
  QVERIFY(dialog);
  QVERIFY(dialog->isVisible());
  QCOMPARE(dialog->entryCount(), int(entries.size()));
}

void TestMainWindow::startupRequestIsKept() {
  MainWindow window;
  QVERIFY(!window.startupRequest());
  window.setStartupRequest({OpenKind::Trace, QStringLiteral("/data/trace.json")});
  QCOMPARE(window.startupRequest()->kind, OpenKind::Trace);
  QCOMPARE(window.startupRequest()->path, QStringLiteral("/data/trace.json"));
  window.setRunStorePath(QStringLiteral("/data/runs.sqlite"));
  QCOMPARE(window.runStorePath(), QStringLiteral("/data/runs.sqlite"));
}

QTEST_MAIN(TestMainWindow)
#include "test_main_window.moc"
