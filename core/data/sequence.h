#pragma once
/** @file Turning an example into the token ids of a training sequence (spec §1, §4). */
#include <cstdint>
#include <optional>
#include <vector>

#include "data/example.h"

namespace nmar::core {

class Tokenizer;

/** One training sequence: the prompt, then trace tokens (regular and UNDO), then EOS if any. */
struct TrainingSequence {
  std::vector<std::int64_t>
      ids;  ///< prompt ids then trace ids (regular tokens and UNDOs), then EOS if any
  int promptLength = 0;
  int events = 0;           ///< backtrack events injected
  int deviationTokens = 0;  ///< tokens popped by UNDOs

  /** Field-wise equality. */
  bool operator==(const TrainingSequence& o) const {
    return ids == o.ids && promptLength == o.promptLength && events == o.events &&
           deviationTokens == o.deviationTokens;
  }
  /** Field-wise inequality. */
  bool operator!=(const TrainingSequence& o) const { return !(*this == o); }
};

/**
 * The clean sequence of @p ex: the tokenizer's prefix ids (its BOS, as encode(text, true) would
 * add) and the prompt's ids form the prompt; the completion's ids follow, then @p eosId when set.
 * Prompt and completion are encoded separately (no token spans the boundary). Throws Error
 * "<source>: field 'completion': ..." (source "example" for generated ones) when the tokenizer
 * cannot encode a text, e.g. a character outside its alphabet.
 */
TrainingSequence encodeExample(const Tokenizer& tok, const Example& ex,
                               std::optional<std::int64_t> eosId);

}  // namespace nmar::core
