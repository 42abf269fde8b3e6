#include "tokenizer/bpe_model.h"

#include <algorithm>

#include "tokenizer/json_io.h"
#include "util/error.h"
#include "util/json_file.h"
#include "util/log.h"

namespace nmar::core {
namespace fs = std::filesystem;

namespace {
constexpr std::size_t kMaxCachedWordBytes = 256;
constexpr std::size_t kCacheCapacity = 100000;

std::string inQuotes(const std::string& s) { return "'" + s + "'"; }
}  // namespace

std::optional<int32_t> BpeModel::find(std::string_view token) const {
  const auto it = m_ids.find(std::string(token));
  if (it == m_ids.end()) return std::nullopt;
  return it->second;
}

void BpeModel::setVocab(std::vector<std::pair<std::string, int64_t>> entries,
                        const std::function<std::string(std::size_t)>& where) {
  int64_t maxId = -1;
  for (std::size_t i = 0; i < entries.size(); ++i) {
    const int64_t id = entries[i].second;
    if (id < 0 || id > INT32_MAX - 1)
      throw Error(where(i) + ": id " + std::to_string(id) +
                  " is out of range (expected 0 .. 2147483646)");
    tokjson::checkTokenIdDense(id, entries.size(), where(i));
    maxId = std::max(maxId, id);
  }
  m_tokens.assign(static_cast<std::size_t>(maxId + 1), std::string());
  m_present.assign(static_cast<std::size_t>(maxId + 1), 0);
  m_ids.reserve(entries.size());
  for (std::size_t i = 0; i < entries.size(); ++i) {
    auto& [token, id] = entries[i];
    const auto slot = static_cast<std::size_t>(id);
    if (m_present[slot])
      throw Error(where(i) + ": id " + std::to_string(id) + " is used by both " +
                  inQuotes(m_tokens[slot]) + " and " + inQuotes(token));
    m_present[slot] = 1;
    m_ids.emplace(token, static_cast<int32_t>(id));
    m_tokens[slot] = std::move(token);
  }
}

void BpeModel::addMerge(const std::string& a, const std::string& b, const std::string& where) {
  const auto ia = m_ids.find(a);
  if (ia == m_ids.end())
    throw Error(where + ": token " + inQuotes(a) + " is not in the vocabulary");
  const auto ib = m_ids.find(b);
  if (ib == m_ids.end())
    throw Error(where + ": token " + inQuotes(b) + " is not in the vocabulary");
  const auto im = m_ids.find(a + b);
  if (im == m_ids.end())
    throw Error(where + ": the merged token " + inQuotes(a + b) + " is not in the vocabulary");
  // As in HF tokenizers, a repeated pair takes the rank of its last occurrence.
  m_mergeRank[key(ia->second, ib->second)] = {static_cast<int32_t>(m_merges.size()), im->second};
  m_merges.emplace_back(ia->second, ib->second);
}

std::unique_ptr<BpeModel> BpeModel::fromJson(const nlohmann::json& model, const std::string& file) {
  auto m = std::make_unique<BpeModel>();
  const auto& vocab =
      tokjson::require(model, "vocab", file, "model.vocab", "an object mapping tokens to ids");
  if (!vocab.is_object())
    tokjson::fieldError(
        file, "model.vocab",
        "is " + tokjson::typeName(vocab) + ", expected an object mapping tokens to ids");
  std::vector<std::pair<std::string, int64_t>> entries;
  entries.reserve(vocab.size());
  for (const auto& [token, id] : vocab.items()) {
    if (!id.is_number_integer())
      tokjson::fieldError(file, "model.vocab[\"" + token + "\"]",
                          "is " + tokjson::typeName(id) + ", expected an integer id");
    entries.emplace_back(token, id.get<int64_t>());
  }
  m->setVocab(std::move(entries), [&](std::size_t) { return file + ": field 'model.vocab'"; });

  // Like HF tokenizers, a BPE model without "merges" simply has none.
  static const nlohmann::json kNoMerges = nlohmann::json::array();
  const nlohmann::json& merges = model.contains("merges") ? model.at("merges") : kNoMerges;
  if (!merges.is_array())
    tokjson::fieldError(file, "model.merges",
                        "is " + tokjson::typeName(merges) +
                            ", expected an array of \"a b\" strings or "
                            "[\"a\", \"b\"] pairs");
  m->m_merges.reserve(merges.size());
  m->m_mergeRank.reserve(merges.size());
  for (std::size_t i = 0; i < merges.size(); ++i) {
    const auto& e = merges[i];
    const std::string where = file + ": model.merges[" + std::to_string(i) + "]";
    if (e.is_string()) {
      const std::string s = e.get<std::string>();
      const std::size_t space = s.find(' ');
      if (space == std::string::npos || s.find(' ', space + 1) != std::string::npos)
        throw Error(where + " is \"" + s +
                    "\"; expected two tokens separated by one space (\"a b\")");
      m->addMerge(s.substr(0, space), s.substr(space + 1), where + " (\"" + s + "\")");
    } else if (e.is_array() && e.size() == 2 && e[0].is_string() && e[1].is_string()) {
      m->m_pairMerges = true;
      m->addMerge(e[0].get<std::string>(), e[1].get<std::string>(), where);
    } else {
      throw Error(where + " is " + tokjson::typeName(e) +
                  "; expected \"a b\" or a pair [\"a\", \"b\"] of strings");
    }
  }

  for (const char* f : {"continuing_subword_prefix", "end_of_word_suffix"})
    if (!tokjson::optString(model, f, file, std::string("model.") + f).empty())
      tokjson::fieldError(file, std::string("model.") + f,
                          "is set, which is not supported (expected null or \"\")");
  if (model.contains("dropout") && model["dropout"].is_number() &&
      model["dropout"].get<double>() > 0)
    logger("core.tokenizer")
        ->warn("{}: model.dropout is ignored (BPE dropout is a training-time augmentation)", file);
  m->m_byteFallback = tokjson::optBool(model, "byte_fallback", file, "model.byte_fallback", false);
  m->m_fuseUnk = tokjson::optBool(model, "fuse_unk", file, "model.fuse_unk", false);
  m->m_ignoreMerges = tokjson::optBool(model, "ignore_merges", file, "model.ignore_merges", false);
  const std::string unk = tokjson::optString(model, "unk_token", file, "model.unk_token");
  if (!unk.empty()) {
    m->m_unkId = m->find(unk);
    if (!m->m_unkId)
      logger("core.tokenizer")
          ->warn("{}: model.unk_token '{}' is not in the vocabulary", file, unk);
  }
  for (const auto& [k, v] : model.items())
    if (k != "vocab" && k != "merges") m->m_options[k] = v;
  return m;
}

std::unique_ptr<BpeModel> BpeModel::fromFiles(const fs::path& vocabFile,
                                              const fs::path& mergesFile) {
  auto m = std::make_unique<BpeModel>();
  const nlohmann::json vocab = readJsonFile(vocabFile);
  const std::string vf = vocabFile.string();
  if (!vocab.is_object())
    throw Error(vf + ": is " + tokjson::typeName(vocab) +
                ", expected an object mapping tokens to ids");
  std::vector<std::pair<std::string, int64_t>> entries;
  entries.reserve(vocab.size());
  for (const auto& [token, id] : vocab.items()) {
    if (!id.is_number_integer())
      throw Error(vf + ": entry \"" + token + "\" is " + tokjson::typeName(id) +
                  ", expected an integer id");
    entries.emplace_back(token, id.get<int64_t>());
  }
  m->setVocab(std::move(entries), [&](std::size_t) { return vf; });

  const std::string text = readFileBytes(mergesFile);
  std::size_t pos = 0, line = 0;
  while (pos < text.size()) {
    std::size_t end = text.find('\n', pos);
    if (end == std::string::npos) end = text.size();
    std::string s = text.substr(pos, end - pos);
    pos = end + 1;
    ++line;
    if (!s.empty() && s.back() == '\r') s.pop_back();
    if (s.empty() || (line == 1 && s.rfind("#version", 0) == 0)) continue;
    const std::string where = mergesFile.string() + ": line " + std::to_string(line);
    const std::size_t space = s.find(' ');
    if (space == std::string::npos || s.find(' ', space + 1) != std::string::npos)
      throw Error(where + " is \"" + s + "\"; expected two tokens separated by one space");
    m->addMerge(s.substr(0, space), s.substr(space + 1), where + " (\"" + s + "\")");
  }
  m->m_options = {{"type", "BPE"},
                  {"dropout", nullptr},
                  {"unk_token", nullptr},
                  {"continuing_subword_prefix", ""},
                  {"end_of_word_suffix", ""},
                  {"fuse_unk", false},
                  {"byte_fallback", false}};
  return m;
}

nlohmann::json BpeModel::toJson() const {
  nlohmann::json model = m_options;
  model["type"] = "BPE";
  nlohmann::json vocab = nlohmann::json::object();
  for (std::size_t id = 0; id < m_tokens.size(); ++id)
    if (m_present[id]) vocab[m_tokens[id]] = id;
  model["vocab"] = std::move(vocab);
  bool pairs = m_pairMerges;
  for (const auto& [a, b] : m_merges)
    pairs =
        pairs || token(a).find(' ') != std::string::npos || token(b).find(' ') != std::string::npos;
  nlohmann::json merges = nlohmann::json::array();
  for (const auto& [a, b] : m_merges) {
    if (pairs) {
      merges.push_back(nlohmann::json::array({token(a), token(b)}));
    } else {
      merges.push_back(token(a) + " " + token(b));
    }
  }
  model["merges"] = std::move(merges);
  return model;
}

void BpeModel::mergeWord(std::vector<int32_t>& symbols) const {
  const auto n = static_cast<int32_t>(symbols.size());
  if (n < 2 || m_mergeRank.empty()) return;
  struct Symbol {
    int32_t id, prev, next;
    bool alive;
  };
  struct Item {
    int32_t rank, pos, id;
  };
  // std::push_heap builds a max-heap: "less" means lower priority (higher rank, then later pos).
  const auto lower = [](const Item& a, const Item& b) {
    return a.rank != b.rank ? a.rank > b.rank : a.pos > b.pos;
  };
  std::vector<Symbol> sym(static_cast<std::size_t>(n));
  std::vector<Item> heap;
  heap.reserve(static_cast<std::size_t>(n));
  for (int32_t i = 0; i < n; ++i) {
    sym[i] = {symbols[i], i - 1, i + 1 < n ? i + 1 : -1, true};
    if (i + 1 < n) {
      const auto it = m_mergeRank.find(key(symbols[i], symbols[i + 1]));
      if (it != m_mergeRank.end()) heap.push_back({it->second.rank, i, it->second.id});
    }
  }
  std::make_heap(heap.begin(), heap.end(), lower);
  while (!heap.empty()) {
    std::pop_heap(heap.begin(), heap.end(), lower);
    const Item top = heap.back();
    heap.pop_back();
    Symbol& cur = sym[top.pos];
    if (!cur.alive || cur.next < 0) continue;
    Symbol& right = sym[cur.next];
    const auto it = m_mergeRank.find(key(cur.id, right.id));
    if (it == m_mergeRank.end() || it->second.id != top.id) continue;  // a stale entry
    cur.id = top.id;
    right.alive = false;
    cur.next = right.next;
    if (cur.next >= 0) sym[cur.next].prev = top.pos;
    if (cur.prev >= 0) {
      const auto p = m_mergeRank.find(key(sym[cur.prev].id, cur.id));
      if (p != m_mergeRank.end()) {
        heap.push_back({p->second.rank, cur.prev, p->second.id});
        std::push_heap(heap.begin(), heap.end(), lower);
      }
    }
    if (cur.next >= 0) {
      const auto q = m_mergeRank.find(key(cur.id, sym[cur.next].id));
      if (q != m_mergeRank.end()) {
        heap.push_back({q->second.rank, top.pos, q->second.id});
        std::push_heap(heap.begin(), heap.end(), lower);
      }
    }
  }
  symbols.clear();
  for (int32_t i = 0; i >= 0; i = sym[i].next) symbols.push_back(sym[i].id);
}

bool BpeModel::cached(const std::string& word, std::vector<int32_t>& out) const {
  if (word.size() > kMaxCachedWordBytes) return false;
  std::lock_guard<std::mutex> lock(m_cacheMutex);
  const auto it = m_cache.find(word);
  if (it == m_cache.end()) return false;
  out.insert(out.end(), it->second.begin(), it->second.end());
  return true;
}

void BpeModel::cache(const std::string& word, const int32_t* ids, std::size_t count) const {
  if (word.size() > kMaxCachedWordBytes) return;
  std::lock_guard<std::mutex> lock(m_cacheMutex);
  if (m_cache.size() >= kCacheCapacity) return;
  m_cache.emplace(word, std::vector<int32_t>(ids, ids + count));
}

}  // namespace nmar::core
