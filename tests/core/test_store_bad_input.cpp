// Run store bad input: a file that is not SQLite, another application's database, a newer schema,
// a read-only location, a full disk (simulated with max_page_count). Each is a clear Error naming
// the file, and nothing already stored is lost or modified.
#include <gtest/gtest.h>

#include <sys/stat.h>
#include <unistd.h>

#include <mutex>

#include "store/run_store.h"
#include "test_store_support.h"
#include "trace/trace_io.h"
#include "util/error.h"

using namespace nmar::core;
using namespace nmar::core::testing;

namespace {

using BadInput = StoreTest;

std::string openError(const fs::path& file, StoreOptions options = {}) {
  try {
    RunStore store(file, options);
  } catch (const Error& e) {
    return e.what();
  }
  return "(no error)";
}

StoreOptions readOnly() {
  StoreOptions o;
  o.readOnly = true;
  return o;
}

bool contains(const std::string& text, const std::string& part) {
  return text.find(part) != std::string::npos;
}

}  // namespace

TEST_F(BadInput, AFileThatIsNotSqliteIsRefusedUntouched) {
  for (const std::string& content :
       {std::string("hello, I am a text file\n"), std::string(8192, 'z'),
        std::string("SQLite format 3") + std::string(4000, '\x01')}) {
    const fs::path db = path("notes.sqlite");
    writeBytes(db, content);
    const std::string expected =
        db.string() + ": is not an N-MAR run store (not a SQLite database)";
    EXPECT_EQ(openError(db), expected) << content.size();
    EXPECT_EQ(openError(db, readOnly()), expected);
    EXPECT_EQ(fileBytes(db), content);
    EXPECT_FALSE(fs::exists(db.string() + "-wal"));
  }
}

TEST_F(BadInput, AnotherApplicationsDatabaseIsRefused) {
  const fs::path db = path("other.sqlite");
  { SqliteDb(db, OpenMode::kReadWriteCreate).exec("CREATE TABLE photos (id INTEGER)"); }
  const std::string bytes = fileBytes(db);
  const std::string e = openError(db);
  EXPECT_TRUE(contains(e, db.string() + ": is a SQLite database but not an N-MAR run store")) << e;
  EXPECT_EQ(fileBytes(db), bytes);
}

TEST_F(BadInput, ANewerSchemaIsRefusedAndNothingIsModified) {
  const fs::path db = path("future.sqlite");
  writeV1Store(db, traceToJsonLine(sampleTrace()));
  { SqliteDb(db, OpenMode::kReadWrite).exec("PRAGMA user_version = 7"); }
  const std::string bytes = fileBytes(db);
  const std::string expected =
      db.string() + ": written by a newer nmar (schema v7, this build reads up to v3)";
  EXPECT_EQ(openError(db), expected);
  EXPECT_EQ(openError(db, readOnly()), expected);
  EXPECT_EQ(fileBytes(db), bytes);
  EXPECT_FALSE(fs::exists(db.string() + "-wal"));
  EXPECT_EQ(sqlInt(db, "PRAGMA user_version"), 7);
}

TEST_F(BadInput, MissingFilesFoldersAndEmptyPaths) {
  StoreOptions noCreate;
  noCreate.create = false;
  EXPECT_TRUE(contains(openError(path("absent.sqlite"), noCreate),
                       path("absent.sqlite").string() + ": no run store here"));
  EXPECT_FALSE(fs::exists(path("absent.sqlite")));
  EXPECT_EQ(openError(m_dir), m_dir.string() + ": is a folder, expected a run store file");
  EXPECT_TRUE(contains(openError(""), "empty path"));
}

TEST_F(BadInput, AnUnwritableLocationNamesThePath) {
  // /proc cannot hold files, even for root.
  const fs::path inMissingFolder = "/proc/self/nmar-store-test/runs.sqlite";
  std::string e = openError(inMissingFolder);
  EXPECT_TRUE(contains(e, inMissingFolder.string())) << e;
  EXPECT_TRUE(contains(e, "cannot create the folder /proc/self/nmar-store-test")) << e;
  const fs::path inProc = "/proc/self/nmar-store-test.sqlite";
  e = openError(inProc);
  EXPECT_TRUE(contains(e, inProc.string() + ": cannot open or create")) << e;
}

TEST_F(BadInput, AReadOnlyFolderOrFileIsAClearError) {
  if (::geteuid() == 0) GTEST_SKIP() << "root ignores file permissions";
  const fs::path dir = path("locked");
  fs::create_directories(dir);
  fs::permissions(dir, fs::perms::owner_read | fs::perms::owner_exec);
  std::string e = openError(dir / "runs.sqlite");
  EXPECT_TRUE(contains(e, (dir / "runs.sqlite").string())) << e;
  EXPECT_TRUE(contains(e, "read-only location")) << e;
  fs::permissions(dir, fs::perms::owner_all);

  const fs::path db = path("runs.sqlite");
  std::int64_t run = 0;
  {
    RunStore store(db);
    run = store.createRun({"r", "sft", {}, std::nullopt, {}, ""});
    store.finishRun(run, RunStatus::kFinished);
  }
  fs::permissions(db, fs::perms::owner_read);
  const std::string bytes = fileBytes(db);
  e = openError(db);
  EXPECT_TRUE(contains(e, db.string() + ": the run store cannot be written")) << e;
  EXPECT_EQ(fileBytes(db), bytes);
  RunStore store(db, readOnly());
  EXPECT_EQ(store.getRun(run).name, "r");
}

TEST_F(BadInput, AFullDiskIsAClearErrorAndKeepsWhatWasCommitted) {
  const fs::path db = path("small.sqlite");
  std::mutex mutex;
  std::vector<std::string> reported;
  StoreOptions options;
  options.maxPageCount = 48;  // 192 KiB with 4 KiB pages
  options.onWriteError = [&](const std::string& m) {
    std::lock_guard<std::mutex> lock(mutex);
    reported.push_back(m);
  };
  std::int64_t run = 0, committed = 0, logged = 0;
  std::string error;
  {
    RunStore store(db, options);
    run = store.createRun({"fills the disk", "sft", {{"lr", 0.1}}, std::nullopt, {}, ""});
    for (int chunk = 0; chunk < 1000 && error.empty(); ++chunk) {
      try {
        for (int i = 0; i < 250; ++i, ++logged)
          store.logMetrics(run, logged, {{"loss", double(logged)}, {"acc", 0.5}});
        store.flush();
        committed = logged;
      } catch (const Error& e) {
        error = e.what();
      }
    }
    ASSERT_FALSE(error.empty()) << "the size limit was never reached";
    EXPECT_TRUE(contains(error, db.string())) << error;
    EXPECT_TRUE(contains(error, "database or disk is full")) << error;
    EXPECT_TRUE(contains(error, "everything committed before is kept")) << error;
    std::lock_guard<std::mutex> lock(mutex);
    ASSERT_FALSE(reported.empty());
    EXPECT_EQ(reported.front(), error);
  }
  EXPECT_GT(committed, 0);
  EXPECT_EQ(sqlText(db, "PRAGMA integrity_check"), "ok");
  RunStore store(db);  // no limit now
  const auto series = store.metricSeries({run}, {"loss", "acc"});
  for (const MetricSeries& s : series) {
    ASSERT_GE(static_cast<std::int64_t>(s.points.size()), committed) << s.key;
    EXPECT_LT(static_cast<std::int64_t>(s.points.size()), logged) << s.key;
    for (std::int64_t step = 0; step < committed; ++step) ASSERT_EQ(s.points[step].step, step);
  }
  EXPECT_EQ(store.getRun(run).config, nlohmann::json({{"lr", 0.1}}));
  store.logMetric(run, logged, "loss", 1.0);
  EXPECT_NO_THROW(store.flush());
}
