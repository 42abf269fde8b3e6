#pragma once
/** @file The runs of a store as a table model (explorer), with the explorer's filter as a proxy. */
#include <cstdint>
#include <vector>

#include <QAbstractTableModel>
#include <QSortFilterProxyModel>
#include <QStringList>

#include "store/run_record.h"

namespace nmar::widgets {

/**
 * Runs as rows: id, name, kind, status, started, duration, tags, notes. Qt::UserRole gives a
 * sort key (numbers for id, times and durations). setRuns() keeps the model when only values
 * changed (selections survive a live refresh) and resets it when runs came or went.
 * GUI thread only.
 */
class RunTableModel : public QAbstractTableModel {
  Q_OBJECT
 public:
  enum Column { kId, kName, kKind, kStatus, kStarted, kDuration, kTags, kNotes, kColumns };
  using QAbstractTableModel::QAbstractTableModel;

  void setRuns(const std::vector<core::RunInfo>& runs);
  const std::vector<core::RunInfo>& runs() const { return m_runs; }
  const core::RunInfo& runAt(int row) const { return m_runs[static_cast<std::size_t>(row)]; }
  /** The row of run @p id, or -1. */
  int rowOf(std::int64_t id) const;

  int rowCount(const QModelIndex& parent = {}) const override;
  int columnCount(const QModelIndex& parent = {}) const override;
  QVariant data(const QModelIndex& index, int role) const override;
  QVariant headerData(int section, Qt::Orientation orientation, int role) const override;

 private:
  std::vector<core::RunInfo> m_runs;
};

/** Keeps the rows that pass a core::RunFilter and name words (see run_filter.h). */
class RunFilterProxy : public QSortFilterProxyModel {
  Q_OBJECT
 public:
  using QSortFilterProxyModel::QSortFilterProxyModel;
  void setRunFilter(const core::RunFilter& filter, const QStringList& nameWords);

 protected:
  bool filterAcceptsRow(int row, const QModelIndex& parent) const override;

 private:
  core::RunFilter m_filter;
  QStringList m_words;
};

}  // namespace nmar::widgets
