// Drives the real `nmar` binary: init-token, data sample/verify and train, with bad input.
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

TEST_F(Cli, DataCorpusWritesDisjointSeededDrawsAsJsonl) {
  std::ofstream(path("c.txt")) << "Genesis 1\n\n  1 In the beginning God created the heaven.\n"
                                  "  2 And the earth was without form and void.\n"
                                  "  3 And God said let there be light.\n"
                                  "  4 And God saw the light that it was good.\n";
  // All pairs, in corpus order, the verse numbers and the short heading dropped.
  Result r = run("data corpus " + path("c.txt") + " --prompt-words 3 --completion-words 2");
  ASSERT_EQ(r.code, 0) << r.out;
  std::vector<std::string> l = lines(r.out);
  ASSERT_EQ(l.size(), 4u) << r.out;
  EXPECT_EQ(nlohmann::json::parse(l[0]),
            nlohmann::json({{"prompt", "In the beginning"},
                            {"completion", "God created"},
                            {"source", "c.txt:2"}}));
  EXPECT_EQ(nlohmann::json::parse(l[2])["completion"], "let there");
  // A training draw and a held-out draw that skips it: disjoint, together all four.
  const std::string common = " --prompt-words 3 --completion-words 2 --seed 5 --count ";
  r = run("data corpus " + path("c.txt") + common + "3 --out " + path("train.jsonl"));
  ASSERT_EQ(r.code, 0) << r.out;
  EXPECT_NE(r.out.find("wrote 3 pairs to " + path("train.jsonl")), std::string::npos) << r.out;
  r = run("data corpus " + path("c.txt") + common + "1 --skip 3 --out " + path("held.jsonl"));
  ASSERT_EQ(r.code, 0) << r.out;
  std::vector<std::string> all = lines(fileText(path("train.jsonl")));
  ASSERT_EQ(all.size(), 3u);
  const std::vector<std::string> held = lines(fileText(path("held.jsonl")));
  ASSERT_EQ(held.size(), 1u);
  EXPECT_EQ(std::count(all.begin(), all.end(), held[0]), 0) << held[0];
  all.push_back(held[0]);
  std::sort(all.begin(), all.end());
  std::sort(l.begin(), l.end());
  EXPECT_EQ(all, l);
  // The file is a dataset `data sample` reads, with a real (Llama-2) tokenizer.
  r = run("data sample --jsonl " + path("held.jsonl") + " -n 1 --json --tokenizer " +
          std::string(NMAR_FIXTURES_DIR) + "/tokenizers/llama2");
  ASSERT_EQ(r.code, 0) << r.out;
  const auto j = nlohmann::json::parse(lines(r.out).at(0));
  EXPECT_EQ(j["example"]["prompt"], nlohmann::json::parse(held[0])["prompt"]);
  EXPECT_EQ(j["ids"][0], 1);  // <s>
}

TEST_F(Cli, DataCorpusRejectsBadInputNamingIt) {
  std::ofstream(path("one.txt")) << "Only this single sentence gives a pair.\n";
  const std::vector<std::pair<std::string, std::string>> cases{
      {"data corpus " + path("missing.txt"), path("missing.txt") + ": cannot open"},
      {"data corpus " + path("one.txt") + " --count 2",
       "one.txt: only 1 sentences give pairs, --count asks for 2"},
      {"data corpus " + path("one.txt") + " --prompt-words 0",
       "--prompt-words: expected 1..1000, got 0"},
      {"data corpus " + path("one.txt") + " --skip 1", "--skip: needs --count"},
      {"data corpus " + path("one.txt") + " --out " + path("no/such/dir/x.jsonl"),
       "--out " + path("no/such/dir/x.jsonl") + ": cannot write"},
  };
  for (const auto& [args, expected] : cases) {
    const Result r = run(args);
    EXPECT_NE(r.code, 0) << args;
    EXPECT_NE(r.out.find(expected), std::string::npos) << args << "\n" << r.out;
  }
}

TEST_F(Cli, TrainFromScratchWithARealTokenizer) {
  // [model] tokenizer: a from-scratch preset whose vocabulary is Llama-2's (32,000 + <|undo|>).
  std::ofstream(path("d.jsonl")) << "{\"prompt\": \"In the beginning\", \"completion\": \"God "
                                    "created\"}\n{\"prompt\": \"And the earth\", \"completion\": "
                                    "\"was without\"}\n";
  const fs::path exp = m_dir / "prose.toml";
  const std::string tok = std::string(NMAR_FIXTURES_DIR) + "/tokenizers/llama2/tokenizer.json";
  std::ofstream(exp) << "[model]\nfamily = \"llama\"\npreset = \"tiny\"\ntokenizer = \"" << tok
                     << "\"\n[data]\njsonl = \"d.jsonl\"\n[deviation]\nkind = \"random\"\n"
                        "[train]\nsteps = 2\nbatch_size = 2\nlog_every = 1\n"
                        "[eval]\nevery = 0\nexamples = 2\nmax_new_tokens = 4\n";
  const std::string out = path("prose");
  Result r = run("train " + exp.string() + " --no-store --quiet --out " + out);
  ASSERT_EQ(r.code, 0) << r.out;
  const fs::path ck = fs::path(out) / "checkpoint-2";
  const Pretrained p = loadPretrained(ck);
  EXPECT_EQ(p.model->config().vocabSize, 32001);
  ASSERT_TRUE(p.tokenizer);
  EXPECT_EQ(p.tokenizer->tokenId("<|undo|>"), 32000);
  EXPECT_EQ(p.tokenizer->encode("In the beginning"), (std::vector<int32_t>{560, 272, 5398}));
  // With a checkpoint the key is refused; a missing tokenizer is named.
  std::ofstream(exp, std::ios::trunc) << "[model]\ncheckpoint = \"" << ck.string()
                                      << "\"\ntokenizer = \"" << tok
                                      << "\"\n[data]\njsonl = \"d.jsonl\"\n";
  r = run("train " + exp.string() + " --no-store");
  EXPECT_EQ(r.code, 1) << r.out;
  EXPECT_NE(r.out.find("prose.toml: [model]: field 'tokenizer': only for a model built from "
                       "scratch"),
            std::string::npos)
      << r.out;
  std::ofstream(exp, std::ios::trunc) << "[model]\ntokenizer = \"nowhere.json\"\n"
                                         "[data]\njsonl = \"d.jsonl\"\n[train]\nsteps = 1\n";
  r = run("train " + exp.string() + " --no-store");
  EXPECT_EQ(r.code, 1) << r.out;
  EXPECT_NE(r.out.find("prose.toml: [model].tokenizer: "), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("nowhere.json"), std::string::npos) << r.out;
}

// --- nmar runs (the run store) and decode --store ---

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

TEST_F(Cli, TrainWithADetectorTableSavesItAndDecodeUsesIt) {
  // smoke.toml plus a jointly trained detector: the eval line reports it, the checkpoint holds it
  // and `nmar decode --verifier` reads it back from the checkpoint folder.
  std::ifstream in(std::string(NMAR_SOURCE_DIR) + "/experiments/smoke.toml");
  std::stringstream text;
  text << in.rdbuf() << "\n[detector]\nweight = 1.0\ninner_size = 8\ntau = 0.5\n";
  const fs::path exp = m_dir / "joint.toml";
  std::ofstream(exp) << text.str();
  const std::string out = (m_dir / "joint").string();
  Result r = run("train " + exp.string() + " --steps 6 --no-store --out " + out);
  ASSERT_EQ(r.code, 0) << r.out;
  EXPECT_NE(r.out.find("detector: AUROC "), std::string::npos) << r.out;
  const fs::path ck = fs::path(out) / "checkpoint-6";
  ASSERT_TRUE(fs::exists(ck / "detector.safetensors")) << r.out;
  const auto cfg = nlohmann::json::parse(std::ifstream(ck / "detector_config.json"));
  EXPECT_EQ(cfg.at("inner_size"), 8);
  EXPECT_EQ(cfg.at("training").at("joint"), true);
  EXPECT_EQ(cfg.at("training").at("step"), 6);
  const fs::path trace = m_dir / "joint-trace.json";
  r = run("decode " + ck.string() + " --prompt 12+34= --verifier " + ck.string() +
          " --tau 0.5 --out " + trace.string());
  ASSERT_EQ(r.code, 0) << r.out;
  const auto t = nlohmann::json::parse(std::ifstream(trace));
  bool scored = false;
  for (const auto& step : t.at("steps")) scored = scored || step.contains("verifier_score");
  EXPECT_TRUE(scored) << t.dump();
  // A [detector] table in a GRPO experiment is refused, naming the table.
  std::ofstream(exp, std::ios::trunc)
      << "[run]\nkind = \"grpo\"\n[data]\ntask = \"addition\"\n[detector]\nweight = 1.0\n";
  r = run("train " + exp.string() + " --no-store --checkpoint " + ck.string());
  EXPECT_EQ(r.code, 1) << r.out;
  EXPECT_NE(r.out.find("joint.toml: [detector]: only for an sft run"), std::string::npos) << r.out;
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

// --- nmar train: GRPO experiments ---

namespace {

/** A two-step GRPO experiment on the addition task (the model comes from --checkpoint). */
void writeGrpoExperiment(const fs::path& file, const std::string& extra = "") {
  std::ofstream(file) << "[run]\nname = \"g\"\nkind = \"grpo\"\nseed = 2\n"
                         "[data]\ntask = \"addition\"\nmin_difficulty = 1\nmax_difficulty = 1\n"
                         "[grpo]\nnum_generations = 3\nprompts_per_step = 2\n"
                         "max_completion_length = 8\nundo_logit_bias = 2.0\nbeta = 0.05\n"
                      << extra
                      << "[rewards]\noutcome = 1.0\nformat = 0.5\n"
                         "[optim]\nlr = 1e-3\n"
                         "[train]\nsteps = 2\nlog_every = 1\n"
                         "[eval]\nevery = 0\nexamples = 2\nmax_new_tokens = 6\n";
}

}  // namespace

TEST_F(Cli, TrainRunsGrpoFromAnSftCheckpointAndResumes) {
  const std::string sft = (m_dir / "sft").string();
  const std::string exp = std::string(NMAR_SOURCE_DIR) + "/experiments/smoke.toml";
  Result r = run("train " + exp + " --steps 2 --quiet --no-store --out " + sft);
  ASSERT_EQ(r.code, 0) << r.out;
  const fs::path grpo = m_dir / "grpo.toml";
  writeGrpoExperiment(grpo);
  const std::string out = (m_dir / "g").string();
  const std::string store = (m_dir / "runs.sqlite").string();
  const std::string common =
      " --out " + out + " --store " + store + " --checkpoint " + sft + "/checkpoint-2";
  r = run("train " + grpo.string() + common);
  ASSERT_EQ(r.code, 0) << r.out;
  EXPECT_NE(r.out.find("finished at step 2"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("; run 1"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("step 2: reward "), std::string::npos) << r.out;
  EXPECT_TRUE(fs::exists(fs::path(out) / "checkpoint-2" / "optimizer.safetensors"));
  r = run("train " + grpo.string() + common + " --steps 3 --resume --quiet");
  ASSERT_EQ(r.code, 0) << r.out;
  EXPECT_NE(r.out.find("finished at step 3"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("; run 1"), std::string::npos) << r.out;

  RunStore s(store, StoreOptions{true});
  const auto runs = s.listRuns();
  ASSERT_EQ(runs.size(), 1u);
  EXPECT_EQ(runs[0].kind, "grpo");
  EXPECT_EQ(runs[0].status, RunStatus::kFinished);
  EXPECT_EQ(runs[0].config["grpo"]["num_generations"], 3);
  const auto keys = s.metricKeys(1);
  for (const char* k : {"train/reward", "train/kl", "train/accuracy", "eval/clean_acc"})
    EXPECT_NE(std::find(keys.begin(), keys.end(), k), keys.end()) << k;
  std::vector<TraceRecord> traces;  // one group of 3 at step 3 (and the evaluation's, no group)
  for (const TraceRecord& t : s.traces(1, 3))
    if (t.group) traces.push_back(t);
  ASSERT_EQ(traces.size(), 3u);
  const auto scores = s.tokenScores(traces[0].id);
  ASSERT_FALSE(scores.empty());
  EXPECT_TRUE(scores[0].ratio.has_value());
  EXPECT_TRUE(scores[0].advantage.has_value());
}

TEST_F(Cli, TrainNamesBadGrpoFields) {
  const fs::path grpo = m_dir / "bad-grpo.toml";
  writeGrpoExperiment(grpo, "loss_type = \"ppo\"\n");
  Result r = run("train " + grpo.string() + " --no-store");
  EXPECT_EQ(r.code, 1) << r.out;
  EXPECT_NE(r.out.find("bad-grpo.toml: [grpo]: field 'loss_type': unknown value 'ppo'"),
            std::string::npos)
      << r.out;
  fs::remove(grpo);
  writeGrpoExperiment(grpo);
  r = run("train " + grpo.string() + " --no-store --checkpoint " + path("nowhere"));
  EXPECT_EQ(r.code, 1) << r.out;
  EXPECT_NE(r.out.find("nowhere"), std::string::npos) << r.out;
  r = run("train --help");
  EXPECT_NE(r.out.find("GRPO"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("--checkpoint"), std::string::npos) << r.out;
}
