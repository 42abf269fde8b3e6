#pragma once
/**
 * @file Prose as prompt/completion pairs (issue 9, experiment 8): plain-text corpora split into
 * sentences, each sentence's first words the prompt and the words after them the completion.
 * Deterministic: the same files and options give the same pairs. Torch-free.
 */
#include <cstdint>
#include <filesystem>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

namespace nmar::core {

/** How sentences become pairs. Value type. */
struct CorpusPhraseOptions {
  int promptWords = 5;         ///< words of the prompt (>= 1)
  int completionWords = 6;     ///< at most this many words of the completion (>= 1)
  int minCompletionWords = 2;  ///< shorter remainders drop the sentence (1..completionWords)
  bool completionSpace = false;  ///< completion starts with " " (byte-level BPE) or not
                                 ///< (SentencePiece adds its own word marker)
  bool asciiOnly = true;         ///< drop sentences with bytes outside printable ASCII
  int count = 0;                 ///< pairs to keep (0: all); drawn without replacement
  std::uint64_t seed = 0;        ///< the draw of `count` pairs and their order
  /** Throws Error "<where>: --prompt-words: ..." naming the option of a value out of range. */
  void validate(const std::string& where) const;
};

/**
 * The sentences of @p text: a blank line (only whitespace between two line breaks) ends a
 * sentence, and so does a word ending in '.', '!' or '?' (closing quotes or brackets after it
 * allowed). A line's first word made of digits only is dropped (verse numbers, as in the King
 * James text). Whitespace runs become one space. Abbreviations ("Mr.") end a sentence too.
 */
std::vector<std::string> corpusSentences(std::string_view text);

/**
 * Pairs {"prompt", "completion", "source": "FILE:SENTENCE"} from the sentences of @p files (read
 * in the given order; a folder stands for its *.txt files in name order). A sentence gives a pair
 * when it has at least promptWords + minCompletionWords words (and is ASCII when asciiOnly). With
 * count > 0, that many pairs are drawn (seeded shuffle, then the first count); else all, in corpus
 * order. Throws Error naming the path when a file is missing or unreadable or a folder has no
 * .txt file, "<paths>: only N sentences give pairs, --count asks for M" when too few.
 */
std::vector<nlohmann::json> corpusPhrasePairs(const std::vector<std::filesystem::path>& files,
                                              const CorpusPhraseOptions& options);

}  // namespace nmar::core
