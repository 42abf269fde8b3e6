// Prose corpora as prompt/completion pairs (issue 9, experiment 8): sentence splitting, the pairs
// and their seeded draw, and the errors.
#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <set>

#include "data/corpus_phrases.h"
#include "data/jsonl_dataset.h"
#include "test_data_support.h"

namespace nmar::core {
namespace {

namespace fs = std::filesystem;

class CorpusDir : public ::testing::Test {
 protected:
  void SetUp() override {
    m_dir = fs::temp_directory_path() / ("nmar-corpus-" + std::to_string(::getpid()));
    fs::remove_all(m_dir);
    fs::create_directories(m_dir);
  }
  void TearDown() override { fs::remove_all(m_dir); }
  fs::path write(const std::string& name, const std::string& text) {
    const fs::path p = m_dir / name;
    std::ofstream(p, std::ios::binary) << text;
    return p;
  }
  fs::path m_dir;
};

TEST(CorpusSentences, SplitsAtStopsAndBlankLinesAndDropsVerseNumbers) {
  const std::string kjv =
      "Genesis 1\n\n  1 In the beginning God created the heaven and the earth.\n"
      "  2 And the earth was without form, and void; and darkness was upon the face of\n"
      "the deep. And the Spirit of God moved.\n";
  const std::vector<std::string> s = corpusSentences(kjv);
  ASSERT_EQ(s.size(), 4u);
  EXPECT_EQ(s[0], "Genesis 1");  // a heading: the digits are not a line's first word
  EXPECT_EQ(s[1], "In the beginning God created the heaven and the earth.");
  EXPECT_EQ(s[2], "And the earth was without form, and void; and darkness was upon the face of "
                  "the deep.");
  EXPECT_EQ(s[3], "And the Spirit of God moved.");
}

TEST(CorpusSentences, ClosingQuotesAndOtherStops) {
  const std::vector<std::string> s =
      corpusSentences("He said, \"Go away!\" She asked why? (It was late.) End\r\n");
  ASSERT_EQ(s.size(), 4u);
  EXPECT_EQ(s[0], "He said, \"Go away!\"");
  EXPECT_EQ(s[1], "She asked why?");
  EXPECT_EQ(s[2], "(It was late.)");
  EXPECT_EQ(s[3], "End");  // the text's end closes the last sentence
  EXPECT_TRUE(corpusSentences(" \n\n\t\n").empty());
}

TEST_F(CorpusDir, PairsInCorpusOrder) {
  const fs::path f = write("a.txt",
                           "one two three four five six seven eight nine ten eleven twelve.\n"
                           "Too short to use.\nAlpha beta gamma delta epsilon zeta eta.\n");
  CorpusPhraseOptions o;
  o.promptWords = 3;
  o.completionWords = 4;
  o.minCompletionWords = 3;
  const std::vector<nlohmann::json> pairs = corpusPhrasePairs({f}, o);
  ASSERT_EQ(pairs.size(), 2u);
  EXPECT_EQ(pairs[0]["prompt"], "one two three");
  EXPECT_EQ(pairs[0]["completion"], "four five six seven");  // at most 4 words
  EXPECT_EQ(pairs[0]["source"], "a.txt:1");
  EXPECT_EQ(pairs[1]["prompt"], "Alpha beta gamma");
  EXPECT_EQ(pairs[1]["completion"], "delta epsilon zeta eta.");  // 4 words, the stop kept
  EXPECT_EQ(pairs[1]["source"], "a.txt:3");

  o.completionSpace = true;
  EXPECT_EQ(corpusPhrasePairs({f}, o)[0]["completion"], " four five six seven");
}

TEST_F(CorpusDir, FolderReadsTxtFilesInNameOrderAndAsciiFilter) {
  write("b.txt", "Second file has enough words here.\n");
  write("a.txt", "First file has enough words here.\nCaf\xc3\xa9 has a non ASCII letter.\n");
  write("notes.md", "Ignored because it is not a text file at all.\n");
  CorpusPhraseOptions o;
  o.promptWords = 2;
  o.completionWords = 3;
  std::vector<nlohmann::json> pairs = corpusPhrasePairs({m_dir}, o);
  ASSERT_EQ(pairs.size(), 2u);
  EXPECT_EQ(pairs[0]["prompt"], "First file");
  EXPECT_EQ(pairs[1]["prompt"], "Second file");
  o.asciiOnly = false;
  pairs = corpusPhrasePairs({m_dir}, o);
  ASSERT_EQ(pairs.size(), 3u);
  EXPECT_EQ(pairs[1]["prompt"], "Caf\xc3\xa9 has");
}

TEST_F(CorpusDir, SeededDrawIsDeterministicAndLoadsAsADataset) {
  std::string text;
  for (int i = 0; i < 50; ++i) text += "Sentence number " + std::to_string(i) + " has six words.\n";
  const fs::path f = write("c.txt", text);
  CorpusPhraseOptions o;
  o.promptWords = 3;
  o.count = 10;
  o.seed = 7;
  const std::vector<nlohmann::json> a = corpusPhrasePairs({f}, o), b = corpusPhrasePairs({f}, o);
  ASSERT_EQ(a.size(), 10u);
  EXPECT_EQ(a, b);
  std::set<std::string> prompts;
  for (const auto& p : a) prompts.insert(p["prompt"].get<std::string>());
  EXPECT_EQ(prompts.size(), 10u);  // without replacement
  o.seed = 8;
  EXPECT_NE(corpusPhrasePairs({f}, o), a);

  std::string jsonl;
  for (const auto& p : a) jsonl += p.dump() + "\n";
  const std::vector<Example> ex = parseJsonlDataset(jsonl, "c.jsonl");
  ASSERT_EQ(ex.size(), 10u);
  EXPECT_EQ(ex[0].prompt, a[0]["prompt"].get<std::string>());
  EXPECT_EQ(ex[0].completion, "has six words.");
}

TEST_F(CorpusDir, Errors) {
  CorpusPhraseOptions o;
  EXPECT_DATA_ERROR(corpusPhrasePairs({m_dir / "missing.txt"}, o),
                    (m_dir / "missing.txt").string() + ": cannot open");
  fs::create_directories(m_dir / "empty");
  EXPECT_DATA_ERROR(corpusPhrasePairs({m_dir / "empty"}, o), "empty: a folder without .txt files");
  const fs::path f = write("d.txt", "Only one sentence here gives a pair at all.\n");
  o.count = 2;
  EXPECT_DATA_ERROR(corpusPhrasePairs({f}, o),
                    "d.txt: only 1 sentences give pairs, --count asks for 2");
  o = {};
  o.promptWords = 0;
  EXPECT_DATA_ERROR(corpusPhrasePairs({f}, o), "--prompt-words: expected 1..1000, got 0");
  o = {};
  o.minCompletionWords = 9;
  EXPECT_DATA_ERROR(corpusPhrasePairs({f}, o),
                    "--min-completion-words: expected 1..--completion-words (6), got 9");
}

}  // namespace
}  // namespace nmar::core
