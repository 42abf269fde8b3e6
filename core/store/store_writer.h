#pragma once
/**
 * @file The run store's writer thread: the one place where a RunStore writes. Callers queue
 * metric rows (a few hundred nanoseconds, no I/O) and write tasks; the thread commits them in
 * batched transactions, in the order they were queued, so a training loop never waits for disk.
 */
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <set>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include "store/sqlite_db.h"

namespace nmar::core {

/** A metric value for StoreWriter::logMetrics (the key is copied only the first time it is seen).
 */
struct MetricValue {
  std::string_view key;
  double value = 0.0;
};

/** How a StoreWriter batches; see StoreOptions for the meaning of each field. */
struct WriterOptions {
  std::size_t queueCapacity = 1u << 20;  ///< queued rows before log calls block (backpressure)
  std::size_t batchRows = 1u << 16;      ///< commit at once when this many rows are queued
  int commitIntervalMs = 200;            ///< commit queued data at least this often
  int heartbeatIntervalMs = 2000;        ///< heartbeat of tracked runs
  /** Called on the writer thread with each write error (also kept for flush() and log calls). */
  std::function<void(const std::string&)> onError;
};

/** Counters for benchmarks and tests. */
struct WriterStats {
  std::uint64_t committedRows = 0;  ///< metric rows committed
  std::uint64_t batches = 0;        ///< batches (transactions) the thread has written
  std::uint64_t lostRows = 0;       ///< rows rejected or lost with a failed batch
};

/**
 * Owns the write connection and a thread that commits queued work.
 *
 * Ordering: everything queued (metric rows and tasks, from any thread) is applied in queue order.
 * Batching: the thread commits what is queued every commitIntervalMs (so data is visible to other
 * processes at most about one interval after it was queued), at once when batchRows rows are
 * queued or a synchronous call or flush() waits, and at shutdown. A steadily logging caller never
 * wakes the thread (no system call in a log call); the first item after an idle pause does.
 * Backpressure: a log call blocks only while queueCapacity rows are already queued.
 * Errors: a metric row that SQLite rejects (e.g. an unknown run id) is dropped alone; a failure of
 * the transaction itself (disk full, I/O error) loses that batch only, never anything committed
 * before. Every error is kept and thrown, once, by the next flush() or log call, and passed to
 * WriterOptions::onError; call() throws its own task's error.
 * Heartbeats: every heartbeatIntervalMs the thread sets runs.heartbeat_ms of the tracked runs
 * (trackHeartbeat) that are still running.
 * Destruction commits everything queued, then stops the thread (errors are logged to "core.store").
 */
class StoreWriter {
 public:
  /** A write task; runs on the writer thread inside the batch transaction (in a savepoint). */
  using Task = std::function<void(SqliteDb&)>;

  /** Starts the thread; @p db must be a migrated run store opened for writing. */
  StoreWriter(SqliteDb db, WriterOptions options);
  ~StoreWriter();
  StoreWriter(const StoreWriter&) = delete;
  StoreWriter& operator=(const StoreWriter&) = delete;

  /**
   * Queues one row per value for run @p runId at @p step, stamped with the current wall time.
   * Thread-safe; no I/O. Throws the pending write error, if any (see the class comment).
   */
  void logMetrics(std::int64_t runId, std::int64_t step, const MetricValue* values,
                  std::size_t count);

  /** Queues @p task; @p weight counts against the queue capacity (rows it will write). */
  void enqueue(Task task, std::size_t weight = 1);

  /**
   * Queues @p task and waits until its batch is committed. Rethrows the task's own exception (its
   * savepoint is rolled back, the rest of the batch still commits) or the batch's failure.
   * Must not be called from a task.
   */
  void call(Task task);

  /**
   * Waits until everything queued before the call is committed, then throws the pending write
   * error, if any. Thread-safe.
   */
  void flush();

  /** Throws the pending write error, if any, and clears it. Cheap when there is none. */
  void throwPendingError();

  /** Starts heartbeats for run @p runId. Thread-safe. */
  void trackHeartbeat(std::int64_t runId);
  /** Stops heartbeats for run @p runId. Thread-safe. */
  void untrackHeartbeat(std::int64_t runId);
  /** The runs with heartbeats now. */
  std::vector<std::int64_t> trackedRuns() const;

  /** Counters so far. Thread-safe. */
  WriterStats stats() const;

 private:
  struct Row {
    std::int64_t runId;
    std::int64_t step;
    double value;
    std::int64_t wallMs;
    std::int32_t key;  ///< index into m_keyNames
  };
  struct CallState;
  struct Command {
    std::size_t rowsBefore;  ///< rows queued before this command (in the same batch)
    Task task;
    std::shared_ptr<CallState> call;  ///< set for call(); completed after the commit
  };
  struct Batch;

  void run();
  void writeBatch(Batch& batch);
  void insertRows(Batch& batch, std::size_t from, std::size_t to);
  void runTask(Batch& batch, Command& command);
  std::int64_t dbKeyId(std::int32_t key);
  void beginImmediate();
  void recordError(const std::string& message);
  std::int32_t internKey(std::string_view key);  // m_mutex held
  void waitForSpace(std::unique_lock<std::mutex>& lock, std::size_t rows);
  /** Queues a command (m_mutex held); true when the sleeping thread must be woken. */
  bool pushCommand(Task task, std::size_t weight, std::shared_ptr<CallState> call);

  SqliteDb m_db;
  WriterOptions m_opt;
  std::unique_ptr<Statement> m_insertRow;

  mutable std::mutex m_mutex;
  std::condition_variable m_wake;   ///< writer waits for work
  std::condition_variable m_space;  ///< producers wait for queue space
  std::condition_variable m_done;   ///< flush()/call() wait for commits
  std::vector<Row> m_rows;
  std::vector<Command> m_commands;
  std::size_t m_queuedWeight = 0;
  bool m_idle = false;               ///< the thread sleeps until woken (nothing was queued)
  std::uint64_t m_queuedSeq = 0;     ///< items queued so far
  std::uint64_t m_committedSeq = 0;  ///< items the writer has finished with
  std::uint64_t m_urgentSeq = 0;     ///< commit at once until this item is committed
  bool m_stop = false;
  std::set<std::int64_t> m_heartbeatRuns;
  std::map<std::string, std::int32_t, std::less<>> m_keyIds;
  std::vector<std::string> m_keyNames;
  WriterStats m_stats;

  std::atomic<bool> m_hasError{false};
  std::string m_error;           ///< the first unreported error
  std::size_t m_moreErrors = 0;  ///< errors after it, not yet reported

  std::vector<std::int64_t> m_dbKeyIds;  ///< writer thread only: key index -> metric_keys.id
  std::thread m_thread;
};

}  // namespace nmar::core
