// libFuzzer target: the tokenizer files of someone else's checkpoint. An input that starts with
// '{' (after whitespace) is a tokenizer.json; anything else a SentencePiece tokenizer.model
// (protobuf). A tokenizer that loads must encode and decode text without crashing, and only to
// ids inside its vocabulary; everything else must be a core::Error naming the file.
#include <algorithm>

#include "fuzz_support.h"
#include "tokenizer/tokenizer.h"
#include "util/error.h"

using namespace nmar;

namespace {

const char* const kTexts[] = {
    "Hello world! 348+275=623",
    "  leading spaces, tabs\tand\nnewlines\r\n",
    "caf\xc3\xa9 \xe4\xb8\xad\xe6\x96\x87 \xf0\x9f\x98\x80 <|undo|><|endoftext|></s><s>",
    "\xe2\x96\x81\xc4\xa0 <0x0A> [UNK] <unk>",
};

void exercise(const core::Tokenizer& tok) {
  const std::int32_t vocab = tok.vocabSize();
  for (const char* text : kTexts) {
    for (bool special : {false, true}) {
      std::vector<std::int32_t> ids;
      try {
        ids = tok.encode(text, special);
      } catch (const core::Error&) {
        continue;  // a character the vocabulary cannot express
      }
      for (std::int32_t id : ids) fuzz::require(id >= 0 && id < vocab, "encoded id in vocab");
      (void)tok.decode(ids, special);
    }
  }
  // Every id decodes or is a named error (a hole in the vocabulary), alone and all together.
  std::vector<std::int32_t> all;
  for (std::int32_t id = 0; id < std::min(vocab, 512); ++id) {
    all.push_back(id);
    try {
      (void)tok.tokenText(id);
    } catch (const core::Error&) {
    }
  }
  for (bool skip : {false, true}) {
    try {
      (void)tok.decode(all, skip);
    } catch (const core::Error&) {
    }
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::filesystem::path dir = fuzz::scratchDir() / "checkpoint";
  std::error_code ec;
  std::filesystem::remove_all(dir, ec);
  std::filesystem::create_directories(dir);
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  const std::size_t first = text.find_first_not_of(" \t\r\n");
  const bool json = first != std::string_view::npos && text[first] == '{';
  fuzz::writeBytes(dir / (json ? "tokenizer.json" : "tokenizer.model"), data, size);
  std::unique_ptr<core::Tokenizer> tok;
  try {
    tok = core::loadTokenizer(dir);
  } catch (const core::Error&) {
    return 0;
  }
  exercise(*tok);
  return 0;
}
