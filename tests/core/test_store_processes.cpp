// The run store across processes: a reader sees a writer's rows within a second; a writer killed
// with SIGKILL leaves a sound store with every committed row; two writers at once.
#include <gtest/gtest.h>

#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <functional>
#include <set>
#include <thread>

#include "store/process_liveness.h"
#include "store/run_store.h"
#include "test_store_support.h"
#include "util/error.h"

using namespace nmar::core;
using namespace nmar::core::testing;
using Clock = std::chrono::steady_clock;

namespace {

using Processes = StoreTest;

/** Runs @p body in a child process (which exits with its result, or 1 on an exception). The
 *  parent must hold no open store: a forked SQLite connection is unusable. */
pid_t spawn(const std::function<int()>& body) {
  const pid_t pid = ::fork();
  if (pid != 0) return pid;
  int code = 1;
  try {
    code = body();
  } catch (const std::exception& e) {
    std::fprintf(stderr, "child: %s\n", e.what());
  }
  ::_exit(code);
}

void sendInt(int fd, std::int64_t v) {
  if (::write(fd, &v, sizeof v) != static_cast<ssize_t>(sizeof v)) ::_exit(3);
}

/** The next integer from the pipe, or -1 at end of file. */
std::int64_t receiveInt(int fd) {
  std::int64_t v = 0;
  std::size_t got = 0;
  while (got < sizeof v) {
    const ssize_t n = ::read(fd, reinterpret_cast<char*>(&v) + got, sizeof v - got);
    if (n <= 0) return -1;
    got += static_cast<std::size_t>(n);
  }
  return v;
}

/** Kills and reaps a child that is still there when a test ends early. */
struct ChildGuard {
  pid_t pid;
  ~ChildGuard() {
    if (pid <= 0) return;
    ::kill(pid, SIGKILL);
    ::waitpid(pid, nullptr, 0);
  }
};

int exitCode(pid_t pid) {
  int status = 0;
  ::waitpid(pid, &status, 0);
  return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

StoreOptions readOnly() {
  StoreOptions o;
  o.readOnly = true;
  return o;
}

NewRun newRun(const std::string& name) {
  NewRun r;
  r.name = name;
  r.kind = "sft";
  return r;
}

}  // namespace

TEST_F(Processes, AReaderSeesAWritersRowsWithinASecond) {
  const fs::path db = path("runs.sqlite");
  { RunStore create(db); }
  int fds[2];
  ASSERT_EQ(::pipe(fds), 0);
  const pid_t child = spawn([&] {
    ::close(fds[0]);
    RunStore store(db);
    const std::int64_t run = store.createRun(newRun("writer"));
    sendInt(fds[1], run);
    const auto start = Clock::now();
    std::int64_t step = 0;
    while (Clock::now() - start < std::chrono::milliseconds(1500)) {
      store.logMetrics(run, step, {{"loss", 1.0 / double(step + 1)}, {"acc", 0.5}});
      ++step;
      std::this_thread::sleep_for(std::chrono::milliseconds(1));
    }
    store.finishRun(run, RunStatus::kFinished);
    sendInt(fds[1], step);
    return 0;
  });
  ::close(fds[1]);
  const std::int64_t run = receiveInt(fds[0]);
  ASSERT_GT(run, 0);
  const auto started = Clock::now();

  RunStore reader(db, readOnly());
  double firstVisible = -1;
  std::int64_t maxLagMs = 0;
  std::set<std::size_t> counts;  // distinct row counts seen while the writer runs
  while (Clock::now() - started < std::chrono::milliseconds(1400)) {
    const auto points = reader.metricSeries({run}, {"loss"})[0].points;
    if (!points.empty()) {
      if (firstVisible < 0)
        firstVisible = std::chrono::duration<double>(Clock::now() - started).count();
      maxLagMs = std::max(maxLagMs, unixMillisNow() - points.back().wallMs);
      counts.insert(points.size());
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  EXPECT_GE(firstVisible, 0.0) << "the reader never saw a row";
  EXPECT_LT(firstVisible, 1.0);
  EXPECT_LT(maxLagMs, 1000) << "the newest visible row was older than a second";
  EXPECT_GE(counts.size(), 3u) << "rows should appear progressively while the writer runs";

  const std::int64_t steps = receiveInt(fds[0]);
  ::close(fds[0]);
  ASSERT_EQ(exitCode(child), 0);
  EXPECT_EQ(static_cast<std::int64_t>(reader.metricSeries({run}, {"loss"})[0].points.size()),
            steps);
  EXPECT_EQ(reader.getRun(run).status, RunStatus::kFinished);
}

TEST_F(Processes, AWriterKilledMidRunKeepsEveryCommittedRow) {
  const fs::path db = path("runs.sqlite");
  { RunStore create(db); }
  const std::vector<std::string> keys{"loss", "acc",    "lr",      "grad_norm",
                                      "kl",   "reward", "entropy", "tokens_per_s"};
  constexpr std::int64_t kFlushEvery = 2000;
  int fds[2];
  ASSERT_EQ(::pipe(fds), 0);
  const pid_t child = spawn([&]() -> int {  // logs until it is killed
    ::close(fds[0]);
    RunStore store(db);
    const std::int64_t run = store.createRun(newRun("doomed"));
    sendInt(fds[1], run);
    std::vector<MetricValue> values;
    for (const std::string& k : keys) values.push_back({k, 0.0});
    for (std::int64_t step = 0;; ++step) {
      for (std::size_t i = 0; i < values.size(); ++i) values[i].value = double(step) + 0.125 * i;
      store.logMetrics(run, step, values);
      if (step % 500 == 0) store.addTrace(run, step, sampleTrace(static_cast<int>(step)));
      if ((step + 1) % kFlushEvery == 0) {
        store.flush();
        sendInt(fds[1], step + 1);  // steps 0..step are committed
      }
    }
  });
  ChildGuard guard{child};
  ::close(fds[1]);
  const std::int64_t run = receiveInt(fds[0]);
  ASSERT_GT(run, 0);
  std::int64_t committed = 0;
  for (int i = 0; i < 3; ++i) committed = std::max(committed, receiveInt(fds[0]));
  ASSERT_GE(committed, 3 * kFlushEvery);
  std::this_thread::sleep_for(std::chrono::milliseconds(30));  // land in the middle of a batch
  ASSERT_EQ(::kill(child, SIGKILL), 0);
  int status = 0;
  ::waitpid(child, &status, 0);
  guard.pid = 0;
  ASSERT_TRUE(WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL);
  for (std::int64_t more; (more = receiveInt(fds[0])) >= 0;) committed = std::max(committed, more);
  ::close(fds[0]);

  EXPECT_EQ(sqlText(db, "PRAGMA integrity_check"), "ok");
  RunStore store(db);
  EXPECT_EQ(sqlText(db, "PRAGMA integrity_check"), "ok");
  for (const MetricSeries& s : store.metricSeries({run}, keys)) {
    ASSERT_GE(static_cast<std::int64_t>(s.points.size()), committed) << s.key;
    for (std::int64_t step = 0; step < committed; ++step) {
      ASSERT_EQ(s.points[step].step, step) << s.key;
    }
  }
  EXPECT_GE(store.traceCount(run), committed / 500);
  const RunInfo r = store.getRun(run);
  EXPECT_EQ(r.status, RunStatus::kFailed);
  EXPECT_EQ(r.endReason, "process died");
  EXPECT_TRUE(r.finishedMs.has_value());
  // The store stays usable.
  const std::int64_t next = store.createRun(newRun("after the crash"));
  store.logMetric(next, 0, "loss", 1.0);
  EXPECT_NO_THROW(store.flush());
}

TEST_F(Processes, TwoWritersAtOnceBothCommitEverything) {
  const fs::path db = path("runs.sqlite");
  { RunStore create(db); }
  constexpr int kSteps = 20000;
  int fds[2];
  ASSERT_EQ(::pipe(fds), 0);
  std::vector<pid_t> children;
  for (int w = 0; w < 2; ++w)
    children.push_back(spawn([&, w] {
      ::close(fds[0]);
      RunStore store(db);
      const std::int64_t run = store.createRun(newRun("writer " + std::to_string(w)));
      for (int step = 0; step < kSteps; ++step) {
        store.logMetrics(run, step, {{"loss", double(step)}, {"w", double(w)}});
        if (step % 5000 == 0) store.setNotes(run, "at step " + std::to_string(step));
      }
      store.finishRun(run, RunStatus::kFinished);
      sendInt(fds[1], run);
      return 0;
    }));
  ::close(fds[1]);
  std::vector<std::int64_t> runs{receiveInt(fds[0]), receiveInt(fds[0])};
  ::close(fds[0]);
  for (pid_t c : children) EXPECT_EQ(exitCode(c), 0);
  RunStore store(db, readOnly());
  for (std::int64_t run : runs) {
    ASSERT_GT(run, 0);
    for (const MetricSeries& s : store.metricSeries({run}, {"loss", "w"}))
      EXPECT_EQ(s.points.size(), static_cast<std::size_t>(kSteps)) << run << " " << s.key;
    EXPECT_EQ(store.getRun(run).status, RunStatus::kFinished);
    EXPECT_EQ(store.getRun(run).notes, "at step 15000");
  }
}

// A paused run (the launcher's Pause sends SIGSTOP) sends no heartbeat but is not dead; once the
// process is gone it is.
TEST_F(Processes, AStoppedWriterIsPausedNotDead) {
  const pid_t child = spawn([]() -> int {
    for (;;) ::pause();
  });
  ChildGuard guard{child};
  RunLiveness run{thisHost(), child, 0};  // last sign of life long ago
  const std::int64_t now = 10'000'000;
  EXPECT_EQ(deadRunReason(run, now, 120'000), "process died (no heartbeat for 10000 s)");
  ASSERT_EQ(::kill(child, SIGSTOP), 0);
  for (int i = 0; i < 200 && !processStopped(child); ++i)
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  EXPECT_TRUE(processStopped(child));
  EXPECT_EQ(deadRunReason(run, now, 120'000), "");
  run.host = "another-host";  // a stopped pid here says nothing about a process elsewhere
  EXPECT_EQ(deadRunReason(run, now, 120'000), "process died (no heartbeat for 10000 s)");
  run.host = thisHost();
  ASSERT_EQ(::kill(child, SIGCONT), 0);
  for (int i = 0; i < 200 && processStopped(child); ++i)
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  EXPECT_FALSE(processStopped(child));
  ASSERT_EQ(::kill(child, SIGKILL), 0);
  ::waitpid(child, nullptr, 0);
  guard.pid = 0;
  EXPECT_FALSE(processStopped(child));
  EXPECT_EQ(deadRunReason(run, now, 120'000), "process died");
}
