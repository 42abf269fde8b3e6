#include "widgets/shortcuts_dialog.h"

#include <QDialogButtonBox>
#include <QHeaderView>
#include <QMenu>
#include <QMenuBar>
#include <QTableWidget>
#include <QVBoxLayout>

namespace nmar::widgets {
namespace {

QString plain(QString text) { return text.remove(QLatin1Char('&')); }

void collect(const QMenu* menu, const QString& menuTitle, QList<ShortcutEntry>* out) {
  for (QAction* action : menu->actions()) {
    if (action->menu()) {
      collect(action->menu(), menuTitle, out);
    } else if (!action->isSeparator() && !action->shortcut().isEmpty()) {
      out->append({menuTitle, plain(action->text()),
                   action->shortcut().toString(QKeySequence::NativeText)});
    }
  }
}

}  // namespace

QList<ShortcutEntry> collectShortcuts(const QMenuBar* menuBar) {
  QList<ShortcutEntry> entries;
  for (QAction* top : menuBar->actions()) {
    if (top->menu()) collect(top->menu(), plain(top->text()), &entries);
  }
  return entries;
}

ShortcutsDialog::ShortcutsDialog(QWidget* parent) : QDialog(parent) {
  setWindowTitle(tr("Keyboard shortcuts"));
  setObjectName(QStringLiteral("shortcutsDialog"));
  m_table = new QTableWidget(0, 3, this);
  m_table->setHorizontalHeaderLabels({tr("Menu"), tr("Action"), tr("Shortcut")});
  m_table->verticalHeader()->setVisible(false);
  m_table->setEditTriggers(QAbstractItemView::NoEditTriggers);
  m_table->setSelectionBehavior(QAbstractItemView::SelectRows);
  m_table->horizontalHeader()->setSectionResizeMode(1, QHeaderView::Stretch);
  auto* buttons = new QDialogButtonBox(QDialogButtonBox::Close, this);
  connect(buttons, &QDialogButtonBox::rejected, this, &QDialog::close);
  auto* layout = new QVBoxLayout(this);
  layout->addWidget(m_table);
  layout->addWidget(buttons);
  resize(460, 420);
}

void ShortcutsDialog::setEntries(const QList<ShortcutEntry>& entries) {
  m_table->setRowCount(int(entries.size()));
  for (int row = 0; row < entries.size(); ++row) {
    m_table->setItem(row, 0, new QTableWidgetItem(entries[row].menu));
    m_table->setItem(row, 1, new QTableWidgetItem(entries[row].action));
    m_table->setItem(row, 2, new QTableWidgetItem(entries[row].keys));
  }
  m_table->resizeColumnToContents(0);
  m_table->resizeColumnToContents(2);
}

int ShortcutsDialog::entryCount() const { return m_table->rowCount(); }

}  // namespace nmar::widgets
