// llama.cpp's tokenizer test vectors (made with HF tokenizers): every text must give exactly the
// expected ids. Texts are separated by "\n__ggml_vocab_test__\n"; line i of .out has text i's ids
// (empty for the empty text); no BOS, as with add_special_tokens=False.
//
// The Llama-2 ids come from tokenizers/llama2/tokenizer.model: the tokenizer.json beside it has
// another vocabulary (Mistral-7B's: "\u2581" is 28705 there, 29871 in Llama-2), so it cannot give
// the .out ids. For that file the expected ids below were made with HF tokenizers 0.23.2
// (Tokenizer.fromFile(...).encode(text, add_special_tokens=False)) on the same texts.
#include <gtest/gtest.h>

#include <sstream>

#include "test_tokenizer_util.h"
#include "tokenizer/tokenizer.h"

using namespace nmar::core;
using namespace nmar::test;

namespace {

struct Vector {
  std::string text;
  std::vector<int32_t> ids;
};

std::vector<std::string> readTexts(const std::string& name) {
  const std::string inp = readFile(fixtures() / "tokenizer-vectors" / (name + ".inp"));
  const std::string sep = "\n__ggml_vocab_test__\n";
  std::vector<std::string> texts;
  for (std::size_t pos = 0; pos < inp.size();) {
    const std::size_t next = inp.find(sep, pos);
    if (next == std::string::npos) break;
    texts.push_back(inp.substr(pos, next - pos));
    pos = next + sep.size();
  }
  return texts;
}

std::vector<Vector> readVectors(const std::string& name) {
  std::vector<Vector> v;
  for (auto& t : readTexts(name)) v.push_back({std::move(t), {}});
  std::istringstream lines(readFile(fixtures() / "tokenizer-vectors" / (name + ".out")));
  std::string line;
  std::size_t i = 0;
  for (; std::getline(lines, line); ++i) {
    if (i >= v.size()) {
      ADD_FAILURE() << name << ".out has more lines than texts";
      break;
    }
    std::istringstream ids(line);
    int32_t id = 0;
    while (ids >> id) v[i].ids.push_back(id);
  }
  EXPECT_EQ(i, v.size()) << name << ": texts and id lines differ in number";
  return v;
}

std::string show(const std::vector<int32_t>& ids) {
  std::string s;
  for (int32_t id : ids) s += " " + std::to_string(id);
  return s;
}

int countMatches(const Tokenizer& tok, const std::vector<Vector>& vectors) {
  int matched = 0;
  for (std::size_t i = 0; i < vectors.size(); ++i) {
    const auto ids = tok.encode(vectors[i].text);
    EXPECT_EQ(show(ids), show(vectors[i].ids)) << "text " << i << ": [" << vectors[i].text << "]";
    matched += ids == vectors[i].ids;
  }
  return matched;
}

// HF tokenizers 0.23.2 on tokenizers/llama2/tokenizer.json, one row per text of the .inp file.
const std::vector<std::vector<int32_t>> kLlama2JsonIds = {
    {613, 286, 28705, 28781, 28705, 29039, 3370},
    {18912, 10018, 301},
    {},
    {259},
    {2287},
    {260},
    {28705, 12},
    {28705, 13},
    {28705, 13, 13},
    {28705, 13, 13, 13},
    {28705, 12, 13},
    {22557, 1526},
    {28705, 22557, 1526},
    {22557, 3304},
    {28705, 22557, 3304},
    {28705, 22557, 3304, 28808},
    {22557, 28725, 1526, 28808},
    {28705, 22557, 28725, 1526, 28808},
    {28705, 456, 349, 28705, 243, 162, 169, 156, 28723, 5222},
    {275, 28734, 28781, 28783, 28705, 28787, 17512, 17722, 18099, 4053, 9538},
    {2409, 6986, 929, 2216, 11134, 17260, 2073},
    {28705, 30208, 29847, 30078, 30890, 30460, 31692, 31196, 30845, 30326, 31396,
     30326, 31379, 29847, 31032, 228,   161,   132,   30964, 31032, 31396, 31901},
    {28705, 30012, 325,   8027, 28731, 28705, 243,  162, 155,  185,  29274, 243,   162,
     143,   174,   29096, 325,  27772, 877,   6054, 278, 3078, 6486, 601,   28731, 28705,
     30129, 325,   5041,  877,  27813, 369,   659,  871, 1216, 6029, 28731},
    {22557},
    {28705, 22557},
    {259, 22557},
    {2287, 22557},
    {260, 22557},
    {260, 22557, 13, 2287, 22557},
    {28705, 325},
    {28705, 13, 327},
    {464, 4204},
    {22557, 28725, 337,   28742, 455,   28808, 1602,  460,   368,
     28705, 30707, 1550,  29242, 30023, 29010, 24175, 29487, 29089,
     28740, 28770, 28740, 28781, 28740, 28782, 28740, 29354, 30328},
    {918, 3946, 13915},
    {28705, 28770},
    {28705, 28770, 28770},
    {28705, 28770, 28770, 28770},
    {28705, 28770, 28770, 28770, 28770},
    {28705, 28770, 28770, 28770, 28770, 28770},
    {28705, 28770, 28770, 28770, 28770, 28770, 28770},
    {28705, 28770, 28770, 28770, 28770, 28770, 28770, 28770},
    {28705, 28770, 28770, 28770, 28770, 28770, 28770, 28770, 28770},
    {28705, 28770, 28770, 28770, 28770, 28770, 28770, 28770, 28770, 28770},
    {334, 30389, 28708, 11004, 29539, 28707},
    {28705, 2312, 2178},
    {28705, 13,    28705, 13,    13,    28705, 13,    13,    13,    28705, 12,    28705, 12,
     12,    28705, 12,    13,    259,   13,    2287,  13,    260,   13,    355,   13,    30012,
     325,   8027,  28731, 28705, 243,   162,   155,   185,   29274, 243,   162,   143,   174,
     29096, 325,   27772, 877,   6054,  278,   3078,  6486,  601,   28731, 28705, 30129, 28705,
     243,   162,   169,   156,   243,   162,   169,   156,   28705, 28770, 28705, 28770, 28770,
     28705, 28770, 28770, 28770, 28705, 28770, 28770, 28770, 28770, 28705, 28770, 28770, 28770,
     28770, 28770, 28705, 28770, 28770, 28770, 28770, 28770, 28770, 28705, 28770, 28770, 28770,
     28770, 28770, 28770, 28770, 28705, 28770, 28770, 28770, 28770, 28770, 28770, 28770, 28770,
     28705, 28770, 28723, 28770, 28705, 28770, 568,   28770, 28705, 28770, 1101,  28770, 28705,
     30208, 29847, 30078, 30890, 30460, 31692, 31196, 30845, 30326, 31396, 30326, 31379, 29847,
     31032, 30707, 1550,  29242, 30023, 29010, 24175, 29487, 29089, 28740, 28770, 28740, 28781,
     28740, 28782, 28740, 29354, 30328, 28705, 18697, 965,   14203, 2409,  6986,  929,   2216,
     11134, 17260, 2073,  23713, 25135, 13940, 13940, 13940, 28832, 2539,  2539,  3406,  568,
     19010, 3946,  8908,  8908,  8908,  315,   28742, 333,   750,   464,   28707, 738,   400,
     28742, 28713, 736,   28725, 464,   896,   368,   1864,  28804, 464,   28755, 459,   1864,
     315,   28742, 584,   1038,  378,   28725, 464,   28757, 368,   737,   741,   9510,  28804,
     816,   28742, 28790, 28706, 264,   28742, 28714, 28758},
};

}  // namespace

TEST(TokenizerVectors, Gpt2MatchesEveryLine) {
  const auto vectors = readVectors("ggml-vocab-gpt-2.gguf");
  ASSERT_EQ(vectors.size(), 46u);
  const auto tok = loadTokenizer(fixtures() / "tokenizers" / "gpt2");
  EXPECT_EQ(tok->kind(), "byte_level_bpe");
  const int matched = countMatches(*tok, vectors);
  std::cout << "[ gpt2 ] " << matched << "/" << vectors.size() << " vectors match\n";
  EXPECT_EQ(matched, 46);
}

TEST(TokenizerVectors, LlamaSpmMatchesEveryLine) {
  const auto vectors = readVectors("ggml-vocab-llama-spm.gguf");
  ASSERT_EQ(vectors.size(), 46u);
  const auto tok = loadTokenizer(fixtures() / "tokenizers" / "llama2" / "tokenizer.model");
  EXPECT_EQ(tok->kind(), "sentencepiece_bpe");
  EXPECT_EQ(tok->vocabSize(), 32000);
  const int matched = countMatches(*tok, vectors);
  std::cout << "[ llama-spm ] " << matched << "/" << vectors.size() << " vectors match\n";
  EXPECT_EQ(matched, 46);
}

TEST(TokenizerVectors, LlamaTokenizerJsonMatchesHfOnEveryText) {
  const auto texts = readTexts("ggml-vocab-llama-spm.gguf");
  ASSERT_EQ(texts.size(), kLlama2JsonIds.size());
  std::vector<Vector> vectors;
  for (std::size_t i = 0; i < texts.size(); ++i) vectors.push_back({texts[i], kLlama2JsonIds[i]});
  const auto tok = loadTokenizer(fixtures() / "tokenizers" / "llama2");  // picks tokenizer.json
  EXPECT_EQ(tok->kind(), "sentencepiece_bpe");
  EXPECT_EQ(tok->tokenId("\u2581"), 28705);
  const int matched = countMatches(*tok, vectors);
  std::cout << "[ llama2/tokenizer.json ] " << matched << "/" << vectors.size() << " texts match\n";
  EXPECT_EQ(matched, 46);
}

TEST(TokenizerVectors, DecodeGivesBackEveryText) {
  const auto gpt2 = loadTokenizer(fixtures() / "tokenizers" / "gpt2");
  for (const Vector& v : readVectors("ggml-vocab-gpt-2.gguf"))
    EXPECT_EQ(gpt2->decode(v.ids), v.text);
  const auto llama = loadTokenizer(fixtures() / "tokenizers" / "llama2" / "tokenizer.model");
  for (const Vector& v : readVectors("ggml-vocab-llama-spm.gguf"))
    EXPECT_EQ(llama->decode(v.ids), v.text);
}
