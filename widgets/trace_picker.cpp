#include "widgets/trace_picker.h"

#include <QDialogButtonBox>
#include <QFileInfo>
#include <QHeaderView>
#include <QLabel>
#include <QLineEdit>
#include <QPushButton>
#include <QTableWidget>
#include <QVBoxLayout>

namespace nmar::widgets {
namespace {

enum Column { kRun, kKind, kStep, kGroup, kPrompt, kOutput, kVerdict, kColumns };

/** Entry index kept on the first cell of each row, so sorting never loses the mapping. */
constexpr int kEntryRole = Qt::UserRole + 1;

QTableWidgetItem* item(const QString& text) {
  auto* it = new QTableWidgetItem(text);
  it->setFlags(Qt::ItemIsSelectable | Qt::ItemIsEnabled);
  it->setToolTip(text);
  return it;
}

QTableWidgetItem* numberItem(qint64 value) {
  auto* it = new QTableWidgetItem;
  it->setData(Qt::DisplayRole, value);  // sorts numerically
  it->setFlags(Qt::ItemIsSelectable | Qt::ItemIsEnabled);
  return it;
}

}  // namespace

TracePicker::TracePicker(QWidget* parent) : QDialog(parent) {
  setObjectName(QStringLiteral("tracePicker"));
  setWindowTitle(tr("Open a trace"));
  resize(860, 420);
  m_summary = new QLabel(this);
  m_filter = new QLineEdit(this);
  m_filter->setObjectName(QStringLiteral("traceFilter"));
  m_filter->setPlaceholderText(tr("filter: run, prompt, output or verdict"));
  m_filter->setClearButtonEnabled(true);
  m_table = new QTableWidget(0, kColumns, this);
  m_table->setObjectName(QStringLiteral("traceTable"));
  m_table->setHorizontalHeaderLabels(
      {tr("Run"), tr("Kind"), tr("Step"), tr("Group"), tr("Prompt"), tr("Output"), tr("Verdict")});
  m_table->setSelectionBehavior(QAbstractItemView::SelectRows);
  m_table->setSelectionMode(QAbstractItemView::SingleSelection);
  m_table->verticalHeader()->hide();
  m_table->horizontalHeader()->setStretchLastSection(true);
  m_table->setSortingEnabled(true);
  auto* buttons = new QDialogButtonBox(QDialogButtonBox::Open | QDialogButtonBox::Close, this);
  m_open = buttons->button(QDialogButtonBox::Open);
  m_open->setEnabled(false);
  auto* layout = new QVBoxLayout(this);
  layout->addWidget(m_summary);
  layout->addWidget(m_filter);
  layout->addWidget(m_table, 1);
  layout->addWidget(buttons);

  connect(m_filter, &QLineEdit::textChanged, this, &TracePicker::applyFilter);
  connect(m_table, &QTableWidget::itemSelectionChanged, this,
          [this] { m_open->setEnabled(!m_table->selectedItems().isEmpty()); });
  connect(m_table, &QTableWidget::cellDoubleClicked, this,
          [this](int row, int) { chooseRow(row); });
  connect(buttons, &QDialogButtonBox::accepted, this, [this] {
    const auto rows = m_table->selectionModel()->selectedRows();
    if (!rows.isEmpty()) chooseRow(rows.front().row());
  });
  connect(buttons, &QDialogButtonBox::rejected, this, &QDialog::hide);
}

void TracePicker::setCatalog(const TraceCatalog& catalog) {
  m_catalog = catalog;
  setWindowTitle(tr("Open a trace — %1").arg(QFileInfo(catalog.path).fileName()));
  const int n = int(catalog.entries.size());
  const QString count = n == 1 ? tr("1 trace") : tr("%1 traces").arg(n);
  m_summary->setText(catalog.fromStore ? tr("%1 in the run store %2").arg(count, catalog.path)
                                       : tr("%1 in %2").arg(count, catalog.path));
  fillTable();
  applyFilter();
}

void TracePicker::fillTable() {
  m_table->setSortingEnabled(false);
  m_table->setRowCount(0);
  m_table->setRowCount(int(m_catalog.entries.size()));
  for (int i = 0; i < m_catalog.entries.size(); ++i) {
    const TraceEntry& e = m_catalog.entries[i];
    auto* run = item(m_catalog.fromStore ? QStringLiteral("%1 %2").arg(e.runId).arg(e.runName)
                                         : QStringLiteral("#%1").arg(e.line + 1));
    run->setData(kEntryRole, i);
    m_table->setItem(i, kRun, run);
    m_table->setItem(i, kKind, item(e.runKind));
    m_table->setItem(i, kStep, numberItem(e.step));
    m_table->setItem(i, kGroup, e.group >= 0 ? numberItem(e.group) : item(QString()));
    m_table->setItem(i, kPrompt, item(e.prompt));
    m_table->setItem(i, kOutput, item(e.output));
    m_table->setItem(i, kVerdict, item(e.verdict));
  }
  // File order until the user clicks a header (Qt's default indicator would sort descending).
  m_table->horizontalHeader()->setSortIndicator(-1, Qt::AscendingOrder);
  m_table->setSortingEnabled(true);
  m_table->resizeColumnsToContents();
}

void TracePicker::setFilter(const QString& text) { m_filter->setText(text); }

void TracePicker::applyFilter() {
  const QString needle = m_filter->text().trimmed();
  for (int row = 0; row < m_table->rowCount(); ++row) {
    bool match = needle.isEmpty();
    for (int c : {kRun, kPrompt, kOutput, kVerdict}) {
      if (match) break;
      const QTableWidgetItem* it = m_table->item(row, c);
      match = it && it->text().contains(needle, Qt::CaseInsensitive);
    }
    m_table->setRowHidden(row, !match);
  }
}

int TracePicker::visibleRows() const {
  int n = 0;
  for (int row = 0; row < m_table->rowCount(); ++row) n += m_table->isRowHidden(row) ? 0 : 1;
  return n;
}

bool TracePicker::chooseRow(int row) {
  if (row < 0 || row >= m_table->rowCount()) return false;
  const int index = m_table->item(row, kRun)->data(kEntryRole).toInt();
  if (index < 0 || index >= m_catalog.entries.size()) return false;
  hide();
  Q_EMIT traceChosen(m_catalog, m_catalog.entries[index]);
  return true;
}

}  // namespace nmar::widgets
