#pragma once
/**
 * @file The tokenizer interface (byte-level BPE, SentencePiece-style BPE, characters) and
 * loadTokenizer(), which reads the Hugging Face files of a checkpoint. Torch-free.
 */
#include <array>
#include <cstdint>
#include <filesystem>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include <nlohmann/json_fwd.hpp>

namespace nmar::core {

/** A token matched verbatim in the text before the model sees it (a Hugging Face "added token"). */
struct AddedToken {
  int32_t id = -1;
  std::string content;
  bool special = true;      ///< skipped by decode(ids, skipSpecial = true)
  bool lstrip = false;      ///< also swallows the whitespace on its left
  bool rstrip = false;      ///< also swallows the whitespace on its right
  bool singleWord = false;  ///< matches only when not inside a word
  bool normalized = false;  ///< kept for save(); matching is always done on the raw text
};

/**
 * Turns text into token ids and back. Ids run from 0 to vocabSize() - 1: the model's vocabulary
 * followed by added tokens (such as <|undo|>). Added tokens found in the text are always
 * emitted as their single id, like Hugging Face `tokenizers` with add_special_tokens=False.
 *
 * Thread-safety: the const methods (encode, decode, ...) may run concurrently; addSpecialToken()
 * and applyTokenizerConfig() must not run while another thread uses the tokenizer.
 */
class Tokenizer {
 public:
  virtual ~Tokenizer();
  Tokenizer(const Tokenizer&) = delete;
  Tokenizer& operator=(const Tokenizer&) = delete;

  /** "byte_level_bpe" (GPT-2, Qwen), "sentencepiece_bpe" (Llama) or "char". */
  virtual std::string kind() const = 0;

  /**
   * Encodes @p text (UTF-8). With @p addSpecial, also adds the tokens that the tokenizer's
   * post-processor / tokenizer_config.json add (BOS for Llama; nothing for GPT-2 and Qwen).
   * Throws Error when @p text is not valid UTF-8 (naming the byte offset) or holds a character the
   * vocabulary cannot express (naming it; the character tokenizer also names its byte offset).
   */
  std::vector<int32_t> encode(std::string_view text, bool addSpecial = false) const;

  /**
   * Decodes @p ids to text. Byte sequences that are not valid UTF-8 become U+FFFD, as in HF.
   * With @p skipSpecial, special added tokens are left out. Throws Error for an id outside the
   * vocabulary (naming its position and value).
   */
  std::string decode(const std::vector<int32_t>& ids, bool skipSpecial = false) const;

  /**
   * A human-readable piece for one token (for token chips): bytes decoded ("Ġworld" -> " world",
   * "▁the" -> " the", "<0x0A>" -> "\n"); bytes that are not valid UTF-8 on their own are shown as
   * "<0xNN>"; added tokens as their content. Throws Error for an unknown id.
   */
  std::string tokenText(int32_t id) const;

  /** One past the largest id (model vocabulary plus added tokens). */
  int32_t vocabSize() const;

  /**
   * The id of @p token: an added token's content, or a vocabulary entry as it is written in
   * tokenizer.json ("Ġthe" for GPT-2, "▁the" for Llama, "a" for the character tokenizer).
   */
  std::optional<int32_t> tokenId(std::string_view token) const;

  /**
   * Adds @p content (such as "<|undo|>") as a special added token and returns its id: a new id
   * equal to the old vocabSize(), or the existing id when the token is already known (idempotent).
   * Throws Error for empty content or content that is not valid UTF-8.
   */
  int32_t addSpecialToken(const std::string& content);

  /** The contents of the special added tokens, in id order. */
  std::vector<std::string> specialTokens() const;
  /** All added tokens (special or not), in id order. */
  const std::vector<AddedToken>& addedTokens() const { return m_added; }
  /** True when @p id is a special added token. */
  bool isSpecial(int32_t id) const;

  std::optional<int32_t> bosId() const { return m_bos; }
  std::optional<int32_t> eosId() const { return m_eos; }
  std::optional<int32_t> padId() const { return m_pad; }
  std::optional<int32_t> unkId() const { return m_unk; }
  /** The ids that encode(text, true) puts before the text. */
  const std::vector<int32_t>& prefixIds() const { return m_prefix; }
  /** The ids that encode(text, true) puts after the text. */
  const std::vector<int32_t>& suffixIds() const { return m_suffix; }

  /**
   * Writes @p dir/tokenizer.json (readable by loadTokenizer() and by HF `tokenizers`, added tokens
   * included) and @p dir/tokenizer_config.json, creating @p dir. Throws Error on I/O failure.
   */
  void save(const std::filesystem::path& dir) const;

  /**
   * Applies a tokenizer_config.json object: bos/eos/pad/unk tokens (strings or {"content": ...})
   * and add_bos_token/add_eos_token. With @p withAddedTokens (the vocab.json + merges.txt layout),
   * its added_tokens_decoder entries are registered too. The object is kept and written back by
   * save(). Throws Error naming @p file and the field when a token is not in the vocabulary.
   */
  void applyTokenizerConfig(const nlohmann::json& config, const std::string& file,
                            bool withAddedTokens = false);

 protected:
  Tokenizer();

  /** One past the largest id of the model's own vocabulary. */
  virtual int32_t modelSize() const = 0;
  /** True when the model's vocabulary uses @p id (0 <= id < modelSize()). */
  virtual bool modelHas(int32_t id) const = 0;
  /** The model's id for a vocabulary string. */
  virtual std::optional<int32_t> modelFind(std::string_view token) const = 0;
  /** The vocabulary string of model id @p id. */
  virtual const std::string& modelToken(int32_t id) const = 0;
  /** tokenText() for a model id. */
  virtual std::string modelTokenText(int32_t id) const = 0;
  /**
   * Encodes @p text, a piece without added tokens that starts at byte @p offset of the input,
   * appending to @p out.
   */
  virtual void encodePiece(std::string_view text, std::size_t offset,
                           std::vector<int32_t>& out) const = 0;
  /** Decodes @p ids (already checked to be valid), honouring skipSpecial via addedToken(). */
  virtual std::string decodeValid(const std::vector<int32_t>& ids, bool skipSpecial) const = 0;
  /** Fills "normalizer", "pre_tokenizer", "post_processor", "decoder" and "model" of @p root. */
  virtual void writeJson(nlohmann::json& root) const = 0;

  /** @p id as tokenizer.json writes it: an added token's content or the vocabulary entry. */
  std::string vocabString(int32_t id) const;
  /** The added token with id @p id, or null. */
  const AddedToken* addedToken(int32_t id) const;
  /** Registers @p token; Error (prefixed with @p where) for an empty, duplicate or clashing one. */
  void addAddedToken(const AddedToken& token, const std::string& where);
  /** Registers tokenizer.json's "added_tokens" array. */
  void loadAddedTokens(const nlohmann::json& list, const std::string& file);
  /** Reads the prefix/suffix ids of tokenizer.json's "post_processor" (TemplateProcessing, ...). */
  void loadPostProcessor(const nlohmann::json& processor, const std::string& file);
  /** The post_processor JSON that adds prefixIds()/suffixIds() (null when both are empty). */
  nlohmann::json templateProcessorJson() const;
  /** Fills unset bos/eos/pad/unk roles from conventional added-token names ("<s>", ...). */
  void guessRoles();

  std::optional<int32_t> m_bos, m_eos, m_pad, m_unk;
  std::vector<int32_t> m_prefix, m_suffix;

 private:
  struct Match {
    std::size_t start, end;
    int32_t id;
  };
  bool findAdded(std::string_view text, std::size_t from, Match& match) const;
  void rebuildMatcher();
  void writeConfig(const std::filesystem::path& file) const;

  std::vector<AddedToken> m_added;  // sorted by id
  std::unordered_map<std::string, std::size_t> m_addedByContent;
  std::array<std::vector<std::size_t>, 256> m_addedByFirstByte;  // longest first
  std::vector<std::string> m_newSpecials;                        // added through addSpecialToken()
  std::unique_ptr<nlohmann::json> m_config;
};

/**
 * Loads a tokenizer from @p path: a checkpoint folder (tokenizer.json, else vocab.json +
 * merges.txt, else encoder.json + vocab.bpe, else a SentencePiece BPE tokenizer.model) or one of
 * those files. Detects the kind (byte-level BPE, SentencePiece-style BPE, character/WordLevel) and
 * reads tokenizer_config.json (and special_tokens_map.json) beside it when present. Throws Error
 * naming the file and field: a missing path, malformed JSON (with line and column), a missing
 * model.vocab, a merge naming an unknown token, an unsupported type, ...
 */
std::unique_ptr<Tokenizer> loadTokenizer(const std::filesystem::path& path);

}  // namespace nmar::core
