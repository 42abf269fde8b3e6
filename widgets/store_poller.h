#pragma once
/**
 * @file Keeps a live picture of a run store: its runs and the metric series of the runs being
 * watched, refreshed by a timer with the queries off the GUI thread, so that runs written by
 * another process (`nmar train` in a terminal) appear and grow while they run.
 */
#include <cstdint>
#include <map>
#include <memory>
#include <set>
#include <utility>
#include <vector>

#include <QFutureWatcher>
#include <QObject>
#include <QString>

#include "store/run_record.h"

class QTimer;

namespace nmar::core {
class RunStore;
}

namespace nmar::widgets {

/** What one poll read (on a pool thread). */
struct StoreSnapshot {
  QString path;
  QString error;  ///< non-empty: the store could not be read (the message names the file)
  std::vector<core::RunInfo> runs;
  /** New metric points per (run, key) of the watched runs, after the steps already held. */
  std::vector<core::MetricSeries> increments;
  qint64 queryUs = 0;  ///< time the queries took
  std::shared_ptr<core::RunStore> store;  ///< the connection, kept for the next poll
};

/** The points held for one (run, key). */
using MetricKey = std::pair<std::int64_t, std::string>;

/**
 * Polls one run store every interval() ms while started (and on pollNow()): lists every run and
 * reads the new metric values of the watched runs, all on a QtConcurrent pool thread over a
 * read-only connection (nothing is created or modified; a missing file is reported as missing
 * and polled again). At most one poll is in flight; a tick while one runs is skipped. The metric
 * values are kept here (series(), keys()) and grow by what each poll adds. Signals are emitted
 * on the GUI thread. GUI thread only.
 */
class StorePoller : public QObject {
  Q_OBJECT
 public:
  explicit StorePoller(QObject* parent = nullptr);
  ~StorePoller() override;

  /** Reads the store at @p path from now on (drops everything held for the previous one). */
  void setStorePath(const QString& path);
  QString storePath() const { return m_path; }
  /** The runs whose metrics are read (others are listed only). */
  void setWatchedRuns(const std::set<std::int64_t>& runIds);
  const std::set<std::int64_t>& watchedRuns() const { return m_watched; }

  void setInterval(int ms);
  int interval() const;
  /** Starts or stops the timer (a first poll starts at once). */
  void start();
  void stop();
  /** Polls now, or as soon as the poll in flight ends. */
  void pollNow();

  /** The runs of the last successful poll, by id. */
  const std::vector<core::RunInfo>& runs() const { return m_runs; }
  /** The run with @p id from the last poll, or null. */
  const core::RunInfo* run(std::int64_t id) const;
  /** The metric keys held for run @p runId, sorted. */
  std::vector<std::string> keys(std::int64_t runId) const;
  /** The points held for (@p runId, @p key), by step; empty when none. */
  const std::vector<core::MetricPoint>& series(std::int64_t runId, const std::string& key) const;
  /** True when the last poll found no file (not an error: a first run will create it). */
  bool storeMissing() const { return m_missing; }
  /** The last poll's error ("" when it read the store). */
  QString error() const { return m_error; }
  /** Polls completed so far; the last one's query time in microseconds. */
  int pollCount() const { return m_polls; }
  qint64 lastQueryUs() const { return m_lastQueryUs; }

 Q_SIGNALS:
  /** A poll ended: @p runsChanged when the list, a status, tags or notes changed; @p grown holds
   *  the runs that got new metric points. */
  void updated(bool runsChanged, const std::set<std::int64_t>& grown);
  /** The store became unreadable (@p message names it) or readable again (@p message empty). */
  void errorChanged(const QString& message);

 private:
  void tick();
  void onPolled();

  QString m_path;
  std::set<std::int64_t> m_watched;
  QTimer* m_timer = nullptr;
  QFutureWatcher<StoreSnapshot>* m_watcher = nullptr;
  bool m_again = false;
  std::shared_ptr<core::RunStore> m_store;  // used by one poll at a time, on the pool
  std::vector<core::RunInfo> m_runs;
  std::map<MetricKey, std::vector<core::MetricPoint>> m_series;
  QString m_error;
  bool m_missing = false;
  int m_polls = 0;
  qint64 m_lastQueryUs = 0;
};

}  // namespace nmar::widgets
