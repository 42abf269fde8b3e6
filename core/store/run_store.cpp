#include "store/run_store.h"

#include <sqlite3.h>
#include <unistd.h>

#include <algorithm>
#include <cctype>

#include "store/process_liveness.h"
#include "store/schema.h"
#include "store/sqlite_db.h"
#include "util/build_info.h"
#include "util/error.h"
#include "util/log.h"

namespace nmar::core {
namespace fs = std::filesystem;
namespace {

constexpr const char* kClosedReason = "store closed before the run finished";

/** The nmar revision recorded with each run (computed once). */
const std::string& codeRevision() {
  static const std::string revision = buildInfo().gitRevision;
  return revision;
}

/** JSON text that never throws on invalid UTF-8 (replaced by U+FFFD). */
std::string dumpJson(const nlohmann::json& j) {
  return j.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
}

void validateTag(const std::string& tag, const fs::path& store) {
  bool ok = !tag.empty() && tag.size() <= 64;
  for (char c : tag) ok = ok && c != ',' && !std::isspace(static_cast<unsigned char>(c));
  if (!ok)
    throw Error(store.string() + ": invalid tag '" + tag +
                "' (expected 1 to 64 characters without spaces or commas)");
}

/** " (read-only location: ...)" when the store's folder cannot be written, else "". */
std::string readOnlyHint(const fs::path& store) {
  const fs::path dir = store.has_parent_path() ? store.parent_path() : fs::path(".");
  if (::access(dir.c_str(), W_OK) != 0)
    return " (read-only location: the folder " + dir.string() + " cannot be written)";
  if (::access(store.c_str(), F_OK) == 0 && ::access(store.c_str(), W_OK) != 0)
    return " (read-only location: the file cannot be written)";
  return "";
}

void insertTags(SqliteDb& db, std::int64_t runId, const std::vector<std::string>& tags) {
  Statement s(db, "INSERT INTO run_tags (run_id, tag) VALUES (?, ?) ON CONFLICT DO NOTHING");
  for (const std::string& tag : tags) s.bind(1, runId).bind(2, tag).run();
}

}  // namespace

RunStore::RunStore(fs::path path, StoreOptions options)
    : m_path(std::move(path)), m_opt(std::move(options)) {
  if (m_path.empty()) throw Error("run store: empty path");
  std::error_code ec;
  const bool exists = fs::exists(m_path, ec);
  if (exists && fs::is_directory(m_path, ec))
    throw Error(m_path.string() + ": is a folder, expected a run store file");
  if (!exists && (m_opt.readOnly || !m_opt.create))
    throw Error(m_path.string() +
                ": no run store here (one is created by the first run recorded with --store)");
  if (m_opt.readOnly)
    openReadOnly();
  else
    openWritable();
}

RunStore::~RunStore() {
  if (!m_writer) return;
  std::vector<std::int64_t> own;
  {
    std::lock_guard<std::mutex> lock(m_ownMutex);
    own.assign(m_ownRuns.begin(), m_ownRuns.end());
  }
  const std::int64_t now = unixMillisNow();
  for (std::int64_t id : own)
    m_writer->enqueue([id, now](SqliteDb& db) {
      Statement(db,
                "UPDATE runs SET status = 'failed', end_reason = ?, finished_ms = ? "
                "WHERE id = ? AND status = 'running'")
          .bind(1, kClosedReason)
          .bind(2, now)
          .bind(3, id)
          .run();
    });
  m_writer.reset();  // commits everything queued, then joins the thread
}

void RunStore::openWritable() {
  const fs::path dir = m_path.parent_path();
  std::error_code ec;
  if (!dir.empty() && !fs::exists(dir, ec)) {
    fs::create_directories(dir, ec);
    if (ec)
      throw Error(m_path.string() + ": cannot create the folder " + dir.string() + ": " +
                  ec.message() + readOnlyHint(dir));
  }
  std::unique_ptr<SqliteDb> db;
  try {
    db = std::make_unique<SqliteDb>(
        m_path, m_opt.create ? OpenMode::kReadWriteCreate : OpenMode::kReadWrite);
    const SchemaState state = inspectSchema(*db);  // reads only
    checkSchemaNotNewer(*db, state);
    if (db->isReadOnly())
      throw Error(m_path.string() + ": the run store cannot be written" + readOnlyHint(m_path) +
                  "; nothing was changed");
    applyConnectionPragmas(*db, m_opt.busyTimeoutMs);
    const std::string mode = db->queryText("PRAGMA journal_mode = WAL");
    if (mode != "wal")
      throw Error(m_path.string() + ": cannot switch the run store to WAL mode (journal mode is '" +
                  mode + "')");
    db->exec("PRAGMA synchronous = NORMAL");
    if (m_opt.maxPageCount > 0)
      db->queryInt("PRAGMA max_page_count = " + std::to_string(m_opt.maxPageCount));
    migrateSchema(*db);
  } catch (const SqliteError& e) {
    const int code = e.primaryCode();
    if (code == SQLITE_READONLY || code == SQLITE_CANTOPEN || code == SQLITE_PERM)
      throw Error(std::string(e.what()) + readOnlyHint(m_path));
    throw;
  }
  m_reader = std::make_unique<SqliteDb>(m_path, OpenMode::kReadWrite);
  applyConnectionPragmas(*m_reader, m_opt.busyTimeoutMs);
  m_reader->exec("PRAGMA query_only = 1");

  WriterOptions w;
  w.queueCapacity = m_opt.queueCapacity;
  w.batchRows = std::max<std::size_t>(1, std::min<std::size_t>(1u << 16, m_opt.queueCapacity / 2));
  w.commitIntervalMs = m_opt.commitIntervalMs;
  w.heartbeatIntervalMs = m_opt.heartbeatIntervalMs;
  w.onError = m_opt.onWriteError;
  m_writer = std::make_unique<StoreWriter>(std::move(*db), std::move(w));
  try {
    markDeadRuns();
  } catch (const Error& e) {  // e.g. a full disk: the store still opens for reading and logging
    logger("core.store")->warn("{}", e.what());
  }
}

void RunStore::openReadOnly() {
  auto db = std::make_unique<SqliteDb>(m_path, OpenMode::kReadOnly);
  const SchemaState state = inspectSchema(*db);
  checkSchemaNotNewer(*db, state);
  if (state.empty) throw Error(m_path.string() + ": no run store here (the file is empty)");
  if (state.version < kSchemaVersion)
    throw Error(m_path.string() + ": schema v" + std::to_string(state.version) +
                " is older than this build's v" + std::to_string(kSchemaVersion) +
                "; open the store once for writing (e.g. `nmar runs list --store " +
                m_path.string() + "`) to migrate it");
  applyConnectionPragmas(*db, m_opt.busyTimeoutMs);
  m_reader = std::move(db);
}

StoreWriter& RunStore::writer() {
  if (!m_writer) throw Error(m_path.string() + ": the run store was opened read-only");
  return *m_writer;
}

void RunStore::requireRun(SqliteDb& db, std::int64_t runId) const {
  Statement s(db, "SELECT 1 FROM runs WHERE id = ?");
  s.bind(1, runId);
  if (!s.step()) throw Error(m_path.string() + ": no run with id " + std::to_string(runId));
}

std::int64_t RunStore::createRun(const NewRun& run) {
  const std::string store = m_path.string();
  validateRunKind(run.kind, store + ": run kind");
  if (!run.config.is_object() && !run.config.is_null())
    throw Error(store + ": run config must be a JSON object, got " +
                std::string(run.config.type_name()));
  for (const std::string& tag : run.tags) validateTag(tag, m_path);
  const std::string config = run.config.is_null() ? "{}" : dumpJson(run.config);
  const std::string& revision = codeRevision();
  std::int64_t id = 0;
  writer().call([&](SqliteDb& db) {
    if (run.parentId) {
      Statement p(db, "SELECT 1 FROM runs WHERE id = ?");
      p.bind(1, *run.parentId);
      if (!p.step())
        throw Error(store + ": parent run " + std::to_string(*run.parentId) + " does not exist");
    }
    const std::int64_t now = unixMillisNow();
    Statement s(db,
                "INSERT INTO runs (name, kind, status, config, code_revision, host, pid, "
                "started_ms, heartbeat_ms, parent_id, notes) "
                "VALUES (?, ?, 'running', ?, ?, ?, ?, ?, ?, ?, ?)");
    s.bind(1, run.name).bind(2, run.kind).bind(3, config).bind(4, revision).bind(5, thisHost());
    s.bind(6, static_cast<std::int64_t>(::getpid())).bind(7, now).bind(8, now);
    s.bind(9, run.parentId).bind(10, run.notes).run();
    id = db.lastInsertId();
    insertTags(db, id, run.tags);
  });
  {
    std::lock_guard<std::mutex> lock(m_ownMutex);
    m_ownRuns.insert(id);
  }
  m_writer->trackHeartbeat(id);
  return id;
}

void RunStore::finishRun(std::int64_t runId, RunStatus status, const std::string& endReason) {
  if (status == RunStatus::kRunning)
    throw Error(m_path.string() + ": finishRun: the status must be finished, failed or cancelled");
  writer().call([&](SqliteDb& db) {
    Statement s(db, "UPDATE runs SET status = ?, end_reason = ?, finished_ms = ? WHERE id = ?");
    s.bind(1, runStatusName(status)).bind(2, endReason).bind(3, unixMillisNow()).bind(4, runId);
    s.run();
    if (db.changes() == 0)
      throw Error(m_path.string() + ": no run with id " + std::to_string(runId));
  });
  m_writer->untrackHeartbeat(runId);
  std::lock_guard<std::mutex> lock(m_ownMutex);
  m_ownRuns.erase(runId);
}

void RunStore::reopenRun(std::int64_t runId) {
  writer().call([&](SqliteDb& db) {
    Statement s(db,
                "UPDATE runs SET status = 'running', end_reason = '', finished_ms = NULL, "
                "host = ?, pid = ?, heartbeat_ms = ? WHERE id = ?");
    s.bind(1, thisHost())
        .bind(2, static_cast<std::int64_t>(::getpid()))
        .bind(3, unixMillisNow())
        .bind(4, runId);
    s.run();
    if (db.changes() == 0)
      throw Error(m_path.string() + ": no run with id " + std::to_string(runId));
  });
  {
    std::lock_guard<std::mutex> lock(m_ownMutex);
    m_ownRuns.insert(runId);
  }
  m_writer->trackHeartbeat(runId);
}

void RunStore::addTags(std::int64_t runId, const std::vector<std::string>& tags) {
  for (const std::string& tag : tags) validateTag(tag, m_path);
  writer().call([&](SqliteDb& db) {
    requireRun(db, runId);
    insertTags(db, runId, tags);
  });
}

void RunStore::removeTags(std::int64_t runId, const std::vector<std::string>& tags) {
  writer().call([&](SqliteDb& db) {
    requireRun(db, runId);
    Statement s(db, "DELETE FROM run_tags WHERE run_id = ? AND tag = ?");
    for (const std::string& tag : tags) s.bind(1, runId).bind(2, tag).run();
  });
}

void RunStore::setNotes(std::int64_t runId, const std::string& notes) {
  writer().call([&](SqliteDb& db) {
    requireRun(db, runId);
    Statement(db, "UPDATE runs SET notes = ? WHERE id = ?").bind(1, notes).bind(2, runId).run();
  });
}

void RunStore::deleteRuns(const std::vector<std::int64_t>& runIds) {
  writer().call([&](SqliteDb& db) {
    for (std::int64_t id : runIds) requireRun(db, id);
    Statement s(db, "DELETE FROM runs WHERE id = ?");
    for (std::int64_t id : runIds) s.bind(1, id).run();
  });
  for (std::int64_t id : runIds) {
    m_writer->untrackHeartbeat(id);
    std::lock_guard<std::mutex> lock(m_ownMutex);
    m_ownRuns.erase(id);
  }
}

int RunStore::markDeadRuns() {
  if (!m_writer) return 0;
  struct Dead {
    std::int64_t id, lastSignMs;
    std::string reason;
  };
  std::vector<Dead> dead;
  const std::int64_t now = unixMillisNow();
  {
    std::lock_guard<std::mutex> lock(m_readMutex);
    Statement s(*m_reader,
                "SELECT id, host, pid, COALESCE(heartbeat_ms, started_ms) FROM runs "
                "WHERE status = 'running'");
    while (s.step()) {
      RunLiveness r{s.columnText(1), s.columnInt(2), s.columnInt(3)};
      if (r.host == thisHost() && r.pid == ::getpid()) continue;  // this process: alive
      std::string reason = deadRunReason(r, now, m_opt.staleAfterMs);
      if (!reason.empty()) dead.push_back({s.columnInt(0), r.lastSignMs, std::move(reason)});
    }
  }
  if (dead.empty()) return 0;
  int marked = 0;
  writer().call([&](SqliteDb& db) {
    // Unchanged last sign of life: a heartbeat that arrived meanwhile keeps the run alive.
    Statement s(db,
                "UPDATE runs SET status = 'failed', end_reason = ?, finished_ms = ? "
                "WHERE id = ? AND status = 'running' AND COALESCE(heartbeat_ms, started_ms) = ?");
    for (const Dead& d : dead) {
      s.bind(1, d.reason).bind(2, d.lastSignMs).bind(3, d.id).bind(4, d.lastSignMs).run();
      marked += static_cast<int>(db.changes());
    }
  });
  if (marked > 0)
    logger("core.store")
        ->info("{}: marked {} run(s) whose process died as failed", m_path.string(), marked);
  return marked;
}

}  // namespace nmar::core
