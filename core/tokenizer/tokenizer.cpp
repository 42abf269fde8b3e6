#include "tokenizer/tokenizer.h"

#include <algorithm>

#include <nlohmann/json.hpp>

#include "tokenizer/json_io.h"
#include "tokenizer/utf8.h"
#include "util/error.h"
#include "util/log.h"

namespace nmar::core {

namespace {

// The code point that ends just before byte @p pos (pos > 0); its start is stored in @p start.
char32_t charBefore(std::string_view text, std::size_t pos, std::size_t& start) {
  start = pos - 1;
  while (start > 0 && (static_cast<unsigned char>(text[start]) & 0xC0) == 0x80) --start;
  char32_t cp = 0;
  if (utf8::decodeAt(text, start, cp) < 0) cp = 0xFFFD;
  return cp;
}

bool isWordChar(char32_t cp) { return cp == '_' || utf8::isAlphanumeric(cp); }

}  // namespace

Tokenizer::Tokenizer() = default;
Tokenizer::~Tokenizer() = default;

int32_t Tokenizer::vocabSize() const {
  const int32_t added = m_added.empty() ? 0 : m_added.back().id + 1;
  return std::max(modelSize(), added);
}

const AddedToken* Tokenizer::addedToken(int32_t id) const {
  const auto it = std::lower_bound(m_added.begin(), m_added.end(), id,
                                   [](const AddedToken& t, int32_t v) { return t.id < v; });
  return it != m_added.end() && it->id == id ? &*it : nullptr;
}

std::string Tokenizer::vocabString(int32_t id) const {
  if (const AddedToken* t = addedToken(id)) return t->content;
  if (id < 0 || id >= modelSize() || !modelHas(id))
    throw Error("id " + std::to_string(id) + " is not in the vocabulary");
  return modelToken(id);
}

bool Tokenizer::isSpecial(int32_t id) const {
  const AddedToken* t = addedToken(id);
  return t && t->special;
}

std::optional<int32_t> Tokenizer::tokenId(std::string_view token) const {
  const auto it = m_addedByContent.find(std::string(token));
  if (it != m_addedByContent.end()) return m_added[it->second].id;
  return modelFind(token);
}

std::vector<std::string> Tokenizer::specialTokens() const {
  std::vector<std::string> out;
  for (const AddedToken& t : m_added)
    if (t.special) out.push_back(t.content);
  return out;
}

void Tokenizer::addAddedToken(const AddedToken& token, const std::string& where) {
  if (token.content.empty()) throw Error(where + ": an added token has empty content");
  if (const std::size_t bad = utf8::findInvalid(token.content); bad != utf8::kValid)
    throw Error(where + ": added token content is not valid UTF-8 at byte " + std::to_string(bad));
  if (token.id < 0) throw Error(where + ": added token '" + token.content + "' has a negative id");
  tokjson::checkTokenIdDense(token.id, static_cast<std::size_t>(modelSize()) + m_added.size() + 1,
                             where + ": added token '" + token.content + "'");
  if (const auto it = m_addedByContent.find(token.content); it != m_addedByContent.end()) {
    if (m_added[it->second].id == token.id) return;
    throw Error(where + ": added token '" + token.content + "' has id " + std::to_string(token.id) +
                " but already has id " + std::to_string(m_added[it->second].id));
  }
  if (const AddedToken* other = addedToken(token.id))
    throw Error(where + ": id " + std::to_string(token.id) + " is used by both added tokens '" +
                other->content + "' and '" + token.content + "'");
  if (token.id < modelSize() && modelHas(token.id) && modelToken(token.id) != token.content)
    logger("core.tokenizer")
        ->warn("{}: added token '{}' takes id {} from vocabulary entry '{}'", where, token.content,
               token.id, modelToken(token.id));
  const auto pos = std::lower_bound(m_added.begin(), m_added.end(), token.id,
                                    [](const AddedToken& t, int32_t v) { return t.id < v; });
  m_added.insert(pos, token);
  rebuildMatcher();
}

void Tokenizer::rebuildMatcher() {
  m_addedByContent.clear();
  for (auto& list : m_addedByFirstByte) list.clear();
  for (std::size_t i = 0; i < m_added.size(); ++i) {
    m_addedByContent[m_added[i].content] = i;
    m_addedByFirstByte[static_cast<unsigned char>(m_added[i].content[0])].push_back(i);
  }
  for (auto& list : m_addedByFirstByte)
    std::stable_sort(list.begin(), list.end(), [&](std::size_t a, std::size_t b) {
      return m_added[a].content.size() > m_added[b].content.size();
    });
}

void Tokenizer::loadAddedTokens(const nlohmann::json& list, const std::string& file) {
  if (list.is_null()) return;
  if (!list.is_array())
    tokjson::fieldError(file, "added_tokens",
                        "is " + tokjson::typeName(list) + ", expected an array");
  for (std::size_t i = 0; i < list.size(); ++i) {
    const std::string field = "added_tokens[" + std::to_string(i) + "]";
    const auto& e = list[i];
    if (!e.is_object())
      tokjson::fieldError(file, field, "is " + tokjson::typeName(e) + ", expected an object");
    const auto& id = tokjson::require(e, "id", file, field + ".id", "an integer id");
    if (!id.is_number_integer()) tokjson::fieldError(file, field + ".id", "is not an integer");
    AddedToken t;
    t.id = static_cast<int32_t>(std::clamp<int64_t>(id.get<int64_t>(), -1, INT32_MAX - 1));
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

int32_t Tokenizer::addSpecialToken(const std::string& content) {
  if (content.empty()) throw Error("addSpecialToken: the token content is empty");
  if (const std::size_t bad = utf8::findInvalid(content); bad != utf8::kValid)
    throw Error("addSpecialToken: '" + content + "' is not valid UTF-8 at byte " +
                std::to_string(bad));
  if (const auto it = m_addedByContent.find(content); it != m_addedByContent.end())
    return m_added[it->second].id;
  AddedToken t;
  t.content = content;
  t.special = true;
  const auto existing = modelFind(content);
  t.id = existing ? *existing : vocabSize();
  addAddedToken(t, "addSpecialToken");
  m_newSpecials.push_back(content);
  return t.id;
}

bool Tokenizer::findAdded(std::string_view text, std::size_t from, Match& match) const {
  for (std::size_t i = from; i < text.size(); ++i) {
    const auto& candidates = m_addedByFirstByte[static_cast<unsigned char>(text[i])];
    for (const std::size_t k : candidates) {
      const AddedToken& t = m_added[k];
      if (text.size() - i < t.content.size() || text.compare(i, t.content.size(), t.content) != 0)
        continue;
      std::size_t start = i, end = i + t.content.size(), before = 0;
      if (t.singleWord) {
        char32_t next = 0;
        const bool wordBefore = start > 0 && isWordChar(charBefore(text, start, before));
        const bool wordAfter =
            end < text.size() && utf8::decodeAt(text, end, next) > 0 && isWordChar(next);
        if (wordBefore || wordAfter) continue;
      }
      while (t.lstrip && start > from && utf8::isWhitespace(charBefore(text, start, before)))
        start = before;
      char32_t cp = 0;
      int n = 0;
      while (t.rstrip && end < text.size() && (n = utf8::decodeAt(text, end, cp)) > 0 &&
             utf8::isWhitespace(cp))
        end += static_cast<std::size_t>(n);
      match = {start, end, t.id};
      return true;
    }
  }
  return false;
}

std::vector<int32_t> Tokenizer::encode(std::string_view text, bool addSpecial) const {
  if (const std::size_t bad = utf8::findInvalid(text); bad != utf8::kValid)
    throw Error("encode: the text is not valid UTF-8 at byte offset " + std::to_string(bad));
  std::vector<int32_t> out;
  out.reserve(text.size() / 3 + 4);
  if (addSpecial) out = m_prefix;
  std::size_t pos = 0;
  Match m{};
  while (pos < text.size()) {
    if (m_added.empty() || !findAdded(text, pos, m)) {
      encodePiece(text.substr(pos), pos, out);
      break;
    }
    if (m.start > pos) encodePiece(text.substr(pos, m.start - pos), pos, out);
    out.push_back(m.id);
    pos = m.end;
  }
  if (addSpecial) out.insert(out.end(), m_suffix.begin(), m_suffix.end());
  return out;
}

std::string Tokenizer::decode(const std::vector<int32_t>& ids, bool skipSpecial) const {
  const int32_t size = vocabSize(), model = modelSize();
  for (std::size_t i = 0; i < ids.size(); ++i) {
    const int32_t id = ids[i];
    if (id < 0 || id >= size || (!(id < model && modelHas(id)) && !addedToken(id)))
      throw Error("decode: token " + std::to_string(i) + " has id " + std::to_string(id) +
                  ", which is not in the vocabulary (ids 0 .. " + std::to_string(size - 1) + ")");
  }
  return decodeValid(ids, skipSpecial);
}

std::string Tokenizer::tokenText(int32_t id) const {
  if (const AddedToken* t = addedToken(id)) return t->content;
  if (id < 0 || id >= modelSize() || !modelHas(id))
    throw Error("tokenText: id " + std::to_string(id) + " is not in the vocabulary (ids 0 .. " +
                std::to_string(vocabSize() - 1) + ")");
  return modelTokenText(id);
}

}  // namespace nmar::core
