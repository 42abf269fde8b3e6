#pragma once
/** @file The keyboard-shortcut help: every menu action that has a shortcut. */
#include <QDialog>
#include <QList>

class QMenuBar;
class QTableWidget;

namespace nmar::widgets {

/** One row of the shortcut help. */
struct ShortcutEntry {
  QString menu;    ///< "File", "View", ...
  QString action;  ///< the action's text without the '&' mnemonic, e.g. "Open checkpoint…"
  QString keys;    ///< in the platform's notation, e.g. "Ctrl+O"
};

/** The actions reachable from @p menuBar (submenus included) that have a shortcut, in menu order.
 */
QList<ShortcutEntry> collectShortcuts(const QMenuBar* menuBar);

/** Non-modal dialog listing shortcut entries in a table (menu, action, keys). GUI thread only. */
class ShortcutsDialog : public QDialog {
  Q_OBJECT
 public:
  explicit ShortcutsDialog(QWidget* parent = nullptr);

  /** Replaces the listed entries. */
  void setEntries(const QList<ShortcutEntry>& entries);
  /** Number of listed entries. */
  int entryCount() const;

 private:
  QTableWidget* m_table = nullptr;
};

}  // namespace nmar::widgets
