#include "tokenizer/char_tokenizer.h"

#include <nlohmann/json.hpp>

#include "tokenizer/json_io.h"
#include "tokenizer/pretokenizer.h"
#include "tokenizer/utf8.h"
#include "util/error.h"

namespace nmar::core {

namespace {
// "[\s\S]" matches any one character in both PCRE2 and Oniguruma (HF tokenizers).
constexpr const char* kEveryCharPattern = R"([\s\S])";
}  // namespace

CharTokenizer::~CharTokenizer() = default;

std::string CharTokenizer::defaultAlphabet() {
  std::string s = "\n";
  for (char c = ' '; c <= '~'; ++c) s += c;
  return s;
}

std::vector<std::string> CharTokenizer::defaultSpecialTokens() {
  return {"<|pad|>", "<|bos|>", "<|eos|>"};
}

void CharTokenizer::addEntry(const std::string& token, int32_t id, const std::string& where) {
  if (const auto it = m_ids.find(token); it != m_ids.end())
    throw Error(where + ": '" + token + "' appears twice (ids " + std::to_string(it->second) +
                " and " + std::to_string(id) + ")");
  if (static_cast<std::size_t>(id) >= m_vocab.size())
    m_vocab.resize(static_cast<std::size_t>(id) + 1);
  if (!m_vocab[static_cast<std::size_t>(id)].empty())
    throw Error(where + ": id " + std::to_string(id) + " is used by both '" + m_vocab[id] +
                "' and '" + token + "'");
  m_vocab[static_cast<std::size_t>(id)] = token;
  m_ids.emplace(token, id);
}

CharTokenizer::CharTokenizer(std::string_view alphabet,
                             const std::vector<std::string>& specialTokens) {
  const std::string where = "character tokenizer";
  if (const std::size_t bad = utf8::findInvalid(alphabet); bad != utf8::kValid)
    throw Error(where + ": the alphabet is not valid UTF-8 at byte offset " + std::to_string(bad));
  for (const std::string& s : specialTokens) {
    if (s.empty()) throw Error(where + ": a special token is empty");
    const auto id = static_cast<int32_t>(m_vocab.size());
    addEntry(s, id, where + " special tokens");
    AddedToken t;
    t.id = id;
    t.content = s;
    addAddedToken(t, where);
  }
  std::size_t i = 0;
  char32_t cp = 0;
  while (i < alphabet.size()) {
    const int n = utf8::decodeAt(alphabet, i, cp);
    const auto id = static_cast<int32_t>(m_vocab.size());
    if (m_charIds.count(cp))
      throw Error(where + ": the alphabet repeats " + utf8::describeCharAt(alphabet, i) +
                  " at byte offset " + std::to_string(i));
    addEntry(std::string(alphabet.substr(i, static_cast<std::size_t>(n))), id, where);
    m_charIds.emplace(cp, id);
    i += static_cast<std::size_t>(n);
  }
  guessRoles();
  if (m_bos) m_prefix = {*m_bos};
}

std::unique_ptr<CharTokenizer> CharTokenizer::fromTokenizerJson(const nlohmann::json& root,
                                                                const std::string& file) {
  std::unique_ptr<CharTokenizer> t(new CharTokenizer());
  const auto& model = tokjson::require(root, "model", file, "model", "an object");
  const auto& vocab =
      tokjson::require(model, "vocab", file, "model.vocab", "an object mapping tokens to ids");
  if (!vocab.is_object())
    tokjson::fieldError(file, "model.vocab",
                        "is " + tokjson::typeName(vocab) + ", expected an object");

  // The pre-tokenizer must isolate every character, or this is not a character tokenizer.
  const PreTokenizer pre =
      PreTokenizer::fromJson(root.value("pre_tokenizer", nlohmann::json()), file);
  const std::string probe = "ab 1\n\t\xC3\xA9\xE4\xB8\xAD!";
  std::vector<std::string> pieces;
  pre.split(probe, true, pieces);
  if (pieces !=
      std::vector<std::string>{"a", "b", " ", "1", "\n", "\t", "\xC3\xA9", "\xE4\xB8\xAD", "!"})
    tokjson::fieldError(file, "pre_tokenizer",
                        "does not split every character; a WordLevel tokenizer is read only as a "
                        "character tokenizer (expected a Split with pattern [\\s\\S], behavior "
                        "Isolated)");

  std::unordered_map<std::string, int32_t> added;
  for (const auto& e : root.value("added_tokens", nlohmann::json::array()))
    if (e.is_object() && e.contains("content") && e.contains("id") && e["content"].is_string() &&
        e["id"].is_number_integer())
      added[e["content"].get<std::string>()] = e["id"].get<int32_t>();
  for (const auto& [token, idJson] : vocab.items()) {
    const std::string field = "model.vocab[\"" + token + "\"]";
    if (!idJson.is_number_integer() || idJson.get<int64_t>() < 0 ||
        idJson.get<int64_t>() > INT32_MAX - 1)
      tokjson::fieldError(
          file, field, "is " + tokjson::typeName(idJson) + ", expected a non-negative integer id");
    tokjson::checkTokenIdDense(idJson.get<int64_t>(), vocab.size(),
                               file + ": field '" + field + "'");
    const auto id = idJson.get<int32_t>();
    t->addEntry(token, id, file + ": field 'model.vocab'");
    if (added.count(token)) continue;
    char32_t cp = 0;
    if (token.empty() || utf8::decodeAt(token, 0, cp) != static_cast<int>(token.size()))
      tokjson::fieldError(file, field,
                          "is not a single character (a character tokenizer's vocabulary holds "
                          "single characters and added tokens)");
    t->m_charIds.emplace(cp, id);
  }
  const std::string unk = tokjson::optString(model, "unk_token", file, "model.unk_token");
  if (const auto it = t->m_ids.find(unk); !unk.empty() && it != t->m_ids.end())
    t->m_unk = it->second;
  t->loadAddedTokens(root.value("added_tokens", nlohmann::json()), file);
  t->loadPostProcessor(root.value("post_processor", nlohmann::json()), file);
  t->guessRoles();
  return t;
}

std::string CharTokenizer::alphabet() const {
  std::string out;
  for (std::size_t id = 0; id < m_vocab.size(); ++id)
    if (!m_vocab[id].empty() && !addedToken(static_cast<int32_t>(id))) out += m_vocab[id];
  return out;
}

bool CharTokenizer::modelHas(int32_t id) const {
  return id >= 0 && id < modelSize() && !m_vocab[static_cast<std::size_t>(id)].empty();
}

std::optional<int32_t> CharTokenizer::modelFind(std::string_view token) const {
  const auto it = m_ids.find(std::string(token));
  if (it == m_ids.end()) return std::nullopt;
  return it->second;
}

const std::string& CharTokenizer::modelToken(int32_t id) const {
  return m_vocab[static_cast<std::size_t>(id)];
}

std::string CharTokenizer::modelTokenText(int32_t id) const { return modelToken(id); }

void CharTokenizer::encodePiece(std::string_view text, std::size_t offset,
                                std::vector<int32_t>& out) const {
  std::size_t i = 0;
  char32_t cp = 0;
  while (i < text.size()) {
    const int n = utf8::decodeAt(text, i, cp);  // the input was validated by encode()
    const auto it = m_charIds.find(cp);
    if (it != m_charIds.end()) {
      out.push_back(it->second);
    } else if (m_unk) {
      out.push_back(*m_unk);
    } else {
      throw Error("encode: character " + utf8::describeCharAt(text, i) + " at byte offset " +
                  std::to_string(offset + i) + " is not in the character tokenizer's alphabet");
    }
    i += static_cast<std::size_t>(n);
  }
}

std::string CharTokenizer::decodeValid(const std::vector<int32_t>& ids, bool skipSpecial) const {
  std::string out;
  for (const int32_t id : ids) {
    if (const AddedToken* t = addedToken(id)) {
      if (!(skipSpecial && t->special)) out += t->content;
    } else {
      out += m_vocab[static_cast<std::size_t>(id)];
    }
  }
  return out;
}

void CharTokenizer::writeJson(nlohmann::json& root) const {
  nlohmann::json vocab = nlohmann::json::object();
  for (std::size_t id = 0; id < m_vocab.size(); ++id)
    if (!m_vocab[id].empty()) vocab[m_vocab[id]] = id;
  root["normalizer"] = nullptr;
  root["pre_tokenizer"] = {{"type", "Split"},
                           {"pattern", {{"Regex", kEveryCharPattern}}},
                           {"behavior", "Isolated"},
                           {"invert", false}};
  root["post_processor"] = templateProcessorJson();
  root["decoder"] = {{"type", "Fuse"}};
  root["model"] = {{"type", "WordLevel"},
                   {"vocab", std::move(vocab)},
                   {"unk_token", m_unk ? vocabString(*m_unk) : std::string("<unk>")}};
}

}  // namespace nmar::core
