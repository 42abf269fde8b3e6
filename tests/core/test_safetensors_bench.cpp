// Throughput of writing and reading a ~100 MB safetensors file (a measurement, not a timed
// assertion: the test checks the data, and reports MB/s as test properties and on stdout).
#include <gtest/gtest.h>
#include <unistd.h>

#include <chrono>
#include <cstring>
#include <iostream>

#include <ATen/ATen.h>

#include "checkpoint/checkpoint.h"
#include "checkpoint/safetensors.h"

using namespace nmar::core;
namespace fs = std::filesystem;

namespace {

double secondsSince(std::chrono::steady_clock::time_point start) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
}

class SafetensorsBench : public ::testing::Test {
 protected:
  void SetUp() override {
    m_dir = fs::temp_directory_path() / ("nmar_st_bench_" + std::to_string(::getpid()));
    fs::remove_all(m_dir);
    fs::create_directories(m_dir);
    at::manual_seed(3);
    // 100 MB: 24 float32 matrices of 1024 x 1024 (4 MiB each) and a bf16 embedding.
    for (int i = 0; i < 24; ++i)
      m_tensors["model.layers." + std::to_string(i) + ".weight"] = at::randn({1024, 1024});
    m_tensors["model.embed_tokens.weight"] = at::randn({2048, 1024}).to(at::kBFloat16);
    for (const auto& [name, t] : m_tensors) m_bytes += safetensorsByteSize(t);
  }
  void TearDown() override { fs::remove_all(m_dir); }

  void report(const std::string& what, double seconds) {
    const double mbps = static_cast<double>(m_bytes) / 1e6 / seconds;
    RecordProperty(what + "_MBps", std::to_string(static_cast<long>(mbps)));
    std::cout << what << ": " << m_bytes / 1000000 << " MB in " << seconds
              << " s = " << static_cast<long>(mbps) << " MB/s\n";
  }

  void expectEqual(const TensorMap& back) {
    ASSERT_EQ(back.size(), m_tensors.size());
    for (const auto& [name, t] : m_tensors) {
      const at::Tensor& b = back.at(name);
      ASSERT_EQ(b.scalar_type(), t.scalar_type()) << name;
      ASSERT_EQ(b.sizes(), t.sizes()) << name;
      EXPECT_EQ(std::memcmp(b.data_ptr(), t.data_ptr(), safetensorsByteSize(t)), 0) << name;
    }
  }

  fs::path m_dir;
  TensorMap m_tensors;
  std::uint64_t m_bytes = 0;
};

}  // namespace

TEST_F(SafetensorsBench, HundredMegabyteFile) {
  ASSERT_GT(m_bytes, 100'000'000u);
  const fs::path file = m_dir / "model.safetensors";
  auto start = std::chrono::steady_clock::now();
  writeSafetensors(file, m_tensors);
  report("write (incl. fsync)", secondsSince(start));
  EXPECT_GT(fs::file_size(file), m_bytes);

  start = std::chrono::steady_clock::now();
  const TensorMap back = readSafetensors(file);
  report("read", secondsSince(start));
  expectEqual(back);
}

TEST_F(SafetensorsBench, HundredMegabyteShardedCheckpoint) {
  auto start = std::chrono::steady_clock::now();
  writeCheckpointWeights(m_dir, m_tensors, 20'000'000);
  report("sharded write (incl. fsync)", secondsSince(start));
  EXPECT_TRUE(fs::exists(m_dir / "model.safetensors.index.json"));

  start = std::chrono::steady_clock::now();
  const TensorMap back = readCheckpointWeights(m_dir);
  report("sharded read", secondsSince(start));
  expectEqual(back);
}
