// nmar decode CKPT (--prompt TEXT | --prompt-ids 1,2,3) [--mode hard|soft|resample] [sampler flags]
//              [--inject STEP[:TOKEN]]... [--undo-token T] [--attention] [--out trace.json]
//              [--store RUNS.sqlite] [--verifier DIR [--tau T] [--verifier-bias X]]
#include <torch/torch.h>
#include <CLI/CLI.hpp>

#include <unistd.h>

#include <atomic>
#include <cctype>
#include <cmath>
#include <csignal>
#include <cstdlib>
#include <filesystem>
#include <iostream>
#include <map>
#include <memory>

#include "cli_common.h"
#include "decode/pruned_decoder.h"
#include "model/pretrained.h"
#include "store/run_store.h"
#include "train/detector.h"
#include "trace/trace_io.h"
#include "trace/trace_render.h"
#include "util/device.h"
#include "util/error.h"

namespace nmar::app {
namespace {

std::atomic<bool> g_interrupted{false};
void onInterrupt(int) { g_interrupted = true; }

/** Prints each push/pop as it happens, as `nmar replay` would. */
class PrintingSink : public core::DecodeEventSink {
 public:
  PrintingSink(bool color, bool quiet) : m_color(color), m_quiet(quiet) {}
  void onStart(const core::Trace& t) override {
    m_tracker = core::StackTextTracker(t.promptText);
    if (m_quiet) return;
    std::cout << "decoding " << core::traceModeName(t.mode) << " mode, seed " << t.seed
              << ", prompt " << core::quoteText(t.promptText) << " (" << t.promptIds.size()
              << " ids)\n";
  }
  void onStep(int index, const core::TraceStep& step) override {
    const std::string popped = m_tracker.apply(step, index);
    if (m_quiet) return;
    std::cout << core::renderStep(step, index + 1, m_tracker.stackText(), m_color, popped)
              << std::endl;  // flushed: the rendering is live
  }

 private:
  bool m_color, m_quiet;
  core::StackTextTracker m_tracker;
};

/** "--inject STEP[:TOKEN]": STEP is the 1-based step number; TOKEN text or `random`. */
core::ForcedDeviation parseInject(const std::string& spec, const core::Tokenizer* tok) {
  const std::string what = "--inject " + spec + ": ";
  const auto colon = spec.find(':');
  const std::string stepText = spec.substr(0, colon);
  bool digits = !stepText.empty() && stepText.size() < 10;
  for (char c : stepText) digits = digits && std::isdigit(static_cast<unsigned char>(c));
  if (!digits || std::stoi(stepText) < 1)
    throw core::Error(what + "expected STEP[:TOKEN] with STEP a step number >= 1 (as printed)");
  core::ForcedDeviation f;
  f.step = std::stoi(stepText) - 1;
  if (colon == std::string::npos) return f;
  const std::string token = spec.substr(colon + 1);
  if (token.empty()) throw core::Error(what + "empty TOKEN (give text, or `random`)");
  if (token == "random") return f;
  if (tok == nullptr) throw core::Error(what + "the checkpoint has no tokenizer to encode TOKEN");
  const std::vector<int32_t> ids = tok->encode(token);
  if (ids.size() != 1)
    throw core::Error(what + core::quoteText(token) + " encodes to " + std::to_string(ids.size()) +
                      " tokens, expected exactly 1");
  f.token = ids.front();
  return f;
}

/** Re-words a sampler/decode settings error with the flag the user typed. */
[[noreturn]] void rethrowWithFlag(const core::Error& e) {
  static const std::map<std::string, std::string> kFlags{
      {"temperature", "--temperature"},
      {"top_k", "--top-k"},
      {"top_p", "--top-p"},
      {"min_p", "--min-p"},
      {"repetition_penalty", "--repetition-penalty"},
      {"undo_logit_bias", "--undo-bias"},
      {"undo_budget", "--undo-budget"},
      {"max_consecutive_undos", "--max-consecutive-undos"},
      {"max_new_tokens", "--max-new-tokens"}};
  std::string msg = e.what();
  for (const auto& [field, flag] : kFlags) {
    const std::string key = "sampler settings: field '" + field + "'";
    if (const auto at = msg.find(key); at != std::string::npos) msg.replace(at, key.size(), flag);
  }
  throw core::Error(msg);
}

/** Records a finished decode in run @p runId: the trace with its per-step logprobs as token
 *  scores (position = step index), summary metrics, the trace file as an artifact, the end. */
void recordDecode(core::RunStore& store, std::int64_t runId, const core::Trace& trace,
                  const std::string& out, bool interrupted) {
  std::vector<core::TokenScore> scores;
  int pops = 0, forced = 0;
  for (std::size_t k = 0; k < trace.steps.size(); ++k) {
    const core::TraceStep& s = trace.steps[k];
    pops += s.kind == core::StepKind::kPop;
    forced += s.forced;
    if (s.logprob) scores.push_back({static_cast<int>(k), s.token, {}, {}, s.logprob});
  }
  store.logMetrics(runId, 0,
                   {{"steps", double(trace.steps.size())},
                    {"undos", double(pops)},
                    {"forced", double(forced)},
                    {"output_tokens", double(trace.outputIds.size())}});
  store.addTrace(runId, 0, trace, std::nullopt, std::move(scores));
  if (!out.empty()) store.addArtifact(runId, "trace", out);
  store.finishRun(runId, interrupted ? core::RunStatus::kCancelled : core::RunStatus::kFinished,
                  interrupted ? "interrupted (Ctrl-C)" : "");
  store.flush();  // surfaces any write error before the run id is announced
}

/** Marks run @p runId failed with the error being thrown; a second failure only adds a note. */
void markFailed(core::RunStore& store, std::int64_t runId, const std::exception_ptr& error) {
  std::string reason = "unknown error";
  try {
    std::rethrow_exception(error);
  } catch (const std::exception& e) {
    reason = e.what();
  } catch (...) {
  }
  try {
    store.finishRun(runId, core::RunStatus::kFailed, reason);
  } catch (const std::exception& e) {
    std::cerr << "note: could not mark run " << runId << " failed: " << e.what() << "\n";
  }
}

}  // namespace

void registerDecodeCommand(CLI::App& app) {
  struct Options {
    std::string dir, prompt, promptIds, mode = "hard", undoToken = "<|undo|>", out;
    std::string store, verifier;
    double tau = std::nan(""), verifierBias = std::nan("");
    std::string device = "cpu", dtype = "fp32";
    std::vector<std::string> inject;
    core::SamplerSettings s;
    int deviationTopK = 5;
    bool attention = false, ignoreEos = false, plain = false, quiet = false;
  };
  auto opt = std::make_shared<Options>();
  CLI::App* cmd = app.add_subcommand(
      "decode",
      "Pruned decoding (spec §3): sample a continuation of the prompt, where an UNDO token pops "
      "the\n"
      "last token and the KV cache follows the stack. Pushes and pops are printed as they happen;\n"
      "the trace (nmar-trace/1) is written to --out and/or recorded as a `decode` run (config,\n"
      "trace, per-step logprobs) in the run store given with --store. Ctrl-C stops early and\n"
      "still writes it (the run is then marked cancelled).\n"
      "A checkpoint without the UNDO token decodes normally (no pops are possible).");
  cmd->add_option("checkpoint", opt->dir, "Checkpoint folder")->required();
  auto* prompt = cmd->add_option("--prompt", opt->prompt,
                                 "Prompt text (BOS added if the "
                                 "tokenizer adds one)");
  auto* promptIds =
      cmd->add_option("--prompt-ids", opt->promptIds, "Prompt as comma-separated token ids");
  prompt->excludes(promptIds);
  cmd->add_option("--mode", opt->mode, "hard (N-MAR), soft (UNDO stays in context) or resample")
      ->check(CLI::IsMember({"hard", "soft", "resample"}))
      ->capture_default_str();
  cmd->add_option("--seed", opt->s.seed, "Sampler seed")->capture_default_str();
  cmd->add_option("--temperature", opt->s.temperature, "0 = greedy")->capture_default_str();
  cmd->add_option("--top-k", opt->s.topK, "Keep the K most likely tokens (0 = off)");
  cmd->add_option("--top-p", opt->s.topP, "Nucleus sampling threshold (1 = off)");
  cmd->add_option("--min-p", opt->s.minP, "Keep tokens with p >= P * p_max (0 = off)");
  cmd->add_option("--repetition-penalty", opt->s.repetitionPenalty,
                  "Penalty on live (un-popped) tokens (1 = off)");
  cmd->add_option("--undo-bias", opt->s.undoLogitBias, "Added to the UNDO logit");
  cmd->add_option("--undo-budget", opt->s.undoBudget, "Most UNDOs in a decode (-1 = unlimited)");
  cmd->add_option("--max-consecutive-undos", opt->s.maxConsecutiveUndos,
                  "Longest run of UNDOs (-1 = unlimited)");
  cmd->add_option("--max-new-tokens", opt->s.maxNewTokens, "Steps (pushes and pops) at most")
      ->capture_default_str();
  cmd->add_flag("--ignore-eos", opt->ignoreEos, "Do not stop at the EOS token");
  cmd->add_option(
      "--inject", opt->inject,
      "Forced deviation STEP[:TOKEN] (repeatable): at step number STEP (1 = the first\n"
      "new token, as printed) push TOKEN (text that encodes to one token) or, for\n"
      "`random` or no TOKEN, a wrong token drawn from the model's top-k after its argmax");
  cmd->add_option("--deviation-top-k", opt->deviationTopK, "K for random deviations")
      ->capture_default_str();
  cmd->add_option("--undo-token", opt->undoToken, "Content of the UNDO token")
      ->capture_default_str();
  cmd->add_flag("--attention", opt->attention, "Record each step's attention rows in the trace");
  cmd->add_option("--device", opt->device, "cpu, cuda, cuda:N or auto")->capture_default_str();
  cmd->add_option("--dtype", opt->dtype, "fp32, bf16 or fp16")->capture_default_str();
  cmd->add_flag("--plain", opt->plain, "No colours, even on a terminal");
  cmd->add_flag("--quiet", opt->quiet, "Do not print the steps, only the summary");
  cmd->add_option("--verifier", opt->verifier,
                  "Deviation detector folder (detector_config.json + detector.safetensors, from\n"
                  "`nmar detector train`): scores every push, and when the last pushed token's\n"
                  "score exceeds --tau an UNDO is forced (steps marked \"verifier\")");
  cmd->add_option("--tau", opt->tau, "Trigger threshold (default: the detector config's tau)");
  cmd->add_option("--verifier-bias", opt->verifierBias,
                  "On a trigger add this to the UNDO logit instead of forcing UNDO");
  cmd->add_option("--out", opt->out, "Trace file to write (.json)");
  cmd->add_option("--store", opt->store, "Record a decode run in this run store (SQLite file)");
  cmd->callback([opt, prompt, promptIds] {
    if (prompt->count() == 0 && promptIds->count() == 0)
      throw CLI::ValidationError("decode", "one of --prompt or --prompt-ids is required");
    if (opt->out.empty() && opt->store.empty())
      throw CLI::ValidationError("decode", "--out FILE or --store RUNS.sqlite is required");
    // Opened first, so that a bad store is reported before the model is loaded.
    std::unique_ptr<core::RunStore> store;
    if (!opt->store.empty()) store = std::make_unique<core::RunStore>(opt->store);
    core::Pretrained p = core::loadPretrained(opt->dir, core::parseDevice(opt->device),
                                              core::parseDtype(opt->dtype));
    const core::Tokenizer* tok = p.tokenizer.get();
    const std::int64_t vocab = p.model->config().vocabSize;

    std::vector<std::int64_t> ids;
    std::string promptText = opt->prompt;
    if (promptIds->count()) {
      ids = parseIdList(opt->promptIds);
      for (std::size_t i = 0; i < ids.size(); ++i)
        if (ids[i] >= vocab)
          throw core::Error("--prompt-ids: item " + std::to_string(i + 1) + " (id " +
                            std::to_string(ids[i]) + ") is outside the vocabulary of " +
                            std::to_string(vocab));
      if (tok != nullptr) promptText = tok->decode(std::vector<int32_t>(ids.begin(), ids.end()));
    } else {
      if (tok == nullptr)
        throw core::Error(opt->dir + ": no tokenizer in this folder; use --prompt-ids");
      for (int32_t id : tok->encode(opt->prompt, /*addSpecial=*/true)) ids.push_back(id);
      if (ids.empty()) throw core::Error("--prompt: encodes to no tokens (and no BOS is added)");
    }

    core::DecodeSettings settings;
    settings.mode = core::parseTraceMode(opt->mode, "--mode");
    settings.sampler = opt->s;
    settings.sampler.stopAtEos = !opt->ignoreEos;
    settings.deviationTopK = opt->deviationTopK;
    settings.recordAttention = opt->attention;
    settings.modelName = opt->dir;
    settings.tokenizerName = tok ? opt->dir + " (" + tok->kind() + ")" : "none";
    if (tok != nullptr)
      if (auto undo = tok->tokenId(opt->undoToken); undo && *undo < vocab) settings.undoId = *undo;
    if (settings.undoId < 0)
      std::cerr << "note: " << opt->dir << " has no " << opt->undoToken
                << " token: decoding without UNDO (no pops are possible)\n";
    if (tok != nullptr && tok->eosId() && *tok->eosId() < vocab)
      settings.eosId = *tok->eosId();
    else
      settings.eosId = p.model->config().eosTokenId();
    for (const std::string& spec : opt->inject) {
      const core::ForcedDeviation f = parseInject(spec, tok);
      const std::string what = "--inject " + spec + ": ";
      if (f.step >= settings.sampler.maxNewTokens)
        throw core::Error(what + "step " + std::to_string(f.step + 1) + " is beyond " +
                          "--max-new-tokens " + std::to_string(settings.sampler.maxNewTokens));
      for (const core::ForcedDeviation& g : settings.forced)
        if (g.step == f.step) throw core::Error(what + "a second deviation at the same step");
      if (settings.undoId >= 0 && f.token == settings.undoId)
        throw core::Error(what + "TOKEN is the UNDO token (a deviation pushes a regular token)");
      settings.forced.push_back(f);
    }
    if (!opt->verifier.empty()) {
      core::DetectorHead head = core::loadDetector(opt->verifier, p.model->config().hiddenSize);
      settings.verifier.verifier = std::make_shared<core::DetectorVerifier>(head);
      settings.verifier.tau = std::isnan(opt->tau) ? head->config().tau : opt->tau;
      if (!std::isnan(opt->verifierBias)) settings.verifier.bias = opt->verifierBias;
      settings.verifier.name = opt->verifier;
      if (!(settings.verifier.tau >= 0 && settings.verifier.tau <= 1))
        throw core::Error("--tau: " + std::to_string(settings.verifier.tau) +
                          " is outside [0, 1]");
    } else if (!std::isnan(opt->tau) || !std::isnan(opt->verifierBias)) {
      throw core::Error("--tau and --verifier-bias need --verifier DIR");
    }
    try {
      settings.validate(vocab);
    } catch (const core::Error& e) {
      rethrowWithFlag(e);
    }

    std::int64_t runId = 0;
    if (store) {
      core::NewRun run;
      run.kind = "decode";
      run.name = "decode " + std::filesystem::path(opt->dir).filename().string() + " " +
                 core::quoteText(promptText);
      const auto absolute = [](const std::string& file) {
        return std::filesystem::absolute(file).lexically_normal().string();
      };
      run.config = {
          {"checkpoint", absolute(opt->dir)},
          {"prompt", promptText},
          {"prompt_ids", ids},
          {"mode", opt->mode},
          {"seed", settings.sampler.seed},
          {"sampler", settings.sampler.toJson()},
          {"undo_id", settings.undoId},
          {"eos_id", settings.eosId},
          {"inject", opt->inject},
          {"deviation_top_k", settings.deviationTopK},
          {"attention", settings.recordAttention},
          {"verifier", settings.verifier.toJson()},
          {"device", opt->device},
          {"dtype", opt->dtype},
          {"out", opt->out.empty() ? nlohmann::json() : nlohmann::json(absolute(opt->out))}};
      runId = store->createRun(run);
    }

    const bool color = !opt->plain && ::isatty(STDOUT_FILENO) && std::getenv("NO_COLOR") == nullptr;
    PrintingSink sink(color, opt->quiet);
    g_interrupted = false;
    auto previous = std::signal(SIGINT, onInterrupt);
    core::Trace trace;
    try {
      trace = core::decode(p.model, ids, settings, &sink, &g_interrupted, tok, promptText);
      std::signal(SIGINT, previous);
      if (!opt->out.empty()) core::writeTrace(opt->out, trace);
    } catch (...) {
      std::signal(SIGINT, previous);
      if (store) markFailed(*store, runId, std::current_exception());
      throw;
    }
    if (store) recordDecode(*store, runId, trace, opt->out, g_interrupted);

    int pops = 0, forced = 0, byVerifier = 0;
    for (const core::TraceStep& s : trace.steps) {
      pops += s.kind == core::StepKind::kPop;
      forced += s.forced;
      byVerifier += s.verifier;
    }
    std::cout << "output " << core::quoteText(trace.outputText) << " (" << trace.outputIds.size()
              << " ids)\n"
              << trace.steps.size() << " steps: " << trace.steps.size() - pops << " pushes, "
              << pops << " UNDOs (" << byVerifier << " by the verifier), " << forced
              << " forced; stopped: " << trace.meta.value("stop_reason", std::string("?")) << "\n";
    if (!opt->out.empty()) std::cout << "wrote " << opt->out << "\n";
    if (store) std::cout << "recorded run " << runId << " in " << store->path().string() << "\n";
  });
}

}  // namespace nmar::app
