// Not a test: encode throughput (MB/s) of the fixture tokenizers on Moby-Dick's 135 chapters.
// Usage: bench_tokenizer [repetitions]   (run from anywhere; the fixtures path is compiled in)
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <vector>

#include "tokenizer/tokenizer.h"
#include "nmar_test_paths.h"

namespace fs = std::filesystem;

int main(int argc, char** argv) {
  const int reps = argc > 1 ? std::max(1, std::atoi(argv[1])) : 3;
  const fs::path fixtures(NMAR_FIXTURES_DIR);
  std::vector<fs::path> chapters;
  for (const auto& e : fs::directory_iterator(fixtures / "corpora" / "moby-dick"))
    if (e.path().filename().string().rfind("chapter_", 0) == 0) chapters.push_back(e.path());
  std::sort(chapters.begin(), chapters.end());
  std::string text;
  for (const auto& f : chapters) {
    std::ifstream in(f, std::ios::binary);
    std::ostringstream ss;
    ss << in.rdbuf();
    text += ss.str();
  }
  std::printf("Moby-Dick, %zu chapters, %.2f MB; %d timed runs after one cold run\n",
              chapters.size(), text.size() / 1e6, reps);
  for (const char* name : {"gpt2", "qwen", "llama2/tokenizer.model", "llama2/tokenizer.json"}) {
    try {
      const auto t0 = std::chrono::steady_clock::now();
      const auto tok = nmar::core::loadTokenizer(fixtures / "tokenizers" / name);
      const auto t1 = std::chrono::steady_clock::now();
      std::size_t count = tok->encode(text).size();  // cold: fills the word cache
      const auto t2 = std::chrono::steady_clock::now();
      for (int r = 0; r < reps; ++r) count = tok->encode(text).size();
      const auto t3 = std::chrono::steady_clock::now();
      const auto s = [](auto a, auto b) { return std::chrono::duration<double>(b - a).count(); };
      std::printf("%-24s load %6.2f s  cold %6.2f MB/s  warm %6.2f MB/s  (%zu tokens)\n", name,
                  s(t0, t1), text.size() / 1e6 / s(t1, t2), reps * text.size() / 1e6 / s(t2, t3),
                  count);
    } catch (const std::exception& e) {
      std::printf("%-24s failed: %s\n", name, e.what());
      return 1;
    }
  }
  return 0;
}
