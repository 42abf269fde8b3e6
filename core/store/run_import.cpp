// RunStore::importFrom: merging another run store into this one.
#include <sqlite3.h>
#include <unistd.h>

#include <atomic>
#include <cctype>

#include "store/run_store.h"
#include "store/schema.h"
#include "store/sqlite_db.h"
#include "util/error.h"
#include "util/log.h"

namespace nmar::core {
namespace fs = std::filesystem;
namespace {

/** "file:<percent-encoded path>?mode=ro", so ATTACH opens the source read-only. */
std::string readOnlyUri(const fs::path& path) {
  static const char* kHex = "0123456789ABCDEF";
  std::string uri = "file:";
  for (unsigned char c : fs::absolute(path).string()) {
    if (std::isalnum(c) || c == '/' || c == '.' || c == '-' || c == '_' || c == '~') {
      uri += static_cast<char>(c);
    } else {
      uri += '%';
      uri += kHex[c >> 4];
      uri += kHex[c & 15];
    }
  }
  return uri + "?mode=ro";
}

/** A migrated temporary copy of an older-schema store, removed on destruction. */
class MigratedCopy {
 public:
  MigratedCopy(SqliteDb& source) {
    static std::atomic<int> counter{0};
    m_path = fs::temp_directory_path() / ("nmar-import-" + std::to_string(::getpid()) + "-" +
                                          std::to_string(counter++) + ".sqlite");
    SqliteDb copy(m_path, OpenMode::kReadWriteCreate);
    sqlite3_backup* b = sqlite3_backup_init(copy.handle(), "main", source.handle(), "main");
    if (!b) copy.check(sqlite3_errcode(copy.handle()), "copying " + source.path().string());
    const int rc = sqlite3_backup_step(b, -1);
    sqlite3_backup_finish(b);
    if (rc != SQLITE_DONE) copy.check(rc, "copying " + source.path().string());
    applyConnectionPragmas(copy, 5000);
    migrateSchema(copy);
  }
  ~MigratedCopy() {
    std::error_code ec;
    fs::remove(m_path, ec);
    for (const char* suffix : {"-journal", "-wal", "-shm"})
      fs::remove(m_path.string() + suffix, ec);
  }
  const fs::path& path() const { return m_path; }

 private:
  fs::path m_path;
};

std::int64_t copyRows(SqliteDb& db, const std::string& sql, std::int64_t runOffset,
                      std::int64_t traceOffset) {
  Statement s(db, sql);
  // Each statement uses ?1 (run id offset) and, where it copies traces, ?2 (trace id offset).
  s.bind(1, runOffset);
  if (sql.find("?2") != std::string::npos) s.bind(2, traceOffset);
  s.run();
  return db.changes();
}

}  // namespace

ImportReport RunStore::importFrom(const fs::path& other, ImportContent content) {
  writer();  // throws for a read-only store
  const std::string source = other.string();
  std::error_code ec;
  if (!fs::exists(other, ec))
    throw Error(source + ": no such file (expected a run store to import)");
  if (fs::equivalent(other, m_path, ec))
    throw Error(source + ": cannot import a run store into itself");

  SqliteDb src(other, OpenMode::kReadOnly);
  const SchemaState state = inspectSchema(src);
  checkSchemaNotNewer(src, state);
  if (state.empty) throw Error(source + ": is empty, not a run store");
  std::unique_ptr<MigratedCopy> copy;
  if (state.version < kSchemaVersion) copy = std::make_unique<MigratedCopy>(src);
  const fs::path attachPath = copy ? copy->path() : other;

  flush();
  // A connection of its own: ATTACH is not allowed inside the writer's transactions.
  SqliteDb db(m_path, OpenMode::kReadWrite);
  applyConnectionPragmas(db, m_opt.busyTimeoutMs);
  if (m_opt.maxPageCount > 0)
    db.queryInt("PRAGMA max_page_count = " + std::to_string(m_opt.maxPageCount));
  Statement(db, "ATTACH DATABASE ? AS src").bind(1, readOnlyUri(attachPath)).run();
  ImportReport report;
  try {
    db.exec("BEGIN IMMEDIATE");
    db.exec("PRAGMA defer_foreign_keys = ON");  // a parent may come after its child
    const std::int64_t runOffset = db.queryInt(
        "SELECT max(COALESCE((SELECT max(id) FROM main.runs), 0), "
        "COALESCE((SELECT seq FROM main.sqlite_sequence WHERE name = 'runs'), 0))");
    const std::int64_t traceOffset = db.queryInt("SELECT COALESCE(max(id), 0) FROM main.traces");
    {
      Statement ids(db, "SELECT id + ? FROM src.runs ORDER BY id");
      ids.bind(1, runOffset);
      while (ids.step()) report.runIds.push_back(ids.columnInt(0));
    }
    copyRows(
        db,
        "INSERT INTO main.runs (id, name, kind, status, end_reason, config, code_revision, "
        "host, pid, started_ms, finished_ms, heartbeat_ms, parent_id, notes) "
        "SELECT id + ?1, name, kind, status, end_reason, config, code_revision, host, pid, "
        "started_ms, finished_ms, heartbeat_ms, parent_id + ?1, notes FROM src.runs ORDER BY id",
        runOffset, traceOffset);
    report.tags = copyRows(
        db, "INSERT INTO main.run_tags (run_id, tag) SELECT run_id + ?1, tag FROM src.run_tags",
        runOffset, traceOffset);
    db.exec(
        "INSERT INTO main.metric_keys (key) SELECT key FROM src.metric_keys WHERE true "
        "ON CONFLICT (key) DO NOTHING");
    report.metrics =
        copyRows(db,
                 "INSERT INTO main.metrics (run_id, key_id, step, value, wall_ms) "
                 "SELECT m.run_id + ?1, mk.id, m.step, m.value, m.wall_ms FROM src.metrics AS m "
                 "JOIN src.metric_keys AS sk ON sk.id = m.key_id "
                 "JOIN main.metric_keys AS mk ON mk.key = sk.key",
                 runOffset, traceOffset);
    if (content == ImportContent::kEverything) {
      report.traces = copyRows(
          db,
          "INSERT INTO main.traces (id, run_id, step, group_index, prompt, output, verdict, trace) "
          "SELECT id + ?2, run_id + ?1, step, group_index, prompt, output, verdict, trace "
          "FROM src.traces ORDER BY id",
          runOffset, traceOffset);
      report.tokenScores = copyRows(
          db,
          "INSERT INTO main.token_scores (trace_id, position, token, reward, advantage, logprob, "
          "ratio) SELECT trace_id + ?2, position, token, reward, advantage, logprob, ratio "
          "FROM src.token_scores",
          runOffset, traceOffset);
      report.artifacts = copyRows(
          db,
          "INSERT INTO main.artifacts (run_id, kind, path, sha256, bytes, created_ms) "
          "SELECT run_id + ?1, kind, path, sha256, bytes, created_ms FROM src.artifacts ORDER BY id",
          runOffset, traceOffset);
    }
    db.exec("COMMIT");
  } catch (...) {
    if (db.inTransaction()) sqlite3_exec(db.handle(), "ROLLBACK", nullptr, nullptr, nullptr);
    sqlite3_exec(db.handle(), "DETACH DATABASE src", nullptr, nullptr, nullptr);
    throw;
  }
  db.exec("DETACH DATABASE src");
  logger("core.store")
      ->info("{}: imported {} runs, {} metric values, {} traces from {}{}", m_path.string(),
             report.runIds.size(), report.metrics, report.traces, source,
             content == ImportContent::kMetricsOnly ? " (metrics only)" : "");
  return report;
}

}  // namespace nmar::core
