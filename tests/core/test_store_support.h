#pragma once
// Shared helpers for the run store tests: a temporary folder per test, a small valid trace, a
// store of schema v1 written by hand (the DDL as v1 shipped it), and raw SQL access.
#include <gtest/gtest.h>

#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>

#include "store/sqlite_db.h"
#include "trace/trace.h"

namespace nmar::core::testing {

namespace fs = std::filesystem;

/** A fresh temporary folder per test, removed afterwards. */
class StoreTest : public ::testing::Test {
 protected:
  void SetUp() override {
    const auto* info = ::testing::UnitTest::GetInstance()->current_test_info();
    std::string name = std::string(info->test_suite_name()) + "-" + info->name();
    for (char& c : name)
      if (c == '/') c = '_';
    m_dir = fs::temp_directory_path() / ("nmar-store-" + std::to_string(::getpid()) + "-" + name);
    fs::remove_all(m_dir);
    fs::create_directories(m_dir);
  }
  void TearDown() override {
    std::error_code ec;
    fs::permissions(m_dir, fs::perms::owner_all, fs::perm_options::add, ec);
    fs::remove_all(m_dir, ec);
  }
  fs::path path(const std::string& name) const { return m_dir / name; }
  fs::path m_dir;
};

/** The whole file as bytes (empty when missing). */
inline std::string fileBytes(const fs::path& file) {
  std::ifstream in(file, std::ios::binary);
  std::ostringstream s;
  s << in.rdbuf();
  return s.str();
}

/** Writes @p bytes to @p file. */
inline void writeBytes(const fs::path& file, const std::string& bytes) {
  std::ofstream out(file, std::ios::binary);
  out << bytes;
}

/** An integer query on the raw file (a connection of its own). */
inline std::int64_t sqlInt(const fs::path& db, const std::string& sql) {
  SqliteDb c(db, OpenMode::kReadOnly);
  return c.queryInt(sql);
}

/** A text query on the raw file (a connection of its own). */
inline std::string sqlText(const fs::path& db, const std::string& sql) {
  SqliteDb c(db, OpenMode::kReadOnly);
  return c.queryText(sql);
}

/** A valid trace: prompt [1, 2], pushes 10, 11, an UNDO (id 99), push 12; meta {"tag": tag}. */
inline Trace sampleTrace(int tag = 0) {
  Trace t;
  t.model = "m";
  t.tokenizer = "tok";
  t.promptIds = {1, 2};
  t.promptText = "pr";
  t.undoId = 99;
  t.eosId = 3;
  t.steps = stepsFromSequence({1, 2, 10, 11, 99, 12}, 2, 99);
  for (std::size_t i = 0; i < t.steps.size(); ++i) t.steps[i].logprob = -0.5 - 0.25 * double(i);
  t.outputIds = {10, 12};
  t.outputText = "ab";
  t.meta = {{"tag", tag}};
  return t;
}

/** The v1 schema exactly as nmar shipped it (kept here independently of the code under test). */
constexpr const char* kSchemaV1Ddl = R"sql(
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
PRAGMA user_version = 1;
)sql";

/**
 * A v1 store at @p file holding: run 1 "base" (sft, finished, tags a and b, config {"lr": 0.1}),
 * run 2 "fork" (grpo, failed, parent 1), metrics of run 1 (loss at steps 0..2, with step 1 logged
 * twice: 0.9 then 0.8; acc at step 2), metrics of run 2 (loss at step 0), one trace of run 2 with
 * two token scores, and one artifact of run 1. @p traceJson is stored as the trace.
 */
inline void writeV1Store(const fs::path& file, const std::string& traceJson) {
  SqliteDb db(file, OpenMode::kReadWriteCreate);
  db.exec(kSchemaV1Ddl);
  db.exec(
      "INSERT INTO runs (id, name, kind, status, config, code_revision, host, pid, started_ms, "
      "finished_ms, heartbeat_ms, parent_id, notes) VALUES "
      "(1, 'base', 'sft', 'finished', '{\"lr\": 0.1}', 'abc123', 'h1', 11, 1000, 2000, 1900, "
      "NULL, 'first'),"
      "(2, 'fork', 'grpo', 'failed', '{\"lr\": 0.2}', 'abc123', 'h1', 12, 3000, 4000, 3900, 1, '');"
      "INSERT INTO run_tags VALUES (1, 'a'), (1, 'b');"
      "INSERT INTO metrics (run_id, step, key, value, wall_ms) VALUES "
      "(1, 0, 'loss', 1.0, 1100), (1, 1, 'loss', 0.9, 1200), (1, 1, 'loss', 0.8, 1250), "
      "(1, 2, 'loss', 0.7, 1300), (1, 2, 'acc', 0.5, 1300), (2, 0, 'loss', 2.0, 3100);");
  Statement t(db,
              "INSERT INTO traces (id, run_id, step, group_index, prompt, output, verdict, trace) "
              "VALUES (1, 2, 5, 0, 'pr', 'ab', '{\"correct\": true}', ?)");
  t.bind(1, traceJson).run();
  db.exec(
      "INSERT INTO token_scores VALUES (1, 0, 10, 0.5, 0.25, -0.5), (1, 1, 11, NULL, NULL, -0.75);"
      "INSERT INTO artifacts (run_id, kind, path, sha256, bytes, created_ms) VALUES "
      "(1, 'checkpoint', '/ckpt/step-2', 'ff00', 42, 1999);");
}

}  // namespace nmar::core::testing
