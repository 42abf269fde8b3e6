#pragma once
// Shared by the CLI test executables: runs the real `nmar` binary and gives each test a fresh
// temporary folder.
#include <gtest/gtest.h>

#include <sys/wait.h>
#include <unistd.h>

#include <array>
#include <cstdint>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include "nmar_test_paths.h"
#include "model/pretrained.h"

namespace nmar::testing {

namespace fs = std::filesystem;

/** Exit code and output (stdout and stderr together) of one `nmar` run. */
struct Result {
  int code = -1;
  std::string out;
};

/** Runs `nmar ARGS` through the shell and waits for it. */
inline Result run(const std::string& args) {
  const std::string cmd = std::string(NMAR_CLI_PATH) + " " + args + " 2>&1";
  Result r;
  FILE* pipe = popen(cmd.c_str(), "r");
  if (!pipe) return r;
  std::array<char, 4096> buf{};
  std::size_t n;
  while ((n = fread(buf.data(), 1, buf.size(), pipe)) > 0) r.out.append(buf.data(), n);
  const int status = pclose(pipe);
  r.code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  return r;
}

/** A fixture with an empty temporary folder per test. */
class Cli : public ::testing::Test {
 protected:
  void SetUp() override {
    m_dir = fs::temp_directory_path() / ("nmar-cli-" + std::to_string(::getpid()));
    fs::remove_all(m_dir);
    fs::create_directories(m_dir);
  }
  void TearDown() override { fs::remove_all(m_dir); }
  std::string path(const std::string& name) const { return (m_dir / name).string(); }
  fs::path m_dir;
};

/** The GPT-2 tokenizer of the fixtures. */
inline const std::string kGpt2 =
    std::string(NMAR_FIXTURES_DIR) + "/tokenizers/gpt2/encoder.json";

/** The lines of @p text. */
inline std::vector<std::string> lines(const std::string& text) {
  std::vector<std::string> out;
  std::istringstream in(text);
  for (std::string l; std::getline(in, l);) out.push_back(l);
  return out;
}

/** The bytes of @p file. */
inline std::string fileText(const std::string& file) {
  std::ifstream in(file, std::ios::binary);
  std::ostringstream s;
  s << in.rdbuf();
  return s.str();
}

/** A tiny llama checkpoint with the UNDO token added, in @p dir; returns its UNDO id. */
inline std::int64_t makeUndoCheckpoint(const std::string& plain, const std::string& dir) {
  const Result made = run("model new --family llama --preset tiny --seed 4 " + plain);
  EXPECT_EQ(made.code, 0) << made.out;
  const Result added = run("model add-undo " + plain + " --out " + dir);
  EXPECT_EQ(added.code, 0) << added.out;
  const core::Pretrained p = core::loadPretrained(dir);
  return p.tokenizer->tokenId("<|undo|>").value_or(-1);
}

}  // namespace nmar::testing
