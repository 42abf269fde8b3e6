// store_feeder STORE NAME STEPS INTERVAL_MS [KIND]: another process writing a run into a run
// store while the tests (and bench_dashboard) watch it: config {"optim": {"lr": 0.001}}, metrics
// train/loss = 1 / (step + 1) and train/lr = 0.001 each step, eval/clean_acc every 10 steps;
// INTERVAL_MS 0 logs at full speed. Ends the run finished. Not a test by itself.
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <thread>

#include "store/run_store.h"

int main(int argc, char** argv) {
  if (argc < 5) {
    std::fprintf(stderr, "usage: store_feeder STORE NAME STEPS INTERVAL_MS [KIND]\n");
    return 2;
  }
  try {
    nmar::core::RunStore store(argv[1]);
    nmar::core::NewRun run;
    run.name = argv[2];
    run.kind = argc > 5 ? argv[5] : "sft";
    run.config = {{"optim", {{"lr", 0.001}}}, {"feeder", true}};
    const std::int64_t id = store.createRun(run);
    std::printf("run %lld\n", static_cast<long long>(id));
    std::fflush(stdout);
    const long steps = std::atol(argv[3]);
    const int interval = std::atoi(argv[4]);
    for (long step = 0; step < steps; ++step) {
      store.logMetrics(id, step, {{"train/loss", 1.0 / double(step + 1)}, {"train/lr", 0.001}});
      if (step % 10 == 0) store.logMetric(id, step, "eval/clean_acc", double(step % 100) / 100.0);
      if (interval > 0) std::this_thread::sleep_for(std::chrono::milliseconds(interval));
    }
    store.flush();
    store.finishRun(id, nmar::core::RunStatus::kFinished);
  } catch (const std::exception& e) {
    std::fprintf(stderr, "store_feeder: %s\n", e.what());
    return 1;
  }
  return 0;
}
