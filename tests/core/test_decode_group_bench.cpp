// bench_decode_group: completions/s of GRPO-style group sampling (G completions of one prompt),
// decoded as one lockstep batch (decodeGroup) against G sequential PrunedDecoder runs. Not a test:
// no assertions (test_decode_group holds the two to the same tokens).
//
//   bench_decode_group [G ...]     (default: 1 4 8 16)
//
// Model: the `small` Llama preset (4 layers, d=128, 4 heads / 2 kv heads) and the `tiny` GPT-2
// preset, vocabulary 1024, random init, fp32 on the CPU; prompt of 8 tokens; hard mode,
// temperature 1, UNDO logit bias +4 so that rows pop now and then; no EOS, 48 new tokens per
// completion (every row runs the same number of steps). Each figure is the best of 3 runs.
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <tuple>
#include <vector>

#include <ATen/Parallel.h>

#include "decode/group_decoder.h"
#include "decode/pruned_decoder.h"
#include "model/transformer.h"
#include "util/build_info.h"

using namespace nmar::core;

namespace {

constexpr std::int64_t kVocab = 1024;
constexpr std::int64_t kUndo = 7;
constexpr int kNewTokens = 48;
constexpr int kRepeats = 3;

using Clock = std::chrono::steady_clock;

double since(Clock::time_point t) {
  return std::chrono::duration<double>(Clock::now() - t).count();
}

const std::vector<std::int64_t> kPrompt = {1, 2, 3, 4, 5, 6, 8, 9};

DecodeSettings settings() {
  DecodeSettings s;
  s.mode = TraceMode::kHard;
  s.undoId = kUndo;
  s.sampler.undoLogitBias = 4.0;
  s.sampler.maxNewTokens = kNewTokens;
  s.sampler.stopAtEos = false;
  return s;
}

std::vector<std::uint64_t> seedsFor(int g) {
  std::vector<std::uint64_t> seeds;
  for (int i = 0; i < g; ++i) seeds.push_back(1000 + static_cast<std::uint64_t>(i));
  return seeds;
}

struct Timing {
  double seconds = 1e30;
  long steps = 0;
  long undos = 0;
};

Timing sequential(Transformer& model, int g) {
  Timing best;
  for (int r = 0; r < kRepeats; ++r) {
    Timing t;
    const auto start = Clock::now();
    for (std::uint64_t seed : seedsFor(g)) {
      DecodeSettings s = settings();
      s.sampler.seed = seed;
      const Trace trace = decode(model, kPrompt, s);
      t.steps += static_cast<long>(trace.steps.size());
      for (const auto& step : trace.steps) t.undos += step.kind == StepKind::kPop ? 1 : 0;
    }
    t.seconds = since(start);
    if (t.seconds < best.seconds) best = t;
  }
  return best;
}

Timing batched(Transformer& model, int g) {
  Timing best;
  for (int r = 0; r < kRepeats; ++r) {
    Timing t;
    const auto start = Clock::now();
    const std::vector<Trace> traces = decodeGroup(model, kPrompt, settings(), seedsFor(g));
    t.seconds = since(start);
    for (const Trace& trace : traces) {
      t.steps += static_cast<long>(trace.steps.size());
      for (const auto& step : trace.steps) t.undos += step.kind == StepKind::kPop ? 1 : 0;
    }
    if (t.seconds < best.seconds) best = t;
  }
  return best;
}

void bench(const std::string& name, Transformer& model, const std::vector<int>& groups) {
  model->eval();
  decodeGroup(model, kPrompt, settings(), seedsFor(2));  // warm-up
  for (int g : groups) {
    const Timing seq = sequential(model, g);
    const Timing bat = batched(model, g);
    std::printf("| %-12s | %3d | %6ld | %5.1f%% | %8.3f | %8.1f | %8.3f | %8.1f | %6.2fx |\n",
                name.c_str(), g, bat.steps,
                100.0 * static_cast<double>(bat.undos) / static_cast<double>(bat.steps),
                seq.seconds, static_cast<double>(g) / seq.seconds, bat.seconds,
                static_cast<double>(g) / bat.seconds, seq.seconds / bat.seconds);
    std::fflush(stdout);
  }
}

}  // namespace

int main(int argc, char** argv) {
  std::vector<int> groups;
  for (int i = 1; i < argc; ++i) groups.push_back(std::max(1, std::atoi(argv[i])));
  if (groups.empty()) groups = {1, 4, 8, 16};
  const BuildInfo info = buildInfo();
  std::printf(
      "bench_decode_group: %d new tokens per completion, hard mode, fp32 CPU, %d threads, %s, "
      "LibTorch %s; best of %d\n\n",
      kNewTokens, at::get_num_threads(), info.blas.c_str(), info.torchVersion.c_str(), kRepeats);
  std::printf(
      "| model        |   G |  steps |  UNDO  |  seq s   | seq c/s  | batch s  | batch c/s | "
      "speedup |\n");
  std::printf(
      "|--------------|----:|-------:|-------:|---------:|---------:|---------:|---------:|"
      "--------:|\n");
  for (auto [family, preset, name] :
       {std::tuple{ModelFamily::Llama, "small", "llama small"},
        std::tuple{ModelFamily::Gpt2, "tiny", "gpt2 tiny"}}) {
    Transformer model(ModelConfig::preset(family, preset, kVocab));
    model->initWeights(1);
    bench(name, model, groups);
  }
  return 0;
}
