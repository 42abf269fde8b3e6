// nmar init-token CKPT --strategy random|mean|semantic|hewitt --out DIR [...]
// nmar init-token CKPT --compare [...]
#include <CLI/CLI.hpp>
#include <nlohmann/json.hpp>

#include <cstdio>
#include <filesystem>
#include <iostream>
#include <sstream>

#include "cli_common.h"
#include "model/pretrained.h"
#include "train/held_out.h"
#include "train/token_init.h"
#include "util/device.h"
#include "util/error.h"
#include "util/json_file.h"

namespace nmar::app {
namespace fs = std::filesystem;

namespace {

struct InitTokenOptions {
  std::string dir, strategy, out, words, heldOut, token = core::kDefaultUndoToken, device = "cpu";
  std::uint64_t seed = 0;
  double scale = 1.0;
  int windows = 16, windowLength = 64;
  bool compare = false, json = false, force = false;
};

std::string fmt(const char* format, double value) {
  char buf[64];
  std::snprintf(buf, sizeof buf, format, value);
  return buf;
}

/** A token's text for a table cell: quoted, newlines and tabs made visible. */
std::string shown(const std::string& text) {
  std::string out = "'";
  for (char c : text) {
    if (c == '\n')
      out += "\\n";
    else if (c == '\t')
      out += "\\t";
    else
      out += c;
  }
  return out + "'";
}

std::string neighbours(const core::TokenInitReport& r, std::size_t count) {
  std::string out;
  for (std::size_t i = 0; i < r.nearest.size() && i < count; ++i)
    out += (i ? ", " : "") + shown(r.nearest[i].text) + " " + fmt("%.3f", r.nearest[i].cosine);
  return out;
}

std::vector<std::string> splitWords(const std::string& text) {
  std::vector<std::string> words;
  std::stringstream in(text);
  for (std::string w; std::getline(in, w, ',');) words.push_back(w);
  if (!text.empty() && text.back() == ',') words.push_back("");
  return words;
}

void row(const std::string& key, const std::string& value) {
  std::cout << key << std::string(key.size() < 15 ? 15 - key.size() : 1, ' ') << value << "\n";
}

void printReport(const core::TokenInitReport& r) {
  row("strategy", core::tokenInitStrategyName(r.strategy));
  row("token", r.content + " = id " + std::to_string(r.id) + " (" +
                   (r.added ? "added" : "already present, re-initialised") + "; vocabulary " +
                   std::to_string(r.vocabBefore) + " -> " + std::to_string(r.vocabAfter) + ")");
  row("KL shift", fmt("%.4e", r.klFull) +
                      " nats/position  KL(p_before || p_after): the mass the new token takes");
  row("KL renorm.",
      fmt("%.4e", r.klRenormalised) +
          " nats/position  old vocabulary, p_after renormalised (~0 by construction)");
  row("P(UNDO)", "mean " + fmt("%.4e", r.pUndoMean) + ", max " + fmt("%.4e", r.pUndoMax));
  row("embedding norm",
      fmt("%.4f", r.embeddingNorm) + " (existing rows: mean " + fmt("%.4f", r.meanRowNorm) + ")");
  if (!r.tiedHead)
    row("head row norm",
        fmt("%.4f", r.headNorm) + " (existing rows: mean " + fmt("%.4f", r.meanHeadRowNorm) + ")");
  if (r.strategy == core::TokenInitStrategy::kSemantic) {
    std::string used;
    for (const auto& w : r.wordsUsed) used += (used.empty() ? "" : " ") + w;
    row("words used", used);
    for (const auto& w : r.wordsSkipped) row("word skipped", shown(w.word) + ": " + w.reason);
  }
  if (r.strategy == core::TokenInitStrategy::kRandom ||
      r.strategy == core::TokenInitStrategy::kHewitt)
    row("seed", std::to_string(r.seed) + (r.strategy == core::TokenInitStrategy::kHewitt
                                              ? ", covariance scale " + fmt("%g", r.hewittScale)
                                              : ""));
  row("nearest", neighbours(r, r.nearest.size()));
  row("time", "init " + fmt("%.1f", r.initMs) + " ms, report " + fmt("%.1f", r.reportMs) + " ms");
}

void printComparison(const core::TokenInitComparison& c) {
  std::printf("%-9s %11s %11s %13s %12s %9s  %s\n", "strategy", "KL shift", "KL renorm",
              "P(UNDO) mean", "P(UNDO) max", "norm", "nearest");
  for (const core::TokenInitReport& r : c.reports)
    std::printf("%-9s %11.4e %11.1e %13.4e %12.4e %9.4f  %s\n",
                core::tokenInitStrategyName(r.strategy).c_str(), r.klFull, r.klRenormalised,
                r.pUndoMean, r.pUndoMax, r.embeddingNorm, neighbours(r, 3).c_str());
  for (const core::TokenInitFailure& f : c.failures)
    std::printf("%-9s failed: %s\n", core::tokenInitStrategyName(f.strategy).c_str(),
                f.message.c_str());
  if (!c.reports.empty()) {
    const core::TokenInitReport& r = c.reports.front();
    std::printf(
        "existing embedding rows: mean norm %.4f; %s = id %lld, vocabulary %lld -> %lld; "
        "nothing was saved\n",
        r.meanRowNorm, r.content.c_str(), static_cast<long long>(r.id),
        static_cast<long long>(r.vocabBefore), static_cast<long long>(r.vocabAfter));
  }
  std::fflush(stdout);
}

void runInitToken(const InitTokenOptions& o) {
  if (!o.compare && o.strategy.empty())
    throw core::Error("--strategy is required (random, mean, semantic or hewitt) unless --compare");
  if (!o.compare && o.out.empty())
    throw core::Error(
        "--out is required (the folder to write the checkpoint with the token to) "
        "unless --compare");
  core::TokenInitOptions opt;
  if (!o.strategy.empty()) {
    try {
      opt.strategy = core::parseTokenInitStrategy(o.strategy);
    } catch (const core::Error& e) {
      throw core::Error(std::string("--strategy: ") + e.what());
    }
  }
  if (!o.words.empty()) opt.words = splitWords(o.words);
  opt.seed = o.seed;
  opt.hewittScale = o.scale;
  opt.content = o.token;
  if (!o.compare && !o.force && core::looksLikeCheckpoint(o.out))
    throw core::Error(o.out + ": already holds a checkpoint; pass --force to overwrite it");

  core::Pretrained p = core::loadPretrained(o.dir, core::parseDevice(o.device));
  if (!p.tokenizer)
    throw core::Error(o.dir + ": the checkpoint has no tokenizer files, so no token can be added");
  core::HeldOutText text;
  if (o.heldOut.empty()) {
    text = core::builtInHeldOutText(*p.tokenizer);
  } else {
    text.text = core::readFileBytes(o.heldOut, "--heldout file '" + o.heldOut + "'");
    text.description = "file '" + o.heldOut + "'";
  }
  int length = o.windowLength;
  const core::ModelConfig& config = p.model->config();
  if (config.family == core::ModelFamily::Gpt2 && length > config.maxPositions)
    length = static_cast<int>(config.maxPositions);
  std::vector<std::vector<std::int32_t>> windows;
  try {
    windows = core::heldOutWindows(*p.tokenizer, text.text, length, o.windows);
  } catch (const core::Error& e) {
    throw core::Error(text.description + ": " + e.what());
  }
  nlohmann::json head;
  head["checkpoint"] = o.dir;
  head["held_out"] = text.description;
  const std::string modelLine = o.dir + " (" + config.modelType + ", vocabulary " +
                                std::to_string(config.vocabSize) + ", " +
                                (config.tieWordEmbeddings ? "tied head" : "untied head") + ")";

  if (o.compare) {
    const core::TokenInitComparison c = core::compareStrategies(p, opt, windows);
    if (o.json) {
      nlohmann::json j = c.toJson();
      j.update(head);
      std::cout << j.dump(2) << "\n";
      return;
    }
    row("checkpoint", modelLine);
    if (!c.reports.empty())
      row("held-out text", text.description + ": " + std::to_string(c.reports[0].heldOutWindows) +
                               " windows, " + std::to_string(c.reports[0].heldOutPositions) +
                               " positions");
    printComparison(c);
    return;
  }

  const core::TokenInitReport r = core::initUndoToken(p, opt, windows);  // before saving
  fs::create_directories(o.out);
  core::savePretrained(o.out, p.model, p.tokenizer.get());
  nlohmann::json j = r.toJson();
  j.update(head);
  j["out"] = o.out;
  const fs::path reportFile = fs::path(o.out) / "undo_init.json";
  core::writeJsonFile(reportFile, j);
  if (o.json) {
    std::cout << j.dump(2) << "\n";
    return;
  }
  row("checkpoint", modelLine);
  row("held-out text", text.description + ": " + std::to_string(r.heldOutWindows) + " windows, " +
                           std::to_string(r.heldOutPositions) + " positions");
  printReport(r);
  row("wrote", o.out + " (checkpoint with the token) and " + reportFile.string());
}

}  // namespace

void registerInitTokenCommand(CLI::App& app) {
  auto o = std::make_shared<InitTokenOptions>();
  CLI::App* cmd = app.add_subcommand(
      "init-token",
      "Add the UNDO token to a checkpoint with an initialisation strategy (spec §6) and report\n"
      "what it does to the model: KL between the next-token distributions before and after on\n"
      "held-out text, the initial P(UNDO) and the new embedding's nearest neighbours. Saves the\n"
      "checkpoint to --out with the report as undo_init.json; --compare runs all four strategies\n"
      "side by side and saves nothing.");
  cmd->add_option("checkpoint", o->dir, "Checkpoint folder to read")->required();
  cmd->add_option("--strategy", o->strategy,
                  "random (normal, init std), mean (of the rows), semantic (mean of a word list's "
                  "pieces) or hewitt (sample from N(mean, scale*cov); also mean+noise)");
  auto* out = cmd->add_option("--out", o->out, "Folder to write the checkpoint with the token to");
  cmd->add_option("--words", o->words,
                  "semantic: comma-separated words, kept verbatim (a leading space selects the "
                  "word-initial pieces of a BPE vocabulary; default: delete,remove,undo,erase,"
                  "back,cancel,revert,backspace)");
  cmd->add_option("--seed", o->seed, "random / hewitt: seed")->capture_default_str();
  cmd->add_option("--scale", o->scale, "hewitt: covariance scale")->capture_default_str();
  cmd->add_option("--heldout", o->heldOut,
                  "Held-out text file for the KL report (default: a built-in sample text)");
  cmd->add_option("--windows", o->windows, "Held-out windows to use at most")
      ->check(CLI::PositiveNumber)
      ->capture_default_str();
  cmd->add_option("--window-length", o->windowLength, "Tokens per held-out window")
      ->check(CLI::PositiveNumber)
      ->capture_default_str();
  cmd->add_option("--token", o->token, "Content of the UNDO token")->capture_default_str();
  cmd->add_option("--device", o->device, "cpu, cuda, cuda:N or auto")->capture_default_str();
  cmd->add_flag("--compare", o->compare, "Run all four strategies side by side; save nothing")
      ->excludes(out);
  cmd->add_flag("--json", o->json, "Print the report as JSON");
  cmd->add_flag("--force", o->force, "Overwrite an existing checkpoint in --out");
  cmd->callback([o] { runInitToken(*o); });
}

}  // namespace nmar::app
