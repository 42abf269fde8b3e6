#include "store/schema.h"

#include <sqlite3.h>

#include "store/sqlite_db.h"
#include "util/error.h"
#include "util/log.h"

namespace nmar::core {
namespace {

// v0 -> v1: the first schema. Kept verbatim forever: it is how every store began.
constexpr const char* kCreateV1 = R"sql(
PRAGMA application_id = 1313685842;
CREATE TABLE runs (
  id INTEGER PRIMARY KEY AUTOINCREMENT,
  name TEXT NOT NULL,
  kind TEXT NOT NULL,
  status TEXT NOT NULL CHECK (status IN ('running', 'finished', 'failed', 'cancelled')),
  config TEXT NOT NULL DEFAULT '{}' CHECK (json_valid(config)),
  code_revision TEXT NOT NULL DEFAULT '',
  host TEXT NOT NULL DEFAULT '',
  pid INTEGER NOT NULL DEFAULT 0,
  started_ms INTEGER NOT NULL,
  finished_ms INTEGER,
  heartbeat_ms INTEGER,
  parent_id INTEGER REFERENCES runs(id) ON DELETE SET NULL,
  notes TEXT NOT NULL DEFAULT ''
);
CREATE INDEX runs_kind ON runs(kind);
CREATE INDEX runs_status ON runs(status);
CREATE INDEX runs_parent ON runs(parent_id);
CREATE TABLE run_tags (
  run_id INTEGER NOT NULL REFERENCES runs(id) ON DELETE CASCADE,
  tag TEXT NOT NULL,
  PRIMARY KEY (run_id, tag)
) WITHOUT ROWID;
CREATE INDEX run_tags_tag ON run_tags(tag);
CREATE TABLE metrics (
  run_id INTEGER NOT NULL REFERENCES runs(id) ON DELETE CASCADE,
  step INTEGER NOT NULL,
  key TEXT NOT NULL,
  value REAL,
  wall_ms INTEGER NOT NULL
);
CREATE INDEX metrics_run_key_step ON metrics(run_id, key, step);
CREATE TABLE traces (
  id INTEGER PRIMARY KEY,
  run_id INTEGER NOT NULL REFERENCES runs(id) ON DELETE CASCADE,
  step INTEGER NOT NULL,
  group_index INTEGER,
  prompt TEXT NOT NULL DEFAULT '',
  output TEXT NOT NULL DEFAULT '',
  verdict TEXT,
  trace TEXT NOT NULL CHECK (json_valid(trace))
);
CREATE INDEX traces_run_step ON traces(run_id, step);
CREATE TABLE token_scores (
  trace_id INTEGER NOT NULL REFERENCES traces(id) ON DELETE CASCADE,
  position INTEGER NOT NULL,
  token INTEGER NOT NULL,
  reward REAL,
  advantage REAL,
  logprob REAL,
  PRIMARY KEY (trace_id, position)
) WITHOUT ROWID;
CREATE TABLE artifacts (
  id INTEGER PRIMARY KEY,
  run_id INTEGER NOT NULL REFERENCES runs(id) ON DELETE CASCADE,
  kind TEXT NOT NULL,
  path TEXT NOT NULL,
  sha256 TEXT NOT NULL,
  bytes INTEGER NOT NULL,
  created_ms INTEGER NOT NULL
);
CREATE INDEX artifacts_run ON artifacts(run_id);
)sql";

// v1 -> v2: end reasons; interned metric keys and a clustered metrics table.
constexpr const char* kMigrateV1ToV2 = R"sql(
ALTER TABLE runs ADD COLUMN end_reason TEXT NOT NULL DEFAULT '';
CREATE TABLE metric_keys (
  id INTEGER PRIMARY KEY,
  key TEXT NOT NULL UNIQUE
);
INSERT INTO metric_keys (key) SELECT DISTINCT key FROM metrics ORDER BY key;
CREATE TABLE metrics_v2 (
  run_id INTEGER NOT NULL REFERENCES runs(id) ON DELETE CASCADE,
  key_id INTEGER NOT NULL,
  step INTEGER NOT NULL,
  value REAL,
  wall_ms INTEGER NOT NULL,
  PRIMARY KEY (run_id, key_id, step)
) WITHOUT ROWID;
INSERT OR REPLACE INTO metrics_v2 (run_id, key_id, step, value, wall_ms)
  SELECT m.run_id, k.id, m.step, m.value, m.wall_ms
  FROM metrics AS m JOIN metric_keys AS k ON k.key = m.key ORDER BY m.rowid;
DROP TABLE metrics;
ALTER TABLE metrics_v2 RENAME TO metrics;
)sql";

// v2 -> v3: the GRPO importance ratio of each scored token.
constexpr const char* kMigrateV2ToV3 = R"sql(
ALTER TABLE token_scores ADD COLUMN ratio REAL;
)sql";

/** kMigrations[v] takes a store from version v to v + 1. */
constexpr const char* kMigrations[] = {kCreateV1, kMigrateV1ToV2, kMigrateV2ToV3};
static_assert(sizeof(kMigrations) / sizeof(kMigrations[0]) == kSchemaVersion,
              "one migration per schema version");

}  // namespace

SchemaState inspectSchema(SqliteDb& db) {
  const std::string path = db.path().string();
  SchemaState s;
  std::int64_t appId = 0;
  try {
    appId = db.queryInt("PRAGMA application_id");
    s.version = static_cast<int>(db.queryInt("PRAGMA user_version"));
    s.empty = db.queryInt("SELECT count(*) FROM sqlite_schema") == 0;
  } catch (const Error& e) {
    const int code = sqlite3_extended_errcode(db.handle()) & 0xff;
    if (code == SQLITE_NOTADB || code == SQLITE_CORRUPT)
      throw Error(path + ": is not an N-MAR run store (not a SQLite database)");
    throw;
  }
  s.isRunStore = appId == kStoreApplicationId;
  if (!s.isRunStore && !(appId == 0 && s.empty && s.version == 0))
    throw Error(path + ": is a SQLite database but not an N-MAR run store (application_id " +
                std::to_string(appId) + ", expected " + std::to_string(kStoreApplicationId) + ")");
  return s;
}

void checkSchemaNotNewer(const SqliteDb& db, const SchemaState& state) {
  if (state.version > kSchemaVersion)
    throw Error(db.path().string() + ": written by a newer nmar (schema v" +
                std::to_string(state.version) + ", this build reads up to v" +
                std::to_string(kSchemaVersion) + ")");
}

void applyConnectionPragmas(SqliteDb& db, int busyMs) {
  sqlite3_busy_timeout(db.handle(), busyMs);
  db.exec("PRAGMA foreign_keys = ON");
}

void migrateSchema(SqliteDb& db) {
  db.exec("BEGIN IMMEDIATE");
  try {
    // Re-read inside the write lock: another process may have created or migrated the store.
    const SchemaState s = inspectSchema(db);
    checkSchemaNotNewer(db, s);
    for (int v = s.version; v < kSchemaVersion; ++v) {
      try {
        db.exec(kMigrations[v]);
      } catch (const Error& e) {
        throw Error(std::string(e.what()) + " (while migrating the run store from schema v" +
                    std::to_string(v) + " to v" + std::to_string(v + 1) + ")");
      }
    }
    if (s.version < kSchemaVersion) {
      db.exec("PRAGMA user_version = " + std::to_string(kSchemaVersion));
      if (s.version > 0)
        logger("core.store")
            ->info("{}: migrated the run store from schema v{} to v{}", db.path().string(),
                   s.version, kSchemaVersion);
    }
    db.exec("COMMIT");
  } catch (...) {
    if (db.inTransaction()) sqlite3_exec(db.handle(), "ROLLBACK", nullptr, nullptr, nullptr);
    throw;
  }
}

}  // namespace nmar::core
