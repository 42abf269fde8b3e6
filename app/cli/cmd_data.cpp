// nmar data sample (--task T [--difficulty N | --min-difficulty A --max-difficulty B] | --jsonl F)
//                  [-n N] [--seed S] [--inject random|none --events K --length L]
//                  [--tokenizer char|DIR] [--json]
// nmar data verify --task T --prompt P --output O [--json]
// nmar data corpus PATH... [--prompt-words N] [--completion-words N] [--min-completion-words N]
//                  [--completion-space] [--keep-unicode] [--count N] [--skip N] [--seed S]
//                  [--out FILE]
#include <CLI/CLI.hpp>
#include <nlohmann/json.hpp>

#include <cstdio>
#include <filesystem>
#include <iostream>
#include <fstream>
#include <map>
#include <sstream>
#include <memory>
#include <optional>
#include <random>

#include "cli_common.h"
#include "data/corpus_phrases.h"
#include "data/deviation.h"
#include "data/example_source.h"
#include "data/sequence.h"
#include "data/task.h"
#include "model/undo_token.h"
#include "nmar/stack_machine.h"
#include "tokenizer/char_tokenizer.h"
#include "trace/trace_render.h"
#include "util/error.h"

namespace nmar::app {
namespace {

constexpr const char* kSampleWhere = "nmar data sample";
/** Keeps the injection stream apart from the examples' although both come from --seed. */
constexpr std::uint64_t kInjectSalt = 0x5DEECE66DULL;

std::string jsonLine(const nlohmann::json& j) {
  return j.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
}

/** Re-words a data config error with the flag the user typed. */
[[noreturn]] void rethrowWithFlag(const core::Error& e) {
  static const std::map<std::string, std::string> kFlags{{"difficulty", "--difficulty"},
                                                         {"min_difficulty", "--min-difficulty"},
                                                         {"max_difficulty", "--max-difficulty"},
                                                         {"params", "--params"}};
  std::string msg = e.what();
  for (const auto& [field, flag] : kFlags) {
    const std::string key = std::string(kSampleWhere) + ": field '" + field + "'";
    if (msg.rfind(key, 0) == 0) msg.replace(0, key.size(), flag);
  }
  throw core::Error(msg);
}

/** The char tokenizer with <|undo|>, or the tokenizer of a checkpoint folder. */
std::unique_ptr<core::Tokenizer> loadSampleTokenizer(const std::string& spec) {
  if (spec == "char") {
    auto tok = std::make_unique<core::CharTokenizer>(core::CharTokenizer::defaultAlphabet());
    tok->addSpecialToken(core::kDefaultUndoToken);
    return tok;
  }
  return core::loadTokenizer(spec);
}

/** A token's text for the trace line: quoted when it is empty or holds whitespace. */
std::string tokenLabel(const core::Tokenizer& tok, std::int64_t id) {
  const std::string text = tok.tokenText(static_cast<std::int32_t>(id));
  const bool plain = !text.empty() && text.find_first_of(" \t\r\n\"") == std::string::npos;
  return plain ? text : core::quoteText(text);
}

/** The trace after the prompt, one label per token, an UNDO as "⟲". */
std::string renderTrace(const core::Tokenizer& tok, const core::TrainingSequence& seq,
                        std::int64_t undoId) {
  std::string out;
  for (std::size_t i = static_cast<std::size_t>(seq.promptLength); i < seq.ids.size(); ++i) {
    if (!out.empty()) out += ' ';
    out += seq.ids[i] == undoId ? std::string("\u27f2") : tokenLabel(tok, seq.ids[i]);
  }
  return out;
}

struct SampleOptions {
  std::string task, jsonl, params, inject = "none", tokenizer = "char";
  int difficulty = 0, minDifficulty = 0, maxDifficulty = 0;
  bool hasDifficulty = false, hasMin = false, hasMax = false;  // given on the command line
  int count = 5, events = 1, length = 1;
  std::uint64_t seed = 0;
  bool json = false;
};

void runSample(const SampleOptions& o) {
  nlohmann::json cfg = nlohmann::json::object();
  if (!o.jsonl.empty()) {
    cfg["jsonl"] = o.jsonl;
  } else {
    cfg["task"] = o.task;
    if (o.hasDifficulty) cfg["difficulty"] = o.difficulty;
    if (o.hasMin) cfg["min_difficulty"] = o.minDifficulty;
    if (o.hasMax) cfg["max_difficulty"] = o.maxDifficulty;
    if (!o.params.empty()) {
      try {
        cfg["params"] = nlohmann::json::parse(o.params);
      } catch (const nlohmann::json::parse_error&) {
        throw core::Error(
            "--params: not valid JSON (expected an object such as "
            "'{\"operands\": 3}')");
      }
    }
  }
  std::unique_ptr<core::ExampleSource> source;
  try {
    source = core::makeExampleSource(cfg, o.seed, std::filesystem::current_path(), kSampleWhere);
  } catch (const core::Error& e) {
    rethrowWithFlag(e);
  }

  const std::unique_ptr<core::Tokenizer> tok = loadSampleTokenizer(o.tokenizer);
  const bool inject = o.inject == "random";
  std::int64_t undoId = -1;
  std::unique_ptr<core::DeviationInjector> injector;
  if (inject) {
    const auto undo = tok->tokenId(core::kDefaultUndoToken);
    if (!undo)
      throw core::Error("--tokenizer " + o.tokenizer + ": has no " + core::kDefaultUndoToken +
                        " token to inject deviations with (add it with `nmar model add-undo`)");
    undoId = *undo;
    core::DeviationSettings s;
    s.kind = core::DeviationKind::kRandom;
    s.fraction = 1.0;
    s.minLength = s.maxLength = o.length;
    s.minEvents = s.maxEvents = o.events;
    injector =
        std::make_unique<core::DeviationInjector>(s, undoId, tok->vocabSize(), nullptr, tok.get());
  }
  std::optional<std::int64_t> eos;
  if (tok->eosId()) eos = *tok->eosId();
  std::mt19937_64 rng(o.seed ^ kInjectSalt);

  if (!o.json) std::cout << source->describe() << "\n";
  for (int i = 0; i < o.count; ++i) {
    const core::Example ex = source->next();
    const core::TrainingSequence clean = core::encodeExample(*tok, ex, eos);
    core::TrainingSequence dirty;
    if (inject) {
      dirty = injector->inject(clean, rng, o.events, o.length);
      // What training will see: the stack machine must give back the gold completion.
      const core::StackAnalysis a = core::analyzeSequence(dirty.ids, dirty.promptLength, undoId);
      if (a.output !=
          std::vector<std::int64_t>(clean.ids.begin() + clean.promptLength, clean.ids.end()))
        throw std::logic_error("injected trace does not reduce to the gold completion");
    }
    if (o.json) {
      nlohmann::json j{{"index", i},
                       {"example", core::toJson(ex)},
                       {"ids", clean.ids},
                       {"prompt_length", clean.promptLength}};
      if (inject)
        j["injected"] = {{"ids", dirty.ids},
                         {"events", dirty.events},
                         {"deviation_tokens", dirty.deviationTokens},
                         {"undo_id", undoId},
                         {"trace", renderTrace(*tok, dirty, undoId)}};
      std::cout << jsonLine(j) << "\n";
      continue;
    }
    std::cout << i + 1 << "  " << ex.task;
    if (ex.task != "jsonl") std::cout << " (difficulty " << ex.difficulty << ")";
    if (!ex.source.empty()) std::cout << " " << ex.source;
    std::cout << "\n  " << core::quoteText(ex.prompt) << " | " << core::quoteText(ex.completion)
              << "\n";
    if (inject)
      std::cout << "  trace " << renderTrace(*tok, dirty, undoId) << "   (" << dirty.events
                << (dirty.events == 1 ? " event, " : " events, ") << dirty.deviationTokens
                << (dirty.deviationTokens == 1 ? " deviation token)" : " deviation tokens)")
                << "\n";
  }
}

void registerSample(CLI::App& data) {
  auto o = std::make_shared<SampleOptions>();
  CLI::App* cmd = data.add_subcommand(
      "sample",
      "Print examples of a built-in task or a JSONL dataset (prompt | completion); with\n"
      "--inject random, also the training trace with random deviations and their UNDOs (⟲).");
  auto* task =
      cmd->add_option("--task", o->task, "Built-in task")->check(CLI::IsMember(core::taskNames()));
  auto* jsonl = cmd->add_option("--jsonl", o->jsonl, "JSONL dataset file");
  task->excludes(jsonl);
  auto* difficulty = cmd->add_option("--difficulty", o->difficulty, "Fixed difficulty");
  auto* minD = cmd->add_option("--min-difficulty", o->minDifficulty, "Smallest difficulty");
  auto* maxD = cmd->add_option("--max-difficulty", o->maxDifficulty, "Largest difficulty");
  difficulty->excludes(minD)->excludes(maxD);
  cmd->add_option("--params", o->params, "Task parameters as JSON, e.g. '{\"operands\": 3}'");
  cmd->add_option("-n", o->count, "Number of examples")
      ->check(CLI::Range(1, 100000))
      ->capture_default_str();
  cmd->add_option("--seed", o->seed, "Seed of the example stream")->capture_default_str();
  cmd->add_option("--inject", o->inject, "Deviations to inject: random or none")
      ->check(CLI::IsMember({"random", "none"}))
      ->capture_default_str();
  cmd->add_option("--events", o->events, "Backtrack events per example (with --inject)")
      ->check(CLI::Range(1, 64))
      ->capture_default_str();
  cmd->add_option("--length", o->length, "Tokens per deviation (with --inject)")
      ->check(CLI::Range(1, 64))
      ->capture_default_str();
  cmd->add_option("--tokenizer", o->tokenizer,
                  "char (printable ASCII + <|undo|>) or a checkpoint/tokenizer path")
      ->capture_default_str();
  cmd->add_flag("--json", o->json, "One JSON object per example (with token ids)");
  cmd->callback([o, task, jsonl, difficulty, minD, maxD] {
    if (task->count() == 0 && jsonl->count() == 0)
      throw CLI::ValidationError("data sample", "one of --task or --jsonl is required");
    if (jsonl->count() &&
        (!o->params.empty() || difficulty->count() || minD->count() || maxD->count()))
      throw CLI::ValidationError("data sample",
                                 "--params and the difficulty options apply to --task only");
    o->hasDifficulty = difficulty->count() > 0;
    o->hasMin = minD->count() > 0;
    o->hasMax = maxD->count() > 0;
    runSample(*o);
  });
}

void registerVerify(CLI::App& data) {
  struct Options {
    std::string task, prompt, output;
    bool json = false;
  };
  auto o = std::make_shared<Options>();
  CLI::App* cmd = data.add_subcommand(
      "verify",
      "Solve a prompt of a built-in task and judge an output with the task's verifier (the\n"
      "outcome and, for chains, the process credit per step).");
  cmd->add_option("--task", o->task, "Built-in task")
      ->check(CLI::IsMember(core::taskNames()))
      ->required();
  cmd->add_option("--prompt", o->prompt, "The prompt, e.g. 123+456=")->required();
  cmd->add_option("--output", o->output, "The model's output to judge")->required();
  cmd->add_flag("--json", o->json, "Print the verdict as JSON");
  cmd->callback([o] {
    const auto task = core::makeTask(o->task);
    const core::Example ex = task->fromPrompt(o->prompt);
    const core::Verdict v = task->verify(ex, o->output);
    if (o->json) {
      std::cout << jsonLine({{"example", core::toJson(ex)},
                             {"output", o->output},
                             {"verdict", core::toJson(v)}})
                << "\n";
      return;
    }
    std::cout << "prompt " << core::quoteText(ex.prompt) << "  gold "
              << core::quoteText(ex.completion) << "\n"
              << "output " << core::quoteText(o->output) << "\n"
              << "correct: " << (v.correct ? "yes" : "no") << "\n";
    char process[32];
    std::snprintf(process, sizeof process, "%.3f", v.process);
    std::cout << "process: " << process;
    if (v.stepsTotal > 0)
      std::cout << " (" << v.stepsRight << " of " << v.stepsTotal << " steps right)";
    std::cout << "\n"
              << "detail: " << v.detail << "\n";
  });
}

void registerCorpus(CLI::App& data) {
  struct Options {
    std::vector<std::string> paths;
    core::CorpusPhraseOptions phrases;
    bool keepUnicode = false;
    int skip = 0;
    std::string out;
  };
  auto o = std::make_shared<Options>();
  CLI::App* cmd = data.add_subcommand(
      "corpus",
      "Turn plain-text corpora into a JSONL dataset of {\"prompt\", \"completion\", \"source\"}:\n"
      "each sentence's first --prompt-words words are the prompt, up to --completion-words\n"
      "words after them the completion. Deterministic (same files, options and seed: same\n"
      "lines). A folder stands for its *.txt files in name order. With --count, pairs are\n"
      "drawn by --seed after skipping the first --skip of the draw (so a train and a held-out\n"
      "file from the same seed do not overlap).");
  cmd->add_option("paths", o->paths, "Text files or folders of .txt files")->required();
  cmd->add_option("--prompt-words", o->phrases.promptWords, "Words of the prompt")
      ->capture_default_str();
  cmd->add_option("--completion-words", o->phrases.completionWords,
                  "Most words of the completion")
      ->capture_default_str();
  cmd->add_option("--min-completion-words", o->phrases.minCompletionWords,
                  "Sentences with fewer words after the prompt are dropped")
      ->capture_default_str();
  cmd->add_flag("--completion-space", o->phrases.completionSpace,
                "Start the completion with a space (byte-level BPE such as GPT-2; leave off for\n"
                "SentencePiece tokenizers such as Llama's, which mark word starts themselves)");
  cmd->add_flag("--keep-unicode", o->keepUnicode,
                "Keep sentences with characters outside printable ASCII");
  cmd->add_option("--count", o->phrases.count, "Pairs to write (0: all, in corpus order)")
      ->capture_default_str();
  cmd->add_option("--skip", o->skip, "With --count: pairs of the seeded draw to skip first")
      ->check(CLI::NonNegativeNumber)
      ->capture_default_str();
  cmd->add_option("--seed", o->phrases.seed, "Seed of the --count draw")->capture_default_str();
  cmd->add_option("--out", o->out, "Write the JSONL here (default: standard output)");
  cmd->callback([o] {
    core::CorpusPhraseOptions opts = o->phrases;
    opts.asciiOnly = !o->keepUnicode;
    if (o->skip > 0 && opts.count == 0)
      throw core::Error("nmar data corpus: --skip: needs --count (it skips part of the draw)");
    const int keep = opts.count;
    if (keep > 0) opts.count = keep + o->skip;
    std::vector<std::filesystem::path> paths(o->paths.begin(), o->paths.end());
    std::vector<nlohmann::json> pairs = core::corpusPhrasePairs(paths, opts);
    std::ostringstream text;
    for (std::size_t i = static_cast<std::size_t>(keep > 0 ? o->skip : 0); i < pairs.size(); ++i)
      text << jsonLine(pairs[i]) << "\n";
    if (o->out.empty()) {
      std::cout << text.str();
      return;
    }
    std::ofstream f(o->out, std::ios::binary | std::ios::trunc);
    if (!f) throw core::Error("--out " + o->out + ": cannot write");
    f << text.str();
    f.close();
    if (!f) throw core::Error("--out " + o->out + ": write failed");
    std::cerr << "wrote " << (pairs.size() - static_cast<std::size_t>(keep > 0 ? o->skip : 0))
              << " pairs to " << o->out << "\n";
  });
}

}  // namespace

void registerDataCommand(CLI::App& app) {
  CLI::App* data = app.add_subcommand(
      "data", "Built-in verifiable tasks, JSONL datasets (also from text corpora) and deviation\ninjection.");
  data->require_subcommand(1);
  registerSample(*data);
  registerVerify(*data);
  registerCorpus(*data);
}

}  // namespace nmar::app
