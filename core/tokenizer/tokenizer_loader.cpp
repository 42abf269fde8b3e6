// loadTokenizer(): finds the tokenizer files of a checkpoint and builds the right Tokenizer.
#include <nlohmann/json.hpp>

#include "tokenizer/byte_level_bpe.h"
#include "tokenizer/char_tokenizer.h"
#include "tokenizer/json_io.h"
#include "tokenizer/sentencepiece_bpe.h"
#include "tokenizer/tokenizer.h"
#include "util/error.h"
#include "util/json_file.h"
#include "util/log.h"

namespace nmar::core {
namespace fs = std::filesystem;

namespace {

bool isFile(const fs::path& p) {
  std::error_code ec;
  return fs::is_regular_file(p, ec);
}

// True when @p j (a pipeline component, possibly a Sequence) contains a step of @p type.
bool hasType(const nlohmann::json& j, const std::string& type) {
  if (j.is_array()) {
    for (const auto& e : j)
      if (hasType(e, type)) return true;
    return false;
  }
  if (!j.is_object()) return false;
  if (j.contains("type") && j["type"] == type) return true;
  for (const char* list : {"normalizers", "pretokenizers", "decoders", "processors"})
    if (j.contains(list) && hasType(j[list], type)) return true;
  return false;
}

std::unique_ptr<Tokenizer> fromTokenizerJson(const nlohmann::json& root, const std::string& file) {
  if (!root.is_object())
    throw Error(file + ": is " + tokjson::typeName(root) + ", expected a JSON object");
  const auto& model = tokjson::require(root, "model", file, "model", "an object");
  std::string type = tokjson::optString(model, "type", file, "model.type");
  if (type.empty() && model.contains("merges")) type = "BPE";  // files from before "type" existed
  if (type == "WordLevel") return CharTokenizer::fromTokenizerJson(root, file);
  if (type != "BPE")
    tokjson::fieldError(file, "model.type",
                        "is '" + type + "', which is not supported (expected BPE or WordLevel)");
  const nlohmann::json none;
  const auto& normalizer = root.contains("normalizer") ? root["normalizer"] : none;
  const auto& pre = root.contains("pre_tokenizer") ? root["pre_tokenizer"] : none;
  const auto& decoder = root.contains("decoder") ? root["decoder"] : none;
  if (hasType(pre, "ByteLevel")) return ByteLevelBpe::fromTokenizerJson(root, file);
  if (hasType(pre, "Metaspace") || hasType(normalizer, "Prepend") ||
      hasType(normalizer, "Replace") || hasType(decoder, "ByteFallback") ||
      hasType(decoder, "Metaspace") ||
      (model.contains("byte_fallback") && model["byte_fallback"] == true))
    return SentencePieceBpe::fromTokenizerJson(root, file);
  tokjson::fieldError(
      file, "pre_tokenizer",
      "has no ByteLevel step and the file has no '\u2581' space handling (Metaspace, or a "
      "Prepend/Replace normalizer): only byte-level BPE (GPT-2 style) and "
      "SentencePiece-style BPE are supported");
}

fs::path sibling(const fs::path& dir, std::initializer_list<const char*> names) {
  for (const char* n : names)
    if (isFile(dir / n)) return dir / n;
  return {};
}

// Reads added_tokens.json ({"token": id}) of the vocab.json + merges.txt layout.
void readAddedTokensJson(const fs::path& file, nlohmann::json& config) {
  const nlohmann::json added = readJsonFile(file);
  if (!added.is_object()) throw Error(file.string() + ": expected an object mapping tokens to ids");
  nlohmann::json& decoder = config["added_tokens_decoder"];
  if (!decoder.is_object()) decoder = nlohmann::json::object();
  for (const auto& [content, id] : added.items()) {
    if (!id.is_number_integer())
      tokjson::fieldError(file.string(), content,
                          "is " + tokjson::typeName(id) + ", expected an integer id");
    const std::string key = std::to_string(id.get<int64_t>());
    if (!decoder.contains(key)) decoder[key] = {{"content", content}, {"special", false}};
  }
}

}  // namespace

std::unique_ptr<Tokenizer> loadTokenizer(const fs::path& path) {
  std::error_code ec;
  if (!fs::exists(path, ec))
    throw Error(path.string() +
                ": no such file or folder (expected a checkpoint folder or a tokenizer file)");
  fs::path dir, tokenizerJson, vocab, merges, spModel;
  if (fs::is_directory(path, ec)) {
    dir = path;
    tokenizerJson = sibling(dir, {"tokenizer.json"});
    if (tokenizerJson.empty() && !isFile(dir / "vocab.json") && !isFile(dir / "encoder.json"))
      spModel = sibling(dir, {"tokenizer.model"});
    if (tokenizerJson.empty() && spModel.empty()) {
      vocab = sibling(dir, {"vocab.json", "encoder.json"});
      merges = sibling(dir, {"merges.txt", "vocab.bpe"});
      if (vocab.empty() || merges.empty()) {
        std::string why =
            "no tokenizer files (expected tokenizer.json, vocab.json + merges.txt, "
            "encoder.json + vocab.bpe, or tokenizer.model)";
        if (!vocab.empty())
          why = vocab.filename().string() + " has no merges.txt (or vocab.bpe) beside it";
        if (!merges.empty())
          why = merges.filename().string() + " has no vocab.json (or encoder.json) beside it";
        throw Error(dir.string() + ": " + why);
      }
    }
  } else {
    dir = path.parent_path();
    const std::string name = path.filename().string(), ext = path.extension().string();
    if (ext == ".model") {
      spModel = path;
    } else if (ext == ".txt" || ext == ".bpe") {
      merges = path;
      vocab = sibling(dir, {"vocab.json", "encoder.json"});
      if (vocab.empty()) throw Error(path.string() + ": no vocab.json (or encoder.json) beside it");
    } else if (ext == ".json" && name != "tokenizer.json") {
      // vocab.json / encoder.json, or a tokenizer.json under another name.
      const nlohmann::json j = readJsonFile(path);
      if (j.is_object() && j.contains("model") && j["model"].is_object()) {
        tokenizerJson = path;
      } else {
        vocab = path;
        merges = sibling(dir, {"merges.txt", "vocab.bpe"});
        if (merges.empty()) throw Error(path.string() + ": no merges.txt (or vocab.bpe) beside it");
      }
    } else if (name == "tokenizer.json") {
      tokenizerJson = path;
    } else {
      throw Error(path.string() +
                  ": not a tokenizer file (expected tokenizer.json, vocab.json, merges.txt, "
                  "encoder.json, vocab.bpe or tokenizer.model)");
    }
  }

  std::unique_ptr<Tokenizer> tok;
  const bool legacy = tokenizerJson.empty() && spModel.empty();
  const fs::path configFile = dir / "tokenizer_config.json";
  // Every structural problem is reported with a field name; this catches what slips through
  // (a value of an unexpected JSON type deep inside), so that no nlohmann exception escapes.
  std::string current =
      (tokenizerJson.empty() ? (spModel.empty() ? vocab : spModel) : tokenizerJson).string();
  try {
    if (!tokenizerJson.empty()) {
      tok = fromTokenizerJson(readJsonFile(tokenizerJson), current);
    } else if (!spModel.empty()) {
      tok = SentencePieceBpe::fromSentencePieceModel(spModel);
    } else {
      tok = ByteLevelBpe::fromVocabAndMerges(vocab, merges);
    }
    current = configFile.string();
    nlohmann::json config =
        isFile(configFile) ? readJsonFile(configFile) : nlohmann::json();
    if (legacy && isFile(dir / "added_tokens.json")) {
      current = (dir / "added_tokens.json").string();
      if (config.is_null()) config = nlohmann::json::object();
      readAddedTokensJson(dir / "added_tokens.json", config);
    }
    if (const fs::path map = dir / "special_tokens_map.json"; isFile(map)) {
      current = map.string();
      const nlohmann::json roles = readJsonFile(map);
      if (config.is_null()) config = nlohmann::json::object();
      for (const char* key : {"bos_token", "eos_token", "pad_token", "unk_token"})
        if (roles.is_object() && roles.contains(key) && config.is_object() && !config.contains(key))
          config[key] = roles[key];
    }
    current = configFile.string();
    if (!config.is_null()) tok->applyTokenizerConfig(config, current, legacy);
  } catch (const nlohmann::json::exception& e) {
    throw Error(current + ": unexpected content: " + e.what());
  }
  logger("core.tokenizer")
      ->debug("loaded {} tokenizer from {} ({} tokens)", tok->kind(), path.string(),
              tok->vocabSize());
  return tok;
}

}  // namespace nmar::core
