// Run store import (merging another store: new ids, remapped parents, one transaction) and export
// (metrics as CSV and JSON, traces as JSONL).
#include <gtest/gtest.h>

#include <cmath>

#include "store/run_export.h"
#include "store/run_store.h"
#include "test_store_support.h"
#include "trace/trace_io.h"
#include "util/error.h"

using namespace nmar::core;
using namespace nmar::core::testing;

namespace {

using ImportExport = StoreTest;

NewRun newRun(const std::string& name, std::optional<std::int64_t> parent = std::nullopt) {
  NewRun r;
  r.name = name;
  r.kind = "sft";
  r.config = {{"name", name}};
  r.parentId = parent;
  return r;
}

template <typename F>
std::string errorOf(F&& f) {
  try {
    f();
  } catch (const Error& e) {
    return e.what();
  }
  return "(no error)";
}

/** A source store: runs A, B (fork of A), C; tags, metrics, traces with scores, an artifact. */
void writeSource(const fs::path& db, const fs::path& artifact) {
  RunStore s(db);
  const std::int64_t a = s.createRun(newRun("A"));
  const std::int64_t b = s.createRun(newRun("B", a));
  const std::int64_t c = s.createRun(newRun("C"));
  s.addTags(a, {"imported", "x"});
  s.addTags(c, {"imported"});
  for (int step = 0; step < 10; ++step) {
    s.logMetrics(a, step, {{"loss", 10.0 - step}, {"reward", step * 0.5}});
    s.logMetric(b, step, "loss", 5.0 - step);
  }
  s.addTrace(b, 4, sampleTrace(1), 0, {{0, 10, 1.0, 0.5, -0.5}, {1, 11, 0.0, -0.5, -0.75}});
  s.addTrace(c, 0, sampleTrace(2));
  writeBytes(artifact, "weights");
  s.addArtifact(a, "checkpoint", artifact);
  s.finishRun(a, RunStatus::kFinished);
  s.finishRun(b, RunStatus::kFailed, "diverged");
  s.finishRun(c, RunStatus::kCancelled);
}

}  // namespace

TEST_F(ImportExport, ImportMergesWithNewIdsAndRemappedParents) {
  const fs::path src = path("other.sqlite"), dst = path("runs.sqlite");
  writeSource(src, path("w.bin"));
  const std::string srcBytes = fileBytes(src);
  RunStore store(dst);
  const std::int64_t mine = store.createRun(newRun("mine"));
  store.logMetric(mine, 0, "loss", 99.0);
  store.addTrace(mine, 0, sampleTrace(9));
  store.finishRun(mine, RunStatus::kFinished);

  const ImportReport report = store.importFrom(src);
  EXPECT_EQ(report.runIds, (std::vector<std::int64_t>{2, 3, 4}));
  EXPECT_EQ(report.tags, 3);
  EXPECT_EQ(report.metrics, 30);
  EXPECT_EQ(report.traces, 2);
  EXPECT_EQ(report.tokenScores, 2);
  EXPECT_EQ(report.artifacts, 1);
  EXPECT_EQ(fileBytes(src), srcBytes);  // the source is not modified

  const RunInfo a = store.getRun(2), b = store.getRun(3), c = store.getRun(4);
  EXPECT_EQ(a.name, "A");
  EXPECT_EQ(a.tags, (std::vector<std::string>{"imported", "x"}));
  EXPECT_EQ(a.status, RunStatus::kFinished);
  EXPECT_EQ(b.parentId, 2);
  EXPECT_EQ(b.endReason, "diverged");
  EXPECT_EQ(c.status, RunStatus::kCancelled);
  EXPECT_EQ(c.config, nlohmann::json({{"name", "C"}}));
  EXPECT_EQ(store.metricKeys(2), (std::vector<std::string>{"loss", "reward"}));
  const auto series = store.metricSeries({2, 3, 1}, {"loss"});
  EXPECT_EQ(series[0].points.size(), 10u);
  EXPECT_EQ(series[0].points[3].value, 7.0);
  EXPECT_EQ(series[1].points[9].value, -4.0);
  EXPECT_EQ(series[2].points.size(), 1u);  // the existing run is untouched
  const auto traces = store.traces(3, std::nullopt, true);
  ASSERT_EQ(traces.size(), 1u);
  EXPECT_EQ(traces[0].step, 4);
  EXPECT_EQ(store.trace(traces[0].id), sampleTrace(1));
  const auto scores = store.tokenScores(traces[0].id);
  ASSERT_EQ(scores.size(), 2u);
  EXPECT_EQ(scores[1].advantage, -0.5);
  EXPECT_EQ(store.trace(store.traces(1)[0].id), sampleTrace(9));
  ASSERT_EQ(store.artifacts(2).size(), 1u);
  EXPECT_EQ(store.artifacts(2)[0].bytes, 7);

  // Importing again copies again, under fresh ids; new runs continue after them.
  EXPECT_EQ(store.importFrom(src).runIds, (std::vector<std::int64_t>{5, 6, 7}));
  EXPECT_EQ(store.getRun(6).parentId, 5);
  EXPECT_EQ(store.createRun(newRun("next")), 8);
  EXPECT_EQ(sqlInt(dst, "SELECT count(*) FROM pragma_foreign_key_check"), 0);
}

TEST_F(ImportExport, MetricsOnlyImportLeavesTracesScoresAndArtifactsBehind) {
  const fs::path src = path("other.sqlite"), dst = path("slim.sqlite");
  writeSource(src, path("w.bin"));
  RunStore store(dst);
  const ImportReport r = store.importFrom(src, ImportContent::kMetricsOnly);
  EXPECT_EQ(r.runIds, (std::vector<std::int64_t>{1, 2, 3}));
  EXPECT_EQ(r.tags, 3);
  EXPECT_EQ(r.metrics, 30);
  EXPECT_EQ(r.traces, 0);
  EXPECT_EQ(r.tokenScores, 0);
  EXPECT_EQ(r.artifacts, 0);
  EXPECT_EQ(store.getRun(2).parentId, 1);
  EXPECT_EQ(store.getRun(2).endReason, "diverged");
  EXPECT_EQ(store.getRun(1).tags, (std::vector<std::string>{"imported", "x"}));
  EXPECT_EQ(store.metricSeries({1}, {"reward"})[0].points[4].value, 2.0);
  EXPECT_TRUE(store.traces(2).empty());
  EXPECT_TRUE(store.artifacts(1).empty());
  EXPECT_EQ(sqlInt(dst, "SELECT count(*) FROM token_scores"), 0);
  // A full import afterwards still brings the traces, under the next ids.
  const ImportReport full = store.importFrom(src);
  EXPECT_EQ(full.runIds, (std::vector<std::int64_t>{4, 5, 6}));
  EXPECT_EQ(full.traces, 2);
  EXPECT_EQ(store.traces(5).size(), 1u);
}

TEST_F(ImportExport, ImportsAnOlderSchemaWithoutChangingIt) {
  const fs::path src = path("v1.sqlite"), dst = path("runs.sqlite");
  writeV1Store(src, traceToJsonLine(sampleTrace(4)));
  const std::string bytes = fileBytes(src);
  RunStore store(dst);
  const ImportReport r = store.importFrom(src);
  EXPECT_EQ(r.runIds, (std::vector<std::int64_t>{1, 2}));
  EXPECT_EQ(r.metrics, 5);  // the v1 duplicate step is merged
  EXPECT_EQ(store.getRun(2).parentId, 1);
  EXPECT_EQ(store.metricSeries({1}, {"loss"})[0].points[1].value, 0.8);
  EXPECT_EQ(store.trace(store.traces(2)[0].id), sampleTrace(4));
  EXPECT_EQ(fileBytes(src), bytes);
  EXPECT_EQ(sqlInt(src, "PRAGMA user_version"), 1);
}

TEST_F(ImportExport, ImportRefusesBadSourcesAndChangesNothing) {
  const fs::path dst = path("runs.sqlite");
  RunStore store(dst);
  store.createRun(newRun("mine"));
  writeBytes(path("text.sqlite"), "not a database at all, just some text");
  EXPECT_EQ(errorOf([&] { store.importFrom(path("text.sqlite")); }),
            path("text.sqlite").string() + ": is not an N-MAR run store (not a SQLite database)");
  writeV1Store(path("future.sqlite"), traceToJsonLine(sampleTrace()));
  { SqliteDb(path("future.sqlite"), OpenMode::kReadWrite).exec("PRAGMA user_version = 9"); }
  EXPECT_NE(errorOf([&] {
              store.importFrom(path("future.sqlite"));
            }).find(path("future.sqlite").string() + ": written by a newer nmar (schema v9"),
            std::string::npos);
  EXPECT_NE(errorOf([&] {
              store.importFrom(path("absent.sqlite"));
            }).find(path("absent.sqlite").string() + ": no such file"),
            std::string::npos);
  EXPECT_NE(errorOf([&] { store.importFrom(dst); }).find("into itself"), std::string::npos);
  EXPECT_EQ(store.listRuns().size(), 1u);
}

TEST_F(ImportExport, AnImportThatDoesNotFitChangesNothing) {
  const fs::path src = path("big.sqlite"), dst = path("small.sqlite");
  {
    RunStore s(src);
    const std::int64_t run = s.createRun(newRun("big"));
    for (int step = 0; step < 20000; ++step) s.logMetrics(run, step, {{"a", 1.0}, {"b", 2.0}});
    s.finishRun(run, RunStatus::kFinished);
  }
  StoreOptions small;
  small.maxPageCount = 64;
  RunStore store(dst, small);
  store.createRun(newRun("mine"));
  const std::string e = errorOf([&] { store.importFrom(src); });
  EXPECT_NE(e.find("database or disk is full"), std::string::npos) << e;
  EXPECT_EQ(store.listRuns().size(), 1u);
  EXPECT_EQ(sqlInt(dst, "SELECT count(*) FROM metrics"), 0);
}

TEST_F(ImportExport, ExportsMetricsAsCsvAndJson) {
  RunStore store(path("runs.sqlite"));
  const std::int64_t run = store.createRun(newRun("exp"));
  store.logMetrics(run, 0, {{"loss", 1.5}, {"a,b \"q\"", 2.0}});
  store.logMetrics(run, 1, {{"loss", std::nan("")}});
  store.flush();
  const auto wall = [&](const std::string& key, int i) {
    return std::to_string(store.metricSeries({run}, {key})[0].points[i].wallMs);
  };
  EXPECT_EQ(exportMetrics(store, run, path("m.csv")), 3);
  EXPECT_EQ(fileBytes(path("m.csv")),
            "run_id,key,step,value,wall_ms\n"
            "1,\"a,b \"\"q\"\"\",0,2," +
                wall("a,b \"q\"", 0) +
                "\n"
                "1,loss,0,1.5," +
                wall("loss", 0) +
                "\n"
                "1,loss,1,," +
                wall("loss", 1) + "\n");
  EXPECT_EQ(exportMetrics(store, run, path("m.json")), 3);
  const auto j = nlohmann::json::parse(fileBytes(path("m.json")));
  EXPECT_EQ(j["run"]["id"], run);
  EXPECT_EQ(j["run"]["name"], "exp");
  EXPECT_EQ(j["metrics"]["loss"]["step"], nlohmann::json({0, 1}));
  EXPECT_EQ(j["metrics"]["loss"]["value"], nlohmann::json({1.5, nullptr}));
  EXPECT_EQ(j["metrics"]["loss"]["wall_ms"].size(), 2u);

  EXPECT_NE(
      errorOf([&] { exportMetrics(store, run, path("m.txt")); }).find("expected a .csv or .json"),
      std::string::npos);
  EXPECT_NE(errorOf([&] { exportMetrics(store, run, path("nofolder/m.csv")); }).find("nofolder"),
            std::string::npos);
  EXPECT_NE(errorOf([&] { exportMetrics(store, 42, path("x.csv")); }).find("no run with id 42"),
            std::string::npos);
  EXPECT_FALSE(fs::exists(path("x.csv")));
}

TEST_F(ImportExport, ExportsTracesAsReplayableJsonl) {
  RunStore store(path("runs.sqlite"));
  const std::int64_t run = store.createRun(newRun("t"));
  store.addTrace(run, 2, sampleTrace(2));
  store.addTrace(run, 1, sampleTrace(1));
  store.flush();
  EXPECT_EQ(exportTraces(store, run, path("t.jsonl")), 2);
  const std::vector<Trace> back = readTraces(path("t.jsonl"));  // validates every line
  ASSERT_EQ(back.size(), 2u);
  EXPECT_EQ(back[0], sampleTrace(1));
  EXPECT_EQ(back[1], sampleTrace(2));
  EXPECT_NE(errorOf([&] { exportTraces(store, run, path("t.json")); }).find("expected a .jsonl"),
            std::string::npos);
}
