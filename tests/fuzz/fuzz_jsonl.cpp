// libFuzzer target: a JSONL dataset in the prompt/completion convention ([data] jsonl = FILE).
// Every example that loads must carry a verifier whose stored JSON loads again and that judges
// outputs without crashing; everything else must be a core::Error naming the file, line and field.
#include "data/jsonl_dataset.h"
#include "data/verifier.h"
#include "fuzz_support.h"
#include "util/error.h"

using namespace nmar;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  std::vector<core::Example> examples;
  try {
    examples = core::parseJsonlDataset(text, "data.jsonl");
  } catch (const core::Error&) {
    return 0;
  }
  fuzz::require(!examples.empty(), "a dataset that loads has examples");
  for (const core::Example& ex : examples) {
    if (ex.verifier.is_null()) continue;
    core::Verifier v;
    try {
      v = core::Verifier::fromJson(ex.verifier, ex.source, "answer");
    } catch (const core::Error& e) {
      fuzz::require(false, std::string("stored verifier rejected: ") + e.what());
    }
    try {
      (void)v.verify(ex, ex.expected());
      (void)v.verify(ex, ex.prompt);
    } catch (const core::Error&) {
      // an answer the verifier cannot use (not a number, a regex that does not compile): named
    }
  }
  return 0;
}
