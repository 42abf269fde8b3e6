// Drives the real `nmar` binary: help, version, tokenize, model new/info, forward, and bad input.
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>
#include <torch/torch.h>

#include <sys/wait.h>

#include <array>
#include <cstdio>
#include <filesystem>

#include "checkpoint/safetensors.h"
#include "model/pretrained.h"

namespace fs = std::filesystem;
using namespace nmar::core;

namespace {

struct Result {
  int code = -1;
  std::string out;  // stdout and stderr together
};

Result run(const std::string& args) {
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

const std::string kGpt2 = std::string(NMAR_FIXTURES_DIR) + "/tokenizers/gpt2/encoder.json";

}  // namespace

TEST_F(Cli, HelpListsSubcommands) {
  const Result r = run("--help");
  EXPECT_EQ(r.code, 0);
  for (const char* sub : {"tokenize", "model", "forward", "--version"})
    EXPECT_NE(r.out.find(sub), std::string::npos) << sub << "\n" << r.out;
  const Result m = run("model --help");
  EXPECT_EQ(m.code, 0);
  EXPECT_NE(m.out.find("info"), std::string::npos);
  EXPECT_NE(m.out.find("new"), std::string::npos);
}

TEST_F(Cli, VersionNamesTorchAndBlas) {
  const Result r = run("--version");
  EXPECT_EQ(r.code, 0);
  EXPECT_NE(r.out.find("LibTorch"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("BLAS: "), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("SQLite 3."), std::string::npos) << r.out;
}

TEST_F(Cli, TokenizePrintsIdsAndJson) {
  const Result r = run("tokenize " + kGpt2 + " --text 'Hello world'");
  EXPECT_EQ(r.code, 0) << r.out;
  EXPECT_EQ(r.out, "15496 995\n");
  const Result j = run("tokenize " + kGpt2 + " --text 'Hello world' --json");
  ASSERT_EQ(j.code, 0) << j.out;
  const auto json = nlohmann::json::parse(j.out);
  EXPECT_EQ(json["ids"], nlohmann::json::array({15496, 995}));
  EXPECT_EQ(json["pieces"][1], " world");
}

TEST_F(Cli, TokenizeRejectsMissingInputAndFiles) {
  EXPECT_NE(run("tokenize " + kGpt2).code, 0);
  const Result r = run("tokenize " + kGpt2 + " --file " + path("absent.txt"));
  EXPECT_EQ(r.code, 1);
  EXPECT_NE(r.out.find("absent.txt"), std::string::npos) << r.out;
  const Result t = run("tokenize " + path("no-tokenizer-here") + " --text hi");
  EXPECT_EQ(t.code, 1);
  EXPECT_NE(t.out.find("no-tokenizer-here"), std::string::npos) << t.out;
}

TEST_F(Cli, ModelNewInfoForwardRoundTrip) {
  const std::string ckpt = path("tiny");
  const Result made = run("model new --family llama --preset tiny --untied --seed 3 " + ckpt);
  ASSERT_EQ(made.code, 0) << made.out;
  EXPECT_TRUE(looksLikeCheckpoint(ckpt));

  const Result info = run("model info --json " + ckpt);
  ASSERT_EQ(info.code, 0) << info.out;
  const auto j = nlohmann::json::parse(info.out);
  EXPECT_EQ(j["model_type"], "llama");
  EXPECT_EQ(j["tied_head"], false);
  EXPECT_GT(j["parameters"].get<long>(), 10000);
  EXPECT_EQ(j["tokenizer"]["vocab_size"], j["vocab_size"]);
  EXPECT_NE(run("model info " + ckpt).out.find("parameters"), std::string::npos);

  // Refuses to overwrite without --force: nothing already saved is lost.
  const Result again = run("model new --family llama --preset tiny " + ckpt);
  EXPECT_EQ(again.code, 1);
  EXPECT_NE(again.out.find("--force"), std::string::npos) << again.out;

  const std::string out = path("logits.safetensors");
  const Result fwd = run("forward " + ckpt + " --ids 1,2,3,4 --attention --out " + out);
  ASSERT_EQ(fwd.code, 0) << fwd.out;
  const TensorMap t = readSafetensors(out);
  ASSERT_TRUE(t.count("logits") && t.count("mask") && t.count("position_ids"));
  EXPECT_EQ(t.at("logits").sizes(), (std::vector<int64_t>{1, 4, j["vocab_size"].get<long>()}));
  EXPECT_TRUE(torch::equal(t.at("position_ids"), torch::arange(4, torch::kLong).unsqueeze(0)));
  EXPECT_TRUE(torch::equal(t.at("mask")[0][0], torch::ones({4, 4}, torch::kBool).tril()));
  EXPECT_TRUE(t.count("attentions.1"));

  // The file holds exactly what the engine computes in-process.
  Pretrained p = loadPretrained(ckpt);
  torch::NoGradGuard g;
  const auto logits = p.model->forward(torch::tensor({1, 2, 3, 4}, torch::kLong).unsqueeze(0)).logits;
  EXPECT_TRUE(torch::allclose(logits, t.at("logits"), 1e-6, 1e-6));
}

TEST_F(Cli, ForwardRejectsBadIdsWithPosition) {
  const std::string ckpt = path("tiny2");
  ASSERT_EQ(run("model new --family gpt2 --preset tiny " + ckpt).code, 0);
  const Result bad = run("forward " + ckpt + " --ids 1,x,3 --out " + path("o.safetensors"));
  EXPECT_EQ(bad.code, 1);
  EXPECT_NE(bad.out.find("item 2"), std::string::npos) << bad.out;
  const Result big = run("forward " + ckpt + " --ids 1,999999 --out " + path("o.safetensors"));
  EXPECT_EQ(big.code, 1);
  EXPECT_NE(big.out.find("token 2"), std::string::npos) << big.out;
  const Result missing = run("model info " + path("does-not-exist"));
  EXPECT_EQ(missing.code, 1);
  EXPECT_NE(missing.out.find("does-not-exist"), std::string::npos) << missing.out;
}
