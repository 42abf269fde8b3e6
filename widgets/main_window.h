#pragma once
/** @file The workbench's main window: menus, dock areas for panels, status bar, layout memory. */
#include <optional>

#include <QByteArray>
#include <QList>
#include <QMainWindow>

#include "widgets/open_kind.h"

class QLabel;
class QMenu;

namespace nmar::widgets {

class AboutDialog;
struct Demo;
class LogPane;
class ShortcutsDialog;
class WelcomePage;

/** The Run menu's actions; disabled ("load a model first") until a controller enables them. */
struct RunActions {
  QAction* run = nullptr;
  QAction* step = nullptr;
  QAction* pause = nullptr;
  QAction* reset = nullptr;
};

/**
 * The main window. It owns the menus (File, View, Run, Help), the central welcome page, the log
 * dock and a status bar with permanent device / model / job labels. Controllers add their panels
 * with addPanel(); each becomes a dock with a toggle in the View menu and takes part in the saved
 * layout. Opening is requested, not done here: File→Open…, recent files and drag-and-drop all end
 * in requestOpen(), which records the path in the recent files and emits openRequested();
 * File→Open demo emits openRequested() for a bundled demo's model and then its trace.
 * GUI thread only.
 */
class MainWindow : public QMainWindow {
  Q_OBJECT
 public:
  explicit MainWindow(QWidget* parent = nullptr);
  ~MainWindow() override;

  /**
   * Docks @p panel (ownership passes to the window) in @p area under @p title; @p objectName
   * identifies it in the saved layout and must be unique. Adds its show/hide toggle (with
   * @p toggleShortcut, if any) to the View menu. Returns the dock.
   */
  QDockWidget* addPanel(QWidget* panel, const QString& title, const QString& objectName,
                        Qt::DockWidgetArea area, const QKeySequence& toggleShortcut = {});
  /** The docks added so far, in order (the log dock first). */
  QList<QDockWidget*> panels() const;
  /** The log pane and its dock. */
  LogPane* logPane() const { return m_logPane; }
  QDockWidget* logDock() const { return m_logDock; }
  /** The central start page. */
  WelcomePage* welcomePage() const { return m_welcome; }
  /** The Run menu's actions, for the controller that runs jobs. */
  const RunActions& runActions() const { return m_run; }

  /** Status-bar texts: the device ("CPU", "cuda:0"), the model ("none", a name), the job state. */
  void setDeviceText(const QString& text);
  void setModelText(const QString& text);
  void setJobText(const QString& text);
  QString deviceText() const { return m_device; }
  QString modelText() const { return m_model; }
  QString jobText() const { return m_job; }

  /** Saves geometry and dock layout to QSettings (also done when the window closes). */
  void saveLayout() const;
  /**
   * Restores what saveLayout() stored; call after every panel is added (it first records that
   * layout as the default for resetLayout()). Returns false (keeping
   * the default layout) when nothing was saved or the saved state does not fit.
   */
  bool restoreLayout();
  /**
   * Puts every dock back in its default area, docked and shown, then in the tabs and splits it
   * had when restoreLayout() was first called (the layout as built).
   */
  void resetLayout();

  /** What the command line asked to open at start-up (kept for the controllers that open). */
  void setStartupRequest(const OpenRequest& request);
  std::optional<OpenRequest> startupRequest() const { return m_startupRequest; }
  /** The run store given with --store (empty: the default store). */
  void setRunStorePath(const QString& path);
  QString runStorePath() const { return m_runStorePath; }

 public Q_SLOTS:
  /** Records @p path as recent and emits openRequested(@p kind, @p path). */
  void requestOpen(nmar::widgets::OpenKind kind, const QString& path);
  /** Shows the (non-modal) About and keyboard-shortcut dialogs. */
  void showAbout();
  void showShortcuts();

 Q_SIGNALS:
  /** The user asked to open @p path as @p kind (menu, recent files, drop, start page). */
  void openRequested(nmar::widgets::OpenKind kind, const QString& path);

 protected:
  void closeEvent(QCloseEvent* event) override;
  void dragEnterEvent(QDragEnterEvent* event) override;
  void dropEvent(QDropEvent* event) override;

 private:
  struct Panel {
    QDockWidget* dock;
    Qt::DockWidgetArea area;
  };

  void createActions();
  void createMenus();
  void createStatusBar();
  void openWithDialog(OpenKind kind);
  void openRecent(const OpenRequest& entry);
  void refreshRecentFiles();
  /** Lists the bundled demos found now in File → Open demo (done again each time it opens). */
  void refreshDemos();
  void openDemo(const Demo& demo);

  QAction* m_openCheckpoint = nullptr;
  QAction* m_openTrace = nullptr;
  QAction* m_openStore = nullptr;
  QAction* m_quit = nullptr;
  QAction* m_resetLayout = nullptr;
  QByteArray m_defaultLayout;  ///< the docks as built, before a saved layout was restored
  QAction* m_viewPanelsEnd = nullptr;  // separator: panel toggles go above it
  QAction* m_shortcuts = nullptr;
  QAction* m_about = nullptr;
  RunActions m_run;
  QMenu* m_recentMenu = nullptr;
  QMenu* m_demoMenu = nullptr;
  QMenu* m_viewMenu = nullptr;

  WelcomePage* m_welcome = nullptr;
  LogPane* m_logPane = nullptr;
  QDockWidget* m_logDock = nullptr;
  QList<Panel> m_panels;
  AboutDialog* m_aboutDialog = nullptr;
  ShortcutsDialog* m_shortcutsDialog = nullptr;

  QLabel* m_deviceLabel = nullptr;
  QLabel* m_modelLabel = nullptr;
  QLabel* m_jobLabel = nullptr;
  QString m_device;
  QString m_model;
  QString m_job;

  std::optional<OpenRequest> m_startupRequest;
  QString m_runStorePath;
};

}  // namespace nmar::widgets
