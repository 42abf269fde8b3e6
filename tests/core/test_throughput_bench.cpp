// bench_throughput: one table of the throughput figures users compare over time, on the same
// models: masked-SFT tokens/s, GRPO completions/s and decode tokens/s (plain, and pruned with
// 10% and 30% UNDOs), plus the process's peak resident memory. Not a test: no assertions.
//
//   bench_throughput [--device cpu|cuda|cuda:N|auto] [--steps N] [--presets tiny,small]
//                    [--attention auto|explicit|library] [--json]
//
// Models: the Llama `tiny` and `small` presets (random init, char tokenizer, fp32). SFT: batch 32,
// 3-4 digit addition, random deviations in half the examples, hard mask. GRPO: 4 prompts x 8
// completions of at most 16 steps (batched group decoding), 2-digit addition, 1 inner update.
// Decode: an 8-token prompt and 256 output tokens with UNDOs forced from a seeded schedule
// (pruned hard mode); the figures count every model step (pushes and pops). Each figure follows 2
// warm-up steps; on CUDA every timed region ends with a device synchronisation.
// --attention: the attention path when no probabilities are recorded (model/attention_kernel.h;
// auto = LibTorch's fused scaled_dot_product_attention from LibTorch 2.0 on, else the explicit one).
// Peak memory is ru_maxrss of this process (host memory; on CUDA it does not count the device).
#include <sys/resource.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <string>
#include <vector>

#include <ATen/Parallel.h>
#include <nlohmann/json.hpp>
#include <torch/cuda.h>

#include "decode/forced_deviation.h"
#include "decode/pruned_decoder.h"
#include "model/attention_kernel.h"
#include "train/experiment.h"
#include "train/grpo_trainer.h"
#include "train/sft_trainer.h"
#include "util/build_info.h"
#include "util/device.h"

using namespace nmar::core;
namespace fs = std::filesystem;
using Clock = std::chrono::steady_clock;

namespace {

struct Options {
  std::string device = "cpu";
  int steps = 10;
  std::vector<std::string> presets = {"tiny", "small"};
  bool json = false;
};

void sync(const c10::Device& d) {
  if (d.is_cuda()) torch::cuda::synchronize(d.index());
}

double peakRssMiB() {
  rusage u{};
  ::getrusage(RUSAGE_SELF, &u);
  return static_cast<double>(u.ru_maxrss) / 1024.0;  // KiB on Linux
}

std::string experimentToml(const std::string& preset, const std::string& device) {
  return "[run]\nseed = 1\ndevice = \"" + device + "\"\n[model]\nfamily = \"llama\"\npreset = \"" +
         preset + "\"\n";
}

/** Seconds of @p steps calls of @p step after 2 warm-up calls, synchronised on @p dev. */
template <class Step>
double timed(int steps, const c10::Device& dev, Step step) {
  step();
  step();
  sync(dev);
  const auto t0 = Clock::now();
  for (int i = 0; i < steps; ++i) step();
  sync(dev);
  return std::chrono::duration<double>(Clock::now() - t0).count();
}

/** Masked SFT: real tokens per second and ms per step. */
nlohmann::json sft(const Options& o, const std::string& preset, const c10::Device& dev) {
  const fs::path out = fs::temp_directory_path() / "nmar-bench-throughput";
  SftTrainer t(parseExperiment(experimentToml(preset, o.device) +
                                   "[data]\ntask = \"addition\"\nmin_difficulty = 3\n"
                                   "max_difficulty = 4\n[deviation]\nkind = \"random\"\n"
                                   "fraction = 0.5\nmax_events = 2\n[train]\nsteps = 100000\n"
                                   "batch_size = 32\nmode = \"hard\"\n[eval]\nexamples = 1\n",
                               out / "sft.toml"));
  std::int64_t tokens = 0, warmup = -1;
  const double s = timed(o.steps, dev, [&] {
    if (++warmup < 2) {
      t.trainStep();  // the warm-up steps' tokens are not counted
    } else {
      tokens += t.trainStep().tokens;
    }
  });
  return {{"tokens_per_s", tokens / s}, {"ms_per_step", 1000.0 * s / o.steps},
          {"parameters", t.model()->parameterCount()}};
}

/** GRPO: completions per second (sampling + scoring + update) and ms per step. */
nlohmann::json grpo(const Options& o, const std::string& preset, const c10::Device& dev) {
  const fs::path out = fs::temp_directory_path() / "nmar-bench-throughput";
  GrpoTrainer t(parseExperiment(experimentToml(preset, o.device) +
                                    "[data]\ntask = \"addition\"\nmin_difficulty = 2\n"
                                    "max_difficulty = 2\n[grpo]\nnum_generations = 8\n"
                                    "prompts_per_step = 4\nmax_completion_length = 16\n"
                                    "[train]\nsteps = 100000\nmode = \"hard\"\n"
                                    "[eval]\nexamples = 1\n",
                                out / "grpo.toml"));
  const double s = timed(o.steps, dev, [&] { t.trainStep(); });
  return {{"completions_per_s", 32.0 * o.steps / s}, {"ms_per_step", 1000.0 * s / o.steps}};
}

/** Decoding 256 output tokens with UNDOs forced at @p rate: model steps per second. */
double decodeRate(Transformer& model, double rate, const c10::Device& dev) {
  DecodeSettings s;
  s.mode = TraceMode::kHard;
  s.undoId = 7;
  s.sampler.undoLogitBias = -30.0;  // UNDOs come from the schedule
  s.sampler.maxNewTokens = 100000;
  s.sampler.stopAtEos = false;
  s.sampler.seed = 1234;
  double best = 0.0;
  for (int repeat = 0; repeat < 2; ++repeat) {
    PrunedDecoder decoder(model, s);
    DeviationRng schedule(99);
    sync(dev);
    const auto t0 = Clock::now();
    decoder.start({1, 2, 3, 4, 5, 6, 8, 9});
    while (decoder.depth() < 256) {
      if (schedule.uniform() < rate && decoder.depth() > 0)
        decoder.forcePop();
      else
        decoder.step();
    }
    sync(dev);
    const double secs = std::chrono::duration<double>(Clock::now() - t0).count();
    best = std::max(best, static_cast<double>(decoder.trace().steps.size()) / secs);
  }
  return best;
}

nlohmann::json decoding(const std::string& preset, const c10::Device& dev) {
  Transformer model(ModelConfig::preset(ModelFamily::Llama, preset, 1024));
  model->initWeights(1);
  model->to(dev);
  model->eval();
  return {{"plain_tokens_per_s", decodeRate(model, 0.0, dev)},
          {"undo10_tokens_per_s", decodeRate(model, 0.1, dev)},
          {"undo30_tokens_per_s", decodeRate(model, 0.3, dev)}};
}

Options parse(int argc, char** argv) {
  Options o;
  for (int i = 1; i < argc; ++i) {
    const std::string a = argv[i];
    auto next = [&]() -> std::string {
      if (i + 1 >= argc) {
        std::fprintf(stderr, "bench_throughput: %s needs a value\n", a.c_str());
        std::exit(2);
      }
      return argv[++i];
    };
    if (a == "--device") {
      o.device = next();
    } else if (a == "--steps") {
      o.steps = std::max(1, std::atoi(next().c_str()));
    } else if (a == "--presets") {
      o.presets.clear();
      std::string list = next();
      for (std::size_t p = 0; p <= list.size();) {
        const std::size_t q = std::min(list.find(',', p), list.size());
        if (q > p) o.presets.push_back(list.substr(p, q - p));
        p = q + 1;
      }
    } else if (a == "--attention") {
      const std::string kernel = next();
      try {
        setAttentionKernel(parseAttentionKernel(kernel));
      } catch (const std::exception& e) {
        std::fprintf(stderr, "bench_throughput: --attention: %s\n", e.what());
        std::exit(2);
      }
    } else if (a == "--json") {
      o.json = true;
    } else {
      std::fprintf(stderr,
                   "usage: bench_throughput [--device cpu|cuda|cuda:N|auto] [--steps N] "
                   "[--presets tiny,small] [--attention auto|explicit|library] [--json]\n");
      std::exit(a == "--help" || a == "-h" ? 0 : 2);
    }
  }
  return o;
}

}  // namespace

int main(int argc, char** argv) {
  const Options o = parse(argc, argv);
  c10::Device dev(c10::kCPU);
  try {
    dev = parseDevice(o.device);
  } catch (const std::exception& e) {
    std::fprintf(stderr, "bench_throughput: %s\n", e.what());
    return 2;
  }
  const BuildInfo info = buildInfo();
  const char* attention = attentionKernelName(resolveAttentionKernel(attentionKernel()));
  nlohmann::json report = {{"device", deviceName(dev)},
                           {"threads", at::get_num_threads()},
                           {"blas", info.blas},
                           {"torch", info.torchVersion},
                           {"revision", info.gitRevision},
                           {"steps", o.steps},
                           {"attention", attention},
                           {"models", nlohmann::json::array()}};
  if (!o.json)
    std::printf("bench_throughput: %s, %d threads, %s, LibTorch %s, %s attention; %d timed "
                "steps\n\n"
                "| preset | params | SFT tok/s | SFT ms/step | GRPO compl/s | GRPO ms/step | "
                "decode tok/s | UNDO 10%% | UNDO 30%% | peak RSS MiB |\n"
                "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|\n",
                deviceName(dev).c_str(), at::get_num_threads(), info.blas.c_str(),
                info.torchVersion.c_str(), attention, o.steps);
  for (const std::string& preset : o.presets) {
    nlohmann::json m;
    try {
      m = {{"preset", preset},
           {"sft", sft(o, preset, dev)},
           {"grpo", grpo(o, preset, dev)},
           {"decode", decoding(preset, dev)},
           {"peak_rss_mib", peakRssMiB()}};
    } catch (const std::exception& e) {
      std::fprintf(stderr, "bench_throughput: preset %s: %s\n", preset.c_str(), e.what());
      return 1;
    }
    report["models"].push_back(m);
    if (!o.json) {
      std::printf("| %s | %lld | %.0f | %.1f | %.1f | %.1f | %.0f | %.0f | %.0f | %.0f |\n",
                  preset.c_str(), static_cast<long long>(m["sft"]["parameters"].get<std::int64_t>()),
                  m["sft"]["tokens_per_s"].get<double>(), m["sft"]["ms_per_step"].get<double>(),
                  m["grpo"]["completions_per_s"].get<double>(),
                  m["grpo"]["ms_per_step"].get<double>(),
                  m["decode"]["plain_tokens_per_s"].get<double>(),
                  m["decode"]["undo10_tokens_per_s"].get<double>(),
                  m["decode"]["undo30_tokens_per_s"].get<double>(), m["peak_rss_mib"].get<double>());
      std::fflush(stdout);
    }
  }
  if (o.json) std::printf("%s\n", report.dump(2).c_str());
  return 0;
}
