// Bad input is an Error whose message names the file, the field or the position.
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "test_tokenizer_util.h"
#include "tokenizer/char_tokenizer.h"
#include "tokenizer/tokenizer.h"

using namespace nmar::core;
using namespace nmar::test;
namespace fs = std::filesystem;

namespace {

class TokenizerErrors : public ::testing::Test {
 protected:
  TokenizerErrors() : m_dir("tok-errors") {}

  // Writes @p text as tokenizer.json and returns the error of loading the folder.
  std::string loadJson(const std::string& text) {
    writeFile(m_dir.path / "tokenizer.json", text);
    return errorOf([&] { loadTokenizer(m_dir.path); });
  }
  // A byte-level tokenizer.json with the given model (vocab, merges).
  static std::string byteLevel(const nlohmann::json& model) {
    nlohmann::json root = {{"pre_tokenizer", {{"type", "ByteLevel"}}}, {"model", model}};
    root["model"]["type"] = "BPE";
    return root.dump();
  }
  TempDir m_dir;
};

#define EXPECT_HAS(message, part)                    \
  EXPECT_NE((message).find(part), std::string::npos) \
      << "missing \"" << (part) << "\" in: " << (message)

}  // namespace

TEST_F(TokenizerErrors, MissingPathAndFolderWithoutTokenizer) {
  const std::string e = errorOf([&] { loadTokenizer(m_dir.path / "nope"); });
  EXPECT_HAS(e, "nope");
  EXPECT_HAS(e, "no such file");
  const std::string empty = errorOf([&] { loadTokenizer(m_dir.path); });
  EXPECT_HAS(empty, m_dir.path.string());
  EXPECT_HAS(empty, "no tokenizer files");
  writeFile(m_dir.path / "vocab.json", "{\"a\": 0}");
  EXPECT_HAS(errorOf([&] { loadTokenizer(m_dir.path); }), "vocab.json has no merges.txt");
  writeFile(m_dir.path / "weights.bin", "x");
  EXPECT_HAS(errorOf([&] { loadTokenizer(m_dir.path / "weights.bin"); }), "not a tokenizer file");
}

TEST_F(TokenizerErrors, MalformedJsonNamesFileLineAndColumn) {
  const std::string e =
      loadJson("{\n  \"model\": {\n    \"type\": \"BPE\",\n    \"vocab\": {\"a\": 0,,}\n");
  EXPECT_HAS(e, "tokenizer.json");
  EXPECT_HAS(e, "invalid JSON at line 4, column 22");
}

TEST_F(TokenizerErrors, MissingFields) {
  EXPECT_HAS(loadJson("{\"version\": \"1.0\"}"), "field 'model' is missing");
  const std::string noVocab = loadJson(byteLevel({{"merges", nlohmann::json::array()}}));
  EXPECT_HAS(noVocab, "tokenizer.json");
  EXPECT_HAS(noVocab, "field 'model.vocab' is missing");
  EXPECT_HAS(loadJson(byteLevel({{"vocab", {{"a", 0}}}, {"merges", {{"a", "b"}}}})),
             "field 'model.merges' is an object, expected an array");
  EXPECT_HAS(loadJson(byteLevel({{"vocab", {{"a", "zero"}}}, {"merges", nlohmann::json::array()}})),
             "field 'model.vocab[\"a\"]' is a string, expected an integer id");
}

TEST_F(TokenizerErrors, BadMerges) {
  const nlohmann::json vocab = {{"a", 0}, {"b", 1}, {"ab", 2}};
  const std::string unknown = loadJson(byteLevel({{"vocab", vocab}, {"merges", {"a b", "a c"}}}));
  EXPECT_HAS(unknown, "tokenizer.json: model.merges[1]");
  EXPECT_HAS(unknown, "token 'c' is not in the vocabulary");
  EXPECT_HAS(loadJson(byteLevel({{"vocab", vocab}, {"merges", {"a b c"}}})),
             "model.merges[0] is \"a b c\"; expected two tokens separated by one space");
  EXPECT_HAS(
      loadJson(byteLevel({{"vocab", {{"a", 0}, {"b", 1}}},
                          {"merges", nlohmann::json::array({nlohmann::json::array({"a", "b"})})}})),
      "the merged token 'ab' is not in the vocabulary");
  EXPECT_HAS(loadJson(byteLevel({{"vocab", vocab}, {"merges", {42}}})),
             "model.merges[0] is a number");
  EXPECT_HAS(
      loadJson(byteLevel({{"vocab", {{"a", 0}, {"b", 0}}}, {"merges", nlohmann::json::array()}})),
      "id 0 is used by both");
  // A byte-level vocabulary must cover every byte (or have an unk token).
  EXPECT_HAS(loadJson(byteLevel({{"vocab", vocab}, {"merges", {"a b"}}})),
             "has no token for byte 0");

  // The GPT-2 layout: the message names merges.txt and the line.
  fs::remove(m_dir.path / "tokenizer.json");
  writeFile(m_dir.path / "vocab.json", vocab.dump());
  writeFile(m_dir.path / "merges.txt", "#version: 0.2\na b\nab\n");
  const std::string legacy = errorOf([&] { loadTokenizer(m_dir.path); });
  EXPECT_HAS(legacy, "merges.txt: line 3");
  writeFile(m_dir.path / "merges.txt", "#version: 0.2\na x\n");
  EXPECT_HAS(errorOf([&] { loadTokenizer(m_dir.path); }),
             "merges.txt: line 2 (\"a x\"): token 'x'");
}

TEST_F(TokenizerErrors, UnsupportedTypesAndPatterns) {
  EXPECT_HAS(loadJson("{\"model\": {\"type\": \"Unigram\", \"vocab\": []}}"),
             "field 'model.type' is 'Unigram', which is not supported");
  nlohmann::json root = {
      {"pre_tokenizer", {{"type", "BertPreTokenizer"}}},
      {"model", {{"type", "BPE"}, {"vocab", {{"a", 0}}}, {"merges", nlohmann::json::array()}}}};
  EXPECT_HAS(loadJson(root.dump()), "pre_tokenizer");
  root["pre_tokenizer"] = {{"type", "Sequence"},
                           {"pretokenizers",
                            {{{"type", "Split"}, {"pattern", {{"Regex", "(\\p{L}"}}}},
                             {{"type", "ByteLevel"}, {"use_regex", false}}}}};
  const std::string regex = loadJson(root.dump());
  EXPECT_HAS(regex, "pre_tokenizer.pretokenizers[0]");
  EXPECT_HAS(regex, "invalid regular expression");
  root["pre_tokenizer"] = {{"type", "ByteLevel"}};
  root["normalizer"] = {{"type", "Precompiled"}};
  EXPECT_HAS(loadJson(root.dump()), "field 'normalizer.type' is 'Precompiled'");
}

TEST_F(TokenizerErrors, UnexpectedJsonTypesDeepInsideNameTheFile) {
  nlohmann::json root = {
      {"normalizer", {{"type", "Replace"}, {"pattern", {{"String", " "}}}, {"content", "_"}}},
      {"model", {{"type", "BPE"}, {"vocab", {{"a", 0}}}}}};
  root["post_processor"] = {{"type", "TemplateProcessing"},
                            {"single", {{{"SpecialToken", {{"id", 5}, {"type_id", 0}}}}}}};
  const std::string e = loadJson(root.dump());
  EXPECT_HAS(e, "tokenizer.json: unexpected content");
  EXPECT_HAS(e, "type must be string");
}

TEST_F(TokenizerErrors, WordLevelThatIsNotCharacterLevel) {
  const nlohmann::json root = {
      {"pre_tokenizer",
       {{"type", "Split"}, {"pattern", {{"Regex", "[\\s\\S]"}}}, {"behavior", "Isolated"}}},
      {"model", {{"type", "WordLevel"}, {"vocab", {{"a", 0}, {"bc", 1}}}}}};
  EXPECT_HAS(loadJson(root.dump()), "field 'model.vocab[\"bc\"]' is not a single character");
  nlohmann::json words = root;
  words["pre_tokenizer"] = {{"type", "WhitespaceSplit"}};
  words["model"]["vocab"] = {{"a", 0}};
  EXPECT_HAS(loadJson(words.dump()), "field 'pre_tokenizer' does not split every character");
}

TEST_F(TokenizerErrors, TokenizerConfigProblemsNameTheFileAndField) {
  CharTokenizer("ab").save(m_dir.path);
  writeFile(m_dir.path / "tokenizer_config.json", "{\"bos_token\": \"<s>\"}");
  const std::string e = errorOf([&] { loadTokenizer(m_dir.path); });
  EXPECT_HAS(
      e, "tokenizer_config.json: field 'bos_token' names '<s>', which is not in the vocabulary");
  writeFile(m_dir.path / "tokenizer_config.json", "{\n\"bos_token\": }");
  EXPECT_HAS(errorOf([&] { loadTokenizer(m_dir.path); }),
             "tokenizer_config.json': invalid JSON at line 2");
}

TEST_F(TokenizerErrors, BrokenSentencePieceModel) {
  const std::string model = readFile(fixtures() / "tokenizers" / "llama2" / "tokenizer.model");
  writeFile(m_dir.path / "tokenizer.model", model.substr(0, 1000));
  const std::string e = errorOf([&] { loadTokenizer(m_dir.path / "tokenizer.model"); });
  EXPECT_HAS(e, "tokenizer.model: not a valid SentencePiece model");
  writeFile(m_dir.path / "tokenizer.model", "");
  EXPECT_HAS(errorOf([&] { loadTokenizer(m_dir.path); }), "no pieces");
}

TEST_F(TokenizerErrors, BadTextAndIds) {
  const auto gpt2 = loadTokenizer(fixtures() / "tokenizers" / "gpt2");
  EXPECT_HAS(errorOf([&] { gpt2->encode("ok \xC3("); }), "not valid UTF-8 at byte offset 3");
  EXPECT_HAS(errorOf([&] {
               gpt2->decode({15496, 99999});
             }),
             "token 1 has id 99999, which is not in the vocabulary (ids 0 .. 50256)");
  EXPECT_HAS(errorOf([&] { gpt2->decode({-1}); }), "id -1");
  EXPECT_HAS(errorOf([&] { gpt2->tokenText(50257); }), "id 50257 is not in the vocabulary");
  EXPECT_HAS(errorOf([&] { gpt2->addSpecialToken(""); }), "empty");
  EXPECT_HAS(errorOf([&] { gpt2->addSpecialToken("<|\xFF|>"); }), "not valid UTF-8");
  CharTokenizer chars("0123456789");
  EXPECT_HAS(errorOf([&] { chars.encode("12 3"); }), "' ' (U+0020) at byte offset 2");
}
