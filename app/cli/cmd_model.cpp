// nmar model info <dir> [--json]
// nmar model new --family gpt2|llama --preset tiny|small [...] <dir>
#include <CLI/CLI.hpp>
#include <nlohmann/json.hpp>
#include <torch/torch.h>

#include <iomanip>
#include <iostream>

#include "checkpoint/checkpoint.h"
#include "cli_common.h"
#include "model/model_config.h"
#include "model/pretrained.h"
#include "model/undo_token.h"
#include "tokenizer/char_tokenizer.h"
#include "util/error.h"

namespace nmar::app {
namespace fs = std::filesystem;

namespace {

std::uint64_t folderBytes(const fs::path& dir) {
  std::uint64_t total = 0;
  for (const auto& e : fs::directory_iterator(dir))
    if (e.is_regular_file() && e.path().extension() == ".safetensors") total += e.file_size();
  return total;
}

nlohmann::json describe(const core::Pretrained& p) {
  const core::ModelConfig& c = p.model->config();
  nlohmann::json j;
  j["path"] = p.dir.string();
  j["model_type"] = c.modelType;
  j["family"] = c.family == core::ModelFamily::Gpt2 ? "gpt2" : "llama";
  j["layers"] = c.numLayers;
  j["hidden_size"] = c.hiddenSize;
  j["heads"] = c.numHeads;
  j["kv_heads"] = c.numKvHeads;
  j["head_dim"] = c.headDim;
  j["intermediate_size"] = c.intermediateSize;
  j["max_positions"] = c.maxPositions;
  j["vocab_size"] = c.vocabSize;
  j["tied_head"] = c.tieWordEmbeddings;
  j["attention_bias"] = c.attentionBias;
  j["parameters"] = p.model->parameterCount();
  j["weights_bytes"] = folderBytes(p.dir);
  if (p.tokenizer) {
    j["tokenizer"] = {{"kind", p.tokenizer->kind()}, {"vocab_size", p.tokenizer->vocabSize()}};
    nlohmann::json specials = nlohmann::json::array();
    for (const auto& s : p.tokenizer->specialTokens()) specials.push_back(s);
    j["tokenizer"]["special_tokens"] = specials;
  } else {
    j["tokenizer"] = nullptr;
  }
  return j;
}

void printInfo(const nlohmann::json& j) {
  auto row = [](const std::string& k, const std::string& v) {
    std::cout << std::left << std::setw(20) << k << v << "\n";
  };
  row("checkpoint", j["path"].get<std::string>());
  row("architecture", j["model_type"].get<std::string>() + " (" + j["family"].get<std::string>() +
                          " family)");
  row("layers", std::to_string(j["layers"].get<int>()));
  row("hidden size", std::to_string(j["hidden_size"].get<int>()));
  row("heads / kv heads", std::to_string(j["heads"].get<int>()) + " / " +
                              std::to_string(j["kv_heads"].get<int>()) + " (head dim " +
                              std::to_string(j["head_dim"].get<int>()) + ")");
  row("mlp size", std::to_string(j["intermediate_size"].get<int>()));
  row("max positions", std::to_string(j["max_positions"].get<int>()));
  row("vocabulary", std::to_string(j["vocab_size"].get<int>()));
  row("output head", j["tied_head"].get<bool>() ? "tied to embeddings" : "untied");
  row("q/k/v biases", j["attention_bias"].get<bool>() ? "yes" : "no");
  const auto params = j["parameters"].get<std::int64_t>();
  std::ostringstream p;
  p << params << " (" << std::fixed << std::setprecision(2) << params / 1e6 << " M)";
  row("parameters", p.str());
  row("weights on disk", std::to_string(j["weights_bytes"].get<std::uint64_t>()) + " bytes");
  if (j["tokenizer"].is_null()) {
    row("tokenizer", "none in this folder");
  } else {
    std::string specials;
    for (const auto& s : j["tokenizer"]["special_tokens"]) specials += " " + s.get<std::string>();
    row("tokenizer", j["tokenizer"]["kind"].get<std::string>() + ", " +
                         std::to_string(j["tokenizer"]["vocab_size"].get<int>()) + " tokens");
    row("special tokens", specials.empty() ? "(none)" : specials.substr(1));
  }
}

}  // namespace

void registerModelCommand(CLI::App& app) {
  CLI::App* model = app.add_subcommand("model", "Inspect or create checkpoints (Hugging Face layout)");
  model->require_subcommand(1);

  // --- model info ---
  struct InfoOptions {
    std::string dir;
    bool json = false;
  };
  auto info = std::make_shared<InfoOptions>();
  CLI::App* infoCmd =
      model->add_subcommand("info", "Print the architecture, parameter count and vocabulary");
  infoCmd->add_option("checkpoint", info->dir, "Checkpoint folder")->required();
  infoCmd->add_flag("--json", info->json, "Print as JSON");
  infoCmd->callback([info] {
    const core::Pretrained p = core::loadPretrained(info->dir);
    const nlohmann::json j = describe(p);
    if (info->json)
      std::cout << j.dump(2) << "\n";
    else
      printInfo(j);
  });

  // --- model new ---
  struct NewOptions {
    std::string dir, family = "llama", preset = "tiny", tokenizer, chars;
    std::uint64_t seed = 0;
    bool qwen2 = false, untied = false, force = false;
    double shardMb = 0;
  };
  auto nw = std::make_shared<NewOptions>();
  CLI::App* newCmd = model->add_subcommand(
      "new",
      "Write a randomly initialised (seeded) checkpoint with a tokenizer, in the Hugging Face layout.\n"
      "Without --tokenizer a character tokenizer for the built-in tasks is used.");
  newCmd->add_option("out", nw->dir, "Output folder")->required();
  newCmd->add_option("--family", nw->family, "Architecture family")
      ->check(CLI::IsMember({"gpt2", "llama"}))
      ->capture_default_str();
  newCmd->add_option("--preset", nw->preset, "Size: tiny (2 layers, d=64) or small (4 layers, d=128)")
      ->check(CLI::IsMember({"tiny", "small"}))
      ->capture_default_str();
  auto* tokOpt = newCmd->add_option("--tokenizer", nw->tokenizer,
                                    "Tokenizer to copy (checkpoint folder, tokenizer.json, vocab.json)");
  newCmd->add_option("--chars", nw->chars, "Alphabet of the character tokenizer")->excludes(tokOpt);
  newCmd->add_option("--seed", nw->seed, "Initialisation seed")->capture_default_str();
  newCmd->add_flag("--qwen2-biases", nw->qwen2, "llama family: Qwen2 layout (q/k/v biases)");
  newCmd->add_flag("--untied", nw->untied, "llama family: separate output head (lm_head)");
  newCmd->add_option("--shard-mb", nw->shardMb, "Shard the weights above this size (MB; 0 = one file)");
  newCmd->add_flag("--force", nw->force, "Overwrite an existing checkpoint in OUT");
  newCmd->callback([nw] {
    if (!nw->force && core::looksLikeCheckpoint(nw->dir))
      throw core::Error(nw->dir + ": already holds a checkpoint; pass --force to overwrite it");
    if (nw->family == "gpt2" && (nw->qwen2 || nw->untied))
      throw core::Error("--qwen2-biases and --untied apply to the llama family only");
    std::unique_ptr<core::Tokenizer> tok =
        nw->tokenizer.empty()
            ? std::make_unique<core::CharTokenizer>(
                  nw->chars.empty() ? core::CharTokenizer::defaultAlphabet() : nw->chars)
            : core::loadTokenizer(nw->tokenizer);
    const auto family = nw->family == "gpt2" ? core::ModelFamily::Gpt2 : core::ModelFamily::Llama;
    core::ModelConfig config = core::ModelConfig::preset(family, nw->preset, tok->vocabSize());
    if (nw->qwen2) {
      config.modelType = "qwen2";
      config.attentionBias = true;
    }
    if (nw->untied) config.tieWordEmbeddings = false;
    if (auto bos = tok->bosId()) config.bosTokenId = *bos;
    if (auto eos = tok->eosId()) config.eosTokenIds = {*eos};
    core::Transformer m(config);
    m->initWeights(nw->seed);
    core::savePretrained(nw->dir, m, tok.get(),
                         static_cast<std::uint64_t>(nw->shardMb * 1024.0 * 1024.0));
    std::cout << "wrote " << config.modelType << " " << nw->preset << " ("
              << m->parameterCount() << " parameters, vocabulary " << config.vocabSize << ", seed "
              << nw->seed << ") to " << nw->dir << "\n";
  });

  // --- model add-undo ---
  struct UndoOptions {
    std::string dir, out, token = core::kDefaultUndoToken;
    bool force = false;
  };
  auto undo = std::make_shared<UndoOptions>();
  CLI::App* undoCmd = model->add_subcommand(
      "add-undo",
      "Add the UNDO token to a checkpoint (mean initialisation) and save the result.\n"
      "The token is recorded in the tokenizer files, so the new checkpoint is self-describing.");
  undoCmd->add_option("checkpoint", undo->dir, "Checkpoint folder to read")->required();
  undoCmd->add_option("--out", undo->out, "Folder to write the checkpoint with UNDO to")->required();
  undoCmd->add_option("--token", undo->token, "Content of the UNDO token")->capture_default_str();
  undoCmd->add_flag("--force", undo->force, "Overwrite an existing checkpoint in --out");
  undoCmd->callback([undo] {
    if (!undo->force && core::looksLikeCheckpoint(undo->out))
      throw core::Error(undo->out + ": already holds a checkpoint; pass --force to overwrite it");
    core::Pretrained p = core::loadPretrained(undo->dir);
    const core::UndoTokenReport r = core::addUndoToken(p, undo->token);
    core::savePretrained(undo->out, p.model, p.tokenizer.get());
    std::cout << (r.added ? "added " : "already present: ") << undo->token << " = id " << r.id
              << " (vocabulary " << r.vocabBefore << " -> " << r.vocabAfter << "); wrote "
              << undo->out << "\n";
  });
}

}  // namespace nmar::app
