#pragma once
/** @file Byte-level BPE (GPT-2, Qwen, Llama-3 style): tokenizer.json or vocab.json + merges.txt. */
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
 * Byte-level BPE: the text is normalised (e.g. NFC), split by the pre-tokenizer's regex, each
 * word's UTF-8 bytes are merged by rank (with a word cache). Lossless: decode(encode(x)) == x for
 * NFC text.
 */
class ByteLevelBpe final : public Tokenizer {
 public:
  /**
   * Builds from a parsed tokenizer.json @p root whose model is BPE and whose pre_tokenizer contains
   * ByteLevel. Throws Error naming @p file and the field for anything malformed or unsupported.
   */
  static std::unique_ptr<ByteLevelBpe> fromTokenizerJson(const nlohmann::json& root,
                                                         const std::string& file);

  /**
   * Builds from the GPT-2 layout: @p vocabFile (vocab.json / encoder.json) and @p mergesFile
   * (merges.txt / vocab.bpe), with GPT-2's pre-tokenizer; "<|endoftext|>" (when present) becomes a
   * special token and the BOS/EOS. Throws Error naming the file (and line) on bad input.
   */
  static std::unique_ptr<ByteLevelBpe> fromVocabAndMerges(const std::filesystem::path& vocabFile,
                                                          const std::filesystem::path& mergesFile);

  ~ByteLevelBpe() override;
  std::string kind() const override { return "byte_level_bpe"; }

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
  ByteLevelBpe();
  void buildByteTables(const std::string& file);

  std::unique_ptr<BpeModel> m_model;
  std::unique_ptr<Normalizer> m_normalizer;
  std::unique_ptr<PreTokenizer> m_preTokenizer;
  std::unique_ptr<nlohmann::json> m_pipeline;  // normalizer, pre_tokenizer, post_processor, decoder
  std::vector<std::string> m_bytes;            // id -> the raw bytes of the token
  std::unordered_map<std::string, int32_t> m_idOfBytes;
  std::array<int32_t, 256> m_byteId{};  // single-byte tokens, -1 where missing
};

}  // namespace nmar::core
