// Not a test: data-parallel masked SFT on this machine. Trains the same global batch with 1
// process (1 and 2 intra-op threads) and with 2 processes (Gloo on loopback, 1 thread each) and
// prints per-sample time, tokens/s, the time inside collectives per step (with waiting for the
// slower rank), the cost of the gradient all-reduce alone and of a one-value all-reduce. Usage:
//   bench_distributed [--steps N] [--batch B] [--preset tiny|small] [--mode hard|soft] [--grpo]
//                     [--json]
// --grpo: GRPO steps instead (B prompts per step, 8 completions each: a sample is a completion).
// The processes are this binary started again with BENCH_WORKER set (and the torchrun variables).
#include <netinet/in.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include <ATen/Parallel.h>
#include <nlohmann/json.hpp>

#include "train/distributed.h"
#include "train/experiment.h"
#include "train/grpo_trainer.h"
#include "train/sft_trainer.h"
#include "util/build_info.h"

using namespace nmar::core;
namespace fs = std::filesystem;
using Clock = std::chrono::steady_clock;

namespace {

struct Options {
  int steps = 20;
  int batch = 32;
  std::string preset = "small";
  std::string mode = "hard";
  bool json = false;
  bool grpo = false;  ///< GRPO steps (batch = prompts per step, 8 completions each)
};

/** CPU seconds (user + system) this process has used. */
double cpuSeconds() {
  rusage u{};
  ::getrusage(RUSAGE_SELF, &u);
  return u.ru_utime.tv_sec + u.ru_stime.tv_sec + 1e-6 * (u.ru_utime.tv_usec + u.ru_stime.tv_usec);
}

double since(Clock::time_point t0) {
  return std::chrono::duration<double>(Clock::now() - t0).count();
}

/** One process of a measurement: trains, times, and (rank 0) writes a JSON result. */
int worker(const Options& o, const fs::path& result) {
  const int threads = std::atoi(std::getenv("BENCH_THREADS"));
  at::set_num_threads(threads);
  auto dist = distributedFromEnvironment(c10::Device(c10::kCPU));
  const fs::path out = fs::temp_directory_path() / ("nmar-bench-ddp-" + std::to_string(getpid()));
  const std::string model =
      "[run]\nseed = 1\n[model]\nfamily = \"llama\"\npreset = \"" + o.preset + "\"\n";
  std::unique_ptr<SftTrainer> sft;
  std::unique_ptr<GrpoTrainer> grpo;
  if (o.grpo) {
    // batch = prompts per step, 8 completions each, sampled to at most 16 steps.
    grpo = std::make_unique<GrpoTrainer>(
        parseExperiment(model +
                            "[data]\ntask = \"addition\"\nmin_difficulty = 2\n"
                            "max_difficulty = 2\n[grpo]\nnum_generations = 8\n"
                            "prompts_per_step = " +
                            std::to_string(o.batch) +
                            "\nmax_completion_length = 16\n[train]\nsteps = 100000\n"
                            "mode = \"" +
                            o.mode + "\"\n[eval]\nexamples = 1\n",
                        out / "bench.toml"),
        nullptr, dist);
  } else {
    sft = std::make_unique<SftTrainer>(
        parseExperiment(model +
                            "[data]\ntask = \"addition\"\nmin_difficulty = 3\n"
                            "max_difficulty = 4\n[deviation]\nkind = \"random\"\n"
                            "fraction = 0.5\nmax_events = 2\n[train]\nsteps = 100000\n"
                            "batch_size = " +
                            std::to_string(o.batch) + "\nmode = \"" + o.mode +
                            "\"\n[eval]\nexamples = 1\n",
                        out / "bench.toml"),
        nullptr, dist);
  }
  std::int64_t tokens = 0;  // this rank's: SFT real tokens, GRPO loss tokens
  auto step = [&] {
    if (sft)
      tokens += sft->trainStep().tokens;
    else
      tokens += grpo->trainStep().tokens / dist->worldSize();  // stats are global
  };
  step();  // warm-up
  step();
  tokens = 0;
  dist->barrier();
  dist->resetStats();
  const auto t0 = Clock::now();
  const double cpu0 = cpuSeconds();
  for (int i = 0; i < o.steps; ++i) step();
  const double cpu = dist->allReduce({cpuSeconds() - cpu0})[0];  // all ranks together
  dist->barrier();
  const double wall = since(t0);
  const double comm = dist->allReduce({dist->stats().seconds}, Reduce::kMean)[0];
  tokens = static_cast<std::int64_t>(dist->allReduce({double(tokens)})[0]);
  Transformer net = sft ? sft->model() : grpo->model();
  // The gradient all-reduce alone (all ranks in step, so no waiting for a slower peer).
  std::vector<at::Tensor> params = net->parameters();
  std::int64_t gradBytes = 0;
  for (const at::Tensor& p : params) gradBytes += p.numel() * p.element_size();
  double allReduce = 0.0, smallAllReduce = 0.0;
  if (dist->distributed()) {
    for (auto& p : params) p.mutable_grad() = at::ones_like(p);
    dist->barrier();
    const int reps = 20;
    const auto t1 = Clock::now();
    for (int i = 0; i < reps; ++i) dist->allReduceGradients(params, Reduce::kSum);
    allReduce = since(t1) / reps;
    const auto t2 = Clock::now();
    for (int i = 0; i < reps; ++i) dist->anyTrue(false);
    smallAllReduce = since(t2) / reps;
  }
  if (dist->isMain()) {
    const double samples = static_cast<double>(o.steps) * o.batch * (o.grpo ? 8 : 1);
    nlohmann::json j = {{"processes", dist->worldSize()},
                        {"threads_per_process", threads},
                        {"batch", o.batch},
                        {"steps", o.steps},
                        {"preset", o.preset},
                        {"mode", o.mode},
                        {"ms_per_step", 1000.0 * wall / o.steps},
                        {"us_per_sample", 1e6 * wall / samples},
                        {"tokens_per_s", tokens / wall},
                        {"comm_ms_per_step", 1000.0 * comm / o.steps},
                        {"cpu_ms_per_step", 1000.0 * cpu / o.steps},
                        {"allreduce_ms", 1000.0 * allReduce},
                        {"small_allreduce_ms", 1000.0 * smallAllReduce},
                        {"grad_mib", gradBytes / 1048576.0},
                        {"kind", o.grpo ? "grpo" : "sft"}};
    std::ofstream(result) << j.dump() << "\n";
  }
  fs::remove_all(out);
  return 0;
}

int freePort() {
  const int s = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in sa{};
  sa.sin_family = AF_INET;
  sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t len = sizeof sa;
  ::bind(s, reinterpret_cast<sockaddr*>(&sa), sizeof sa);
  ::getsockname(s, reinterpret_cast<sockaddr*>(&sa), &len);
  ::close(s);
  return ntohs(sa.sin_port);
}

/** Runs one measurement with @p world processes of @p threads threads; returns rank 0's JSON. */
nlohmann::json measure(char** argv, int world, int threads) {
  const fs::path result =
      fs::temp_directory_path() / ("nmar-bench-ddp-" + std::to_string(getpid()) + ".json");
  fs::remove(result);
  const int port = freePort();
  std::vector<pid_t> pids;
  for (int rank = 0; rank < world; ++rank) {
    const pid_t pid = ::fork();
    if (pid == 0) {
      ::setenv("BENCH_WORKER", result.c_str(), 1);
      ::setenv("BENCH_THREADS", std::to_string(threads).c_str(), 1);
      ::setenv("OMP_NUM_THREADS", std::to_string(threads).c_str(), 1);
      if (world > 1) {
        ::setenv("RANK", std::to_string(rank).c_str(), 1);
        ::setenv("WORLD_SIZE", std::to_string(world).c_str(), 1);
        ::setenv("MASTER_ADDR", "127.0.0.1", 1);
        ::setenv("MASTER_PORT", std::to_string(port).c_str(), 1);
      }
      ::execv("/proc/self/exe", argv);
      ::_exit(127);
    }
    pids.push_back(pid);
  }
  for (pid_t pid : pids) ::waitpid(pid, nullptr, 0);
  std::ifstream in(result);
  nlohmann::json j = nlohmann::json::parse(in, nullptr, false);
  fs::remove(result);
  return j;
}

}  // namespace

int main(int argc, char** argv) {
  Options o;
  for (int i = 1; i < argc; ++i) {
    const std::string a = argv[i];
    auto next = [&]() -> std::string { return i + 1 < argc ? argv[++i] : ""; };
    if (a == "--steps")
      o.steps = std::atoi(next().c_str());
    else if (a == "--batch")
      o.batch = std::atoi(next().c_str());
    else if (a == "--preset")
      o.preset = next();
    else if (a == "--mode")
      o.mode = next();
    else if (a == "--json")
      o.json = true;
    else if (a == "--grpo")
      o.grpo = true;
    else {
      std::fprintf(stderr,
                   "usage: bench_distributed [--steps N] [--batch B] "
                   "[--preset tiny|small] [--mode hard|soft] [--grpo] [--json]\n");
      return 2;
    }
  }
  if (const char* result = std::getenv("BENCH_WORKER")) return worker(o, result);

  auto loadAverage = [] {
    double load = 0.0;
    std::ifstream("/proc/loadavg") >> load;
    return load;
  };
  const double loadBefore = loadAverage();
  nlohmann::json runs = nlohmann::json::array();
  for (auto [world, threads] : {std::pair{1, 1}, std::pair{1, 2}, std::pair{2, 1}}) {
    nlohmann::json j = measure(argv, world, threads);
    if (j.is_discarded()) {
      std::fprintf(stderr, "bench_distributed: the run with %d process(es) failed\n", world);
      return 1;
    }
    runs.push_back(j);
  }
  if (o.json) {
    std::printf("%s\n",
                nlohmann::json{{"bench", "distributed_sft"}, {"blas", activeBlas()}, {"runs", runs}}
                    .dump(2)
                    .c_str());
    return 0;
  }
  std::printf(
      "data-parallel %s: Llama %s preset, %s mask, global batch %d, %d steps; "
      "BLAS %s; Gloo on loopback; %u CPUs, load average %.1f -> %.1f\n",
      o.grpo ? "GRPO (batch = prompts x 8 completions)" : "masked SFT", o.preset.c_str(),
      o.mode.c_str(), o.batch, o.steps, activeBlas().c_str(), std::thread::hardware_concurrency(),
      loadBefore, loadAverage());
  std::printf("%-9s %-7s %8s %10s %9s %11s %11s %13s %9s %8s\n", "processes", "threads", "ms/step",
              "us/sample", "tokens/s", "cpu ms/st", "comm ms/st", "allreduce ms", "small ms",
              "grad MiB");
  for (const auto& j : runs) {
    std::printf("%-9d %-7d %8.1f %10.1f %9.0f %11.1f %11.2f %13.2f %9.2f %8.2f\n",
                j["processes"].get<int>(), j["threads_per_process"].get<int>(),
                j["ms_per_step"].get<double>(), j["us_per_sample"].get<double>(),
                j["tokens_per_s"].get<double>(), j["cpu_ms_per_step"].get<double>(),
                j["comm_ms_per_step"].get<double>(), j["allreduce_ms"].get<double>(),
                j["small_allreduce_ms"].get<double>(), j["grad_mib"].get<double>());
  }
  return 0;
}
