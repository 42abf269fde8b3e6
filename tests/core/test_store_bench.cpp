// bench_store: sustained metric rows per second through the run store's writer thread, and the
// time the training thread spends per logged step (8 metrics). Not a test; prints a table.
// Usage: bench_store [STEPS] (default 250000 steps = 2 M rows for the sustained run)
//
// Each run logs STEPS steps of 8 metrics into a fresh store, either as fast as possible or paced
// (a step every period, busy-waiting in between like a training loop that computes), then calls
// flush(). rows/s = rows / (first log call .. end of flush()). The "floor" rows time a bare
// mutex-protected push of 8 values under the same pacing: the noise of the machine itself.
#include <sqlite3.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <functional>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "store/run_store.h"

using namespace nmar::core;
using Clock = std::chrono::steady_clock;
namespace fs = std::filesystem;

namespace {

const std::vector<std::string> kKeys{"loss",   "lr",      "grad_norm",    "kl",
                                     "reward", "entropy", "tokens_per_s", "undo_rate"};

struct Result {
  double rowsPerSecond = 0;
  double meanUs = 0, p50Us = 0, p99Us = 0, maxUs = 0;
  std::uint64_t batches = 0;
};

/** Calls @p logStep for @p steps steps, one every @p periodUs (0: back to back); times each. */
Result timeSteps(std::int64_t steps, double periodUs,
                 const std::function<void(std::int64_t)>& logStep) {
  std::vector<float> callUs(static_cast<std::size_t>(steps));
  const auto start = Clock::now();
  for (std::int64_t step = 0; step < steps; ++step) {
    if (periodUs > 0)
      while (std::chrono::duration<double, std::micro>(Clock::now() - start).count() <
             periodUs * double(step)) {
      }
    const auto t0 = Clock::now();
    logStep(step);
    const auto t1 = Clock::now();
    callUs[static_cast<std::size_t>(step)] =
        std::chrono::duration<float, std::micro>(t1 - t0).count();
  }
  Result r;
  double sum = 0;
  for (float v : callUs) sum += v;
  r.meanUs = sum / double(steps);
  std::sort(callUs.begin(), callUs.end());
  r.p50Us = callUs[callUs.size() / 2];
  r.p99Us = callUs[std::min(callUs.size() - 1, callUs.size() * 99 / 100)];
  r.maxUs = callUs.back();
  return r;
}

/** Logs through a fresh store at @p db. */
Result storeRun(const fs::path& db, std::int64_t steps, double periodUs) {
  fs::remove(db);
  RunStore store(db);
  NewRun spec;
  spec.name = "bench";
  spec.kind = "sft";
  const std::int64_t runId = store.createRun(spec);
  std::vector<MetricValue> values;
  for (const std::string& k : kKeys) values.push_back({k, 0.0});
  const auto start = Clock::now();
  Result r = timeSteps(steps, periodUs, [&](std::int64_t step) {
    for (std::size_t i = 0; i < values.size(); ++i)
      values[i].value = double(step) * 1e-3 + double(i);
    store.logMetrics(runId, step, values);
  });
  store.flush();
  const double seconds = std::chrono::duration<double>(Clock::now() - start).count();
  r.rowsPerSecond = double(steps) * double(kKeys.size()) / seconds;
  r.batches = store.writerStats().batches;
  store.finishRun(runId, RunStatus::kFinished);
  return r;
}

/** The floor: a mutex-protected push of 8 values, no store. */
Result floorRun(std::int64_t steps, double periodUs) {
  std::mutex mutex;
  std::vector<double> sink;
  sink.reserve(static_cast<std::size_t>(steps) * kKeys.size());
  return timeSteps(steps, periodUs, [&](std::int64_t step) {
    std::lock_guard<std::mutex> lock(mutex);
    for (std::size_t i = 0; i < kKeys.size(); ++i) sink.push_back(double(step) + double(i));
  });
}

void print(const char* name, std::int64_t steps, const Result& r, bool store = true) {
  char rate[32] = "-", batches[32] = "-";
  if (store) {
    std::snprintf(rate, sizeof rate, "%.0f", r.rowsPerSecond);
    std::snprintf(batches, sizeof batches, "%llu", static_cast<unsigned long long>(r.batches));
  }
  std::printf("| %-30s | %9lld | %10s | %7.2f | %6.2f | %7.2f | %9.1f | %7s |\n", name,
              static_cast<long long>(steps * std::int64_t(kKeys.size())), rate, r.meanUs, r.p50Us,
              r.p99Us, r.maxUs, batches);
}

}  // namespace

int main(int argc, char** argv) {
  const std::int64_t steps = argc > 1 ? std::max(1LL, std::atoll(argv[1])) : 250000;
  const fs::path dir =
      fs::temp_directory_path() / ("nmar-bench-store-" + std::to_string(::getpid()));
  fs::create_directories(dir);
  const fs::path db = dir / "runs.sqlite";
  std::printf("bench_store: %zu metrics per step, SQLite %s, %u hardware threads, store in %s\n",
              kKeys.size(), sqlite3_libversion(), std::thread::hardware_concurrency(), dir.c_str());
  std::printf("rows/s: rows / (first log call .. end of flush()); us: caller time per step\n\n");
  std::printf("| %-30s | %9s | %10s | %7s | %6s | %7s | %9s | %7s |\n", "run", "rows", "rows/s",
              "mean us", "p50 us", "p99 us", "max us", "batches");
  std::printf(
      "|--------------------------------|----------:|-----------:|--------:|-------:|"
      "--------:|----------:|--------:|\n");
  print("sustained (back to back)", steps, storeRun(db, steps, 0));
  print("paced 10,000 steps/s", 30000, storeRun(db, 30000, 100.0));
  print("paced 1,000 steps/s", 3000, storeRun(db, 3000, 1000.0));
  print("floor: mutex + 8 pushes, 10k/s", 30000, floorRun(30000, 100.0), false);
  print("floor: mutex + 8 pushes, 1k/s", 3000, floorRun(3000, 1000.0), false);
  fs::remove_all(dir);
  return 0;
}
