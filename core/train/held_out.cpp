#include "train/held_out.h"

#include <algorithm>

#include "util/error.h"

namespace nmar::core {
namespace {

/** 48 lines "a+b=c" / "a-b=c" / "a*b=c" from a fixed linear congruential sequence. */
std::string arithmeticLines() {
  std::uint32_t state = 20240611u;
  auto next = [&state](std::uint32_t bound) {
    state = state * 1664525u + 1013904223u;
    return (state >> 8) % bound;
  };
  std::string out;
  for (int i = 0; i < 48; ++i) {
    const std::uint32_t digits = 1 + next(4);  // 1 to 4 digits
    std::uint32_t limit = 1;
    for (std::uint32_t d = 0; d < digits; ++d) limit *= 10;
    const std::int64_t a = next(limit), b = next(limit);
    switch (i % 3) {
      case 0:
        out += std::to_string(a) + "+" + std::to_string(b) + "=" + std::to_string(a + b);
        break;
      case 1:
        out += std::to_string(std::max(a, b)) + "-" + std::to_string(std::min(a, b)) + "=" +
               std::to_string(std::max(a, b) - std::min(a, b));
        break;
      default:
        out += std::to_string(a % 100) + "*" + std::to_string(b % 100) + "=" +
               std::to_string((a % 100) * (b % 100));
    }
    out += "\n";
  }
  return out;
}

constexpr char kProse[] =
    "The workbench trains language models that may take back what they have just written. A\n"
    "model reads a prompt, then writes one token at a time. When it notices that the last token\n"
    "was wrong, it writes a special token instead of the next word, and the wrong token is\n"
    "removed before it goes on. Nothing else about the model changes: it is still a plain\n"
    "Transformer that predicts the next token from the tokens before it.\n"
    "\n"
    "To see whether a new token disturbs a model before any training, we compare the model's\n"
    "predictions on ordinary text before and after the token is added. If the new row of the\n"
    "embedding is far from the others, the model may suddenly give the new token a large share\n"
    "of its probability, and every other prediction becomes less sure. If the row sits near the\n"
    "middle of the existing rows, the predictions hardly move at all.\n"
    "\n"
    "Sorting a list, adding two numbers with carries, or following a chain of small steps are\n"
    "tasks with exact answers: a checker can say at once whether the output is right, and where\n"
    "the first mistake was made. That makes them good places to study how a model learns to\n"
    "notice its own errors and to recover from them, one careful step at a time.\n";

}  // namespace

std::vector<std::vector<std::int32_t>> heldOutWindows(const Tokenizer& tokenizer,
                                                      const std::string& text, int windowLength,
                                                      int maxWindows) {
  if (windowLength < 1)
    throw Error("held-out windows: window length must be at least 1, got " +
                std::to_string(windowLength));
  if (maxWindows < 1)
    throw Error("held-out windows: the number of windows must be at least 1, got " +
                std::to_string(maxWindows));
  const std::vector<std::int32_t> ids = tokenizer.encode(text);
  if (ids.empty()) throw Error("held-out windows: the held-out text encodes to no tokens");
  std::vector<std::vector<std::int32_t>> windows;
  for (std::size_t start = 0; start < ids.size() && static_cast<int>(windows.size()) < maxWindows;
       start += static_cast<std::size_t>(windowLength)) {
    const std::size_t end = std::min(ids.size(), start + static_cast<std::size_t>(windowLength));
    windows.emplace_back(ids.begin() + static_cast<std::ptrdiff_t>(start),
                         ids.begin() + static_cast<std::ptrdiff_t>(end));
  }
  return windows;
}

HeldOutText builtInHeldOutText(const Tokenizer& tokenizer) {
  const std::string full = arithmeticLines() + "\n" + kProse;
  HeldOutText out;
  out.description = "built-in sample text (48 arithmetic lines and three English paragraphs)";
  if (tokenizer.kind() != "char") {
    out.text = full;
    return out;
  }
  // A character tokenizer may have a small alphabet (digits and operators only): keep what it has.
  // The sample is ASCII, so each byte is one character.
  std::string missing;
  for (char c : full) {
    if (tokenizer.tokenId(std::string(1, c))) {
      out.text += c;
    } else if (missing.find(c) == std::string::npos) {
      missing += c;
    }
  }
  if (out.text.empty())
    throw Error("built-in held-out text: the " + tokenizer.kind() +
                " tokenizer's alphabet has none of its characters; give a held-out text file");
  if (!missing.empty())
    out.description += ", keeping only the " + std::to_string(out.text.size()) + " of " +
                       std::to_string(full.size()) +
                       " characters in the character tokenizer's alphabet";
  return out;
}

}  // namespace nmar::core
