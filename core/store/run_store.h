#pragma once
/**
 * @file The run store: every run, metric, trace, per-token score and artifact in one SQLite file,
 * written off the caller's thread and readable live by other processes (the GUI while the CLI
 * trains).
 *
 * Files and durability: WAL mode, synchronous=NORMAL (a commit survives the writing process being
 * killed at any moment; a power cut may lose the last commits but never corrupts the file),
 * foreign keys on (deleting a run deletes its tags, metrics, traces, scores and artifacts; a
 * forked run's parent link becomes NULL), busy_timeout for concurrent writers, parameterised
 * statements only. Schema versions and migrations: schema.h.
 *
 * Run lifecycle: createRun() records a run as "running" with this host, pid, nmar revision and
 * start time; the writer thread refreshes its heartbeat every StoreOptions::heartbeatIntervalMs;
 * finishRun() sets finished, failed or cancelled with an end reason. A run left "running" by a
 * process that died (same host and its pid is gone, or no heartbeat for staleAfterMs on any host)
 * is marked "failed" with end reason "process died" whenever a store is opened for writing or its
 * runs are listed. Closing a store marks its own unfinished runs failed with the end reason
 * "store closed before the run finished".
 *
 * Writes: metric rows, traces and artifacts are queued and committed in batches by a writer
 * thread (StoreWriter): at least every commitIntervalMs while there is queued data, so readers see
 * new rows within a second. flush() waits until everything queued is committed (call it when
 * saving a checkpoint); destruction flushes. Queries read what is committed: flush() first to see
 * one's own queued writes. Write errors are never dropped: see StoreWriter.
 *
 * Thread safety: every method may be called from any thread.
 */
#include <cstdint>
#include <filesystem>
#include <functional>
#include <initializer_list>
#include <limits>
#include <memory>
#include <mutex>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <vector>

#include "store/run_record.h"
#include "store/store_writer.h"
#include "trace/trace.h"

namespace nmar::core {

class SqliteDb;

/** How a RunStore opens its file and writes. */
struct StoreOptions {
  bool readOnly = false;  ///< queries only: no writer thread, no migration, no marking of dead runs
  bool create = true;     ///< create the file (and its folder) when missing
  int busyTimeoutMs = 5000;              ///< how long a statement waits for another process's lock
  std::int64_t maxPageCount = 0;         ///< 0: no limit; else PRAGMA max_page_count (simulates a
                                         ///< full disk in tests)
  std::size_t queueCapacity = 1u << 20;  ///< queued rows before log calls block
  int commitIntervalMs = 200;            ///< commit queued data at least this often
  int heartbeatIntervalMs = 2000;        ///< heartbeat of this store's running runs
  std::int64_t staleAfterMs = 120000;    ///< a running run without heartbeat this long is dead
  /** Called on the writer thread with each write error (they are also thrown by flush()). */
  std::function<void(const std::string&)> onWriteError;
};

/** An open run store. See the file comment for the guarantees. Not copyable or movable. */
class RunStore {
 public:
  /**
   * Opens (or creates) the store at @p path: checks that it is a run store of this or an older
   * schema, migrates an older one, starts the writer thread and marks dead runs failed. Throws
   * Error naming the path for: a missing file with create=false ("no run store here"), a folder
   * that cannot be created or written (read-only location), a file that is not SQLite ("is not an
   * N-MAR run store (not a SQLite database)"), another application's database, a newer schema
   * ("written by a newer nmar (schema vN, this build reads up to vM)"; nothing is modified), a
   * write-protected file when readOnly is false.
   */
  explicit RunStore(std::filesystem::path path, StoreOptions options = {});
  /** Marks this store's unfinished runs failed, commits everything queued and stops the writer. */
  ~RunStore();
  RunStore(const RunStore&) = delete;
  RunStore& operator=(const RunStore&) = delete;

  /** The store's file, as given. */
  const std::filesystem::path& path() const { return m_path; }
  /** True when opened with StoreOptions::readOnly. */
  bool readOnly() const { return m_opt.readOnly; }

  // --- runs (synchronous: they return once committed) ---

  /**
   * Records a new running run and returns its id. Validates the kind, the tags and that the
   * config is a JSON object (null is stored as {}) and the parent (if any) exists; throws Error
   * naming the field.
   */
  std::int64_t createRun(const NewRun& run);

  /**
   * Ends run @p runId with @p status (not kRunning) and @p endReason, after everything queued
   * before it; returns once committed. Throws Error if there is no such run.
   */
  void finishRun(std::int64_t runId, RunStatus status, const std::string& endReason = {});

  /**
   * Marks run @p runId as running again in this process (a resumed training run keeps its id):
   * status running, no end, this host and pid, a fresh heartbeat. Throws Error if there is no
   * such run.
   */
  void reopenRun(std::int64_t runId);

  /** Adds tags (1 to 64 characters, no whitespace or commas) to a run. Throws Error naming the
   *  tag or the missing run. */
  void addTags(std::int64_t runId, const std::vector<std::string>& tags);
  /** Removes tags from a run (absent ones are ignored). Throws Error for a missing run. */
  void removeTags(std::int64_t runId, const std::vector<std::string>& tags);
  /** Replaces the notes of a run. Throws Error for a missing run. */
  void setNotes(std::int64_t runId, const std::string& notes);
  /**
   * Deletes runs with everything recorded for them, in one transaction. Throws Error naming the
   * first id that does not exist, and then deletes nothing.
   */
  void deleteRuns(const std::vector<std::int64_t>& runIds);

  // --- logging (queued: no I/O on the caller's thread) ---

  /** Queues one metric value. Throws the pending write error, if any. */
  void logMetric(std::int64_t runId, std::int64_t step, std::string_view key, double value);
  /** Queues several metric values of one step (one lock, one clock read). */
  void logMetrics(std::int64_t runId, std::int64_t step, std::initializer_list<MetricValue> values);
  /** Queues several metric values of one step. */
  void logMetrics(std::int64_t runId, std::int64_t step, const std::vector<MetricValue>& values);

  /**
   * Queues a trace of run @p runId at @p step (GRPO @p group, if any) with its per-token scores;
   * the JSON is serialised on the writer thread.
   */
  void addTrace(std::int64_t runId, std::int64_t step, Trace trace,
                std::optional<std::int64_t> group = std::nullopt,
                std::vector<TokenScore> scores = {});

  /** Queues an already serialised trace (record.trace must be a JSON object; id is ignored). */
  void addTrace(TraceRecord record, std::vector<TokenScore> scores = {});

  /**
   * Hashes @p file now (SHA-256 and size, on the caller's thread) and queues an artifact of
   * @p kind for run @p runId with the file's absolute path. Throws Error naming an unreadable file.
   */
  void addArtifact(std::int64_t runId, const std::string& kind, const std::filesystem::path& file);

  /** Waits until everything queued is committed; throws the pending write error, if any. */
  void flush();

  /** Writer counters (rows committed, batches, rows lost); zero for a read-only store. */
  WriterStats writerStats() const;

  // --- queries (read what is committed) ---

  /** Runs matching @p filter, by increasing id, after marking dead runs failed (writable store). */
  std::vector<RunInfo> listRuns(const RunFilter& filter = {});
  /** The run with id @p runId, if any. */
  std::optional<RunInfo> findRun(std::int64_t runId);
  /** The run with id @p runId; throws Error "<path>: no run with id N". */
  RunInfo getRun(std::int64_t runId);
  /** The metric keys run @p runId has values for, sorted. */
  std::vector<std::string> metricKeys(std::int64_t runId);
  /** Per key of run @p runId: number of values and the value at the highest step. */
  std::vector<MetricSummary> metricSummaries(std::int64_t runId);
  /**
   * The series of each key in @p keys for each run in @p runIds (runs outer, keys inner; a series
   * may be empty), with steps greater than @p afterStep (for incremental refreshes).
   */
  std::vector<MetricSeries> metricSeries(
      const std::vector<std::int64_t>& runIds, const std::vector<std::string>& keys,
      std::int64_t afterStep = std::numeric_limits<std::int64_t>::min());
  /**
   * The traces of run @p runId (only those at @p step when given), by step then id; the trace
   * JSON is included only when @p withJson.
   */
  std::vector<TraceRecord> traces(std::int64_t runId, std::optional<std::int64_t> step = {},
                                  bool withJson = false);
  /** How many traces run @p runId has. */
  std::int64_t traceCount(std::int64_t runId);
  /** One stored trace record with its JSON; throws Error "<path>: no trace with id N". */
  TraceRecord traceRecord(std::int64_t traceId);
  /** One stored trace parsed and validated (traceFromJson); throws Error naming the trace. */
  Trace trace(std::int64_t traceId);
  /** The per-token scores of a trace, by position. */
  std::vector<TokenScore> tokenScores(std::int64_t traceId);
  /** The artifacts of run @p runId, by id. */
  std::vector<Artifact> artifacts(std::int64_t runId);

  /**
   * Marks running runs whose process is gone as failed ("process died"; finished at their last
   * heartbeat) and returns how many. No-op for a read-only store. Called on open and by listRuns.
   */
  int markDeadRuns();

  /**
   * Copies every run of the store at @p other into this one in one transaction: new run and trace
   * ids are assigned, parent links remapped, metric keys merged; the source is not modified (an
   * older-schema source is migrated in a temporary copy). Throws Error naming @p other when it is
   * not a run store, newer, or this store itself. With ImportContent::kMetricsOnly the traces,
   * token scores and artifact records stay behind.
   */
  ImportReport importFrom(const std::filesystem::path& other,
                          ImportContent content = ImportContent::kEverything);

 private:
  StoreWriter& writer();
  std::vector<RunInfo> queryRuns(const RunFilter& filter, std::optional<std::int64_t> id);
  void requireRun(SqliteDb& db, std::int64_t runId) const;
  void openWritable();
  void openReadOnly();

  std::filesystem::path m_path;
  StoreOptions m_opt;
  std::mutex m_readMutex;                 ///< guards m_reader
  std::unique_ptr<SqliteDb> m_reader;     ///< query connection (query_only)
  std::unique_ptr<StoreWriter> m_writer;  ///< null when read-only
  std::mutex m_ownMutex;
  std::set<std::int64_t> m_ownRuns;  ///< runs created here and not finished
};

}  // namespace nmar::core
