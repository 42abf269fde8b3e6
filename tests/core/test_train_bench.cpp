// Not a test: training throughput of masked SFT (tokens/s) and the share of a step spent building
// the masks, positions and loss weights (goal: under 5%). Usage: bench_train [steps] [preset]
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <string>

#include <ATen/Parallel.h>

#include "train/experiment.h"
#include "train/sft_trainer.h"
#include "util/build_info.h"

using namespace nmar::core;

int main(int argc, char** argv) {
  const int steps = argc > 1 ? std::atoi(argv[1]) : 30;
  const std::string preset = argc > 2 ? argv[2] : "small";
  const auto out = std::filesystem::temp_directory_path() / "nmar-bench-train";
  std::printf("masked SFT throughput: Llama %s preset, char tokenizer, addition 3-4 digits, "
              "random deviations in half the examples; BLAS %s, %d torch threads\n",
              preset.c_str(), activeBlas().c_str(), at::get_num_threads());
  std::printf("%-6s %-6s %-6s %12s %12s %10s %10s\n", "batch", "mode", "loss", "tokens/s",
              "ms/step", "mask %", "data %");
  for (int batch : {16, 32, 64}) {
    for (const char* mode : {"hard", "soft"}) {
      const std::string toml =
          "[run]\nseed = 1\n[model]\nfamily = \"llama\"\npreset = \"" + preset + "\"\n"
          "[data]\ntask = \"addition\"\nmin_difficulty = 3\nmax_difficulty = 4\n"
          "[deviation]\nkind = \"random\"\nfraction = 0.5\nmax_events = 2\n"
          "[train]\nsteps = 1000\nbatch_size = " + std::to_string(batch) + "\nmode = \"" + mode +
          "\"\n[eval]\nexamples = 1\n";
      SftTrainer trainer(parseExperiment(toml, out / "bench.toml"));
      trainer.trainStep();  // warm-up
      StepTiming sum;
      for (int i = 0; i < steps; ++i) {
        StepTiming t = trainer.trainStep();
        sum.dataSeconds += t.dataSeconds;
        sum.maskSeconds += t.maskSeconds;
        sum.modelSeconds += t.modelSeconds;
        sum.tokens += t.tokens;
      }
      const double total = sum.dataSeconds + sum.maskSeconds + sum.modelSeconds;
      std::printf("%-6d %-6s %-6s %12.0f %12.1f %9.2f%% %9.2f%%\n", batch, mode, "masked",
                  sum.tokens / total, 1000.0 * total / steps, 100.0 * sum.maskSeconds / total,
                  100.0 * sum.dataSeconds / total);
    }
  }
  std::filesystem::remove_all(out);
  return 0;
}
