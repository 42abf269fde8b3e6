#include "suite_jobs.h"

#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <map>
#include <thread>

#include "experiments/suite_runner.h"
#include "store/run_store.h"
#include "util/error.h"

namespace nmar::app {
namespace {

using Clock = std::chrono::steady_clock;

enum class State { kPending, kRunning, kDone };

pid_t spawnChild(const std::string& exe, const std::vector<std::string>& args) {
  const pid_t pid = ::fork();
  if (pid < 0) throw core::Error("experiments: fork: " + std::string(std::strerror(errno)));
  if (pid == 0) {
    // Like nmar launch: one intra-op thread per process unless the user chose otherwise.
    ::setenv("OMP_NUM_THREADS", "1", 0);
    std::vector<char*> argv{const_cast<char*>("nmar")};
    for (const std::string& s : args) argv.push_back(const_cast<char*>(s.c_str()));
    argv.push_back(nullptr);
    ::execv(exe.c_str(), argv.data());
    std::fprintf(stderr, "nmar experiments: cannot run %s: %s\n", exe.c_str(),
                 std::strerror(errno));
    ::_exit(127);
  }
  return pid;
}

}  // namespace

SuiteJobsOutcome runSuiteJobs(const std::vector<core::PlannedRun>& plan, core::RunStore& store,
                              int jobs,
                              const std::function<std::vector<std::string>(std::size_t)>& childArgs,
                              const std::atomic<bool>& cancel, bool quiet) {
  std::error_code ec;
  const std::string exe = std::filesystem::read_symlink("/proc/self/exe", ec).string();
  if (ec) throw core::Error("experiments: cannot find the nmar executable: " + ec.message());
  const auto t0 = Clock::now();
  const std::size_t total = plan.size();
  std::vector<State> state(total, State::kPending);
  std::map<pid_t, std::pair<std::size_t, Clock::time_point>> running;
  SuiteJobsOutcome outcome;
  bool forwarded = false;

  // Run i may start: its stage has ended and no earlier run of the same config is unfinished.
  auto ready = [&](std::size_t i) {
    const core::PlannedRun& run = plan[i];
    if (run.fromIndex >= 0 && state.at(static_cast<std::size_t>(run.fromIndex)) != State::kDone)
      return false;
    for (std::size_t j = 0; j < i; ++j)
      if (state[j] != State::kDone && plan[j].hash == run.hash) return false;
    return true;
  };

  for (;;) {
    if (cancel.load() && !forwarded) {
      for (const auto& [pid, what] : running) ::kill(pid, SIGINT);
      forwarded = true;
      outcome.cancelled = true;
    }
    // Start what may start.
    for (std::size_t i = 0; !cancel.load() && i < total; ++i) {
      if (static_cast<int>(running.size()) >= jobs) break;
      if (state[i] != State::kPending || !ready(i)) continue;
      const core::PlannedRun& run = plan[i];
      if (std::optional<core::RunInfo> done = core::findFinishedRun(store, run)) {
        store.addTags(done->id, run.tags);
        state[i] = State::kDone;
        ++outcome.skipped;
        if (!quiet)
          std::fprintf(stderr, "[%zu/%zu] %s: done before (run %lld), skipped\n", i + 1, total,
                       run.config.name.c_str(), static_cast<long long>(done->id));
        i = static_cast<std::size_t>(-1);  // a run may have become ready: look again from 0
        continue;
      }
      const pid_t pid = spawnChild(exe, childArgs(i));
      running[pid] = {i, Clock::now()};
      state[i] = State::kRunning;
      std::fprintf(stderr, "[%zu/%zu] %s: started (process %d, %zu running)\n", i + 1, total,
                   run.config.name.c_str(), static_cast<int>(pid), running.size());
    }
    if (running.empty()) break;  // nothing runs and nothing more can start
    int status = 0;
    const pid_t pid = ::waitpid(-1, &status, WNOHANG);
    if (pid < 0 && errno != EINTR && errno != ECHILD)
      throw core::Error("experiments: waitpid: " + std::string(std::strerror(errno)));
    const auto it = pid > 0 ? running.find(pid) : running.end();
    if (it == running.end()) {
      std::this_thread::sleep_for(std::chrono::milliseconds(100));
      continue;
    }
    const auto [index, started] = it->second;
    running.erase(it);
    state[index] = State::kDone;
    outcome.runSeconds += std::chrono::duration<double>(Clock::now() - started).count();
    const int code = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
    if (code == 0) {
      ++outcome.trained;
    } else if (code == 130) {
      outcome.cancelled = true;
    } else {
      ++outcome.failed;
      if (code != 1)  // 1: the child recorded the failure and printed why
        std::fprintf(stderr, "[%zu/%zu] %s: the process ended with status %d\n", index + 1, total,
                     plan[index].config.name.c_str(), code);
    }
  }
  outcome.seconds = std::chrono::duration<double>(Clock::now() - t0).count();
  return outcome;
}

}  // namespace nmar::app
