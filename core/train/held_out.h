#pragma once
/**
 * @file Held-out text for measuring what a change to a model does to its next-token
 * distributions: token windows from a text, and a built-in sample text for when none is given.
 */
#include <cstdint>
#include <string>
#include <vector>

#include "tokenizer/tokenizer.h"

namespace nmar::core {

/**
 * Encodes @p text (no special tokens added) and cuts it into consecutive windows of
 * @p windowLength ids (the last one may be shorter), at most @p maxWindows of them.
 * Throws Error when @p windowLength or @p maxWindows is below 1, or the text encodes to no ids;
 * encoding errors (a character the vocabulary cannot express) are passed on as the tokenizer
 * reports them.
 */
std::vector<std::vector<std::int32_t>> heldOutWindows(const Tokenizer& tokenizer,
                                                      const std::string& text, int windowLength,
                                                      int maxWindows);

/** A sample text and a line saying what it is (for reports: "which held-out text was used"). */
struct HeldOutText {
  std::string text;
  std::string description;
};

/**
 * The built-in held-out text: deterministic arithmetic lines ("348+275=623") followed by a few
 * paragraphs of plain English, so that it covers the built-in tasks' character tokenizer as well as
 * BPE tokenizers. For a character tokenizer the characters its alphabet lacks are left out (and the
 * description says so). Throws Error naming the tokenizer kind when nothing of the text can be
 * encoded (an alphabet without any of its characters): pass a held-out file then.
 */
HeldOutText builtInHeldOutText(const Tokenizer& tokenizer);

}  // namespace nmar::core
