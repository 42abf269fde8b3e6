#pragma once
/** @file A dialog that lists the traces of a run store or a JSONL file and picks one to replay. */
#include <QDialog>

#include "widgets/trace_catalog.h"

class QLabel;
class QLineEdit;
class QPushButton;
class QTableWidget;

namespace nmar::widgets {

/**
 * Shows a TraceCatalog as a sortable table (run, kind, step, group, prompt, output, verdict) with
 * a filter box; Open or a double-click emits traceChosen() and hides the dialog. Non-modal;
 * setCatalog() may be called again for another file. GUI thread only.
 */
class TracePicker : public QDialog {
  Q_OBJECT
 public:
  explicit TracePicker(QWidget* parent = nullptr);

  /** Replaces the listed traces (and the title, which names the file). */
  void setCatalog(const TraceCatalog& catalog);
  const TraceCatalog& catalog() const { return m_catalog; }
  /** Rows shown after filtering. */
  int visibleRows() const;
  /** Keeps the rows whose run, prompt, output or verdict contain @p text (case-insensitive). */
  void setFilter(const QString& text);
  /** Chooses the entry of table row @p row (as shown, after sorting); false when out of range. */
  bool chooseRow(int row);

 Q_SIGNALS:
  /** The user chose @p entry of the current catalog. */
  void traceChosen(const nmar::widgets::TraceCatalog& catalog,
                   const nmar::widgets::TraceEntry& entry);

 private:
  void fillTable();
  void applyFilter();

  TraceCatalog m_catalog;
  QLabel* m_summary = nullptr;
  QLineEdit* m_filter = nullptr;
  QTableWidget* m_table = nullptr;
  QPushButton* m_open = nullptr;
};

}  // namespace nmar::widgets
