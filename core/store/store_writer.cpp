#include "store/store_writer.h"

#include <sqlite3.h>

#include <algorithm>
#include <exception>

#include "store/run_record.h"
#include "util/error.h"
#include "util/log.h"

namespace nmar::core {

using Clock = std::chrono::steady_clock;

/** The outcome of a call(): set by the writer thread, read by the caller after done. */
struct StoreWriter::CallState {
  bool done = false;  // guarded by m_mutex
  std::exception_ptr error;
};

/** What the writer thread takes from the queue in one go. */
struct StoreWriter::Batch {
  std::vector<Row> rows;
  std::vector<Command> commands;
  std::vector<std::int64_t> heartbeats;
  std::uint64_t seq = 0;
  std::uint64_t committedRows = 0;
  std::uint64_t lostRows = 0;
  std::size_t rejected = 0;    ///< metric rows SQLite refused (unknown run, ...)
  std::string firstRejection;  ///< why the first one was refused
};

namespace {

/** Errors that concern one row or task only; anything else fails the whole transaction. */
bool isItemError(const SqliteError& e) {
  switch (e.primaryCode()) {
    case SQLITE_CONSTRAINT:
    case SQLITE_MISMATCH:
    case SQLITE_RANGE:
    case SQLITE_TOOBIG:
    case SQLITE_ERROR:
      return true;
    default:
      return false;
  }
}

}  // namespace

StoreWriter::StoreWriter(SqliteDb db, WriterOptions options)
    : m_db(std::move(db)), m_opt(std::move(options)) {
  m_opt.queueCapacity = std::max<std::size_t>(m_opt.queueCapacity, 1);
  m_opt.batchRows = std::clamp<std::size_t>(m_opt.batchRows, 1, m_opt.queueCapacity);
  m_thread = std::thread([this] { run(); });
}

StoreWriter::~StoreWriter() {
  {
    std::lock_guard<std::mutex> lock(m_mutex);
    m_stop = true;
  }
  m_wake.notify_one();
  m_thread.join();
  if (m_hasError) {
    logger("core.store")
        ->error("{}", m_error + (m_moreErrors ? " (and " + std::to_string(m_moreErrors) +
                                                    " more write errors)"
                                              : ""));
  }
}

std::int32_t StoreWriter::internKey(std::string_view key) {
  if (auto it = m_keyIds.find(key); it != m_keyIds.end()) return it->second;
  const auto id = static_cast<std::int32_t>(m_keyNames.size());
  m_keyNames.emplace_back(key);
  m_keyIds.emplace(std::string(key), id);
  return id;
}

void StoreWriter::waitForSpace(std::unique_lock<std::mutex>& lock, std::size_t rows) {
  m_urgentSeq = std::max(m_urgentSeq, m_queuedSeq);
  m_wake.notify_one();
  m_space.wait(lock,
               [&] { return m_queuedWeight == 0 || m_queuedWeight + rows <= m_opt.queueCapacity; });
}

void StoreWriter::logMetrics(std::int64_t runId, std::int64_t step, const MetricValue* values,
                             std::size_t count) {
  throwPendingError();
  if (count == 0) return;
  const std::int64_t wallMs = unixMillisNow();
  std::unique_lock<std::mutex> lock(m_mutex);
  if (m_queuedWeight + count > m_opt.queueCapacity) waitForSpace(lock, count);
  const bool wake = m_idle && m_rows.empty() && m_commands.empty();
  for (std::size_t i = 0; i < count; ++i)
    m_rows.push_back(Row{runId, step, values[i].value, wallMs, internKey(values[i].key)});
  m_queuedWeight += count;
  ++m_queuedSeq;
  const bool full = m_rows.size() >= m_opt.batchRows && m_rows.size() - count < m_opt.batchRows;
  lock.unlock();
  if (wake || full) m_wake.notify_one();
}

bool StoreWriter::pushCommand(Task task, std::size_t weight, std::shared_ptr<CallState> call) {
  const bool wake = m_idle && m_rows.empty() && m_commands.empty();
  m_commands.push_back(Command{m_rows.size(), std::move(task), std::move(call)});
  m_queuedWeight += weight;
  ++m_queuedSeq;
  return wake;
}

void StoreWriter::enqueue(Task task, std::size_t weight) {
  weight = std::max<std::size_t>(weight, 1);
  std::unique_lock<std::mutex> lock(m_mutex);
  if (m_queuedWeight + weight > m_opt.queueCapacity) waitForSpace(lock, weight);
  const bool wake = pushCommand(std::move(task), weight, nullptr);
  lock.unlock();
  if (wake) m_wake.notify_one();
}

void StoreWriter::call(Task task) {
  auto state = std::make_shared<CallState>();
  std::unique_lock<std::mutex> lock(m_mutex);
  if (m_queuedWeight + 1 > m_opt.queueCapacity) waitForSpace(lock, 1);
  pushCommand(std::move(task), 1, state);
  m_urgentSeq = std::max(m_urgentSeq, m_queuedSeq);
  m_wake.notify_one();
  m_done.wait(lock, [&] { return state->done; });
  lock.unlock();
  if (state->error) std::rethrow_exception(state->error);
}

void StoreWriter::flush() {
  {
    std::unique_lock<std::mutex> lock(m_mutex);
    const std::uint64_t target = m_queuedSeq;
    if (m_committedSeq < target) {
      m_urgentSeq = std::max(m_urgentSeq, target);
      m_wake.notify_one();
      m_done.wait(lock, [&] { return m_committedSeq >= target; });
    }
  }
  throwPendingError();
}

void StoreWriter::throwPendingError() {
  if (!m_hasError.load(std::memory_order_acquire)) return;
  std::unique_lock<std::mutex> lock(m_mutex);
  if (m_error.empty()) return;
  std::string message = m_error;
  if (m_moreErrors) message += " (and " + std::to_string(m_moreErrors) + " more write errors)";
  m_error.clear();
  m_moreErrors = 0;
  m_hasError = false;
  lock.unlock();
  throw Error(message);
}

void StoreWriter::recordError(const std::string& message) {
  {
    std::lock_guard<std::mutex> lock(m_mutex);
    if (m_error.empty())
      m_error = message;
    else
      ++m_moreErrors;
    m_hasError = true;
  }
  logger("core.store")->warn("{}", message);
  if (m_opt.onError) m_opt.onError(message);
}

void StoreWriter::trackHeartbeat(std::int64_t runId) {
  {
    std::lock_guard<std::mutex> lock(m_mutex);
    m_heartbeatRuns.insert(runId);
  }
  m_wake.notify_one();  // the thread may be waiting without a deadline
}

void StoreWriter::untrackHeartbeat(std::int64_t runId) {
  std::lock_guard<std::mutex> lock(m_mutex);
  m_heartbeatRuns.erase(runId);
}

std::vector<std::int64_t> StoreWriter::trackedRuns() const {
  std::lock_guard<std::mutex> lock(m_mutex);
  return {m_heartbeatRuns.begin(), m_heartbeatRuns.end()};
}

WriterStats StoreWriter::stats() const {
  std::lock_guard<std::mutex> lock(m_mutex);
  return m_stats;
}

void StoreWriter::run() {
  // The thread ticks every commitInterval while data keeps coming and commits whatever is queued
  // at each tick, so a steadily logging producer never has to wake it (a futex wake can hand the
  // CPU to this thread in the middle of the producer's log call). After a tick that finds nothing
  // it sleeps until a producer wakes it (m_idle).
  const auto interval = std::chrono::milliseconds(std::max(m_opt.commitIntervalMs, 1));
  const auto heartbeatInterval = std::chrono::milliseconds(std::max(m_opt.heartbeatIntervalMs, 1));
  auto nextHeartbeat = Clock::now() + heartbeatInterval;
  auto nextTick = Clock::now() + interval;
  Batch batch;
  bool loggedRows = false;  // metric rows were ever logged: worth keeping buffers ready
  std::unique_lock<std::mutex> lock(m_mutex);
  for (;;) {
    auto now = Clock::now();
    const bool pending = !m_rows.empty() || !m_commands.empty();
    if (m_idle && pending) {  // woken from sleep by the first item: commit it one interval later
      m_idle = false;
      nextTick = now + interval;
    }
    const bool heartbeatDue = !m_stop && !m_heartbeatRuns.empty() && now >= nextHeartbeat;
    const bool commitNow = pending && (m_stop || m_urgentSeq > m_committedSeq ||
                                       m_rows.size() >= m_opt.batchRows || now >= nextTick);
    if (!commitNow && !heartbeatDue) {
      if (m_stop) break;
      if (!pending && now >= nextTick) m_idle = true;
      auto deadline = m_idle ? Clock::time_point::max() : nextTick;
      if (!m_heartbeatRuns.empty()) deadline = std::min(deadline, nextHeartbeat);
      if (deadline == Clock::time_point::max())
        m_wake.wait(lock);
      else
        m_wake.wait_until(lock, deadline);
      continue;
    }
    if (now >= nextTick) nextTick = now + interval;
    batch.rows.swap(m_rows);
    batch.commands.swap(m_commands);
    loggedRows = loggedRows || !batch.rows.empty();
    batch.seq = m_queuedSeq;
    m_queuedWeight = 0;
    batch.heartbeats.clear();
    if (heartbeatDue) {
      batch.heartbeats.assign(m_heartbeatRuns.begin(), m_heartbeatRuns.end());
      nextHeartbeat = now + heartbeatInterval;
    }
    lock.unlock();
    m_space.notify_all();
    batch.committedRows = batch.lostRows = 0;
    batch.rejected = 0;
    batch.firstRejection.clear();
    writeBatch(batch);
    std::vector<Command> finished;
    finished.swap(batch.commands);
    batch.rows.clear();
    lock.lock();
    m_committedSeq = batch.seq;
    m_stats.committedRows += batch.committedRows;
    m_stats.lostRows += batch.lostRows;
    m_stats.batches += 1;
    for (Command& c : finished)
      if (c.call) c.call->done = true;
    m_done.notify_all();
    lock.unlock();
    finished.clear();  // task captures are released outside the lock
    // The producers get this buffer at the next swap: allocate and touch its pages here, so that
    // page faults (2 MiB zeroing with transparent huge pages) never land on a logging thread.
    if (batch.rows.capacity() < m_opt.batchRows && loggedRows) {
      batch.rows.resize(m_opt.batchRows);
      batch.rows.clear();
    }
    lock.lock();
  }
}

void StoreWriter::beginImmediate() {
  // busy_timeout already waits; a writer in another process may hold the lock for longer (a
  // large import), so keep trying for a while before giving the batch up.
  for (int attempt = 0;; ++attempt) {
    try {
      m_db.exec("BEGIN IMMEDIATE");
      return;
    } catch (const SqliteError& e) {
      if (e.primaryCode() != SQLITE_BUSY || attempt >= 11) throw;
    }
  }
}

std::int64_t StoreWriter::dbKeyId(std::int32_t key) {
  const auto index = static_cast<std::size_t>(key);
  if (index < m_dbKeyIds.size() && m_dbKeyIds[index] >= 0) return m_dbKeyIds[index];
  std::string name;
  {
    std::lock_guard<std::mutex> lock(m_mutex);
    name = m_keyNames[index];
  }
  Statement(m_db, "INSERT INTO metric_keys (key) VALUES (?) ON CONFLICT (key) DO NOTHING")
      .bind(1, name)
      .run();
  Statement select(m_db, "SELECT id FROM metric_keys WHERE key = ?");
  select.bind(1, name);
  if (!select.step()) throw Error(m_db.path().string() + ": metric key '" + name + "' vanished");
  if (m_dbKeyIds.size() <= index) m_dbKeyIds.resize(index + 1, -1);
  return m_dbKeyIds[index] = select.columnInt(0);
}

void StoreWriter::insertRows(Batch& batch, std::size_t from, std::size_t to) {
  if (from >= to) return;
  if (!m_insertRow)
    m_insertRow = std::make_unique<Statement>(m_db,
                                              "INSERT OR REPLACE INTO metrics (run_id, key_id, "
                                              "step, value, wall_ms) VALUES (?, ?, ?, ?, ?)");
  Statement& s = *m_insertRow;
  for (std::size_t i = from; i < to; ++i) {
    const Row& r = batch.rows[i];
    s.bind(1, r.runId).bind(2, dbKeyId(r.key)).bind(3, r.step).bind(4, r.value).bind(5, r.wallMs);
    const int rc = s.tryStep();
    if (rc == SQLITE_DONE) {
      s.reset();
      ++batch.committedRows;
      continue;
    }
    const SqliteError e(m_db.errorMessage(rc, s.op()), rc);
    if (!isItemError(e) || !m_db.inTransaction()) throw e;
    ++batch.lostRows;
    if (batch.rejected++ == 0) {
      std::string reason = sqlite3_errmsg(m_db.handle());
      if (rc == SQLITE_CONSTRAINT_FOREIGNKEY) reason += ": there is no run with this id";
      std::lock_guard<std::mutex> lock(m_mutex);
      batch.firstRejection = "run " + std::to_string(r.runId) + ", key '" + m_keyNames[r.key] +
                             "', step " + std::to_string(r.step) + ": " + reason;
    }
  }
}

void StoreWriter::runTask(Batch& batch, Command& command) {
  m_db.exec("SAVEPOINT task");
  try {
    command.task(m_db);
    m_db.exec("RELEASE task");
  } catch (const SqliteError& e) {
    if (!isItemError(e) || !m_db.inTransaction()) throw;
    m_db.exec("ROLLBACK TO task");
    m_db.exec("RELEASE task");
    if (command.call)
      command.call->error = std::current_exception();
    else
      recordError(e.what());
  } catch (const std::exception& e) {
    if (!m_db.inTransaction()) throw;
    m_db.exec("ROLLBACK TO task");
    m_db.exec("RELEASE task");
    if (command.call)
      command.call->error = std::current_exception();
    else
      recordError(e.what());
  }
}

void StoreWriter::writeBatch(Batch& batch) {
  std::size_t done = 0;
  try {
    beginImmediate();
    for (Command& c : batch.commands) {
      insertRows(batch, done, c.rowsBefore);
      done = c.rowsBefore;
      runTask(batch, c);
    }
    insertRows(batch, done, batch.rows.size());
    if (!batch.heartbeats.empty()) {
      Statement beat(m_db, "UPDATE runs SET heartbeat_ms = ? WHERE id = ? AND status = 'running'");
      const std::int64_t now = unixMillisNow();
      for (std::int64_t id : batch.heartbeats) beat.bind(1, now).bind(2, id).run();
    }
    m_db.exec("COMMIT");
  } catch (const std::exception& e) {
    if (m_db.inTransaction()) sqlite3_exec(m_db.handle(), "ROLLBACK", nullptr, nullptr, nullptr);
    // Metric keys created in the lost transaction are gone too.
    std::fill(m_dbKeyIds.begin(), m_dbKeyIds.end(), -1);
    std::size_t tasks = 0;
    for (const Command& c : batch.commands) tasks += c.call == nullptr;
    const std::string message =
        std::string(e.what()) + "; lost " + std::to_string(batch.rows.size()) +
        " queued metric rows and " + std::to_string(tasks) +
        " queued writes since the last commit (everything committed before is kept)";
    const Error failure(message);
    for (Command& c : batch.commands)
      if (c.call && !c.call->error) c.call->error = std::make_exception_ptr(failure);
    batch.lostRows = batch.rows.size();
    batch.committedRows = 0;
    recordError(message);
    return;
  }
  if (batch.rejected > 0)
    recordError(m_db.path().string() + ": " + std::to_string(batch.rejected) +
                " metric rows were rejected (first: " + batch.firstRejection + ")");
}

}  // namespace nmar::core
