#include "tokenizer/byte_level_bpe.h"

#include <nlohmann/json.hpp>

#include "tokenizer/bpe_model.h"
#include "tokenizer/json_io.h"
#include "tokenizer/normalizer.h"
#include "tokenizer/pretokenizer.h"
#include "tokenizer/utf8.h"
#include "util/error.h"

namespace nmar::core {

namespace {

// GPT-2's bytes_to_unicode(): printable bytes map to themselves, the others to U+0100 onwards.
const std::array<char32_t, 256>& byteToChar() {
  static const std::array<char32_t, 256> table = [] {
    std::array<char32_t, 256> t{};
    int next = 0;
    for (int b = 0; b < 256; ++b) {
      const bool printable = (b >= '!' && b <= '~') || (b >= 0xA1 && b <= 0xAC) || (b >= 0xAE);
      t[b] = printable ? static_cast<char32_t>(b) : static_cast<char32_t>(256 + next++);
    }
    return t;
  }();
  return table;
}

// The inverse of byteToChar(); -1 for characters that are not byte-level.
int charToByte(char32_t cp) {
  static const std::unordered_map<char32_t, int> inverse = [] {
    std::unordered_map<char32_t, int> m;
    for (int b = 0; b < 256; ++b) m[byteToChar()[b]] = b;
    return m;
  }();
  const auto it = inverse.find(cp);
  return it == inverse.end() ? -1 : it->second;
}

// The raw bytes of a byte-level token string; false when it holds a non-byte-level character.
bool tokenBytes(const std::string& token, std::string& bytes) {
  bytes.clear();
  std::size_t i = 0;
  char32_t cp = 0;
  while (i < token.size()) {
    const int n = utf8::decodeAt(token, i, cp);
    const int b = n > 0 ? charToByte(cp) : -1;
    if (b < 0) return false;
    bytes += static_cast<char>(b);
    i += static_cast<std::size_t>(n);
  }
  return true;
}

}  // namespace

ByteLevelBpe::ByteLevelBpe() = default;
ByteLevelBpe::~ByteLevelBpe() = default;

void ByteLevelBpe::buildByteTables(const std::string& file) {
  m_bytes.assign(static_cast<std::size_t>(m_model->size()), std::string());
  m_byteId.fill(-1);
  m_idOfBytes.reserve(m_bytes.size());
  std::string bytes;
  for (int32_t id = 0; id < m_model->size(); ++id) {
    if (!m_model->contains(id)) continue;
    const std::string& token = m_model->token(id);
    if (tokenBytes(token, bytes)) {
      m_bytes[id] = bytes;
      m_idOfBytes.emplace(bytes, id);
      if (bytes.size() == 1) m_byteId[static_cast<unsigned char>(bytes[0])] = id;
    } else {
      m_bytes[id] = token;  // like HF's ByteLevel decoder: such tokens decode to their own text
    }
  }
  for (int b = 0; b < 256; ++b)
    if (m_byteId[b] < 0 && !m_model->unkId())
      throw Error(file + ": field 'model.vocab' has no token for byte " + std::to_string(b) +
                  " (a byte-level vocabulary needs all 256) and no unk_token");
}

std::unique_ptr<ByteLevelBpe> ByteLevelBpe::fromTokenizerJson(const nlohmann::json& root,
                                                              const std::string& file) {
  std::unique_ptr<ByteLevelBpe> t(new ByteLevelBpe());
  t->m_model =
      BpeModel::fromJson(tokjson::require(root, "model", file, "model", "an object"), file);
  t->m_normalizer = std::make_unique<Normalizer>(
      Normalizer::fromJson(root.value("normalizer", nlohmann::json()), file));
  t->m_preTokenizer = std::make_unique<PreTokenizer>(
      PreTokenizer::fromJson(root.value("pre_tokenizer", nlohmann::json()), file));
  t->m_pipeline = std::make_unique<nlohmann::json>(nlohmann::json::object());
  for (const char* k : {"normalizer", "pre_tokenizer", "post_processor", "decoder"})
    (*t->m_pipeline)[k] = root.value(k, nlohmann::json());
  t->buildByteTables(file);
  t->m_unk = t->m_model->unkId();
  t->loadAddedTokens(root.value("added_tokens", nlohmann::json()), file);
  t->loadPostProcessor(root.value("post_processor", nlohmann::json()), file);
  t->guessRoles();
  return t;
}

std::unique_ptr<ByteLevelBpe> ByteLevelBpe::fromVocabAndMerges(
    const std::filesystem::path& vocabFile, const std::filesystem::path& mergesFile) {
  std::unique_ptr<ByteLevelBpe> t(new ByteLevelBpe());
  t->m_model = BpeModel::fromFiles(vocabFile, mergesFile);
  const nlohmann::json byteLevel = {{"type", "ByteLevel"},
                                    {"add_prefix_space", false},
                                    {"trim_offsets", true},
                                    {"use_regex", true}};
  t->m_pipeline = std::make_unique<nlohmann::json>(nlohmann::json{{"normalizer", nullptr},
                                                                  {"pre_tokenizer", byteLevel},
                                                                  {"post_processor",
                                                                   {{"type", "ByteLevel"},
                                                                    {"add_prefix_space", true},
                                                                    {"trim_offsets", false},
                                                                    {"use_regex", true}}},
                                                                  {"decoder",
                                                                   {{"type", "ByteLevel"},
                                                                    {"add_prefix_space", true},
                                                                    {"trim_offsets", true},
                                                                    {"use_regex", true}}}});
  t->m_normalizer = std::make_unique<Normalizer>();
  t->m_preTokenizer =
      std::make_unique<PreTokenizer>(PreTokenizer::fromJson(byteLevel, vocabFile.string()));
  t->buildByteTables(vocabFile.string());
  if (const auto eot = t->m_model->find("<|endoftext|>")) {
    AddedToken a;
    a.id = *eot;
    a.content = "<|endoftext|>";
    a.special = true;
    a.normalized = true;
    t->addAddedToken(a, vocabFile.string());
    t->m_bos = t->m_eos = t->m_unk = *eot;
  }
  return t;
}

int32_t ByteLevelBpe::modelSize() const { return m_model->size(); }
bool ByteLevelBpe::modelHas(int32_t id) const { return m_model->contains(id); }
std::optional<int32_t> ByteLevelBpe::modelFind(std::string_view token) const {
  return m_model->find(token);
}
const std::string& ByteLevelBpe::modelToken(int32_t id) const { return m_model->token(id); }
std::string ByteLevelBpe::modelTokenText(int32_t id) const {
  return utf8::escapeInvalid(m_bytes[static_cast<std::size_t>(id)]);
}

void ByteLevelBpe::encodePiece(std::string_view text, std::size_t offset,
                               std::vector<int32_t>& out) const {
  thread_local std::vector<std::string> words;
  thread_local std::vector<int32_t> symbols;
  if (m_normalizer->isIdentity()) {
    m_preTokenizer->split(text, offset == 0, words);
  } else {
    m_preTokenizer->split(m_normalizer->apply(text), offset == 0, words);
  }
  for (const std::string& word : words) {
    if (m_model->cached(word, out)) continue;
    if (m_model->ignoreMerges()) {
      const auto it = m_idOfBytes.find(word);
      if (it != m_idOfBytes.end()) {
        out.push_back(it->second);
        continue;
      }
    }
    symbols.clear();
    for (char c : word) {
      const int32_t id = m_byteId[static_cast<unsigned char>(c)];
      if (id >= 0) {
        symbols.push_back(id);
      } else if (!(m_model->fuseUnk() && !symbols.empty() && symbols.back() == *m_model->unkId())) {
        symbols.push_back(*m_model->unkId());  // buildByteTables() ensured an unk exists
      }
    }
    m_model->mergeWord(symbols);
    out.insert(out.end(), symbols.begin(), symbols.end());
    m_model->cache(word, symbols.data(), symbols.size());
  }
}

std::string ByteLevelBpe::decodeValid(const std::vector<int32_t>& ids, bool skipSpecial) const {
  std::string bytes;
  bytes.reserve(ids.size() * 4);
  for (const int32_t id : ids) {
    if (const AddedToken* t = addedToken(id)) {
      if (!(skipSpecial && t->special)) bytes += t->content;
    } else {
      bytes += m_bytes[static_cast<std::size_t>(id)];
    }
  }
  return utf8::lossy(bytes);
}

void ByteLevelBpe::writeJson(nlohmann::json& root) const {
  for (const auto& [k, v] : m_pipeline->items()) root[k] = v;
  root["model"] = m_model->toJson();
}

}  // namespace nmar::core
