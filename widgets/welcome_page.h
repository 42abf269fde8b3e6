#pragma once
/** @file The start page in the central area: what the workbench opens, and the recent files. */
#include <QList>
#include <QWidget>

#include "widgets/open_kind.h"

class QAction;
class QListWidget;
class QListWidgetItem;

namespace nmar::widgets {

/**
 * Says what to open (checkpoint, trace, run store) with buttons that trigger the given actions,
 * and lists the recent files; activating one emits recentFileActivated(). Shows no data of its
 * own. GUI thread only.
 */
class WelcomePage : public QWidget {
  Q_OBJECT
 public:
  /** The actions are the window's File→Open actions (not owned). */
  WelcomePage(QAction* openCheckpoint, QAction* openTrace, QAction* openStore,
              QWidget* parent = nullptr);

  /** Replaces the recent-files list (most recent first). */
  void setRecentFiles(const QList<OpenRequest>& entries);
  /** Number of recent files listed. */
  int recentFileCount() const;

 Q_SIGNALS:
  /** The user activated (double-click / Enter) a recent file. */
  void recentFileActivated(nmar::widgets::OpenKind kind, const QString& path);

 private:
  void onItemActivated(QListWidgetItem* item);

  QListWidget* m_recentList = nullptr;
  QWidget* m_recentBox = nullptr;
};

}  // namespace nmar::widgets
