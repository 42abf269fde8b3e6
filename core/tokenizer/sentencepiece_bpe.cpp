#include "tokenizer/sentencepiece_bpe.h"

#include <cstdio>

#include <nlohmann/json.hpp>

#include "tokenizer/bpe_model.h"
#include "tokenizer/json_io.h"
#include "tokenizer/normalizer.h"
#include "tokenizer/pretokenizer.h"
#include "tokenizer/utf8.h"
#include "util/error.h"

namespace nmar::core {

SentencePieceBpe::SentencePieceBpe() = default;
SentencePieceBpe::~SentencePieceBpe() = default;

void SentencePieceBpe::readDecoder(const nlohmann::json& decoder, const std::string& file) {
  if (decoder.is_null()) return;
  const std::string type = tokjson::optString(decoder, "type", file, "decoder.type");
  if (type == "Sequence") {
    for (const auto& d : decoder.value("decoders", nlohmann::json::array())) readDecoder(d, file);
  } else if (type == "Strip") {
    if (tokjson::optString(decoder, "content", file, "decoder.content", " ") == " ")
      m_stripLeft = decoder.value("start", 0);
  } else if (type == "Metaspace") {
    m_replacement =
        tokjson::optString(decoder, "replacement", file, "decoder.replacement", "\u2581");
    std::string scheme =
        tokjson::optString(decoder, "prepend_scheme", file, "decoder.prepend_scheme");
    if (scheme.empty())
      scheme = tokjson::optBool(decoder, "add_prefix_space", file, "decoder.add_prefix_space", true)
                   ? "always"
                   : "never";
    m_stripLeft = scheme == "never" ? 0 : 1;
  } else if (type == "Replace") {
    const auto& pattern = decoder.value("pattern", nlohmann::json::object());
    if (pattern.contains("String") && pattern["String"].is_string() &&
        decoder.value("content", std::string()) == " ")
      m_replacement = pattern["String"].get<std::string>();
  }
  // ByteFallback and Fuse are what decodeValid() always does.
}

namespace {

/** The byte of a byte-fallback token "<0xNN>" (two hex digits), or -1 for any other token. */
int byteFallbackValue(const std::string& token) {
  if (token.size() != 6 || token.compare(0, 3, "<0x") != 0 || token[5] != '>') return -1;
  int value = 0;
  for (std::size_t i = 3; i < 5; ++i) {
    const char c = token[i];
    const int digit = c >= '0' && c <= '9'   ? c - '0'
                      : c >= 'A' && c <= 'F' ? c - 'A' + 10
                      : c >= 'a' && c <= 'f' ? c - 'a' + 10
                                             : -1;
    if (digit < 0) return -1;
    value = value * 16 + digit;
  }
  return value;
}

}  // namespace

std::unique_ptr<SentencePieceBpe> SentencePieceBpe::fromTokenizerJson(const nlohmann::json& root,
                                                                      const std::string& file) {
  std::unique_ptr<SentencePieceBpe> t(new SentencePieceBpe());
  t->m_model =
      BpeModel::fromJson(tokjson::require(root, "model", file, "model", "an object"), file);
  t->m_normalizer = std::make_unique<Normalizer>(
      Normalizer::fromJson(root.value("normalizer", nlohmann::json()), file));
  t->m_preTokenizer = std::make_unique<PreTokenizer>(
      PreTokenizer::fromJson(root.value("pre_tokenizer", nlohmann::json()), file));
  t->m_pipeline = std::make_unique<nlohmann::json>(nlohmann::json::object());
  for (const char* k : {"normalizer", "pre_tokenizer", "post_processor", "decoder"})
    (*t->m_pipeline)[k] = root.value(k, nlohmann::json());
  t->readDecoder(root.value("decoder", nlohmann::json()), file);

  const BpeModel& m = *t->m_model;
  t->m_byteToken.fill(-1);
  t->m_byteOfToken.assign(static_cast<std::size_t>(m.size()), -1);
  for (int32_t id = 0; id < m.size(); ++id) {
    if (!m.contains(id)) continue;
    const std::string& token = m.token(id);
    char32_t cp = 0;
    if (utf8::decodeAt(token, 0, cp) == static_cast<int>(token.size())) t->m_charId.emplace(cp, id);
    // "<0xNN>" with two hex digits exactly (sscanf's %X also took "<0x-6>", whose value
    // 4294967290 indexed past the 256-entry table).
    const int value = byteFallbackValue(token);
    if (value >= 0) {
      t->m_byteToken[value] = id;
      t->m_byteOfToken[static_cast<std::size_t>(id)] = static_cast<int16_t>(value);
    }
  }
  t->m_cutAtSpaces = true;
  const std::string& rep = t->m_replacement;
  for (int32_t id = 0; id < m.size() && t->m_cutAtSpaces; ++id) {
    const std::string& token = m.token(id);
    for (std::size_t pos = token.find(rep, 1); pos != std::string::npos;
         pos = token.find(rep, pos + 1))
      if (pos < rep.size() || token.compare(pos - rep.size(), rep.size(), rep) != 0) {
        t->m_cutAtSpaces = false;
        break;
      }
  }
  t->m_unk = m.unkId();
  t->loadAddedTokens(root.value("added_tokens", nlohmann::json()), file);
  t->loadPostProcessor(root.value("post_processor", nlohmann::json()), file);
  t->guessRoles();
  return t;
}

int32_t SentencePieceBpe::modelSize() const { return m_model->size(); }
bool SentencePieceBpe::modelHas(int32_t id) const { return m_model->contains(id); }
std::optional<int32_t> SentencePieceBpe::modelFind(std::string_view token) const {
  return m_model->find(token);
}
const std::string& SentencePieceBpe::modelToken(int32_t id) const { return m_model->token(id); }

std::string SentencePieceBpe::spaced(const std::string& piece) const {
  std::string out;
  out.reserve(piece.size());
  for (std::size_t pos = 0;;) {
    const std::size_t hit = piece.find(m_replacement, pos);
    out.append(piece, pos, hit == std::string::npos ? std::string::npos : hit - pos);
    if (hit == std::string::npos) break;
    out += ' ';
    pos = hit + m_replacement.size();
  }
  return out;
}

std::string SentencePieceBpe::modelTokenText(int32_t id) const {
  const int b = m_byteOfToken[static_cast<std::size_t>(id)];
  if (b >= 0) return utf8::escapeInvalid(std::string(1, static_cast<char>(b)));
  return spaced(m_model->token(id));
}

void SentencePieceBpe::encodeWord(const std::string& word, std::vector<int32_t>& out) const {
  if (m_model->cached(word, out)) return;
  thread_local std::vector<int32_t> symbols;
  symbols.clear();
  const std::optional<int32_t> unk = m_model->unkId();
  bool lastWasUnk = false;
  std::size_t i = 0;
  char32_t cp = 0;
  while (i < word.size()) {
    const int n = utf8::decodeAt(word, i, cp);  // the input was validated by encode()
    const auto it = m_charId.find(cp);
    bool unknown = it == m_charId.end();
    if (!unknown) {
      symbols.push_back(it->second);
    } else if (m_model->byteFallback()) {
      bool all = true;
      for (int k = 0; k < n; ++k)
        all = all && m_byteToken[static_cast<unsigned char>(word[i + k])] >= 0;
      if (all) {
        for (int k = 0; k < n; ++k)
          symbols.push_back(m_byteToken[static_cast<unsigned char>(word[i + k])]);
        unknown = false;
      }
    }
    if (unknown) {
      if (!unk)
        throw Error("encode: character " + utf8::describeCharAt(word, i) +
                    " has no token in the vocabulary, and the tokenizer has no byte fallback or "
                    "unk token");
      if (!(m_model->fuseUnk() && lastWasUnk)) symbols.push_back(*unk);
    }
    lastWasUnk = unknown;
    i += static_cast<std::size_t>(n);
  }
  m_model->mergeWord(symbols);
  out.insert(out.end(), symbols.begin(), symbols.end());
  m_model->cache(word, symbols.data(), symbols.size());
}

void SentencePieceBpe::encodePiece(std::string_view text, std::size_t offset,
                                   std::vector<int32_t>& out) const {
  thread_local std::vector<std::string> words;
  m_preTokenizer->split(m_normalizer->apply(text), offset == 0, words);
  if (!m_cutAtSpaces) {
    for (const std::string& word : words) encodeWord(word, out);
    return;
  }
  thread_local std::string part;
  const std::string& rep = m_replacement;
  for (const std::string& word : words) {
    std::size_t start = 0;
    for (std::size_t pos = word.find(rep, 1); pos != std::string::npos;
         pos = word.find(rep, pos + 1)) {
      if (pos >= rep.size() && word.compare(pos - rep.size(), rep.size(), rep) == 0) continue;
      part.assign(word, start, pos - start);
      encodeWord(part, out);
      start = pos;
    }
    part.assign(word, start, std::string::npos);
    encodeWord(part, out);
  }
}

std::string SentencePieceBpe::decodeValid(const std::vector<int32_t>& ids, bool skipSpecial) const {
  std::string out, pending;
  // Like HF's ByteFallback decoder: a run of byte tokens that is not valid UTF-8 gives one
  // U+FFFD per byte.
  const auto flush = [&] {
    if (pending.empty()) return;
    if (utf8::findInvalid(pending) == utf8::kValid) {
      out += pending;
    } else {
      for (std::size_t k = 0; k < pending.size(); ++k) out += "\xEF\xBF\xBD";
    }
    pending.clear();
  };
  for (const int32_t id : ids) {
    if (const AddedToken* t = addedToken(id)) {
      if (skipSpecial && t->special) continue;
      flush();
      out += t->content;
      continue;
    }
    const int b = m_byteOfToken[static_cast<std::size_t>(id)];
    if (b >= 0) {
      pending += static_cast<char>(b);
      continue;
    }
    flush();
    out += spaced(m_model->token(id));
  }
  flush();
  std::size_t strip = 0;
  while (strip < static_cast<std::size_t>(m_stripLeft) && strip < out.size() && out[strip] == ' ')
    ++strip;
  return out.substr(strip);
}

void SentencePieceBpe::writeJson(nlohmann::json& root) const {
  for (const auto& [k, v] : m_pipeline->items()) root[k] = v;
  root["model"] = m_model->toJson();
}

}  // namespace nmar::core
