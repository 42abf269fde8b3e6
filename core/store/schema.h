#pragma once
/**
 * @file The run store's schema and its forward migrations.
 *
 * A run store is a SQLite file marked with `PRAGMA application_id` = kStoreApplicationId ("NMAR")
 * whose `PRAGMA user_version` is its schema version. Version history:
 * - v1: runs (with notes), run_tags, metrics keyed by text, traces, token_scores, artifacts.
 * - v2: runs.end_reason (why a run failed or was cancelled, e.g. "process died"); metric keys
 *   interned in metric_keys and metrics stored WITHOUT ROWID under (run_id, key_id, step), one
 *   value per run, key and step (when v1 held duplicates, the last one logged is kept).
 * - v3: token_scores.ratio (the GRPO importance ratio of the token; NULL elsewhere).
 * A fresh file is created by running every migration from v0 (empty) to kSchemaVersion, so a new
 * store and a migrated one have exactly the same schema.
 */
#include <string>

namespace nmar::core {

class SqliteDb;

/** The schema version this build writes and reads. */
inline constexpr int kSchemaVersion = 3;

/** `PRAGMA application_id` of every run store: the bytes "NMAR". */
inline constexpr int kStoreApplicationId = 0x4E4D4152;

/** What a file holds before it is opened as a run store. */
struct SchemaState {
  int version = 0;          ///< PRAGMA user_version (0 for a new, empty file)
  bool empty = true;        ///< no tables at all: a new file
  bool isRunStore = false;  ///< application_id says "NMAR"
};

/**
 * Reads the application id, user_version and whether any table exists, without modifying the
 * file. Throws Error "<path>: is not an N-MAR run store (not a SQLite database)" for a file that
 * is not SQLite, and "<path>: is a SQLite database but not an N-MAR run store (...)" for a
 * database of another application.
 */
SchemaState inspectSchema(SqliteDb& db);

/**
 * Throws Error "<path>: written by a newer nmar (schema vN, this build reads up to vM)" when
 * @p state is newer than this build.
 */
void checkSchemaNotNewer(const SqliteDb& db, const SchemaState& state);

/**
 * Brings the store to kSchemaVersion: creates it when empty, migrates it step by step when older,
 * in one IMMEDIATE transaction that re-reads the version first (another process may have migrated
 * meanwhile). Nothing is changed if a step fails (the Error names the file and the step).
 * Requires foreign keys to be off or the migration steps to be FK-safe (they are).
 */
void migrateSchema(SqliteDb& db);

/** Applies the pragmas every connection uses: foreign_keys=ON and busy_timeout=@p busyMs. */
void applyConnectionPragmas(SqliteDb& db, int busyMs);

}  // namespace nmar::core
