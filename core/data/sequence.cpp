#include "data/sequence.h"

#include "tokenizer/tokenizer.h"
#include "util/error.h"

namespace nmar::core {

TrainingSequence encodeExample(const Tokenizer& tok, const Example& ex,
                               std::optional<std::int64_t> eosId) {
  const std::string where = ex.source.empty() ? "example" : ex.source;
  const auto encode = [&](const std::string& text, const char* field) {
    try {
      return tok.encode(text);
    } catch (const Error& e) {
      throw Error(where + ": field '" + field + "': " + e.what());
    }
  };
  TrainingSequence seq;
  for (std::int32_t id : tok.prefixIds()) seq.ids.push_back(id);
  for (std::int32_t id : encode(ex.prompt, "prompt")) seq.ids.push_back(id);
  seq.promptLength = static_cast<int>(seq.ids.size());
  for (std::int32_t id : encode(ex.completion, "completion")) seq.ids.push_back(id);
  if (eosId) seq.ids.push_back(*eosId);
  return seq;
}

}  // namespace nmar::core
