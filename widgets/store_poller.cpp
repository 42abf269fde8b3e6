#include "widgets/store_poller.h"

#include <limits>

#include <QElapsedTimer>
#include <QFileInfo>
#include <QTimer>
#include <QtConcurrent/QtConcurrentRun>

#include "store/run_store.h"
#include "util/error.h"

namespace nmar::widgets {
namespace {

/** Reads the runs and the new points of the watched runs; runs on a pool thread. */
StoreSnapshot readSnapshot(std::shared_ptr<core::RunStore> store, const QString& path,
                           const std::map<MetricKey, std::int64_t>& lastSteps,
                           const std::set<std::int64_t>& watched) {
  StoreSnapshot snap;
  snap.path = path;
  QElapsedTimer clock;
  clock.start();
  try {
    snap.runs = store->listRuns();
    for (std::int64_t run : watched) {
      if (!store->findRun(run)) continue;
      for (const std::string& key : store->metricKeys(run)) {
        const auto last = lastSteps.find({run, key});
        const std::int64_t after = last == lastSteps.end()
                                       ? std::numeric_limits<std::int64_t>::min()
                                       : last->second;
        for (core::MetricSeries& s : store->metricSeries({run}, {key}, after))
          if (!s.points.empty()) snap.increments.push_back(std::move(s));
      }
    }
  } catch (const std::exception& e) {
    snap.error = QString::fromStdString(e.what());
  }
  snap.queryUs = clock.nsecsElapsed() / 1000;
  return snap;
}

bool sameRuns(const std::vector<core::RunInfo>& a, const std::vector<core::RunInfo>& b) {
  if (a.size() != b.size()) return false;
  for (std::size_t i = 0; i < a.size(); ++i) {
    const core::RunInfo& x = a[i];
    const core::RunInfo& y = b[i];
    if (x.id != y.id || x.status != y.status || x.tags != y.tags || x.notes != y.notes ||
        x.name != y.name || x.finishedMs != y.finishedMs)
      return false;
  }
  return true;
}

}  // namespace

StorePoller::StorePoller(QObject* parent) : QObject(parent) {
  m_timer = new QTimer(this);
  m_timer->setInterval(300);  // the writer commits every 200 ms: new rows show within ~0.5 s
  connect(m_timer, &QTimer::timeout, this, &StorePoller::tick);
  m_watcher = new QFutureWatcher<StoreSnapshot>(this);
  connect(m_watcher, &QFutureWatcher<StoreSnapshot>::finished, this, &StorePoller::onPolled);
}

StorePoller::~StorePoller() { m_watcher->waitForFinished(); }

void StorePoller::setStorePath(const QString& path) {
  if (path == m_path) return;
  m_watcher->waitForFinished();  // the result would belong to the old store
  m_path = path;
  m_store.reset();
  m_runs.clear();
  m_series.clear();
  m_again = false;
  pollNow();
}

void StorePoller::setWatchedRuns(const std::set<std::int64_t>& runIds) {
  if (runIds == m_watched) return;
  m_watched = runIds;
  pollNow();
}

void StorePoller::setInterval(int ms) { m_timer->setInterval(ms); }
int StorePoller::interval() const { return m_timer->interval(); }

void StorePoller::start() {
  m_timer->start();
  pollNow();
}

void StorePoller::stop() { m_timer->stop(); }

void StorePoller::pollNow() {
  if (m_watcher->isRunning()) {
    m_again = true;
    return;
  }
  tick();
}

void StorePoller::tick() {
  if (m_path.isEmpty() || m_watcher->isRunning()) return;
  if (!QFileInfo::exists(m_path)) {
    m_store.reset();
    m_missing = true;
    const bool had = !m_runs.empty() || !m_series.empty();
    m_runs.clear();
    m_series.clear();
    ++m_polls;
    if (!m_error.isEmpty()) {
      m_error.clear();
      Q_EMIT errorChanged(m_error);
    }
    Q_EMIT updated(had, {});
    return;
  }
  std::map<MetricKey, std::int64_t> lastSteps;
  for (const auto& [key, points] : m_series)
    if (!points.empty()) lastSteps[key] = points.back().step;
  m_watcher->setFuture(QtConcurrent::run(
      [store = m_store, path = m_path, lastSteps, watched = m_watched]() mutable {
        if (!store) {
          try {
            core::StoreOptions options;
            options.readOnly = true;
            options.create = false;
            store = std::make_shared<core::RunStore>(path.toStdString(), options);
          } catch (const std::exception& e) {
            StoreSnapshot failed;
            failed.path = path;
            failed.error = QString::fromStdString(e.what());
            return failed;
          }
        }
        StoreSnapshot snap = readSnapshot(store, path, lastSteps, watched);
        snap.store = std::move(store);
        return snap;
      }));
}

void StorePoller::onPolled() {
  StoreSnapshot snap = m_watcher->result();
  ++m_polls;
  m_lastQueryUs = snap.queryUs;
  m_missing = false;
  if (snap.path != m_path) return;  // the path changed meanwhile
  if (!snap.error.isEmpty()) {
    m_store.reset();  // reopen next time (the file may have been replaced)
    if (snap.error != m_error) {
      m_error = snap.error;
      Q_EMIT errorChanged(m_error);
    }
  } else {
    m_store = std::move(snap.store);
    if (!m_error.isEmpty()) {
      m_error.clear();
      Q_EMIT errorChanged(m_error);
    }
    const bool runsChanged = !sameRuns(m_runs, snap.runs);
    m_runs = std::move(snap.runs);
    if (runsChanged) {  // forget the series of deleted runs
      std::set<std::int64_t> ids;
      for (const core::RunInfo& r : m_runs) ids.insert(r.id);
      for (auto it = m_series.begin(); it != m_series.end();)
        it = ids.count(it->first.first) ? std::next(it) : m_series.erase(it);
    }
    std::set<std::int64_t> grown;
    for (core::MetricSeries& inc : snap.increments) {
      std::vector<core::MetricPoint>& points = m_series[{inc.runId, inc.key}];
      for (const core::MetricPoint& p : inc.points)
        if (points.empty() || p.step > points.back().step) points.push_back(p);
      grown.insert(inc.runId);
    }
    Q_EMIT updated(runsChanged, grown);
  }
  if (m_again) {
    m_again = false;
    tick();
  }
}

const core::RunInfo* StorePoller::run(std::int64_t id) const {
  for (const core::RunInfo& r : m_runs)
    if (r.id == id) return &r;
  return nullptr;
}

std::vector<std::string> StorePoller::keys(std::int64_t runId) const {
  std::vector<std::string> out;
  for (auto it = m_series.lower_bound({runId, std::string()});
       it != m_series.end() && it->first.first == runId; ++it)
    out.push_back(it->first.second);
  return out;
}

const std::vector<core::MetricPoint>& StorePoller::series(std::int64_t runId,
                                                          const std::string& key) const {
  static const std::vector<core::MetricPoint> kNone;
  const auto it = m_series.find({runId, key});
  return it == m_series.end() ? kNone : it->second;
}

}  // namespace nmar::widgets
