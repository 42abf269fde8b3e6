#pragma once
/**
 * @file A character tokenizer for the built-in tasks: one token per character of a fixed alphabet,
 * plus special tokens. Saved as a Hugging Face WordLevel tokenizer.json that splits every
 * character.
 */
#include <memory>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "tokenizer/tokenizer.h"

namespace nmar::core {

/**
 * Maps each Unicode character of an alphabet to one id. Special tokens come first (ids 0, 1, ...),
 * then the characters in alphabet order. The roles follow the conventional names:
 * "<|pad|>"/"<pad>",
 * "<|bos|>"/"<s>", "<|eos|>"/"</s>", "<|unk|>"/"<unk>"; encode(text, true) prepends the BOS.
 * A character outside the alphabet is an Error naming it and its byte offset, unless the vocabulary
 * has an unk token.
 */
class CharTokenizer final : public Tokenizer {
 public:
  /**
   * Builds from the characters of @p alphabet (UTF-8; each at most once) and @p specialTokens.
   * Throws Error for invalid UTF-8, a repeated character or a repeated/empty special token.
   */
  explicit CharTokenizer(std::string_view alphabet,
                         const std::vector<std::string>& specialTokens = defaultSpecialTokens());

  /**
   * Builds from a parsed tokenizer.json @p root with a WordLevel model whose pre_tokenizer splits
   * every character. Throws Error naming @p file and the field (e.g. a vocabulary entry that is not
   * one character).
   */
  static std::unique_ptr<CharTokenizer> fromTokenizerJson(const nlohmann::json& root,
                                                          const std::string& file);

  /** Newline and the printable ASCII characters (space to '~'), in that order: 96 characters. */
  static std::string defaultAlphabet();
  /** {"<|pad|>", "<|bos|>", "<|eos|>"}. */
  static std::vector<std::string> defaultSpecialTokens();

  ~CharTokenizer() override;
  std::string kind() const override { return "char"; }
  /** The characters of the alphabet in id order (special tokens excluded). */
  std::string alphabet() const;

 protected:
  int32_t modelSize() const override { return static_cast<int32_t>(m_vocab.size()); }
  bool modelHas(int32_t id) const override;
  std::optional<int32_t> modelFind(std::string_view token) const override;
  const std::string& modelToken(int32_t id) const override;
  std::string modelTokenText(int32_t id) const override;
  void encodePiece(std::string_view text, std::size_t offset,
                   std::vector<int32_t>& out) const override;
  std::string decodeValid(const std::vector<int32_t>& ids, bool skipSpecial) const override;
  void writeJson(nlohmann::json& root) const override;

 private:
  CharTokenizer() = default;
  void addEntry(const std::string& token, int32_t id, const std::string& where);

  std::vector<std::string> m_vocab;  // id -> special token or one character ("" for holes)
  std::unordered_map<std::string, int32_t> m_ids;
  std::unordered_map<char32_t, int32_t> m_charIds;
};

}  // namespace nmar::core
