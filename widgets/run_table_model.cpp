#include "widgets/run_table_model.h"

#include <QColor>
#include <QDateTime>

#include "widgets/run_filter.h"

namespace nmar::widgets {
namespace {

QString qs(const std::string& s) { return QString::fromStdString(s); }

QString durationText(std::int64_t ms) {
  const std::int64_t s = ms / 1000;
  if (s < 60) return QStringLiteral("%1s").arg(s);
  if (s < 3600) return QStringLiteral("%1m%2s").arg(s / 60).arg(s % 60, 2, 10, QLatin1Char('0'));
  return QStringLiteral("%1h%2m").arg(s / 3600).arg(s / 60 % 60, 2, 10, QLatin1Char('0'));
}

std::int64_t durationMs(const core::RunInfo& r) {
  const std::int64_t end = r.finishedMs.value_or(r.heartbeatMs.value_or(core::unixMillisNow()));
  return std::max<std::int64_t>(0, end - r.startedMs);
}

QString joined(const std::vector<std::string>& items) {
  QStringList out;
  for (const std::string& s : items) out << qs(s);
  return out.join(QStringLiteral(", "));
}

}  // namespace

void RunTableModel::setRuns(const std::vector<core::RunInfo>& runs) {
  bool sameIds = runs.size() == m_runs.size();
  for (std::size_t i = 0; sameIds && i < runs.size(); ++i) sameIds = runs[i].id == m_runs[i].id;
  if (!sameIds) {
    beginResetModel();
    m_runs = runs;
    endResetModel();
    return;
  }
  m_runs = runs;
  if (!m_runs.empty()) Q_EMIT dataChanged(index(0, 0), index(rowCount() - 1, kColumns - 1));
}

int RunTableModel::rowOf(std::int64_t id) const {
  for (std::size_t i = 0; i < m_runs.size(); ++i)
    if (m_runs[i].id == id) return static_cast<int>(i);
  return -1;
}

int RunTableModel::rowCount(const QModelIndex& parent) const {
  return parent.isValid() ? 0 : static_cast<int>(m_runs.size());
}

int RunTableModel::columnCount(const QModelIndex& parent) const {
  return parent.isValid() ? 0 : kColumns;
}

QVariant RunTableModel::data(const QModelIndex& index, int role) const {
  if (!index.isValid() || index.row() >= rowCount()) return {};
  const core::RunInfo& r = runAt(index.row());
  if (role == Qt::UserRole) {
    switch (index.column()) {
      case kId: return QVariant::fromValue<qint64>(r.id);
      case kStarted: return QVariant::fromValue<qint64>(r.startedMs);
      case kDuration: return QVariant::fromValue<qint64>(durationMs(r));
      default: return data(index, Qt::DisplayRole).toString().toLower();
    }
  }
  if (role == Qt::ToolTipRole && index.column() == kStatus && !r.endReason.empty())
    return qs(r.endReason);
  if (role == Qt::ForegroundRole && index.column() == kStatus) {
    if (r.status == core::RunStatus::kFailed) return QColor(190, 30, 30);
    if (r.status == core::RunStatus::kRunning) return QColor(20, 120, 20);
    return {};
  }
  if (role != Qt::DisplayRole) return {};
  switch (index.column()) {
    case kId: return QVariant::fromValue<qint64>(r.id);
    case kName: return qs(r.name);
    case kKind: return qs(r.kind);
    case kStatus: return qs(core::runStatusName(r.status));
    case kStarted:
      return QDateTime::fromMSecsSinceEpoch(r.startedMs).toString(QStringLiteral("yyyy-MM-dd hh:mm:ss"));
    case kDuration: return durationText(durationMs(r));
    case kTags: return joined(r.tags);
    case kNotes: return qs(r.notes).section(QLatin1Char('\n'), 0, 0);
    default: return {};
  }
}

QVariant RunTableModel::headerData(int section, Qt::Orientation orientation, int role) const {
  if (orientation != Qt::Horizontal || role != Qt::DisplayRole) return {};
  static const char* const names[] = {"ID", "Name", "Kind", "Status", "Started", "Time", "Tags",
                                      "Notes"};
  return section >= 0 && section < kColumns ? tr(names[section]) : QVariant();
}

void RunFilterProxy::setRunFilter(const core::RunFilter& filter, const QStringList& nameWords) {
  m_filter = filter;
  m_words = nameWords;
  invalidateFilter();
}

bool RunFilterProxy::filterAcceptsRow(int row, const QModelIndex& parent) const {
  const auto* model = qobject_cast<const RunTableModel*>(sourceModel());
  if (!model || parent.isValid() || row >= model->rowCount()) return false;
  return runMatches(model->runAt(row), m_filter, m_words);
}

}  // namespace nmar::widgets
