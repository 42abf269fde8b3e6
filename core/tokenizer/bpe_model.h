#pragma once
/**
 * @file The BPE model shared by the byte-level and SentencePiece-style tokenizers: the vocabulary,
 * the ranked merges, the merge loop (HF's priority-queue algorithm) and a word cache.
 */
#include <cstdint>
#include <filesystem>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <utility>
#include <vector>

#include <nlohmann/json.hpp>

namespace nmar::core {

/**
 * A BPE vocabulary with merges. Ids may have holes (ids that no token uses). Immutable after
 * loading; mergeWord() and the cache are safe to use from several threads.
 */
class BpeModel {
 public:
  /**
   * Reads tokenizer.json's "model" object (type BPE): "vocab" (token -> id) and "merges" ("a b"
   * strings or ["a", "b"] pairs), plus unk_token, byte_fallback, fuse_unk and ignore_merges. Throws
   * Error naming @p file and the field: missing model.vocab, a duplicate id, a merge naming an
   * unknown token, an unsupported option.
   */
  static std::unique_ptr<BpeModel> fromJson(const nlohmann::json& model, const std::string& file);

  /** Reads the GPT-2 layout: vocab.json (or encoder.json) and merges.txt (or vocab.bpe). */
  static std::unique_ptr<BpeModel> fromFiles(const std::filesystem::path& vocabFile,
                                             const std::filesystem::path& mergesFile);

  /** Writes the model back as tokenizer.json's "model" object (the original options are kept). */
  nlohmann::json toJson() const;

  /** One past the largest id of the vocabulary. */
  int32_t size() const { return static_cast<int32_t>(m_tokens.size()); }
  /** True when @p id is used by a token of the vocabulary. */
  bool contains(int32_t id) const { return id >= 0 && id < size() && m_present[id]; }
  /** The vocabulary string of @p id (as written in tokenizer.json); empty for holes. */
  const std::string& token(int32_t id) const { return m_tokens[static_cast<std::size_t>(id)]; }
  /** The id of the vocabulary string @p token. */
  std::optional<int32_t> find(std::string_view token) const;
  /** All token strings, index = id. */
  const std::vector<std::string>& tokens() const { return m_tokens; }

  /** The unk token's id, when the model names one that is in the vocabulary. */
  std::optional<int32_t> unkId() const { return m_unkId; }
  bool byteFallback() const { return m_byteFallback; }
  bool fuseUnk() const { return m_fuseUnk; }
  bool ignoreMerges() const { return m_ignoreMerges; }

  /** Applies the merges to the symbols of one word, lowest rank first, leftmost first on ties. */
  void mergeWord(std::vector<int32_t>& symbols) const;

  /** Appends the cached ids of @p word to @p out; false when @p word is not cached. */
  bool cached(const std::string& word, std::vector<int32_t>& out) const;
  /** Caches the ids of @p word (words longer than 256 bytes are not cached). */
  void cache(const std::string& word, const int32_t* ids, std::size_t count) const;

 private:
  struct Merge {
    int32_t rank;
    int32_t id;
  };
  static uint64_t key(int32_t a, int32_t b) {
    return (static_cast<uint64_t>(static_cast<uint32_t>(a)) << 32) | static_cast<uint32_t>(b);
  }
  void setVocab(std::vector<std::pair<std::string, int64_t>> entries,
                const std::function<std::string(std::size_t)>& where);
  void addMerge(const std::string& a, const std::string& b, const std::string& where);

  std::vector<std::string> m_tokens;
  std::vector<uint8_t> m_present;
  std::unordered_map<std::string, int32_t> m_ids;
  std::vector<std::pair<int32_t, int32_t>> m_merges;  // in rank order, for save()
  std::unordered_map<uint64_t, Merge> m_mergeRank;
  std::optional<int32_t> m_unkId;
  bool m_byteFallback = false, m_fuseUnk = false, m_ignoreMerges = false, m_pairMerges = false;
  nlohmann::json m_options =
      nlohmann::json::object();  // the other fields of "model", kept for save

  mutable std::mutex m_cacheMutex;
  mutable std::unordered_map<std::string, std::vector<int32_t>> m_cache;
};

}  // namespace nmar::core
