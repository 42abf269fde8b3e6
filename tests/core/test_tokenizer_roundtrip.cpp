// decode(encode(x)) == x over the corpora (Moby-Dick, State of the Union addresses, King James
// Bible) for every fixture tokenizer. The Moby-Dick token counts equal those of HF tokenizers
// 0.23.2.
#include <gtest/gtest.h>

#include <algorithm>

#include "test_tokenizer_util.h"
#include "tokenizer/tokenizer.h"

using namespace nmar::core;
using namespace nmar::test;
namespace fs = std::filesystem;

namespace {

struct Case {
  const char* name;
  const char* path;     // under fixtures()/tokenizers
  std::size_t mobyIds;  // ids of the 135 chapters concatenated in file-name order (HF's count)
};

std::vector<fs::path> sortedFiles(const fs::path& dir) {
  std::vector<fs::path> files;
  for (const auto& e : fs::directory_iterator(dir))
    if (e.path().extension() == ".txt") files.push_back(e.path());
  std::sort(files.begin(), files.end());
  return files;
}

class Corpora : public ::testing::TestWithParam<Case> {
 protected:
  void SetUp() override { m_tok = loadTokenizer(fixtures() / "tokenizers" / GetParam().path); }
  void expectRoundTrip(const std::string& text, const std::string& what) {
    const std::string back = m_tok->decode(m_tok->encode(text));
    if (back == text) return;
    const auto diff = std::mismatch(text.begin(), text.end(), back.begin(), back.end());
    const auto at = static_cast<std::size_t>(diff.first - text.begin());
    ADD_FAILURE() << GetParam().name << ": " << what << " differs at byte " << at << ": ["
                  << text.substr(at > 20 ? at - 20 : 0, 60) << "] vs ["
                  << back.substr(at > 20 ? at - 20 : 0, 60) << "]";
  }
  std::unique_ptr<Tokenizer> m_tok;
};

}  // namespace

TEST_P(Corpora, MobyDickEveryFile) {
  std::string chapters;
  const auto files = sortedFiles(fixtures() / "corpora" / "moby-dick");
  ASSERT_EQ(files.size(), 140u);  // 135 chapters, the whole book, etymology, extracts, ...
  for (const fs::path& f : files) {
    const std::string text = readFile(f);
    expectRoundTrip(text, f.filename().string());
    if (f.filename().string().rfind("chapter_", 0) == 0) chapters += text;
  }
  EXPECT_EQ(chapters.size(), 1192750u);
  EXPECT_EQ(m_tok->encode(chapters).size(), GetParam().mobyIds);
}

TEST_P(Corpora, StateOfTheUnionEveryEighthAddress) {
  const auto files = sortedFiles(fixtures() / "corpora" / "sotu");
  ASSERT_GT(files.size(), 200u);
  for (std::size_t i = 0; i < files.size(); i += 8)
    expectRoundTrip(readFile(files[i]), files[i].filename().string());
}

TEST_P(Corpora, KingJamesBibleWhole) {
  const std::string text = readFile(fixtures() / "corpora" / "kjv.txt");
  ASSERT_GT(text.size(), 4000000u);
  expectRoundTrip(text, "kjv.txt");
}

INSTANTIATE_TEST_SUITE_P(Tokenizers, Corpora,
                         ::testing::Values(Case{"gpt2", "gpt2", 287096},
                                           Case{"qwen", "qwen", 280843},
                                           Case{"llama2_model", "llama2/tokenizer.model", 320312},
                                           Case{"llama2_json", "llama2/tokenizer.json", 311624}),
                         [](const auto& info) { return std::string(info.param.name); });
