// Tokenizer: special-token roles, post-processor templates, tokenizer_config.json and save().
#include <nlohmann/json.hpp>

#include "tokenizer/json_io.h"
#include "tokenizer/tokenizer.h"
#include "util/error.h"
#include "util/json_file.h"
#include "util/log.h"

namespace nmar::core {
namespace fs = std::filesystem;

namespace {

struct Role {
  const char* key;
  std::optional<int32_t> Tokenizer::*member;
};

// Conventional names, tried in order when a role is not configured.
const std::vector<std::pair<const char*, std::vector<const char*>>> kConventionalNames = {
    {"bos_token", {"<|bos|>", "<s>", "<bos>", "<|begin_of_text|>", "<|startoftext|>"}},
    {"eos_token", {"<|eos|>", "</s>", "<eos>", "<|end_of_text|>", "<|endoftext|>"}},
    {"pad_token", {"<|pad|>", "<pad>", "[PAD]"}},
    {"unk_token", {"<|unk|>", "<unk>", "[UNK]"}},
};

}  // namespace

void Tokenizer::applyTokenizerConfig(const nlohmann::json& config, const std::string& file,
                                     bool withAddedTokens) {
  if (!config.is_object())
    throw Error(file + ": is " + tokjson::typeName(config) + ", expected a JSON object");
  if (withAddedTokens && config.contains("added_tokens_decoder")) {
    const auto& decoder = config["added_tokens_decoder"];
    if (!decoder.is_object())
      tokjson::fieldError(file, "added_tokens_decoder",
                          "is " + tokjson::typeName(decoder) + ", expected an object");
    for (const auto& [key, e] : decoder.items()) {
      const std::string field = "added_tokens_decoder[\"" + key + "\"]";
      AddedToken t;
      try {
        std::size_t used = 0;
        t.id = std::stoi(key, &used);
        if (used != key.size()) throw std::invalid_argument(key);
      } catch (const std::exception&) {
        tokjson::fieldError(file, field, "has a key that is not an integer id");
      }
      t.content =
          tokjson::require(e, "content", file, field + ".content", "a string").get<std::string>();
      t.special = tokjson::optBool(e, "special", file, field + ".special", false);
      t.lstrip = tokjson::optBool(e, "lstrip", file, field + ".lstrip", false);
      t.rstrip = tokjson::optBool(e, "rstrip", file, field + ".rstrip", false);
      t.singleWord = tokjson::optBool(e, "single_word", file, field + ".single_word", false);
      t.normalized = tokjson::optBool(e, "normalized", file, field + ".normalized", !t.special);
      addAddedToken(t, file + ": field '" + field + "'");
    }
  }
  const Role roles[] = {{"bos_token", &Tokenizer::m_bos},
                        {"eos_token", &Tokenizer::m_eos},
                        {"pad_token", &Tokenizer::m_pad},
                        {"unk_token", &Tokenizer::m_unk}};
  for (const Role& role : roles) {
    if (!config.contains(role.key)) continue;
    const auto& v = config[role.key];
    if (v.is_null()) {
      this->*role.member = std::nullopt;
      continue;
    }
    std::string content;
    if (v.is_string()) {
      content = v.get<std::string>();
    } else if (v.is_object() && v.contains("content") && v["content"].is_string()) {
      content = v["content"].get<std::string>();
    } else {
      tokjson::fieldError(
          file, role.key,
          "is " + tokjson::typeName(v) + ", expected a token string or {\"content\": ...}");
    }
    const auto id = tokenId(content);
    if (!id)
      tokjson::fieldError(file, role.key,
                          "names '" + content + "', which is not in the vocabulary");
    this->*role.member = *id;
  }
  if (config.contains("add_bos_token")) {
    const bool add = tokjson::optBool(config, "add_bos_token", file, "add_bos_token", false);
    if (add && !m_bos)
      tokjson::fieldError(file, "add_bos_token", "is true but no bos_token is known");
    m_prefix = add ? std::vector<int32_t>{*m_bos} : std::vector<int32_t>{};
  }
  if (config.contains("add_eos_token")) {
    const bool add = tokjson::optBool(config, "add_eos_token", file, "add_eos_token", false);
    if (add && !m_eos)
      tokjson::fieldError(file, "add_eos_token", "is true but no eos_token is known");
    m_suffix = add ? std::vector<int32_t>{*m_eos} : std::vector<int32_t>{};
  }
  m_config = std::make_unique<nlohmann::json>(config);
}

void Tokenizer::guessRoles() {
  const Role roles[] = {{"bos_token", &Tokenizer::m_bos},
                        {"eos_token", &Tokenizer::m_eos},
                        {"pad_token", &Tokenizer::m_pad},
                        {"unk_token", &Tokenizer::m_unk}};
  for (const Role& role : roles) {
    if (this->*role.member || (m_config && m_config->contains(role.key))) continue;
    for (const auto& [key, names] : kConventionalNames) {
      if (std::string(key) != role.key) continue;
      for (const char* name : names) {
        const auto it = m_addedByContent.find(name);
        if (it == m_addedByContent.end() || !m_added[it->second].special) continue;
        this->*role.member = m_added[it->second].id;
        break;
      }
    }
  }
}

void Tokenizer::loadPostProcessor(const nlohmann::json& processor, const std::string& file) {
  if (processor.is_null()) return;
  const std::string field = "post_processor";
  const std::string type = tokjson::optString(processor, "type", file, field + ".type");
  const auto idOf = [&](const std::string& token, const std::string& where) {
    const auto id = tokenId(token);
    if (!id)
      tokjson::fieldError(file, where, "names '" + token + "', which is not in the vocabulary");
    return *id;
  };
  if (type == "ByteLevel") return;
  if (type == "Sequence") {
    const auto& list =
        tokjson::require(processor, "processors", file, field + ".processors", "an array");
    for (const auto& p : list) loadPostProcessor(p, file);
    return;
  }
  if (type == "TemplateProcessing") {
    const auto& single = tokjson::require(processor, "single", file, field + ".single", "an array");
    const auto& specials = processor.value("special_tokens", nlohmann::json::object());
    std::vector<int32_t> prefix, suffix;
    bool seenSequence = false;
    for (std::size_t i = 0; i < single.size(); ++i) {
      const std::string where = field + ".single[" + std::to_string(i) + "]";
      if (single[i].contains("Sequence")) {
        seenSequence = true;
        continue;
      }
      if (!single[i].contains("SpecialToken"))
        tokjson::fieldError(file, where, "is neither a Sequence nor a SpecialToken");
      const std::string name = tokjson::require(single[i]["SpecialToken"], "id", file,
                                                where + ".SpecialToken.id", "a token name")
                                   .get<std::string>();
      std::vector<int32_t> ids;
      if (specials.contains(name) && specials[name].contains("ids")) {
        for (const auto& id : specials[name]["ids"]) ids.push_back(id.get<int32_t>());
      } else {
        ids.push_back(idOf(name, where + ".SpecialToken.id"));
      }
      auto& target = seenSequence ? suffix : prefix;
      target.insert(target.end(), ids.begin(), ids.end());
    }
    m_prefix.insert(m_prefix.end(), prefix.begin(), prefix.end());
    m_suffix.insert(m_suffix.end(), suffix.begin(), suffix.end());
    return;
  }
  if (type == "BertProcessing" || type == "RobertaProcessing") {
    const auto& cls = tokjson::require(processor, "cls", file, field + ".cls", "[token, id]");
    const auto& sep = tokjson::require(processor, "sep", file, field + ".sep", "[token, id]");
    m_prefix.push_back(idOf(cls.at(0).get<std::string>(), field + ".cls"));
    m_suffix.push_back(idOf(sep.at(0).get<std::string>(), field + ".sep"));
    return;
  }
  logger("core.tokenizer")
      ->warn("{}: post_processor type '{}' is not supported; encode(text, true) adds no tokens",
             file, type);
}

nlohmann::json Tokenizer::templateProcessorJson() const {
  if (m_prefix.empty() && m_suffix.empty()) return nullptr;
  nlohmann::json specials = nlohmann::json::object(), single = nlohmann::json::array(),
                 pair = nlohmann::json::array();
  const auto special = [&](int32_t id, int typeId) {
    const std::string name = vocabString(id);
    specials[name] = {{"id", name}, {"ids", {id}}, {"tokens", {name}}};
    return nlohmann::json{{"SpecialToken", {{"id", name}, {"type_id", typeId}}}};
  };
  const auto sequence = [](const char* id, int typeId) {
    return nlohmann::json{{"Sequence", {{"id", id}, {"type_id", typeId}}}};
  };
  for (int32_t id : m_prefix) single.push_back(special(id, 0)), pair.push_back(special(id, 0));
  single.push_back(sequence("A", 0));
  pair.push_back(sequence("A", 0));
  for (int32_t id : m_suffix) single.push_back(special(id, 0)), pair.push_back(special(id, 0));
  pair.push_back(sequence("B", 1));
  for (int32_t id : m_suffix) pair.push_back(special(id, 1));
  return {{"type", "TemplateProcessing"},
          {"single", single},
          {"pair", pair},
          {"special_tokens", specials}};
}

void Tokenizer::save(const fs::path& dir) const {
  std::error_code ec;
  fs::create_directories(dir, ec);
  if (ec || !fs::is_directory(dir))
    throw Error(dir.string() + ": cannot create folder: " + ec.message());
  nlohmann::json root = {{"version", "1.0"}, {"truncation", nullptr}, {"padding", nullptr}};
  nlohmann::json added = nlohmann::json::array();
  for (const AddedToken& t : m_added)
    added.push_back({{"id", t.id},
                     {"content", t.content},
                     {"single_word", t.singleWord},
                     {"lstrip", t.lstrip},
                     {"rstrip", t.rstrip},
                     {"normalized", t.normalized},
                     {"special", t.special}});
  root["added_tokens"] = std::move(added);
  writeJson(root);
  writeJsonFile(dir / "tokenizer.json", root);
  writeConfig(dir / "tokenizer_config.json");
}

void Tokenizer::writeConfig(const fs::path& file) const {
  nlohmann::json config = m_config ? *m_config : nlohmann::json::object();
  nlohmann::json decoder = nlohmann::json::object();
  for (const AddedToken& t : m_added)
    decoder[std::to_string(t.id)] = {{"content", t.content},        {"lstrip", t.lstrip},
                                     {"normalized", t.normalized},  {"rstrip", t.rstrip},
                                     {"single_word", t.singleWord}, {"special", t.special}};
  config["added_tokens_decoder"] = std::move(decoder);
  const std::pair<const char*, std::optional<int32_t>> roles[] = {
      {"bos_token", m_bos}, {"eos_token", m_eos}, {"pad_token", m_pad}, {"unk_token", m_unk}};
  for (const auto& [key, id] : roles) {
    if (id) {
      config[key] = vocabString(*id);
    } else if (!config.contains(key)) {
      config[key] = nullptr;
    }
  }
  config["add_bos_token"] = m_bos && m_prefix == std::vector<int32_t>{*m_bos};
  config["add_eos_token"] = m_eos && m_suffix == std::vector<int32_t>{*m_eos};
  if (!m_newSpecials.empty()) {
    nlohmann::json& extra = config["additional_special_tokens"];
    if (!extra.is_array()) extra = nlohmann::json::array();
    for (const std::string& s : m_newSpecials)
      if (std::find(extra.begin(), extra.end(), s) == extra.end()) extra.push_back(s);
  }
  if (!config.contains("tokenizer_class")) config["tokenizer_class"] = "PreTrainedTokenizerFast";
  if (!config.contains("clean_up_tokenization_spaces"))
    config["clean_up_tokenization_spaces"] = false;
  writeJsonFile(file, config);
}

}  // namespace nmar::core
