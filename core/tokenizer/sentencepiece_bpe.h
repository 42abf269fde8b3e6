#pragma once
/**
 * @file SentencePiece-style BPE (Llama, Mistral, ...) from tokenizer.json: "▁" for spaces (the
 * Prepend + Replace normalizer or the Metaspace pre-tokenizer), <0xNN> byte fallback, BOS handling.
 */
#include <array>
#include <filesystem>
#include <memory>
#include <string>
#include <unordered_map>
#include <vector>

#include "tokenizer/tokenizer.h"

namespace nmar::core {

class BpeModel;
class Normalizer;
class PreTokenizer;

/**
 * BPE over Unicode characters where spaces are "▁" and characters missing from the vocabulary fall
 * back to <0xNN> byte tokens (or unk). Decoding turns "▁" back into spaces and strips the one space
 * the encoder prepended, so decode(encode(x)) == x for text without added tokens inside it.
 */
class SentencePieceBpe final : public Tokenizer {
 public:
  /**
   * Builds from a parsed tokenizer.json @p root whose model is BPE and that marks spaces with "▁".
   * Throws Error naming @p file and the field for anything malformed or unsupported.
   */
  static std::unique_ptr<SentencePieceBpe> fromTokenizerJson(const nlohmann::json& root,
                                                             const std::string& file);

  /**
   * Reads a SentencePiece tokenizer.model (protobuf) of a BPE model with Llama's settings (identity
   * normaliser, dummy prefix, byte fallback) and converts it as HF transformers' LlamaConverter
   * does: the same vocabulary and ids, merges ordered by piece score. Throws Error naming @p file
   * for a malformed file, a Unigram model or an unsupported normaliser.
   */
  static std::unique_ptr<SentencePieceBpe> fromSentencePieceModel(
      const std::filesystem::path& file);

  ~SentencePieceBpe() override;
  std::string kind() const override { return "sentencepiece_bpe"; }

 protected:
  int32_t modelSize() const override;
  bool modelHas(int32_t id) const override;
  std::optional<int32_t> modelFind(std::string_view token) const override;
  const std::string& modelToken(int32_t id) const override;
  std::string modelTokenText(int32_t id) const override;
  void encodePiece(std::string_view text, std::size_t offset,
                   std::vector<int32_t>& out) const override;
  std::string decodeValid(const std::vector<int32_t>& ids, bool skipSpecial) const override;
  void writeJson(nlohmann::json& root) const override;

 private:
  SentencePieceBpe();
  void readDecoder(const nlohmann::json& decoder, const std::string& file);
  void encodeWord(const std::string& word, std::vector<int32_t>& out) const;
  std::string spaced(const std::string& piece) const;  // "▁" -> " "

  std::unique_ptr<BpeModel> m_model;
  std::unique_ptr<Normalizer> m_normalizer;
  std::unique_ptr<PreTokenizer> m_preTokenizer;
  std::unique_ptr<nlohmann::json> m_pipeline;  // normalizer, pre_tokenizer, post_processor, decoder
  std::unordered_map<char32_t, int32_t> m_charId;  // single-character tokens
  std::array<int32_t, 256> m_byteToken{};          // <0xNN> token ids, -1 where missing
  std::vector<int16_t> m_byteOfToken;              // id -> byte value of a <0xNN> token, or -1
  std::string m_replacement = "\u2581";
  int m_stripLeft = 0;  // leading spaces the decoder removes
  // True when no token has a "▁" after another character: a word can then be cut before every
  // "▁" that follows another character without changing the result (and is much faster).
  bool m_cutAtSpaces = false;
};

}  // namespace nmar::core
