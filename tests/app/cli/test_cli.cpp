// Drives the real `nmar` binary: help, version, tokenize, model, forward, replay, decode, and bad
// input.
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>
#include <torch/torch.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "checkpoint/safetensors.h"
#include "cli_test_support.h"
#include "model/pretrained.h"
#include "nmar/stack_machine.h"
#include "store/run_store.h"
#include "store/sha256.h"
#include "trace/trace_io.h"

namespace fs = std::filesystem;
using namespace nmar::core;
using namespace nmar::testing;

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

