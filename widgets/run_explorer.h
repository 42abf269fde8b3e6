#pragma once
/**
 * @file The run explorer: the runs of a store in a filterable, sortable table, the config of one
 * run or the diff of two, tags and notes editing, delete, export and "open traces".
 */
#include <cstdint>
#include <functional>
#include <set>
#include <vector>

#include <QList>
#include <QWidget>

#include "widgets/config_diff.h"

class QCheckBox;
class QLabel;
class QLineEdit;
class QPlainTextEdit;
class QPushButton;
class QTableView;
class QTableWidget;

namespace nmar::core {
class RunStore;
}

namespace nmar::widgets {

class RunFilterProxy;
class RunTableModel;
class StorePoller;

/**
 * Shows the runs of a StorePoller (live: a run written by another process appears at the next
 * poll). The filter line takes "kind:K status:S tag:T key=value words" (run_filter.h); a bad
 * term is named under it. Selecting one run shows its config, two runs their config diff.
 * Tags, notes and delete write the store on a pool thread (a writable connection opened for the
 * action) and then poll it again; exports (the table as CSV; a run's metrics as .csv/.json or
 * traces as .jsonl through core's exporters) also run off the GUI thread, except the table.
 * Results and errors are reported with actionFinished(). GUI thread only; the poller must
 * outlive the explorer.
 */
class RunExplorer : public QWidget {
  Q_OBJECT
 public:
  explicit RunExplorer(StorePoller* poller, QWidget* parent = nullptr);
  ~RunExplorer() override;

  /** Sets the filter line; false (and filterError()) when a term is bad. */
  bool setFilterText(const QString& text);
  QString filterError() const;
  /** The ids of the rows shown, in their shown order. */
  QList<qint64> visibleRunIds() const;
  /** Sorts the table by @p column (RunTableModel::Column). */
  void sortBy(int column, Qt::SortOrder order);
  /** Selects the rows of @p ids (the first two decide what the config tab compares). */
  void selectRuns(const QList<qint64>& ids);
  QList<qint64> selectedRunIds() const;
  /** The config rows shown: one run's (left only) or the diff of two. */
  const std::vector<ConfigDiffRow>& configRows() const { return m_configRows; }
  void setOnlyDifferences(bool on);

  /** Replaces the tags of run @p id with @p tags (off the GUI thread; actionFinished()). */
  void setTags(std::int64_t id, const QStringList& tags);
  /** Replaces the notes of run @p id (off the GUI thread; actionFinished()). */
  void setNotes(std::int64_t id, const QString& notes);
  /** Deletes runs @p ids with their records (off the GUI thread; actionFinished()). No question. */
  void deleteRuns(const QList<qint64>& ids);
  /** Writes the table as shown to @p path (.csv). */
  bool exportTable(const QString& path, QString* error = nullptr);
  /** Writes run @p id's metrics (.csv, .json) or traces (.jsonl) to @p path (actionFinished()). */
  void exportRun(std::int64_t id, const QString& path);

 Q_SIGNALS:
  /** An action ended; @p message says what was done or, when !ok, what failed (naming it). */
  void actionFinished(bool ok, const QString& message);
  /** The user asked to replay the traces of run @p runId of the store at @p storePath. */
  void openTracesRequested(const QString& storePath, qint64 runId);
  /** The user asked to plot runs @p ids in the dashboard. */
  void plotRequested(const std::set<std::int64_t>& ids);

 private:
  void onRunsChanged();
  void onSelectionChanged();
  void showConfig();
  void applyFilter();
  /** Runs @p action on a pool thread with a writable store; reports with actionFinished(). */
  void runAction(std::function<QString(core::RunStore&)> action, bool writes);
  void askDelete();
  void askExportTable();
  void askExportRun();

  StorePoller* m_poller;
  RunTableModel* m_model = nullptr;
  RunFilterProxy* m_proxy = nullptr;
  QLineEdit* m_filter = nullptr;
  QLabel* m_filterError = nullptr;
  QTableView* m_table = nullptr;
  QTableWidget* m_config = nullptr;
  QCheckBox* m_onlyDiff = nullptr;
  QLabel* m_configTitle = nullptr;
  QLineEdit* m_tags = nullptr;
  QPlainTextEdit* m_notes = nullptr;
  QPushButton* m_saveMeta = nullptr;
  QList<QPushButton*> m_runButtons;  // enabled when a run is selected
  std::vector<ConfigDiffRow> m_configRows;
  int m_pending = 0;
};

}  // namespace nmar::widgets
