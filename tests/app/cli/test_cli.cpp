// Drives the real `nmar` binary: help, version, tokenize, model new/info, forward, and bad input.
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>
#include <torch/torch.h>

#include <sys/wait.h>

#include <algorithm>
#include <array>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "checkpoint/safetensors.h"
#include "model/pretrained.h"
#include "nmar/stack_machine.h"
#include "store/run_store.h"
#include "store/sha256.h"
#include "trace/trace_io.h"

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
  for (const char* sub : {"tokenize", "model", "forward", "replay", "--version"})
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

namespace {

/** The hard mask of the spec example `p p a x U b` (prompt of 2), built by hand. */
torch::Tensor specExampleHardMask() {
  const std::vector<std::vector<int>> visible = {{0},          {0, 1},          {0, 1, 2},
                                                 {0, 1, 2, 3}, {0, 1, 2, 3, 4}, {0, 1, 2, 5}};
  torch::Tensor m = torch::zeros({6, 6}, torch::kBool);
  for (int i = 0; i < 6; ++i)
    for (int j : visible[static_cast<std::size_t>(i)]) m[i][j] = true;
  return m.view({1, 1, 6, 6});
}

}  // namespace

TEST_F(Cli, ForwardHardAndSoftMasksFollowTheStackMachine) {
  const std::string ckpt = path("tiny-undo");
  ASSERT_EQ(run("model new --family llama --preset tiny --seed 5 " + ckpt).code, 0);
  // The character tokenizer has no <|undo|>: without --undo-id hard/soft masks are refused.
  const Result noUndo =
      run("forward " + ckpt + " --ids 5,6,7,8,3,9 --mask hard --prompt-len 2 --out " +
          path("x.safetensors"));
  EXPECT_EQ(noUndo.code, 1);
  EXPECT_NE(noUndo.out.find("<|undo|>"), std::string::npos) << noUndo.out;
  EXPECT_NE(noUndo.out.find("--undo-id"), std::string::npos) << noUndo.out;
  EXPECT_NE(run("forward " + ckpt + " --ids 5,6 --mask hard --out " + path("x.safetensors")).code,
            0)
      << "--prompt-len is required";

  // p p a x U b with U = id 3: positions 0 1 2 3 4 3; b sees neither x nor U.
  const std::string hardOut = path("hard.safetensors");
  const Result hard = run("forward " + ckpt + " --ids 5,6,7,8,3,9 --mask hard --prompt-len 2 " +
                          "--undo-id 3 --out " + hardOut);
  ASSERT_EQ(hard.code, 0) << hard.out;
  const TensorMap t = readSafetensors(hardOut);
  const torch::Tensor positions = torch::tensor({0, 1, 2, 3, 4, 3}, torch::kLong).unsqueeze(0);
  const torch::Tensor mask = specExampleHardMask();
  EXPECT_TRUE(torch::equal(t.at("position_ids"), positions)) << t.at("position_ids");
  EXPECT_TRUE(torch::equal(t.at("mask"), mask)) << t.at("mask");
  EXPECT_TRUE(torch::equal(t.at("deviation"),
                           torch::tensor({0, 0, 0, 1, 0, 0}, torch::kBool).unsqueeze(0)));
  EXPECT_TRUE(
      torch::equal(t.at("pruned"), torch::tensor({0, 0, 0, 1, 1, 0}, torch::kBool).unsqueeze(0)));

  // The logits equal an in-process forward with the same mask and positions.
  Pretrained p = loadPretrained(ckpt);
  torch::NoGradGuard g;
  const torch::Tensor ids = torch::tensor({5, 6, 7, 8, 3, 9}, torch::kLong).unsqueeze(0);
  ForwardOptions fo;
  fo.mask = mask;
  fo.positionIds = positions;
  const torch::Tensor expected = p.model->forward(ids, fo).logits;
  EXPECT_TRUE(torch::allclose(expected, t.at("logits"), 1e-6, 1e-6));
  // ...and differ from the causal forward at b (the mask matters).
  const torch::Tensor causal = p.model->forward(ids).logits;
  EXPECT_FALSE(torch::allclose(causal[0][5], t.at("logits")[0][5], 1e-4, 1e-4));

  // soft: causal mask and positions 0..5, the same deviation/pruned flags.
  const std::string softOut = path("soft.safetensors");
  const Result soft = run("forward " + ckpt + " --ids 5,6,7,8,3,9 --mask soft --prompt-len 2 " +
                          "--undo-id 3 --out " + softOut);
  ASSERT_EQ(soft.code, 0) << soft.out;
  const TensorMap s = readSafetensors(softOut);
  EXPECT_TRUE(torch::equal(s.at("position_ids"), torch::arange(6, torch::kLong).unsqueeze(0)));
  EXPECT_TRUE(torch::equal(s.at("mask")[0][0], torch::ones({6, 6}, torch::kBool).tril()));
  EXPECT_TRUE(torch::equal(s.at("pruned"), t.at("pruned")));
  EXPECT_TRUE(torch::allclose(causal, s.at("logits"), 1e-6, 1e-6));
}

TEST_F(Cli, ForwardRejectsAVoidUndoWithItsPosition) {
  const std::string ckpt = path("tiny-void");
  ASSERT_EQ(run("model new --family gpt2 --preset tiny " + ckpt).code, 0);
  const Result r =
      run("forward " + ckpt + " --ids 5,6,3,7 --mask hard --prompt-len 2 --undo-id 3 --out " +
          path("v.safetensors"));
  EXPECT_EQ(r.code, 1);
  EXPECT_NE(r.out.find("position 2"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("void UNDO"), std::string::npos) << r.out;
  EXPECT_FALSE(fs::exists(path("v.safetensors")));
  const Result big = run("forward " + ckpt + " --ids 5,6 --mask hard --prompt-len 1 --undo-id " +
                         "999999 --out " + path("v.safetensors"));
  EXPECT_EQ(big.code, 1);
  EXPECT_NE(big.out.find("--undo-id 999999"), std::string::npos) << big.out;
}

namespace {

/** "12+5=" then push "1", forced push "8", UNDO (pops "8"), push "7": output "17". */
Trace replayTrace() {
  Trace t;
  t.model = "test-model";
  t.tokenizer = "chars";
  t.promptIds = {1, 2, 3, 4, 5};
  t.promptText = "12+5=";
  t.undoId = 50;
  const std::vector<std::int64_t> seq = {1, 2, 3, 4, 5, 1, 8, 50, 7};
  t.steps = stepsFromSequence(seq, 5, 50);
  const std::vector<std::string> texts = {"1", "8", "<|undo|>", "7"};
  for (std::size_t i = 0; i < texts.size(); ++i) t.steps[i].text = texts[i];
  t.steps[0].logprob = -0.105;
  t.steps[0].entropy = 0.5;
  t.steps[1].forced = true;
  t.outputIds = {1, 7};
  t.outputText = "17";
  return t;
}

std::vector<std::string> lines(const std::string& text) {
  std::vector<std::string> out;
  std::istringstream in(text);
  for (std::string l; std::getline(in, l);) out.push_back(l);
  return out;
}

}  // namespace

TEST_F(Cli, ReplayPrintsEachStepWithTheStack) {
  const std::string file = path("trace.json");
  writeTrace(file, replayTrace());
  const Result r = run("replay " + file);
  ASSERT_EQ(r.code, 0) << r.out;
  EXPECT_EQ(r.out.find("\x1b["), std::string::npos) << "colours on a pipe";
  const std::vector<std::string> l = lines(r.out);
  ASSERT_EQ(l.size(), 8u) << r.out;  // 3 header lines, 4 steps, the output
  EXPECT_NE(l[0].find("trace.json"), std::string::npos) << l[0];
  EXPECT_NE(l[2].find("prompt \"12+5=\" (5 ids), 4 steps"), std::string::npos) << l[2];
  EXPECT_EQ(l[3].rfind("    1  push   \"1\"", 0), 0u) << l[3];
  EXPECT_NE(l[3].find("pos 5"), std::string::npos) << l[3];
  EXPECT_NE(l[3].find("depth 1"), std::string::npos) << l[3];
  EXPECT_NE(l[3].find("logp -0.105  H 0.500"), std::string::npos) << l[3];
  EXPECT_NE(l[3].find("stack: \"12+5=1\""), std::string::npos) << l[3];
  EXPECT_EQ(l[3].find("FORCED"), std::string::npos) << l[3];
  EXPECT_NE(l[4].find("push   \"8\""), std::string::npos) << l[4];
  EXPECT_NE(l[4].find("FORCED  stack: \"12+5=18\""), std::string::npos) << l[4];
  // The pop shows the token it removed and the stack without it.
  EXPECT_EQ(l[5].rfind("    3  pop  \u27f2 \"8\"", 0), 0u) << l[5];
  EXPECT_NE(l[5].find("pos 7"), std::string::npos) << l[5];
  EXPECT_NE(l[5].find("depth 1"), std::string::npos) << l[5];
  EXPECT_NE(l[5].find("stack: \"12+5=1\""), std::string::npos) << l[5];
  EXPECT_NE(l[6].find("pos 6"), std::string::npos) << l[6];
  EXPECT_NE(l[6].find("stack: \"12+5=17\""), std::string::npos) << l[6];
  EXPECT_EQ(l[7], "output \"17\" (2 ids)");
}

TEST_F(Cli, ReplayStopsAtStepAndPrintsJson) {
  const std::string file = path("trace.json");
  writeTrace(file, replayTrace());
  const Result r = run("replay " + file + " --step 2 --plain");
  ASSERT_EQ(r.code, 0) << r.out;
  EXPECT_NE(r.out.find("stack: \"12+5=18\""), std::string::npos) << r.out;
  EXPECT_EQ(r.out.find("pop"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("stopped after 2 of 4 steps"), std::string::npos) << r.out;

  const Result j = run("replay " + file + " --json");
  ASSERT_EQ(j.code, 0) << j.out;
  const std::vector<std::string> l = lines(j.out);
  ASSERT_EQ(l.size(), 4u) << j.out;
  const auto pop = nlohmann::json::parse(l[2]);
  EXPECT_EQ(pop["step"], 2);
  EXPECT_EQ(pop["kind"], "pop");
  EXPECT_EQ(pop["popped"], 8);
  EXPECT_EQ(pop["popped_text"], "8");
  EXPECT_EQ(pop["stack_ids"], nlohmann::json::array({1}));
  EXPECT_EQ(pop["stack_text"], "12+5=1");
  const auto last = nlohmann::json::parse(l[3]);
  EXPECT_EQ(last["output_text"], "17");
  EXPECT_EQ(last["depth"], 2);
  EXPECT_EQ(nlohmann::json::parse(l[1])["forced"], true);

  // A JSONL file: --index picks the trace.
  Trace second = replayTrace();
  second.model = "second-model";
  writeTraces(path("many.jsonl"), {replayTrace(), second});
  const Result k = run("replay " + path("many.jsonl") + " --index 1");
  ASSERT_EQ(k.code, 0) << k.out;
  EXPECT_NE(k.out.find("[1 of 2]"), std::string::npos) << k.out;
  EXPECT_NE(k.out.find("second-model"), std::string::npos) << k.out;
  const Result out = run("replay " + path("many.jsonl") + " --index 2");
  EXPECT_EQ(out.code, 1);
  EXPECT_NE(out.out.find("--index 2 is out of range (2 traces)"), std::string::npos) << out.out;
}

TEST_F(Cli, ReplayRejectsMalformedAndMissingTraces) {
  nlohmann::json j = toJson(replayTrace());
  j["steps"][2]["position"] = 99;
  const std::string bad = path("bad.json");
  std::ofstream(bad) << j.dump(2);
  const Result r = run("replay " + bad);
  EXPECT_EQ(r.code, 1);
  EXPECT_NE(r.out.find("bad.json"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("step 2"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("position"), std::string::npos) << r.out;

  const Result missing = run("replay " + path("absent.json"));
  EXPECT_EQ(missing.code, 1);
  EXPECT_NE(missing.out.find("absent.json"), std::string::npos) << missing.out;
}

// --- nmar decode ---

namespace {

/** A tiny llama checkpoint with the UNDO token added, in @p dir; returns its UNDO id. */
std::int64_t makeUndoCheckpoint(const std::string& plain, const std::string& dir) {
  const Result made = run("model new --family llama --preset tiny --seed 4 " + plain);
  EXPECT_EQ(made.code, 0) << made.out;
  const Result added = run("model add-undo " + plain + " --out " + dir);
  EXPECT_EQ(added.code, 0) << added.out;
  const Pretrained p = loadPretrained(dir);
  return p.tokenizer->tokenId("<|undo|>").value_or(-1);
}

std::string fileText(const std::string& file) {
  std::ifstream in(file, std::ios::binary);
  std::ostringstream s;
  s << in.rdbuf();
  return s.str();
}

}  // namespace

TEST_F(Cli, DecodeInjectsAForcedTokenAndWritesAValidTrace) {
  const std::string ckpt = path("undo");
  const std::int64_t undo = makeUndoCheckpoint(path("plain"), ckpt);
  ASSERT_GE(undo, 0);
  const std::string out = path("t.json");
  const Result r = run("decode " + ckpt +
                       " --prompt '12+34=' --seed 7 --undo-bias 4 --ignore-eos --max-new-tokens 40"
                       " --inject 3:x --inject 6 --inject 9:random --attention --out " + out);
  ASSERT_EQ(r.code, 0) << r.out;
  // Live rendering: one line per step, pushes and pops, forced steps marked.
  EXPECT_NE(r.out.find(" push "), std::string::npos) << r.out;
  EXPECT_NE(r.out.find(" pop "), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("FORCED"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("wrote " + out), std::string::npos) << r.out;

  const Trace t = readTrace(out);  // validates
  EXPECT_EQ(t.undoId, undo);
  EXPECT_EQ(t.mode, TraceMode::kHard);
  EXPECT_EQ(t.promptText, "12+34=");
  ASSERT_EQ(t.steps.size(), 40u);
  const Pretrained p = loadPretrained(ckpt);
  EXPECT_TRUE(t.steps[2].forced);
  EXPECT_EQ(t.steps[2].token, p.tokenizer->tokenId("x").value());
  EXPECT_TRUE(t.steps[5].forced);
  EXPECT_TRUE(t.steps[8].forced);
  int forced = 0, pops = 0;
  for (const TraceStep& s : t.steps) {
    forced += s.forced;
    pops += s.kind == StepKind::kPop;
    EXPECT_FALSE(s.attention.empty());
  }
  EXPECT_EQ(forced, 3);
  EXPECT_GT(pops, 0);
  EXPECT_EQ(t.meta["stop_reason"], "max_new_tokens");
}

TEST_F(Cli, DecodeSameSeedGivesIdenticalFiles) {
  const std::string ckpt = path("undo");
  ASSERT_GE(makeUndoCheckpoint(path("plain"), ckpt), 0);
  const std::string args = " --prompt 'abc' --undo-bias 3 --max-new-tokens 30 --mode resample --quiet";
  ASSERT_EQ(run("decode " + ckpt + args + " --seed 5 --out " + path("a.json")).code, 0);
  ASSERT_EQ(run("decode " + ckpt + args + " --seed 5 --out " + path("b.json")).code, 0);
  ASSERT_EQ(run("decode " + ckpt + args + " --seed 6 --out " + path("c.json")).code, 0);
  EXPECT_EQ(fileText(path("a.json")), fileText(path("b.json")));
  EXPECT_NE(fileText(path("a.json")), fileText(path("c.json")));
  EXPECT_EQ(readTrace(path("a.json")).mode, TraceMode::kResample);
}

TEST_F(Cli, DecodeWithoutUndoTokenDecodesPlainlyWithANote) {
  const std::string ckpt = path("plain");
  ASSERT_EQ(run("model new --family gpt2 --preset tiny --seed 2 " + ckpt).code, 0);
  const Result r = run("decode " + ckpt + " --prompt 'hi' --undo-bias 50 --max-new-tokens 12 "
                       "--ignore-eos --out " + path("t.json"));
  ASSERT_EQ(r.code, 0) << r.out;
  EXPECT_NE(r.out.find("note: " + ckpt + " has no <|undo|> token"), std::string::npos) << r.out;
  const Trace t = readTrace(path("t.json"));
  for (const TraceStep& s : t.steps) EXPECT_EQ(s.kind, StepKind::kPush);
  EXPECT_EQ(t.outputIds.size(), 12u);
  EXPECT_EQ(t.meta["undo_token"], "none");
}

TEST_F(Cli, DecodeRejectsBadFlagsClearly) {
  const std::string ckpt = path("undo");
  ASSERT_GE(makeUndoCheckpoint(path("plain"), ckpt), 0);
  const std::string base = "decode " + ckpt + " --prompt 'ab' --max-new-tokens 10 ";
  const std::string out = " --out " + path("t.json");
  const std::vector<std::pair<std::string, std::string>> cases{
      {"--mode sideways" + out, "--mode"},
      {"--top-p 1.5" + out, "--top-p: expected a value in (0, 1]"},
      {"--temperature -1" + out, "--temperature"},
      {"--inject 0" + out, "--inject 0: expected STEP[:TOKEN]"},
      {"--inject 2:xyz" + out, "encodes to 3 tokens, expected exactly 1"},
      {"--inject 11:x" + out, "step 11 is beyond --max-new-tokens 10"},
      {"--inject 2:x --inject 2" + out, "a second deviation at the same step"},
      {"--inject '2:<|undo|>'" + out, "is the UNDO token"},
      {"", "--out"},
  };
  for (const auto& [flags, expected] : cases) {
    const Result r = run(base + flags);
    EXPECT_NE(r.code, 0) << flags;
    EXPECT_NE(r.out.find(expected), std::string::npos) << flags << "\n" << r.out;
  }
  const Result noPrompt = run("decode " + ckpt + out);
  EXPECT_NE(noPrompt.code, 0);
  EXPECT_NE(noPrompt.out.find("one of --prompt or --prompt-ids"), std::string::npos) << noPrompt.out;
  EXPECT_FALSE(fs::exists(path("t.json")));
}

// --- nmar init-token ---

TEST_F(Cli, InitTokenSavesTheCheckpointAndTheReport) {
  const std::string plain = path("plain"), out = path("with-undo");
  ASSERT_EQ(run("model new --family llama --preset tiny --untied --seed 3 " + plain).code, 0);
  const Result r = run("init-token " + plain + " --strategy semantic --words undo,x --out " + out);
  ASSERT_EQ(r.code, 0) << r.out;
  for (const char* text :
       {"strategy       semantic", "<|undo|> = id ", "KL shift", "KL renorm.", "P(UNDO)", "nearest",
        "head row norm", "words used     undo x", "built-in sample text", "undo_init.json"})
    EXPECT_NE(r.out.find(text), std::string::npos) << text << "\n" << r.out;

  const auto j = nlohmann::json::parse(fileText(out + "/undo_init.json"));
  EXPECT_EQ(j["strategy"], "semantic");
  EXPECT_EQ(j["checkpoint"], plain);
  EXPECT_EQ(j["out"], out);
  EXPECT_EQ(j["words_used"], nlohmann::json::array({"undo", "x"}));
  EXPECT_EQ(j["nearest"].size(), 10u);
  EXPECT_GT(j["held_out_positions"].get<int>(), 100);
  const Pretrained before = loadPretrained(plain);
  const Pretrained after = loadPretrained(out);
  const std::int64_t id = after.tokenizer->tokenId("<|undo|>").value_or(-1);
  EXPECT_EQ(j["id"], id);
  EXPECT_EQ(after.model->config().vocabSize, before.model->config().vocabSize + 1);
  // The saved row is the semantic one: mean of the pieces of "undo", averaged with "x".
  const TensorMap w = before.model->stateDict();
  const at::Tensor e = w.at("model.embed_tokens.weight");
  auto piece = [&](char c) { return e[*before.tokenizer->tokenId(std::string(1, c))]; };
  const at::Tensor expected =
      ((piece('u') + piece('n') + piece('d') + piece('o')) / 4 + piece('x')) / 2;
  EXPECT_TRUE(torch::allclose(after.model->stateDict().at("model.embed_tokens.weight")[id],
                              expected, 1e-6, 1e-7));

  // --json prints the same document; an existing checkpoint needs --force.
  const Result again = run("init-token " + plain + " --strategy mean --out " + out);
  EXPECT_EQ(again.code, 1);
  EXPECT_NE(again.out.find("--force"), std::string::npos) << again.out;
  const Result js = run("init-token " + plain +
                        " --strategy mean+noise --seed 4 --scale 0.5 "
                        "--windows 2 --json --force --out " +
                        out);
  ASSERT_EQ(js.code, 0) << js.out;
  const auto k = nlohmann::json::parse(js.out);
  EXPECT_EQ(k["strategy"], "hewitt");
  EXPECT_EQ(k["held_out_windows"], 2);
  EXPECT_DOUBLE_EQ(k["hewitt_scale"].get<double>(), 0.5);
  EXPECT_EQ(k, nlohmann::json::parse(fileText(out + "/undo_init.json")));
}

TEST_F(Cli, InitTokenComparesAllStrategiesWithoutSaving) {
  const std::string plain = path("plain");
  ASSERT_EQ(run("model new --family gpt2 --preset tiny --seed 2 " + plain).code, 0);
  const std::string text = path("heldout.txt");
  std::ofstream(text) << "12+34=46\n100-1=99\nthe quick brown fox jumps over the lazy dog\n";
  const Result r =
      run("init-token " + plain + " --compare --heldout " + text + " --window-length 16");
  ASSERT_EQ(r.code, 0) << r.out;
  const std::vector<std::string> l = lines(r.out);
  ASSERT_GE(l.size(), 7u) << r.out;
  EXPECT_NE(l[1].find("file '" + text + "'"), std::string::npos) << l[1];
  EXPECT_NE(l[1].find("4 windows, 62 positions"), std::string::npos) << l[1];
  EXPECT_EQ(l[2].rfind("strategy", 0), 0u) << l[2];
  EXPECT_EQ(l[3].rfind("random", 0), 0u) << l[3];
  EXPECT_EQ(l[4].rfind("mean", 0), 0u) << l[4];
  EXPECT_EQ(l[5].rfind("semantic", 0), 0u) << l[5];
  EXPECT_EQ(l[6].rfind("hewitt", 0), 0u) << l[6];
  EXPECT_NE(r.out.find("nothing was saved"), std::string::npos) << r.out;
  EXPECT_FALSE(loadPretrained(plain).tokenizer->tokenId("<|undo|>").has_value());

  const Result j = run("init-token " + plain + " --compare --json");
  ASSERT_EQ(j.code, 0) << j.out;
  const auto c = nlohmann::json::parse(j.out);
  ASSERT_EQ(c["reports"].size(), 4u);
  EXPECT_EQ(c["reports"][1]["strategy"], "mean");
  EXPECT_TRUE(c["failures"].empty());
  EXPECT_NE(c["held_out"].get<std::string>().find("built-in"), std::string::npos);
}

TEST_F(Cli, InitTokenRejectsBadInputClearly) {
  const std::string plain = path("plain");
  ASSERT_EQ(run("model new --family llama --preset tiny " + plain).code, 0);
  const std::string out = " --out " + path("o");
  const std::vector<std::pair<std::string, std::string>> cases{
      {plain + " --strategy sideways" + out, "--strategy: unknown token-init strategy 'sideways'"},
      {path("absent") + " --strategy mean" + out, path("absent")},
      {plain + out, "--strategy is required"},
      {plain + " --strategy mean", "--out is required"},
      {plain + " --strategy mean --heldout " + path("none.txt") + out, path("none.txt")},
      {plain + " --strategy hewitt --scale 0" + out, "covariance scale"},
      {plain + " --strategy semantic --words '\xE2\x82\xAC'" + out, "no word of the word list"},
      {plain + " --compare" + out, "excludes"},
  };
  for (const auto& [args, expected] : cases) {
    const Result r = run("init-token " + args);
    EXPECT_NE(r.code, 0) << args;
    EXPECT_NE(r.out.find(expected), std::string::npos) << args << "\n" << r.out;
  }
  EXPECT_FALSE(looksLikeCheckpoint(path("o")));
}

// --- nmar data ---

TEST_F(Cli, DataSamplePrintsSeededExamples) {
  const Result r = run("data sample --task addition --difficulty 3 -n 4 --seed 7");
  ASSERT_EQ(r.code, 0) << r.out;
  const std::vector<std::string> l = lines(r.out);
  ASSERT_EQ(l.size(), 9u) << r.out;  // the source, then 2 lines per example
  EXPECT_NE(l[0].find("difficulty 3, seed 7"), std::string::npos) << l[0];
  for (int i = 0; i < 4; ++i) {
    EXPECT_EQ(l[1 + 2 * i], std::to_string(i + 1) + "  addition (difficulty 3)");
    const std::string& ex = l[2 + 2 * i];
    // '  "123+456=" | "579"'
    ASSERT_GE(ex.size(), 18u) << ex;
    EXPECT_EQ(ex.substr(0, 3), "  \"");
    EXPECT_EQ(ex[6], '+') << ex;
    EXPECT_EQ(ex.substr(10, 6), "=\" | \"") << ex;
    const int a = std::stoi(ex.substr(3, 3)), b = std::stoi(ex.substr(7, 3));
    EXPECT_EQ(ex.substr(16), std::to_string(a + b) + "\"") << ex;
  }
  EXPECT_EQ(run("data sample --task addition --difficulty 3 -n 4 --seed 7").out, r.out);
  EXPECT_NE(run("data sample --task addition --difficulty 3 -n 4 --seed 8").out, r.out);
}

TEST_F(Cli, DataSampleInjectsRandomDeviationsThatUndoToTheGold) {
  const Result r = run("data sample --task chain --min-difficulty 2 --max-difficulty 3 -n 5 "
                       "--inject random --events 2 --length 2 --json");
  ASSERT_EQ(r.code, 0) << r.out;
  const std::vector<std::string> l = lines(r.out);
  ASSERT_EQ(l.size(), 5u) << r.out;
  for (const std::string& line : l) {
    const auto j = nlohmann::json::parse(line);
    EXPECT_EQ(j["example"]["task"], "chain");
    const auto clean = j["ids"].get<std::vector<std::int64_t>>();
    const int m = j["prompt_length"].get<int>();
    const auto& inj = j["injected"];
    EXPECT_EQ(inj["events"], 2);
    EXPECT_EQ(inj["deviation_tokens"], 4);
    const auto ids = inj["ids"].get<std::vector<std::int64_t>>();
    EXPECT_EQ(ids.size(), clean.size() + 8);
    const StackAnalysis a = analyzeSequence(ids, m, inj["undo_id"].get<std::int64_t>());
    EXPECT_EQ(a.output, std::vector<std::int64_t>(clean.begin() + m, clean.end()));
    EXPECT_NE(inj["trace"].get<std::string>().find("\u27f2 \u27f2"), std::string::npos);
  }
  const Result text = run("data sample --task sorting --difficulty 2 -n 2 --inject random");
  ASSERT_EQ(text.code, 0) << text.out;
  EXPECT_NE(text.out.find("  trace "), std::string::npos) << text.out;
  EXPECT_NE(text.out.find("\u27f2"), std::string::npos) << text.out;
  EXPECT_NE(text.out.find("(1 event, 1 deviation token)"), std::string::npos) << text.out;
  EXPECT_NE(text.out.find("<|eos|>"), std::string::npos) << text.out;
}

TEST_F(Cli, DataSampleReadsJsonlAndNamesTheBadLine) {
  const std::string good = path("good.jsonl");
  std::ofstream(good) << "{\"prompt\": \"Q1\", \"completion\": \"A1\"}\n"
                      << "{\"prompt\": \"Q2\", \"completion\": \"A2\"}\n";
  const Result r = run("data sample --jsonl " + good + " -n 2 --seed 1");
  ASSERT_EQ(r.code, 0) << r.out;
  EXPECT_TRUE(r.out.find("\"Q1\" | \"A1\"") != std::string::npos &&
              r.out.find("\"Q2\" | \"A2\"") != std::string::npos)
      << r.out;

  const std::string bad = path("bad.jsonl");
  std::ofstream(bad) << "{\"prompt\": \"Q1\", \"completion\": \"A1\"}\n"
                     << "{\"completion\": \"A2\"}\n";
  const Result b = run("data sample --jsonl " + bad);
  EXPECT_EQ(b.code, 1);
  EXPECT_NE(b.out.find(bad + ":2: field 'prompt' is missing (expected a string)"),
            std::string::npos)
      << b.out;
  const Result missing = run("data sample --jsonl " + path("absent.jsonl"));
  EXPECT_EQ(missing.code, 1);
  EXPECT_NE(missing.out.find("absent.jsonl' does not exist"), std::string::npos) << missing.out;
}

TEST_F(Cli, DataVerifyPrintsTheVerdict) {
  const Result r = run("data verify --task chain --prompt '3+4*2-1=' --output '3+4=7,7*2=15,15-1=14'");
  ASSERT_EQ(r.code, 0) << r.out;
  EXPECT_NE(r.out.find("gold \"3+4=7,7*2=14,14-1=13\""), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("correct: no\nprocess: 0.333 (1 of 3 steps right)\n"
                       "detail: expected 13, got 14 (1 of 3 steps right)\n"),
            std::string::npos)
      << r.out;
  const Result ok = run("data verify --task addition --prompt 123+456= --output 579 --json");
  ASSERT_EQ(ok.code, 0) << ok.out;
  const auto j = nlohmann::json::parse(ok.out);
  EXPECT_EQ(j["verdict"]["correct"], true);
  EXPECT_EQ(j["example"]["completion"], "579");
}

TEST_F(Cli, DataRejectsBadArgumentsClearly) {
  const std::vector<std::pair<std::string, std::string>> cases{
      {"data sample", "one of --task or --jsonl is required"},
      {"data sample --task division", "--task"},
      {"data sample --task addition --min-difficulty 0",
       "--min-difficulty: expected an integer in [1, 32], got 0"},
      {"data sample --task addition --params '{\"operands\": 12}'",
       "task 'addition': field 'operands': expected an integer in [2, 8], got 12"},
      {"data sample --task addition --tokenizer " + path("nowhere") + " --inject random",
       "nowhere"},
      {"data verify --task addition --prompt '12x=' --output 1",
       "addition: prompt \"12x=\": unexpected character 'x' at offset 2"},
      {"data verify --task sorting --prompt 'sort 1 2:'", "--output"},
  };
  for (const auto& [args, expected] : cases) {
    const Result r = run(args);
    EXPECT_NE(r.code, 0) << args;
    EXPECT_NE(r.out.find(expected), std::string::npos) << args << "\n" << r.out;
  }
}

// --- nmar runs (the run store) and decode --store ---

namespace {

/** A store with run 1 "baseline" (sft, finished, tag base, metrics, a trace, an artifact) and
 *  run 2 "sweep lr" (grpo, failed, fork of 1, config lr 0.1). */
void writeRunsStore(const std::string& file, const std::string& artifact) {
  RunStore store(file);
  NewRun a;
  a.name = "baseline";
  a.kind = "sft";
  a.config = {{"lr", 0.01}, {"model", {{"family", "llama"}}}};
  a.tags = {"base"};
  const std::int64_t one = store.createRun(a);
  NewRun b;
  b.name = "sweep lr";
  b.kind = "grpo";
  b.config = {{"lr", 0.1}};
  b.parentId = one;
  const std::int64_t two = store.createRun(b);
  for (int step = 0; step < 5; ++step)
    store.logMetrics(one, step, {{"loss", 5.0 - step}, {"acc", 0.1 * step}});
  Trace t;
  t.model = "m";
  t.tokenizer = "tok";
  t.promptIds = {1, 2};
  t.undoId = 9;
  t.steps = stepsFromSequence({1, 2, 5, 9, 6}, 2, 9);
  t.outputIds = {6};
  store.addTrace(one, 4, t);
  std::ofstream(artifact) << "weights";
  store.addArtifact(one, "checkpoint", artifact);
  store.finishRun(one, RunStatus::kFinished);
  store.finishRun(two, RunStatus::kFailed, "diverged");
}

}  // namespace

TEST_F(Cli, RunsListShowTagNoteAndDelete) {
  const std::string db = path("runs.sqlite");
  writeRunsStore(db, path("w.bin"));
  const std::string s = " --store " + db;

  const Result list = run("runs list" + s);
  ASSERT_EQ(list.code, 0) << list.out;
  EXPECT_NE(list.out.find("baseline [base]"), std::string::npos) << list.out;
  EXPECT_NE(list.out.find("sweep lr"), std::string::npos) << list.out;
  EXPECT_NE(list.out.find("finished"), std::string::npos) << list.out;
  const auto names = [&](const std::string& filter) {
    const Result r = run("runs list --json" + s + " " + filter);
    EXPECT_EQ(r.code, 0) << filter << "\n" << r.out;
    std::vector<std::string> out;
    for (const auto& j : nlohmann::json::parse(r.out)) out.push_back(j["name"]);
    return out;
  };
  using Names = std::vector<std::string>;
  EXPECT_EQ(names(""), (Names{"baseline", "sweep lr"}));
  EXPECT_EQ(names("--kind grpo"), (Names{"sweep lr"}));
  EXPECT_EQ(names("--status finished"), (Names{"baseline"}));
  EXPECT_EQ(names("--tag base"), (Names{"baseline"}));
  EXPECT_EQ(names("--name sweep"), (Names{"sweep lr"}));
  EXPECT_EQ(names("--where lr=0.1"), (Names{"sweep lr"}));
  EXPECT_EQ(names("--where model.family=llama --kind sft"), (Names{"baseline"}));
  EXPECT_TRUE(names("--where lr=0.5").empty());
  EXPECT_NE(run("runs list" + s + " --status crashed").code, 0);
  EXPECT_NE(run("runs list" + s + " --where nokey").out.find("expected key=value"),
            std::string::npos);

  const Result show = run("runs show 1" + s);
  ASSERT_EQ(show.code, 0) << show.out;
  for (const char* part :
       {"run 1: baseline", "status    finished", "\"family\": \"llama\"", "metrics (2 keys)",
        "loss", "last 1 at step 4 (5 values)", "checkpoint", "sha256 ", "traces    1"})
    EXPECT_NE(show.out.find(part), std::string::npos) << part << "\n" << show.out;
  const Result show2 = run("runs show 2 --json" + s);
  ASSERT_EQ(show2.code, 0) << show2.out;
  const auto j = nlohmann::json::parse(show2.out);
  EXPECT_EQ(j["run"]["status"], "failed");
  EXPECT_EQ(j["run"]["end_reason"], "diverged");
  EXPECT_EQ(j["run"]["parent_id"], 1);
  EXPECT_EQ(j["traces"], 0);

  const Result tag = run("runs tag 2 best paper" + s);
  ASSERT_EQ(tag.code, 0) << tag.out;
  EXPECT_NE(tag.out.find("run 2 tags: best, paper"), std::string::npos) << tag.out;
  EXPECT_EQ(run("runs tag 2 paper --remove" + s).code, 0);
  EXPECT_EQ(names("--tag best"), (Names{"sweep lr"}));
  EXPECT_TRUE(names("--tag paper").empty());
  EXPECT_EQ(run("runs note 2 'lr too high'" + s).code, 0);
  EXPECT_NE(run("runs show 2" + s).out.find("notes     lr too high"), std::string::npos);

  const Result refused = run("runs delete 2" + s + " < /dev/null");
  EXPECT_EQ(refused.code, 1);
  EXPECT_NE(refused.out.find("without --yes"), std::string::npos) << refused.out;
  EXPECT_EQ(names("").size(), 2u);
  const Result missing = run("runs delete 2 7 --yes" + s);
  EXPECT_EQ(missing.code, 1);
  EXPECT_NE(missing.out.find("no run with id 7"), std::string::npos) << missing.out;
  EXPECT_EQ(names("").size(), 2u);
  const Result del = run("runs delete 2 --yes" + s);
  ASSERT_EQ(del.code, 0) << del.out;
  EXPECT_EQ(names(""), (Names{"baseline"}));
  const Result gone = run("runs show 2" + s);
  EXPECT_EQ(gone.code, 1);
  EXPECT_NE(gone.out.find("no run with id 2"), std::string::npos) << gone.out;
  EXPECT_NE(run("runs show x" + s).out.find("'x' is not a run id"), std::string::npos);
}

TEST_F(Cli, RunsExportMetricsAndTraces) {
  const std::string db = path("runs.sqlite");
  writeRunsStore(db, path("w.bin"));
  const std::string s = " --store " + db;
  const Result r =
      run("runs export 1 --metrics " + path("m.csv") + " --traces " + path("t.jsonl") + s);
  ASSERT_EQ(r.code, 0) << r.out;
  EXPECT_NE(r.out.find("wrote 10 metric values to " + path("m.csv")), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("wrote 1 traces to " + path("t.jsonl")), std::string::npos) << r.out;
  const std::string csv = fileText(path("m.csv"));
  EXPECT_EQ(csv.rfind("run_id,key,step,value,wall_ms\n1,acc,0,0,", 0), 0u) << csv;
  EXPECT_EQ(std::count(csv.begin(), csv.end(), '\n'), 11);
  EXPECT_EQ(run("replay " + path("t.jsonl") + " --plain").code, 0);  // replayable
  ASSERT_EQ(run("runs export 1 --metrics " + path("m.json") + s).code, 0);
  const auto j = nlohmann::json::parse(fileText(path("m.json")));
  EXPECT_EQ(j["metrics"]["loss"]["value"], nlohmann::json({5.0, 4.0, 3.0, 2.0, 1.0}));
  EXPECT_EQ(j["run"]["name"], "baseline");
  const Result bad = run("runs export 1 --metrics " + path("m.txt") + s);
  EXPECT_EQ(bad.code, 1);
  EXPECT_NE(bad.out.find("expected a .csv or .json file"), std::string::npos) << bad.out;
  EXPECT_NE(run("runs export 1" + s).code, 0);  // nothing to export
}

TEST_F(Cli, RunsImportMergesAnotherStore) {
  const std::string mine = path("mine.sqlite"), other = path("other.sqlite");
  {
    RunStore store(mine);
    NewRun r;
    r.name = "local";
    r.kind = "eval";
    store.finishRun(store.createRun(r), RunStatus::kFinished);
  }
  writeRunsStore(other, path("w.bin"));
  const Result r = run("runs import " + other + " --store " + mine);
  ASSERT_EQ(r.code, 0) << r.out;
  EXPECT_NE(r.out.find("imported 2 runs (new ids 2..3), 10 metric values, 1 traces"),
            std::string::npos)
      << r.out;
  const Result show = run("runs show 3 --json --store " + mine);
  ASSERT_EQ(show.code, 0) << show.out;
  EXPECT_EQ(nlohmann::json::parse(show.out)["run"]["parent_id"], 2);
  EXPECT_EQ(nlohmann::json::parse(run("runs list --json --store " + mine).out).size(), 3u);
  const Result self = run("runs import " + mine + " --store " + mine);
  EXPECT_EQ(self.code, 1);
  EXPECT_NE(self.out.find("into itself"), std::string::npos) << self.out;
}

TEST_F(Cli, RunsRejectBadStoresNamingThePath) {
  const std::string text = path("notes.txt");
  std::ofstream(text) << "these are my notes, not a database\n";
  for (const std::string& args : {"runs list --store " + text, "runs show 1 --store " + text,
                                  "runs import " + text + " --store " + path("runs.sqlite")}) {
    const Result r = run(args);
    EXPECT_EQ(r.code, 1) << args;
    EXPECT_NE(r.out.find(text + ": is not an N-MAR run store (not a SQLite database)"),
              std::string::npos)
        << args << "\n"
        << r.out;
  }
  EXPECT_EQ(fileText(text), "these are my notes, not a database\n");
  const Result absent = run("runs show 1 --store " + path("absent.sqlite"));
  EXPECT_EQ(absent.code, 1);
  EXPECT_NE(absent.out.find(path("absent.sqlite") + ": no run store here"), std::string::npos)
      << absent.out;
  const Result empty = run("runs list --store " + path("absent.sqlite"));
  EXPECT_EQ(empty.code, 0);
  EXPECT_NE(empty.out.find("no runs yet"), std::string::npos) << empty.out;
  EXPECT_EQ(run("runs list --json --store " + path("absent.sqlite")).out, "[]\n");
  EXPECT_FALSE(fs::exists(path("absent.sqlite")));
}

TEST_F(Cli, RunsUseNmarStoreByDefault) {
  const std::string db = path("env.sqlite");
  writeRunsStore(db, path("w.bin"));
  ::setenv("NMAR_STORE", db.c_str(), 1);
  const Result r = run("runs list");
  ::unsetenv("NMAR_STORE");
  ASSERT_EQ(r.code, 0) << r.out;
  EXPECT_NE(r.out.find("baseline"), std::string::npos) << r.out;
  const Result help = run("runs --help");
  EXPECT_EQ(help.code, 0);
  for (const char* sub :
       {"list", "show", "tag", "note", "delete", "export", "import", "NMAR_STORE"})
    EXPECT_NE(help.out.find(sub), std::string::npos) << sub << "\n" << help.out;
}

TEST_F(Cli, DecodeRecordsARunInTheStore) {
  const std::string ckpt = path("undo");
  ASSERT_GE(makeUndoCheckpoint(path("plain"), ckpt), 0);
  const std::string db = path("runs.sqlite"), out = path("t.json");
  const Result r = run("decode " + ckpt +
                       " --prompt 'ab' --seed 3 --undo-bias 3 --ignore-eos "
                       "--max-new-tokens 12 --quiet --out " +
                       out + " --store " + db);
  ASSERT_EQ(r.code, 0) << r.out;
  EXPECT_NE(r.out.find("recorded run 1 in " + db), std::string::npos) << r.out;

  RunStore store(db);
  const RunInfo info = store.getRun(1);
  EXPECT_EQ(info.kind, "decode");
  EXPECT_EQ(info.status, RunStatus::kFinished);
  EXPECT_EQ(info.config["seed"], 3);
  EXPECT_EQ(info.config["mode"], "hard");
  EXPECT_EQ(info.config["prompt"], "ab");
  EXPECT_EQ(info.config["sampler"]["max_new_tokens"], 12);
  EXPECT_EQ(info.config["checkpoint"], fs::absolute(ckpt).lexically_normal().string());
  const auto traces = store.traces(1);
  ASSERT_EQ(traces.size(), 1u);
  EXPECT_TRUE(traces[0].verdict.is_null());
  const Trace t = store.trace(traces[0].id);
  EXPECT_EQ(t, readTrace(out));
  const auto scores = store.tokenScores(traces[0].id);
  ASSERT_EQ(scores.size(), t.steps.size());
  for (std::size_t k = 0; k < scores.size(); ++k) {
    EXPECT_EQ(scores[k].position, static_cast<int>(k));
    EXPECT_EQ(scores[k].token, t.steps[k].token);
    EXPECT_EQ(scores[k].logprob, t.steps[k].logprob);
    EXPECT_FALSE(scores[k].reward.has_value());
  }
  const auto artifacts = store.artifacts(1);
  ASSERT_EQ(artifacts.size(), 1u);
  EXPECT_EQ(artifacts[0].kind, "trace");
  EXPECT_EQ(artifacts[0].sha256, sha256File(out).sha256);
  EXPECT_EQ(store.metricSeries({1}, {"steps"})[0].points.at(0).value, 12.0);

  // --store alone is enough; no trace file is needed.
  const Result noFile =
      run("decode " + ckpt + " --prompt 'ab' --max-new-tokens 4 --quiet --store " + db);
  ASSERT_EQ(noFile.code, 0) << noFile.out;
  EXPECT_NE(noFile.out.find("recorded run 2"), std::string::npos) << noFile.out;
  store.flush();
  EXPECT_EQ(store.traceCount(2), 1);
  EXPECT_TRUE(store.artifacts(2).empty());
  EXPECT_TRUE(store.getRun(2).config["out"].is_null());
}

TEST_F(Cli, DecodeRejectsABadStoreBeforeDecoding) {
  const std::string ckpt = path("plain");
  ASSERT_EQ(run("model new --family gpt2 --preset tiny --seed 2 " + ckpt).code, 0);
  const std::string text = path("notes.txt");
  std::ofstream(text) << "not a database, really not\n";
  const Result r = run("decode " + ckpt + " --prompt 'hi' --max-new-tokens 4 --out " +
                       path("t.json") + " --store " + text);
  EXPECT_EQ(r.code, 1);
  EXPECT_NE(r.out.find(text + ": is not an N-MAR run store (not a SQLite database)"),
            std::string::npos)
      << r.out;
  EXPECT_FALSE(fs::exists(path("t.json")));
}

TEST_F(Cli, TrainRecordsARunAndResumesItOnTheSameId) {
  const std::string out = (m_dir / "train").string();
  const std::string store = (m_dir / "runs.sqlite").string();
  const std::string exp = std::string(NMAR_SOURCE_DIR) + "/experiments/smoke.toml";
  Result r = run("train " + exp + " --steps 4 --quiet --out " + out + " --store " + store);
  ASSERT_EQ(r.code, 0) << r.out;
  EXPECT_NE(r.out.find("finished at step 4"), std::string::npos) << r.out;
  EXPECT_TRUE(fs::exists(fs::path(out) / "checkpoint-4" / "trainer_state.json"));
  EXPECT_NE(r.out.find("; run 1"), std::string::npos) << r.out;
  // Extending the run resumes from checkpoint-4 on the same run id.
  r = run("train " + exp + " --steps 6 --quiet --resume --out " + out + " --store " + store);
  ASSERT_EQ(r.code, 0) << r.out;
  EXPECT_NE(r.out.find("finished at step 6"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("; run 1"), std::string::npos) << r.out;
  r = run("runs list --store " + store + " --json");
  ASSERT_EQ(r.code, 0) << r.out;
  const auto runs = nlohmann::json::parse(r.out);
  ASSERT_EQ(runs.size(), 1u) << r.out;
  EXPECT_EQ(runs[0]["kind"], "sft");
  EXPECT_EQ(runs[0]["status"], "finished");
}

TEST_F(Cli, TrainRejectsBadExperimentsNamingTheField) {
  const fs::path bad = m_dir / "bad.toml";
  std::ofstream(bad) << "[data]\ntask = \"addition\"\n[train]\nsteps = \"many\"\n";
  Result r = run("train " + bad.string() + " --no-store");
  EXPECT_EQ(r.code, 1) << r.out;
  EXPECT_NE(r.out.find("bad.toml: [train]: field 'steps'"), std::string::npos) << r.out;
  r = run("train " + (m_dir / "missing.toml").string() + " --no-store");
  EXPECT_EQ(r.code, 1) << r.out;
  EXPECT_NE(r.out.find("missing.toml"), std::string::npos) << r.out;
  std::ofstream(bad, std::ios::trunc) << "[data]\ntask = \"addition\"\n[train\n";
  r = run("train " + bad.string() + " --no-store");
  EXPECT_EQ(r.code, 1) << r.out;
  EXPECT_NE(r.out.find("bad.toml:3:"), std::string::npos) << r.out;
}
