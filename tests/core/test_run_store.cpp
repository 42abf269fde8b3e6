// RunStore: round trips of every table, the writer thread's guarantees (order, flush, destruction,
// errors surfaced, backpressure, heartbeats), dead-run detection and the default store path.
#include <gtest/gtest.h>

#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <cmath>
#include <cstdlib>
#include <thread>

#include "store/process_liveness.h"
#include "store/run_store.h"
#include "store/sha256.h"
#include "store/store_path.h"
#include "test_store_support.h"
#include "util/build_info.h"
#include "util/error.h"

using namespace nmar::core;
using namespace nmar::core::testing;

namespace {

using Store = StoreTest;

NewRun newRun(const std::string& name, const std::string& kind = "sft") {
  NewRun r;
  r.name = name;
  r.kind = kind;
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

/** The pid of a process that has exited and been reaped. */
std::int64_t deadPid() {
  const pid_t child = ::fork();
  if (child == 0) ::_exit(0);
  int status = 0;
  ::waitpid(child, &status, 0);
  return child;
}

}  // namespace

TEST_F(Store, RunsRoundTrip) {
  RunStore store(path("runs.sqlite"));
  NewRun parent = newRun("base run");
  parent.config = {{"lr", 0.001}, {"model", {{"layers", 4}}}};
  parent.tags = {"zeta", "alpha"};
  parent.notes = "the baseline";
  const std::int64_t before = unixMillisNow();
  const std::int64_t a = store.createRun(parent);
  NewRun child = newRun("resumed", "grpo");
  child.parentId = a;
  const std::int64_t b = store.createRun(child);
  EXPECT_EQ(b, a + 1);

  RunInfo r = store.getRun(a);
  EXPECT_EQ(r.id, a);
  EXPECT_EQ(r.name, "base run");
  EXPECT_EQ(r.kind, "sft");
  EXPECT_EQ(r.status, RunStatus::kRunning);
  EXPECT_EQ(r.config, parent.config);
  EXPECT_EQ(r.codeRevision, buildInfo().gitRevision);
  EXPECT_EQ(r.host, thisHost());
  EXPECT_EQ(r.pid, ::getpid());
  EXPECT_GE(r.startedMs, before);
  EXPECT_LE(r.startedMs, unixMillisNow());
  EXPECT_TRUE(r.heartbeatMs.has_value());
  EXPECT_FALSE(r.finishedMs.has_value());
  EXPECT_FALSE(r.parentId.has_value());
  EXPECT_EQ(r.tags, (std::vector<std::string>{"alpha", "zeta"}));
  EXPECT_EQ(r.notes, "the baseline");
  EXPECT_EQ(store.getRun(b).parentId, a);

  store.finishRun(a, RunStatus::kFinished);
  store.finishRun(b, RunStatus::kCancelled, "stopped by the user");
  r = store.getRun(a);
  EXPECT_EQ(r.status, RunStatus::kFinished);
  ASSERT_TRUE(r.finishedMs.has_value());
  EXPECT_GE(*r.finishedMs, r.startedMs);
  EXPECT_EQ(store.getRun(b).status, RunStatus::kCancelled);
  EXPECT_EQ(store.getRun(b).endReason, "stopped by the user");
  EXPECT_EQ(toJson(store.getRun(b))["parent_id"], a);
  EXPECT_FALSE(store.findRun(999).has_value());
  EXPECT_NE(errorOf([&] { store.getRun(999); }).find("no run with id 999"), std::string::npos);
}

TEST_F(Store, MetricsRoundTripInOrderWithNaN) {
  RunStore store(path("runs.sqlite"));
  const std::int64_t a = store.createRun(newRun("a"));
  const std::int64_t b = store.createRun(newRun("b"));
  for (int step = 0; step < 100; ++step) {
    store.logMetrics(a, step,
                     {{"loss", 1.0 / (step + 1)}, {"lr", 0.1}, {"train/acc", step * 0.01}});
    store.logMetric(b, step * 2, "loss", step == 50 ? std::nan("") : -step);
  }
  store.logMetric(a, 7, "loss", 42.0);  // the same step again: the last value wins
  store.flush();

  EXPECT_EQ(store.metricKeys(a), (std::vector<std::string>{"loss", "lr", "train/acc"}));
  EXPECT_EQ(store.metricKeys(b), (std::vector<std::string>{"loss"}));
  const auto series = store.metricSeries({a, b}, {"loss", "train/acc"});
  ASSERT_EQ(series.size(), 4u);
  EXPECT_EQ(series[0].runId, a);
  EXPECT_EQ(series[0].key, "loss");
  ASSERT_EQ(series[0].points.size(), 100u);
  for (int step = 0; step < 100; ++step) {
    EXPECT_EQ(series[0].points[step].step, step);
    EXPECT_DOUBLE_EQ(series[0].points[step].value, step == 7 ? 42.0 : 1.0 / (step + 1));
    EXPECT_DOUBLE_EQ(series[1].points[step].value, step * 0.01);
  }
  EXPECT_EQ(series[2].runId, b);
  ASSERT_EQ(series[2].points.size(), 100u);
  EXPECT_EQ(series[2].points[10].step, 20);
  EXPECT_TRUE(std::isnan(series[2].points[50].value));
  EXPECT_EQ(series[2].points[51].value, -51);
  EXPECT_TRUE(series[3].points.empty());
  const std::int64_t now = unixMillisNow();
  EXPECT_LE(series[0].points.back().wallMs, now);
  EXPECT_GT(series[0].points.back().wallMs, now - 60000);

  // Incremental refresh: only steps after the given one.
  const auto tail = store.metricSeries({a}, {"lr"}, 96);
  ASSERT_EQ(tail[0].points.size(), 3u);
  EXPECT_EQ(tail[0].points[0].step, 97);

  const auto summaries = store.metricSummaries(a);
  ASSERT_EQ(summaries.size(), 3u);
  EXPECT_EQ(summaries[0].key, "loss");
  EXPECT_EQ(summaries[0].count, 100);
  EXPECT_EQ(summaries[0].last.step, 99);
  EXPECT_DOUBLE_EQ(summaries[0].last.value, 0.01);
}

TEST_F(Store, TracesAndTokenScoresRoundTrip) {
  RunStore store(path("runs.sqlite"));
  const std::int64_t run = store.createRun(newRun("grpo", "grpo"));
  Trace t0 = sampleTrace(0);
  t0.verdict = {{"correct", false}, {"answer", "41"}};
  std::vector<TokenScore> scores;
  for (int i = 0; i < static_cast<int>(t0.steps.size()); ++i)
    scores.push_back({i, t0.steps[i].token, 0.1 * i, i % 2 ? std::optional<double>() : -0.5,
                      t0.steps[i].logprob});
  store.addTrace(run, 3, t0, 1, scores);
  store.addTrace(run, 3, sampleTrace(1), 2);
  store.addTrace(run, 1, sampleTrace(2));
  TraceRecord manual;
  manual.runId = run;
  manual.step = 9;
  manual.prompt = "p";
  manual.output = "o";
  manual.trace = toJson(sampleTrace(3));
  store.addTrace(manual);
  store.flush();

  EXPECT_EQ(store.traceCount(run), 4);
  const auto all = store.traces(run);
  ASSERT_EQ(all.size(), 4u);
  EXPECT_EQ(all[0].step, 1);  // by step, then id
  EXPECT_EQ(all[1].step, 3);
  EXPECT_EQ(all[1].group, 1);
  EXPECT_EQ(all[2].group, 2);
  EXPECT_FALSE(all[0].group.has_value());
  EXPECT_EQ(all[1].prompt, "pr");
  EXPECT_EQ(all[1].output, "ab");
  EXPECT_EQ(all[1].verdict, t0.verdict);
  EXPECT_TRUE(all[2].verdict.is_null());
  EXPECT_TRUE(all[1].trace.is_null());  // listed without JSON
  EXPECT_EQ(all[3].prompt, "p");

  const auto atStep3 = store.traces(run, 3, true);
  ASSERT_EQ(atStep3.size(), 2u);
  EXPECT_EQ(atStep3[0].trace, toJson(t0));
  EXPECT_EQ(store.trace(atStep3[0].id), t0);
  EXPECT_EQ(store.trace(all[3].id), sampleTrace(3));

  const auto back = store.tokenScores(atStep3[0].id);
  ASSERT_EQ(back.size(), scores.size());
  for (std::size_t i = 0; i < scores.size(); ++i) {
    EXPECT_EQ(back[i].position, scores[i].position);
    EXPECT_EQ(back[i].token, scores[i].token);
    EXPECT_EQ(back[i].reward, scores[i].reward);
    EXPECT_EQ(back[i].advantage, scores[i].advantage);
    EXPECT_EQ(back[i].logprob, scores[i].logprob);
  }
  EXPECT_TRUE(store.tokenScores(atStep3[1].id).empty());
  EXPECT_NE(errorOf([&] { store.trace(12345); }).find("no trace with id 12345"), std::string::npos);
}

TEST_F(Store, ArtifactsRecordHashAndSize) {
  RunStore store(path("runs.sqlite"));
  const std::int64_t run = store.createRun(newRun("ckpt"));
  const std::string bytes(300000, 'x');
  writeBytes(path("model.safetensors"), bytes);
  store.addArtifact(run, "checkpoint", path("model.safetensors"));
  store.flush();
  const auto artifacts = store.artifacts(run);
  ASSERT_EQ(artifacts.size(), 1u);
  EXPECT_EQ(artifacts[0].runId, run);
  EXPECT_EQ(artifacts[0].kind, "checkpoint");
  EXPECT_EQ(artifacts[0].path, fs::absolute(path("model.safetensors")).lexically_normal().string());
  EXPECT_EQ(artifacts[0].sha256, sha256Hex(bytes));
  EXPECT_EQ(artifacts[0].bytes, 300000);
  EXPECT_GT(artifacts[0].createdMs, 0);
  const std::string missing = errorOf([&] { store.addArtifact(run, "x", path("absent.bin")); });
  EXPECT_NE(missing.find("absent.bin"), std::string::npos) << missing;
}

TEST_F(Store, TagsNotesAndCascadingDelete) {
  const fs::path db = path("runs.sqlite");
  RunStore store(db);
  const std::int64_t a = store.createRun(newRun("a"));
  NewRun forked = newRun("fork");
  forked.parentId = a;
  const std::int64_t b = store.createRun(forked);
  store.addTags(a, {"best", "paper"});
  store.addTags(a, {"best"});
  store.removeTags(a, {"paper", "never-there"});
  store.setNotes(a, "note text");
  EXPECT_EQ(store.getRun(a).tags, (std::vector<std::string>{"best"}));
  EXPECT_EQ(store.getRun(a).notes, "note text");
  EXPECT_NE(errorOf([&] { store.addTags(a, {"two words"}); }).find("invalid tag 'two words'"),
            std::string::npos);
  EXPECT_NE(errorOf([&] { store.setNotes(77, "x"); }).find("no run with id 77"), std::string::npos);

  store.logMetric(a, 0, "loss", 1.0);
  store.addTrace(a, 0, sampleTrace(), std::nullopt, {{0, 10, 1.0, 0.5, -0.1}});
  writeBytes(path("f.bin"), "abc");
  store.addArtifact(a, "file", path("f.bin"));
  store.flush();

  // A missing id deletes nothing.
  EXPECT_NE(errorOf([&] {
              store.deleteRuns({a, 99});
            }).find("no run with id 99"),
            std::string::npos);
  EXPECT_TRUE(store.findRun(a).has_value());
  store.deleteRuns({a});
  EXPECT_FALSE(store.findRun(a).has_value());
  for (const char* table : {"run_tags", "metrics", "traces", "token_scores", "artifacts"})
    EXPECT_EQ(sqlInt(db, std::string("SELECT count(*) FROM ") + table), 0) << table;
  EXPECT_FALSE(store.getRun(b).parentId.has_value());  // the fork stays, unlinked
}

TEST_F(Store, CreateRunValidatesItsInput) {
  RunStore store(path("runs.sqlite"));
  EXPECT_NE(errorOf([&] {
              store.createRun(newRun("x", "Bad Kind"));
            }).find("invalid run kind 'Bad Kind'"),
            std::string::npos);
  NewRun array = newRun("x");
  array.config = nlohmann::json::array({1, 2});
  EXPECT_NE(errorOf([&] { store.createRun(array); }).find("config must be a JSON object"),
            std::string::npos);
  NewRun orphan = newRun("x");
  orphan.parentId = 77;
  EXPECT_NE(errorOf([&] { store.createRun(orphan); }).find("parent run 77 does not exist"),
            std::string::npos);
  NewRun nullConfig = newRun("x");
  nullConfig.config = nullptr;
  EXPECT_EQ(store.getRun(store.createRun(nullConfig)).config, nlohmann::json::object());
  EXPECT_NE(errorOf([&] { store.finishRun(55, RunStatus::kFailed); }).find("no run with id 55"),
            std::string::npos);
  EXPECT_EQ(store.listRuns().size(), 1u);  // nothing half-created
}

TEST_F(Store, WriteErrorsAreReportedOnceAndNeverDropped) {
  std::vector<std::string> reported;
  std::mutex mutex;
  StoreOptions options;
  options.onWriteError = [&](const std::string& m) {
    std::lock_guard<std::mutex> lock(mutex);
    reported.push_back(m);
  };
  RunStore store(path("runs.sqlite"), options);
  const std::int64_t run = store.createRun(newRun("ok"));
  store.logMetric(run, 0, "loss", 1.0);
  store.logMetric(999, 0, "loss", 2.0);  // no such run
  store.logMetric(run, 1, "loss", 0.5);
  const std::string error = errorOf([&] { store.flush(); });
  EXPECT_NE(error.find("run 999, key 'loss', step 0"), std::string::npos) << error;
  EXPECT_NE(error.find("there is no run with this id"), std::string::npos) << error;
  EXPECT_NE(error.find("runs.sqlite"), std::string::npos) << error;
  EXPECT_NO_THROW(store.flush());                                       // reported once
  EXPECT_EQ(store.metricSeries({run}, {"loss"})[0].points.size(), 2u);  // the others are kept
  {
    std::lock_guard<std::mutex> lock(mutex);
    ASSERT_EQ(reported.size(), 1u);
    EXPECT_EQ(reported[0], error);
  }
  EXPECT_EQ(store.writerStats().lostRows, 1u);

  // A queued trace for a missing run: reported by the next log call.
  store.addTrace(4242, 0, sampleTrace());
  std::string next;
  for (int i = 0; i < 200 && next.empty(); ++i) {
    next = errorOf([&] { store.logMetric(run, 2 + i, "loss", 0.1); });
    if (next == "(no error)") next.clear();
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  EXPECT_NE(next.find("no run with id 4242"), std::string::npos) << next;
}

TEST_F(Store, ReadersSeeRowsWithinASecondWithoutAFlush) {
  const fs::path db = path("runs.sqlite");
  RunStore writer(db);
  const std::int64_t run = writer.createRun(newRun("live"));
  RunStore reader(db, [] {
    StoreOptions o;
    o.readOnly = true;
    return o;
  }());
  const auto start = std::chrono::steady_clock::now();
  writer.logMetric(run, 0, "loss", 1.0);
  double seenAfter = -1;
  while (std::chrono::steady_clock::now() - start < std::chrono::seconds(3)) {
    if (!reader.metricSeries({run}, {"loss"})[0].points.empty()) {
      seenAfter = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
      break;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  EXPECT_GE(seenAfter, 0.0) << "never visible";
  EXPECT_LT(seenAfter, 1.0);
}

TEST_F(Store, ClosingFlushesAndMarksUnfinishedRunsFailed) {
  const fs::path db = path("runs.sqlite");
  std::int64_t open = 0, done = 0;
  {
    RunStore store(db);
    open = store.createRun(newRun("left open"));
    done = store.createRun(newRun("done"));
    for (int i = 0; i < 1000; ++i) store.logMetric(open, i, "loss", i);
    store.addTrace(open, 0, sampleTrace());
    store.finishRun(done, RunStatus::kFinished);
  }  // no flush: destruction commits
  RunStore store(db);
  EXPECT_EQ(store.metricSeries({open}, {"loss"})[0].points.size(), 1000u);
  EXPECT_EQ(store.traceCount(open), 1);
  EXPECT_EQ(store.getRun(open).status, RunStatus::kFailed);
  EXPECT_EQ(store.getRun(open).endReason, "store closed before the run finished");
  EXPECT_EQ(store.getRun(done).status, RunStatus::kFinished);
}

TEST_F(Store, AResumedRunIsReopenedUnderItsId) {
  const fs::path db = path("runs.sqlite");
  std::int64_t run = 0;
  {
    RunStore store(db);
    run = store.createRun(newRun("resumable"));
    store.logMetric(run, 0, "loss", 2.0);
    store.finishRun(run, RunStatus::kCancelled, "interrupted");
  }
  StoreOptions options;
  options.heartbeatIntervalMs = 20;
  {
    RunStore store(db, options);
    store.reopenRun(run);
    RunInfo r = store.getRun(run);
    EXPECT_EQ(r.status, RunStatus::kRunning);
    EXPECT_EQ(r.endReason, "");
    EXPECT_FALSE(r.finishedMs.has_value());
    EXPECT_EQ(r.pid, ::getpid());
    store.logMetric(run, 1, "loss", 1.0);
    store.finishRun(run, RunStatus::kFinished);
    r = store.getRun(run);
    EXPECT_EQ(r.status, RunStatus::kFinished);
    EXPECT_EQ(store.metricSeries({run}, {"loss"})[0].points.size(), 2u);
    EXPECT_NE(errorOf([&] { store.reopenRun(404); }).find("no run with id 404"),
              std::string::npos);
  }
}

TEST_F(Store, BackpressureWithATinyQueueLosesNothing) {
  StoreOptions options;
  options.queueCapacity = 16;
  RunStore store(path("runs.sqlite"), options);
  const std::int64_t run = store.createRun(newRun("bp"));
  std::vector<std::thread> threads;
  for (int t = 0; t < 3; ++t)
    threads.emplace_back([&, t] {
      for (int i = 0; i < 3000; ++i)
        store.logMetrics(run, i, {{t == 0 ? "a" : t == 1 ? "b" : "c", double(i)}, {"shared", 1.0}});
    });
  for (auto& th : threads) th.join();
  store.flush();
  for (const char* key : {"a", "b", "c"})
    EXPECT_EQ(store.metricSeries({run}, {key})[0].points.size(), 3000u) << key;
  EXPECT_EQ(store.writerStats().committedRows, 18000u);
  EXPECT_EQ(store.writerStats().lostRows, 0u);
}

TEST_F(Store, HeartbeatsAdvanceWhileARunIsOpen) {
  StoreOptions options;
  options.heartbeatIntervalMs = 50;
  RunStore store(path("runs.sqlite"), options);
  const std::int64_t run = store.createRun(newRun("beat"));
  const std::int64_t first = *store.getRun(run).heartbeatMs;
  std::int64_t later = first;
  for (int i = 0; i < 100 && later == first; ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
    later = *store.getRun(run).heartbeatMs;
  }
  EXPECT_GT(later, first);
}

TEST_F(Store, RunsWhoseProcessDiedAreMarkedFailed) {
  const fs::path db = path("runs.sqlite");
  { RunStore store(db); }
  const std::int64_t now = unixMillisNow();
  {
    SqliteDb raw(db, OpenMode::kReadWrite);
    Statement s(raw,
                "INSERT INTO runs (name, kind, status, host, pid, started_ms, heartbeat_ms) "
                "VALUES (?, 'sft', 'running', ?, ?, ?, ?)");
    s.bind(1, "dead here")
        .bind(2, thisHost())
        .bind(3, deadPid())
        .bind(4, now - 5000)
        .bind(5, now - 1000)
        .run();
    s.bind(1, "alive here")
        .bind(2, thisHost())
        .bind(3, std::int64_t(::getppid()))
        .bind(4, now)
        .bind(5, now)
        .run();
    s.bind(1, "stale elsewhere")
        .bind(2, "other-host")
        .bind(3, 1)
        .bind(4, now - 900000)
        .bind(5, now - 600000)
        .run();
    s.bind(1, "fresh elsewhere").bind(2, "other-host").bind(3, 1).bind(4, now).bind(5, now).run();
  }
  RunStore store(db);  // opening marks them
  const auto byName = [&](const std::string& name) {
    RunFilter f;
    f.nameContains = name;
    return store.listRuns(f).at(0);
  };
  EXPECT_EQ(byName("dead here").status, RunStatus::kFailed);
  EXPECT_EQ(byName("dead here").endReason, "process died");
  EXPECT_EQ(byName("dead here").finishedMs, now - 1000);  // its last sign of life
  EXPECT_EQ(byName("alive here").status, RunStatus::kRunning);
  EXPECT_EQ(byName("stale elsewhere").status, RunStatus::kFailed);
  EXPECT_NE(byName("stale elsewhere").endReason.find("no heartbeat for 600 s"), std::string::npos);
  EXPECT_EQ(byName("fresh elsewhere").status, RunStatus::kRunning);

  // A run that dies while the store is open is found by listing.
  {
    SqliteDb raw(db, OpenMode::kReadWrite);
    Statement(raw,
              "INSERT INTO runs (name, kind, status, host, pid, started_ms) "
              "VALUES ('died later', 'sft', 'running', ?, ?, ?)")
        .bind(1, thisHost())
        .bind(2, deadPid())
        .bind(3, now)
        .run();
  }
  EXPECT_EQ(byName("died later").status, RunStatus::kFailed);
  EXPECT_EQ(store.markDeadRuns(), 0);
}

TEST_F(Store, ReadOnlyStoresQueryButRefuseWrites) {
  const fs::path db = path("runs.sqlite");
  std::int64_t run = 0;
  {
    RunStore store(db);
    run = store.createRun(newRun("r"));
    store.logMetric(run, 0, "loss", 1.5);
    store.finishRun(run, RunStatus::kFinished);
  }
  StoreOptions ro;
  ro.readOnly = true;
  RunStore store(db, ro);
  EXPECT_TRUE(store.readOnly());
  EXPECT_EQ(store.listRuns().size(), 1u);
  EXPECT_EQ(store.metricSeries({run}, {"loss"})[0].points.at(0).value, 1.5);
  EXPECT_NE(errorOf([&] { store.logMetric(run, 1, "loss", 1.0); }).find("opened read-only"),
            std::string::npos);
  EXPECT_NE(errorOf([&] { store.createRun(newRun("x")); }).find("opened read-only"),
            std::string::npos);
  EXPECT_NE(errorOf([&] { RunStore missing(path("absent.sqlite"), ro); }).find("no run store here"),
            std::string::npos);
}

TEST(StorePath, DefaultFollowsNmarStoreThenXdgThenHome) {
  const auto keep = [](const char* name) {
    const char* v = std::getenv(name);
    return v ? std::optional<std::string>(v) : std::nullopt;
  };
  const auto store = keep("NMAR_STORE"), xdg = keep("XDG_DATA_HOME"), home = keep("HOME");
  ::setenv("NMAR_STORE", "/tmp/x/runs.sqlite", 1);
  ::setenv("XDG_DATA_HOME", "/data", 1);
  ::setenv("HOME", "/home/u", 1);
  EXPECT_EQ(defaultStorePath(), fs::path("/tmp/x/runs.sqlite"));
  ::unsetenv("NMAR_STORE");
  EXPECT_EQ(defaultStorePath(), fs::path("/data/nmar/runs.sqlite"));
  ::setenv("XDG_DATA_HOME", "relative", 1);  // ignored, as the XDG spec says
  EXPECT_EQ(defaultStorePath(), fs::path("/home/u/.local/share/nmar/runs.sqlite"));
  ::unsetenv("XDG_DATA_HOME");
  ::unsetenv("HOME");
  EXPECT_THROW(defaultStorePath(), Error);
  const auto restore = [](const char* name, const std::optional<std::string>& v) {
    if (v)
      ::setenv(name, v->c_str(), 1);
    else
      ::unsetenv(name);
  };
  restore("NMAR_STORE", store);
  restore("XDG_DATA_HOME", xdg);
  restore("HOME", home);
}

TEST(StoreRecords, StatusKindAndConditionParsing) {
  EXPECT_EQ(parseRunStatus("cancelled", "x"), RunStatus::kCancelled);
  EXPECT_THROW(parseRunStatus("crashed", "x"), Error);
  EXPECT_NO_THROW(validateRunKind("grpo-v2_b", "x"));
  EXPECT_THROW(validateRunKind("", "x"), Error);
  EXPECT_THROW(validateRunKind("SFT", "x"), Error);
  EXPECT_EQ(parseConfigCondition("sampler.top_k=5", "w"),
            (std::pair<std::string, nlohmann::json>{"$.sampler.top_k", 5}));
  EXPECT_EQ(parseConfigCondition("$.a[0]=true", "w").second, true);
  EXPECT_EQ(parseConfigCondition("name=gpt2", "w").second, "gpt2");
  EXPECT_EQ(parseConfigCondition("name=\"7\"", "w").second, "7");
  EXPECT_EQ(parseConfigCondition("obj={\"a\":1}", "w").second, "{\"a\":1}");
  EXPECT_TRUE(parseConfigCondition("x=null", "w").second.is_null());
  EXPECT_THROW(parseConfigCondition("novalue", "--where"), Error);
  EXPECT_THROW(parseConfigCondition("=3", "--where"), Error);
}
