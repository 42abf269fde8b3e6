// Run store schema: a fresh store, forward migrations from every earlier version (v0: an empty
// file, v1: written by hand with the v1 DDL), and migrations that fail leave the store as it was.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <vector>

#include "store/run_store.h"
#include "store/schema.h"
#include "test_store_support.h"
#include "trace/trace_io.h"
#include "util/error.h"

using namespace nmar::core;
using namespace nmar::core::testing;

namespace {

/** Every table and index definition, sorted, for comparing two schemas. */
std::vector<std::string> schemaOf(const fs::path& db) {
  SqliteDb c(db, OpenMode::kReadOnly);
  Statement s(c,
              "SELECT type || ' ' || name || ': ' || COALESCE(sql, '') FROM sqlite_schema "
              "WHERE name NOT LIKE 'sqlite_%' ORDER BY type, name");
  std::vector<std::string> out;
  while (s.step()) out.push_back(s.columnText(0));
  return out;
}

/** Column names of @p table in order. */
std::vector<std::string> columnsOf(const fs::path& db, const std::string& table) {
  SqliteDb c(db, OpenMode::kReadOnly);
  Statement s(c, "SELECT name FROM pragma_table_info(?) ORDER BY cid");
  s.bind(1, table);
  std::vector<std::string> out;
  while (s.step()) out.push_back(s.columnText(0));
  return out;
}

using Schema = StoreTest;

}  // namespace

TEST_F(Schema, FreshStoreHasTheCurrentSchemaInWalMode) {
  const fs::path db = path("runs.sqlite");
  { RunStore store(db); }
  EXPECT_EQ(sqlInt(db, "PRAGMA user_version"), kSchemaVersion);
  EXPECT_EQ(sqlInt(db, "PRAGMA application_id"), kStoreApplicationId);
  EXPECT_EQ(sqlText(db, "PRAGMA journal_mode"), "wal");
  for (const char* table :
       {"runs", "run_tags", "metric_keys", "metrics", "traces", "token_scores", "artifacts"})
    EXPECT_EQ(sqlInt(db, std::string("SELECT count(*) FROM sqlite_schema WHERE type = 'table' "
                                     "AND name = '") +
                             table + "'"),
              1)
        << table;
  EXPECT_EQ(columnsOf(db, "metrics"),
            (std::vector<std::string>{"run_id", "key_id", "step", "value", "wall_ms"}));
  const auto runs = columnsOf(db, "runs");
  EXPECT_NE(std::find(runs.begin(), runs.end(), "end_reason"), runs.end());
  // Reopening changes nothing.
  const auto before = schemaOf(db);
  { RunStore store(db); }
  EXPECT_EQ(schemaOf(db), before);
}

TEST_F(Schema, AnEmptyFileBecomesAStore) {
  const fs::path db = path("empty.sqlite");
  writeBytes(db, "");
  { RunStore store(db); }
  EXPECT_EQ(sqlInt(db, "PRAGMA user_version"), kSchemaVersion);
}

TEST_F(Schema, MigratesFromV1KeepingEveryRow) {
  const fs::path db = path("v1.sqlite");
  const Trace trace = sampleTrace(7);
  writeV1Store(db, traceToJsonLine(trace));
  ASSERT_EQ(sqlInt(db, "PRAGMA user_version"), 1);
  {
    RunStore store(db);
    EXPECT_EQ(sqlInt(db, "PRAGMA user_version"), kSchemaVersion);

    const RunInfo base = store.getRun(1);
    EXPECT_EQ(base.name, "base");
    EXPECT_EQ(base.kind, "sft");
    EXPECT_EQ(base.status, RunStatus::kFinished);
    EXPECT_EQ(base.endReason, "");
    EXPECT_EQ(base.config, nlohmann::json({{"lr", 0.1}}));
    EXPECT_EQ(base.codeRevision, "abc123");
    EXPECT_EQ(base.host, "h1");
    EXPECT_EQ(base.pid, 11);
    EXPECT_EQ(base.startedMs, 1000);
    EXPECT_EQ(base.finishedMs, 2000);
    EXPECT_EQ(base.heartbeatMs, 1900);
    EXPECT_EQ(base.notes, "first");
    EXPECT_EQ(base.tags, (std::vector<std::string>{"a", "b"}));
    const RunInfo fork = store.getRun(2);
    EXPECT_EQ(fork.status, RunStatus::kFailed);
    EXPECT_EQ(fork.parentId, 1);

    // Metrics moved to interned keys; the step logged twice keeps its last value.
    EXPECT_EQ(store.metricKeys(1), (std::vector<std::string>{"acc", "loss"}));
    const auto series = store.metricSeries({1, 2}, {"loss", "acc"});
    ASSERT_EQ(series.size(), 4u);
    ASSERT_EQ(series[0].points.size(), 3u);
    EXPECT_EQ(series[0].points[0].value, 1.0);
    EXPECT_EQ(series[0].points[1].value, 0.8);
    EXPECT_EQ(series[0].points[1].wallMs, 1250);
    EXPECT_EQ(series[0].points[2].step, 2);
    ASSERT_EQ(series[1].points.size(), 1u);
    EXPECT_EQ(series[1].points[0].value, 0.5);
    ASSERT_EQ(series[2].points.size(), 1u);
    EXPECT_EQ(series[2].points[0].value, 2.0);
    EXPECT_TRUE(series[3].points.empty());

    const auto traces = store.traces(2);
    ASSERT_EQ(traces.size(), 1u);
    EXPECT_EQ(traces[0].step, 5);
    EXPECT_EQ(traces[0].group, 0);
    EXPECT_EQ(traces[0].verdict, nlohmann::json({{"correct", true}}));
    EXPECT_EQ(store.trace(traces[0].id), trace);
    const auto scores = store.tokenScores(traces[0].id);
    ASSERT_EQ(scores.size(), 2u);
    EXPECT_EQ(scores[0].reward, 0.5);
    EXPECT_EQ(scores[0].advantage, 0.25);
    EXPECT_FALSE(scores[1].reward.has_value());
    EXPECT_EQ(scores[1].logprob, -0.75);
    const auto artifacts = store.artifacts(1);
    ASSERT_EQ(artifacts.size(), 1u);
    EXPECT_EQ(artifacts[0].path, "/ckpt/step-2");
    EXPECT_EQ(artifacts[0].bytes, 42);

    // The migrated store takes new rows under the old keys and new ones.
    store.logMetrics(1, 3, {{"loss", 0.6}, {"grad_norm", 3.0}});
    const std::int64_t run = store.createRun({"after", "eval", {}, 2, {"a"}, ""});
    EXPECT_EQ(run, 3);
    store.flush();
    EXPECT_EQ(store.metricSeries({1}, {"loss"})[0].points.size(), 4u);
    RunFilter tagged;
    tagged.tag = "a";
    EXPECT_EQ(store.listRuns(tagged).size(), 2u);
  }
  EXPECT_EQ(sqlText(db, "PRAGMA integrity_check"), "ok");
  EXPECT_EQ(sqlInt(db, "SELECT count(*) FROM pragma_foreign_key_check"), 0);
}

TEST_F(Schema, AMigratedStoreHasExactlyTheFreshSchema) {
  const fs::path fresh = path("fresh.sqlite"), old = path("old.sqlite");
  { RunStore store(fresh); }
  writeV1Store(old, traceToJsonLine(sampleTrace()));
  { RunStore store(old); }
  EXPECT_EQ(schemaOf(old), schemaOf(fresh));
}

TEST_F(Schema, AFailedMigrationChangesNothing) {
  // A v1 file that already holds a table the v1 -> v2 step creates: the step fails midway.
  const fs::path db = path("blocked.sqlite");
  writeV1Store(db, traceToJsonLine(sampleTrace()));
  { SqliteDb(db, OpenMode::kReadWrite).exec("CREATE TABLE metric_keys (x INTEGER)"); }
  const auto before = schemaOf(db);
  try {
    RunStore store(db);
    FAIL() << "expected an Error";
  } catch (const Error& e) {
    const std::string what = e.what();
    EXPECT_NE(what.find(db.string()), std::string::npos) << what;
    EXPECT_NE(what.find("migrating the run store from schema v1 to v2"), std::string::npos) << what;
  }
  EXPECT_EQ(sqlInt(db, "PRAGMA user_version"), 1);
  EXPECT_EQ(schemaOf(db), before);
  EXPECT_EQ(sqlInt(db, "SELECT count(*) FROM metrics"), 6);
}

TEST_F(Schema, InspectReportsStateWithoutWriting) {
  const fs::path db = path("v1.sqlite");
  writeV1Store(db, traceToJsonLine(sampleTrace()));
  const std::string bytes = fileBytes(db);
  SqliteDb c(db, OpenMode::kReadWrite);
  const SchemaState s = inspectSchema(c);
  EXPECT_EQ(s.version, 1);
  EXPECT_TRUE(s.isRunStore);
  EXPECT_FALSE(s.empty);
  EXPECT_NO_THROW(checkSchemaNotNewer(c, s));
  EXPECT_EQ(fileBytes(db), bytes);
}
