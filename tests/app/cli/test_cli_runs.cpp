// Drives the real `nmar` binary: the run store commands and decode --store, with bad stores.
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>
#include <torch/torch.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "checkpoint/safetensors.h"
#include "cli_test_support.h"
#include "model/pretrained.h"
#include "nmar/stack_machine.h"
#include "store/run_store.h"
#include "store/sha256.h"
#include "trace/trace_io.h"

namespace fs = std::filesystem;
using namespace nmar::core;
using namespace nmar::testing;

namespace {

/** A store with run 1 "baseline" (sft, finished, tag base, metrics, a trace, an artifact) and
 *  run 2 "sweep lr" (grpo, failed, fork of 1, config lr 0.1). */
void writeRunsStore(const std::string& file, const std::string& artifact) {
  RunStore store(file);
  NewRun a;
  a.name = "baseline";
  a.kind = "sft";
  a.config = {{"lr", 0.01}, {"model", {{"family", "llama"}}}};
  a.tags = {"base"};
  const std::int64_t one = store.createRun(a);
  NewRun b;
  b.name = "sweep lr";
  b.kind = "grpo";
  b.config = {{"lr", 0.1}};
  b.parentId = one;
  const std::int64_t two = store.createRun(b);
  for (int step = 0; step < 5; ++step)
    store.logMetrics(one, step, {{"loss", 5.0 - step}, {"acc", 0.1 * step}});
  Trace t;
  t.model = "m";
  t.tokenizer = "tok";
  t.promptIds = {1, 2};
  t.undoId = 9;
  t.steps = stepsFromSequence({1, 2, 5, 9, 6}, 2, 9);
  t.outputIds = {6};
  store.addTrace(one, 4, t);
  std::ofstream(artifact) << "weights";
  store.addArtifact(one, "checkpoint", artifact);
  store.finishRun(one, RunStatus::kFinished);
  store.finishRun(two, RunStatus::kFailed, "diverged");
}

}  // namespace

TEST_F(Cli, RunsListShowTagNoteAndDelete) {
  const std::string db = path("runs.sqlite");
  writeRunsStore(db, path("w.bin"));
  const std::string s = " --store " + db;

  const Result list = run("runs list" + s);
  ASSERT_EQ(list.code, 0) << list.out;
  EXPECT_NE(list.out.find("baseline [base]"), std::string::npos) << list.out;
  EXPECT_NE(list.out.find("sweep lr"), std::string::npos) << list.out;
  EXPECT_NE(list.out.find("finished"), std::string::npos) << list.out;
  const auto names = [&](const std::string& filter) {
    const Result r = run("runs list --json" + s + " " + filter);
    EXPECT_EQ(r.code, 0) << filter << "\n" << r.out;
    std::vector<std::string> out;
    for (const auto& j : nlohmann::json::parse(r.out)) out.push_back(j["name"]);
    return out;
  };
  using Names = std::vector<std::string>;
  EXPECT_EQ(names(""), (Names{"baseline", "sweep lr"}));
  EXPECT_EQ(names("--kind grpo"), (Names{"sweep lr"}));
  EXPECT_EQ(names("--status finished"), (Names{"baseline"}));
  EXPECT_EQ(names("--tag base"), (Names{"baseline"}));
  EXPECT_EQ(names("--name sweep"), (Names{"sweep lr"}));
  EXPECT_EQ(names("--where lr=0.1"), (Names{"sweep lr"}));
  EXPECT_EQ(names("--where model.family=llama --kind sft"), (Names{"baseline"}));
  EXPECT_TRUE(names("--where lr=0.5").empty());
  EXPECT_NE(run("runs list" + s + " --status crashed").code, 0);
  EXPECT_NE(run("runs list" + s + " --where nokey").out.find("expected key=value"),
            std::string::npos);

  const Result show = run("runs show 1" + s);
  ASSERT_EQ(show.code, 0) << show.out;
  for (const char* part :
       {"run 1: baseline", "status    finished", "\"family\": \"llama\"", "metrics (2 keys)",
        "loss", "last 1 at step 4 (5 values)", "checkpoint", "sha256 ", "traces    1"})
    EXPECT_NE(show.out.find(part), std::string::npos) << part << "\n" << show.out;
  const Result show2 = run("runs show 2 --json" + s);
  ASSERT_EQ(show2.code, 0) << show2.out;
  const auto j = nlohmann::json::parse(show2.out);
  EXPECT_EQ(j["run"]["status"], "failed");
  EXPECT_EQ(j["run"]["end_reason"], "diverged");
  EXPECT_EQ(j["run"]["parent_id"], 1);
  EXPECT_EQ(j["traces"], 0);

  const Result tag = run("runs tag 2 best paper" + s);
  ASSERT_EQ(tag.code, 0) << tag.out;
  EXPECT_NE(tag.out.find("run 2 tags: best, paper"), std::string::npos) << tag.out;
  EXPECT_EQ(run("runs tag 2 paper --remove" + s).code, 0);
  EXPECT_EQ(names("--tag best"), (Names{"sweep lr"}));
  EXPECT_TRUE(names("--tag paper").empty());
  EXPECT_EQ(run("runs note 2 'lr too high'" + s).code, 0);
  EXPECT_NE(run("runs show 2" + s).out.find("notes     lr too high"), std::string::npos);

  const Result refused = run("runs delete 2" + s + " < /dev/null");
  EXPECT_EQ(refused.code, 1);
  EXPECT_NE(refused.out.find("without --yes"), std::string::npos) << refused.out;
  EXPECT_EQ(names("").size(), 2u);
  const Result missing = run("runs delete 2 7 --yes" + s);
  EXPECT_EQ(missing.code, 1);
  EXPECT_NE(missing.out.find("no run with id 7"), std::string::npos) << missing.out;
  EXPECT_EQ(names("").size(), 2u);
  const Result del = run("runs delete 2 --yes" + s);
  ASSERT_EQ(del.code, 0) << del.out;
  EXPECT_EQ(names(""), (Names{"baseline"}));
  const Result gone = run("runs show 2" + s);
  EXPECT_EQ(gone.code, 1);
  EXPECT_NE(gone.out.find("no run with id 2"), std::string::npos) << gone.out;
  EXPECT_NE(run("runs show x" + s).out.find("'x' is not a run id"), std::string::npos);
}

TEST_F(Cli, RunsExportMetricsAndTraces) {
  const std::string db = path("runs.sqlite");
  writeRunsStore(db, path("w.bin"));
  const std::string s = " --store " + db;
  const Result r =
      run("runs export 1 --metrics " + path("m.csv") + " --traces " + path("t.jsonl") + s);
  ASSERT_EQ(r.code, 0) << r.out;
  EXPECT_NE(r.out.find("wrote 10 metric values to " + path("m.csv")), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("wrote 1 traces to " + path("t.jsonl")), std::string::npos) << r.out;
  const std::string csv = fileText(path("m.csv"));
  EXPECT_EQ(csv.rfind("run_id,key,step,value,wall_ms\n1,acc,0,0,", 0), 0u) << csv;
  EXPECT_EQ(std::count(csv.begin(), csv.end(), '\n'), 11);
  EXPECT_EQ(run("replay " + path("t.jsonl") + " --plain").code, 0);  // replayable
  ASSERT_EQ(run("runs export 1 --metrics " + path("m.json") + s).code, 0);
  const auto j = nlohmann::json::parse(fileText(path("m.json")));
  EXPECT_EQ(j["metrics"]["loss"]["value"], nlohmann::json({5.0, 4.0, 3.0, 2.0, 1.0}));
  EXPECT_EQ(j["run"]["name"], "baseline");
  const Result bad = run("runs export 1 --metrics " + path("m.txt") + s);
  EXPECT_EQ(bad.code, 1);
  EXPECT_NE(bad.out.find("expected a .csv or .json file"), std::string::npos) << bad.out;
  EXPECT_NE(run("runs export 1" + s).code, 0);  // nothing to export
}

TEST_F(Cli, RunsImportMergesAnotherStore) {
  const std::string mine = path("mine.sqlite"), other = path("other.sqlite");
  {
    RunStore store(mine);
    NewRun r;
    r.name = "local";
    r.kind = "eval";
    store.finishRun(store.createRun(r), RunStatus::kFinished);
  }
  writeRunsStore(other, path("w.bin"));
  const Result r = run("runs import " + other + " --store " + mine);
  ASSERT_EQ(r.code, 0) << r.out;
  EXPECT_NE(r.out.find("imported 2 runs (new ids 2..3), 10 metric values, 1 traces"),
            std::string::npos)
      << r.out;
  const Result show = run("runs show 3 --json --store " + mine);
  ASSERT_EQ(show.code, 0) << show.out;
  EXPECT_EQ(nlohmann::json::parse(show.out)["run"]["parent_id"], 2);
  EXPECT_EQ(nlohmann::json::parse(run("runs list --json --store " + mine).out).size(), 3u);
  const std::string slim = path("slim.sqlite");
  const Result m = run("runs import " + other + " --metrics-only --store " + slim);
  ASSERT_EQ(m.code, 0) << m.out;
  EXPECT_NE(m.out.find("imported 2 runs (new ids 1..2), 10 metric values, 0 traces, 0 token "
                       "scores, 0 artifacts"),
            std::string::npos)
      << m.out;
  EXPECT_NE(run("runs show 2 --store " + slim).out.find("traces    0"), std::string::npos);
  const Result self = run("runs import " + mine + " --store " + mine);
  EXPECT_EQ(self.code, 1);
  EXPECT_NE(self.out.find("into itself"), std::string::npos) << self.out;
}

TEST_F(Cli, RunsRejectBadStoresNamingThePath) {
  const std::string text = path("notes.txt");
  std::ofstream(text) << "these are my notes, not a database\n";
  for (const std::string& args : {"runs list --store " + text, "runs show 1 --store " + text,
                                  "runs import " + text + " --store " + path("runs.sqlite")}) {
    const Result r = run(args);
    EXPECT_EQ(r.code, 1) << args;
    EXPECT_NE(r.out.find(text + ": is not an N-MAR run store (not a SQLite database)"),
              std::string::npos)
        << args << "\n"
        << r.out;
  }
  EXPECT_EQ(fileText(text), "these are my notes, not a database\n");
  const Result absent = run("runs show 1 --store " + path("absent.sqlite"));
  EXPECT_EQ(absent.code, 1);
  EXPECT_NE(absent.out.find(path("absent.sqlite") + ": no run store here"), std::string::npos)
      << absent.out;
  const Result empty = run("runs list --store " + path("absent.sqlite"));
  EXPECT_EQ(empty.code, 0);
  EXPECT_NE(empty.out.find("no runs yet"), std::string::npos) << empty.out;
  EXPECT_EQ(run("runs list --json --store " + path("absent.sqlite")).out, "[]\n");
  EXPECT_FALSE(fs::exists(path("absent.sqlite")));
}

TEST_F(Cli, RunsUseNmarStoreByDefault) {
  const std::string db = path("env.sqlite");
  writeRunsStore(db, path("w.bin"));
  ::setenv("NMAR_STORE", db.c_str(), 1);
  const Result r = run("runs list");
  ::unsetenv("NMAR_STORE");
  ASSERT_EQ(r.code, 0) << r.out;
  EXPECT_NE(r.out.find("baseline"), std::string::npos) << r.out;
  const Result help = run("runs --help");
  EXPECT_EQ(help.code, 0);
  for (const char* sub :
       {"list", "show", "tag", "note", "delete", "export", "import", "NMAR_STORE"})
    EXPECT_NE(help.out.find(sub), std::string::npos) << sub << "\n" << help.out;
}

TEST_F(Cli, DecodeRecordsARunInTheStore) {
  const std::string ckpt = path("undo");
  ASSERT_GE(makeUndoCheckpoint(path("plain"), ckpt), 0);
  const std::string db = path("runs.sqlite"), out = path("t.json");
  const Result r = run("decode " + ckpt +
                       " --prompt 'ab' --seed 3 --undo-bias 3 --ignore-eos "
                       "--max-new-tokens 12 --quiet --out " +
                       out + " --store " + db);
  ASSERT_EQ(r.code, 0) << r.out;
  EXPECT_NE(r.out.find("recorded run 1 in " + db), std::string::npos) << r.out;

  RunStore store(db);
  const RunInfo info = store.getRun(1);
  EXPECT_EQ(info.kind, "decode");
  EXPECT_EQ(info.status, RunStatus::kFinished);
  EXPECT_EQ(info.config["seed"], 3);
  EXPECT_EQ(info.config["mode"], "hard");
  EXPECT_EQ(info.config["prompt"], "ab");
  EXPECT_EQ(info.config["sampler"]["max_new_tokens"], 12);
  EXPECT_EQ(info.config["checkpoint"], fs::absolute(ckpt).lexically_normal().string());
  const auto traces = store.traces(1);
  ASSERT_EQ(traces.size(), 1u);
  EXPECT_TRUE(traces[0].verdict.is_null());
  const Trace t = store.trace(traces[0].id);
  EXPECT_EQ(t, readTrace(out));
  const auto scores = store.tokenScores(traces[0].id);
  ASSERT_EQ(scores.size(), t.steps.size());
  for (std::size_t k = 0; k < scores.size(); ++k) {
    EXPECT_EQ(scores[k].position, static_cast<int>(k));
    EXPECT_EQ(scores[k].token, t.steps[k].token);
    EXPECT_EQ(scores[k].logprob, t.steps[k].logprob);
    EXPECT_FALSE(scores[k].reward.has_value());
  }
  const auto artifacts = store.artifacts(1);
  ASSERT_EQ(artifacts.size(), 1u);
  EXPECT_EQ(artifacts[0].kind, "trace");
  EXPECT_EQ(artifacts[0].sha256, sha256File(out).sha256);
  EXPECT_EQ(store.metricSeries({1}, {"steps"})[0].points.at(0).value, 12.0);

  // --store alone is enough; no trace file is needed.
  const Result noFile =
      run("decode " + ckpt + " --prompt 'ab' --max-new-tokens 4 --quiet --store " + db);
  ASSERT_EQ(noFile.code, 0) << noFile.out;
  EXPECT_NE(noFile.out.find("recorded run 2"), std::string::npos) << noFile.out;
  store.flush();
  EXPECT_EQ(store.traceCount(2), 1);
  EXPECT_TRUE(store.artifacts(2).empty());
  EXPECT_TRUE(store.getRun(2).config["out"].is_null());
}

TEST_F(Cli, DecodeRejectsABadStoreBeforeDecoding) {
  const std::string ckpt = path("plain");
  ASSERT_EQ(run("model new --family gpt2 --preset tiny --seed 2 " + ckpt).code, 0);
  const std::string text = path("notes.txt");
  std::ofstream(text) << "not a database, really not\n";
  const Result r = run("decode " + ckpt + " --prompt 'hi' --max-new-tokens 4 --out " +
                       path("t.json") + " --store " + text);
  EXPECT_EQ(r.code, 1);
  EXPECT_NE(r.out.find(text + ": is not an N-MAR run store (not a SQLite database)"),
            std::string::npos)
      << r.out;
  EXPECT_FALSE(fs::exists(path("t.json")));
}

