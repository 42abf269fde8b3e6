// JSONL datasets (good files, every kind of malformed line with FILE:LINE), example sources
// (determinism, epochs, state()/restore() continuing exactly) and makeExampleSource configs.
#include <gtest/gtest.h>

#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <set>

#include "data/example_source.h"
#include "data/jsonl_dataset.h"
#include "data/task.h"
#include "test_data_support.h"

namespace fs = std::filesystem;
using namespace nmar::core;
using nlohmann::json;

namespace {

class DataSource : public ::testing::Test {
 protected:
  void SetUp() override {
    m_dir = fs::temp_directory_path() / ("nmar-data-" + std::to_string(::getpid()));
    fs::remove_all(m_dir);
    fs::create_directories(m_dir);
  }
  void TearDown() override { fs::remove_all(m_dir); }
  std::string write(const std::string& name, const std::string& text) const {
    const fs::path p = m_dir / name;
    std::ofstream(p, std::ios::binary) << text;
    return p.string();
  }
  fs::path m_dir;
};

std::vector<Example> take(ExampleSource& s, int n) {
  std::vector<Example> out;
  for (int i = 0; i < n; ++i) out.push_back(s.next());
  return out;
}

std::vector<Example> numbered(int n) {
  std::vector<Example> out;
  for (int i = 0; i < n; ++i) {
    Example e;
    e.task = "jsonl";
    e.prompt = "q" + std::to_string(i);
    e.completion = std::to_string(i);
    out.push_back(e);
  }
  return out;
}

}  // namespace

TEST_F(DataSource, JsonlGoodFile) {
  const std::string file = write(
      "good.jsonl",
      "{\"prompt\": \"2+2=\", \"completion\": \"4\"}\n"
      "\n"
      "   \r\n"
      "{\"prompt\": \"pi?\", \"completion\": \"3.14159\", \"answer\": {\"type\": \"numeric\", "
      "\"value\": 3.14, \"tolerance\": 0.01}, \"id\": 17}\r\n"
      "{\"prompt\": \"unit?\", \"completion\": \"12 cm\", \"answer\": {\"type\": \"regex\", "
      "\"value\": \"[0-9]+ cm\"}, \"difficulty\": 2}\n"
      "{\"prompt\": \"capital?\", \"completion\": \"It is Paris.\", \"answer\": \"Paris\"}");
  const std::vector<Example> ex = loadJsonlDataset(file);
  ASSERT_EQ(ex.size(), 4u);
  EXPECT_EQ(ex[0].task, "jsonl");
  EXPECT_EQ(ex[0].prompt, "2+2=");
  EXPECT_EQ(ex[0].completion, "4");
  EXPECT_EQ(ex[0].answer, "");
  EXPECT_TRUE(ex[0].verifier.is_null());
  EXPECT_EQ(ex[0].source, file + ":1");
  EXPECT_EQ(ex[1].source, file + ":4");
  EXPECT_EQ(ex[1].answer, "3.14");
  EXPECT_EQ(ex[1].verifier["type"], "numeric");
  EXPECT_EQ(ex[2].difficulty, 2);
  EXPECT_EQ(ex[3].answer, "Paris");

  EXPECT_TRUE(verifyExample(ex[0], "4").correct);
  EXPECT_FALSE(verifyExample(ex[0], "5").correct);
  EXPECT_TRUE(verifyExample(ex[1], "3.145").correct);
  EXPECT_FALSE(verifyExample(ex[1], "3.2").correct);
  EXPECT_TRUE(verifyExample(ex[2], "7 cm").correct);
  EXPECT_FALSE(verifyExample(ex[2], "7 mm").correct);
  EXPECT_TRUE(verifyExample(ex[3], "Paris").correct);
  EXPECT_EQ(verifyExample(ex[3], "It is Paris.").detail, "expected Paris, got It is Paris.");
}

TEST_F(DataSource, JsonlMalformedLinesNameFileLineAndField) {
  const std::string good = "{\"prompt\": \"a\", \"completion\": \"b\"}\n";
  struct Case {
    std::string line;
    std::string expected;
  };
  const std::vector<Case> cases{
      {"{\"prompt\": \"a\", \"completion\": }", ":2: invalid JSON at column"},
      {"[1, 2]", ":2: expected a JSON object {\"prompt\": ..., \"completion\": ...}, got an array"},
      {"{\"completion\": \"b\"}", ":2: field 'prompt' is missing (expected a string)"},
      {"{\"prompt\": \"a\"}", ":2: field 'completion' is missing (expected a string)"},
      {"{\"prompt\": 5, \"completion\": \"b\"}",
       ":2: field 'prompt': expected a string, got an integer"},
      {"{\"prompt\": \"a\", \"completion\": [\"b\"]}",
       ":2: field 'completion': expected a string, got an array"},
      {"{\"prompt\": \"a\", \"completion\": \"b\", \"answer\": {\"type\": \"regex\", \"value\": "
       "\"(\"}}",
       ":2: field 'answer.value': invalid regex /(/"},
      {"{\"prompt\": \"a\", \"completion\": \"b\", \"answer\": 7}",
       ":2: field 'answer': expected a string or an object"},
      {"{\"prompt\": \"a\", \"completion\": \"b\", \"answer\": {\"type\": \"numeric\", "
       "\"tolerance\": \"x\"}}",
       ":2: field 'answer.tolerance': expected a number"},
      {"{\"prompt\": \"a\", \"completion\": \"b\", \"difficulty\": -1}",
       ":2: field 'difficulty': expected an integer in [0, 1000000], got -1"},
      {"{\"prompt\": \"\xff\", \"completion\": \"b\"}", ":2: invalid UTF-8 at column 13"},
  };
  for (std::size_t i = 0; i < cases.size(); ++i) {
    const std::string file =
        write("bad" + std::to_string(i) + ".jsonl", good + cases[i].line + "\n" + good);
    EXPECT_DATA_ERROR(loadJsonlDataset(file), file + cases[i].expected);
  }
  const std::string empty = write("empty.jsonl", "");
  EXPECT_DATA_ERROR(loadJsonlDataset(empty),
                    empty + ": no examples (the file is empty or holds only blank lines)");
  const std::string blank = write("blank.jsonl", "\n  \n\r\n");
  EXPECT_DATA_ERROR(loadJsonlDataset(blank), blank + ": no examples");
  const std::string missing = (m_dir / "absent.jsonl").string();
  EXPECT_DATA_ERROR(loadJsonlDataset(missing), "dataset file '" + missing + "' does not exist");
  EXPECT_DATA_ERROR(loadJsonlDataset(m_dir), "is a folder");
}

TEST_F(DataSource, TaskSourceIsSeededAndResumable) {
  std::shared_ptr<const Task> task = makeTask("addition");
  TaskSource a(task, 5, 2, 4), b(task, 5, 2, 4), c(task, 6, 2, 4);
  const auto first = take(a, 30);
  EXPECT_EQ(first, take(b, 30));
  EXPECT_NE(first, take(c, 30));
  std::set<int> difficulties;
  for (const Example& e : first) difficulties.insert(e.difficulty);
  EXPECT_EQ(difficulties, (std::set<int>{2, 3, 4}));

  // Save, draw on, then restore into a fresh source: the same continuation.
  const json state = a.state();
  EXPECT_EQ(state["count"], 30);
  const auto continuation = take(a, 20);
  TaskSource d(task, 999, 2, 4);
  d.restore(json::parse(state.dump()));  // through text, as a checkpoint stores it
  EXPECT_EQ(take(d, 20), continuation);
  EXPECT_EQ(d.count(), 50u);
  EXPECT_NE(a.describe().find("addition"), std::string::npos);

  TaskSource other(task, 5, 1, 4);
  EXPECT_DATA_ERROR(other.restore(state), "example source state: saved for difficulty 2..4");
  TaskSource sorting(makeTask("sorting"), 5, 2, 4);
  EXPECT_DATA_ERROR(sorting.restore(state),
                    "saved for task 'addition', this source runs 'sorting'");
  json broken = state;
  broken["rng"] = "1 2 3";
  EXPECT_DATA_ERROR(d.restore(broken), "example source state: field 'rng': not a valid random");
  EXPECT_EQ(take(d, 1), take(a, 1)) << "a failed restore leaves the source unchanged";
  DatasetSource ds(numbered(3), 1);
  EXPECT_DATA_ERROR(ds.restore(state), "saved by a task source, this is a dataset source");
  EXPECT_DATA_ERROR(TaskSource(task, 1, 3, 40), "outside the range of task 'addition' (1..32)");
}

TEST_F(DataSource, DatasetSourceShufflesEachEpochAndResumes) {
  DatasetSource s(numbered(10), 3);
  std::vector<std::vector<Example>> epochs;
  for (int e = 0; e < 3; ++e) {
    auto ex = take(s, 10);
    std::set<std::string> prompts;
    for (const Example& x : ex) prompts.insert(x.prompt);
    EXPECT_EQ(prompts.size(), 10u) << "each epoch visits every example once";
    epochs.push_back(ex);
  }
  EXPECT_NE(epochs[0], epochs[1]);
  EXPECT_NE(epochs[1], epochs[2]);
  DatasetSource again(numbered(10), 3);
  EXPECT_EQ(take(again, 10), epochs[0]);

  // Restore mid-epoch.
  DatasetSource a(numbered(10), 8);
  take(a, 14);
  const json state = a.state();
  EXPECT_EQ(state["epoch"], 1);
  EXPECT_EQ(state["index"], 4);
  const auto continuation = take(a, 25);
  DatasetSource b(numbered(10), 0);
  b.restore(state);
  EXPECT_EQ(take(b, 25), continuation);

  DatasetSource fewer(numbered(9), 8);
  EXPECT_DATA_ERROR(fewer.restore(state), "saved for a dataset of 10 examples, 'dataset' has 9");
  auto changed = numbered(10);
  changed[3].completion = "x";
  DatasetSource edited(changed, 8);
  EXPECT_DATA_ERROR(edited.restore(state), "saved for other examples than those of 'dataset'");
  EXPECT_DATA_ERROR(DatasetSource({}, 1), "no examples");
}

TEST_F(DataSource, MakeExampleSourceFromConfig) {
  auto s = makeExampleSource(json{{"task", "chain"}, {"min_difficulty", 2}, {"max_difficulty", 3}},
                             4, m_dir);
  for (const Example& e : take(*s, 20)) {
    EXPECT_EQ(e.task, "chain");
    EXPECT_GE(e.difficulty, 2);
    EXPECT_LE(e.difficulty, 3);
  }
  auto fixed = makeExampleSource(
      json{{"task", "sorting"}, {"difficulty", 5}, {"params", {{"max_value", 9}}}}, 4, m_dir);
  EXPECT_EQ(fixed->next().difficulty, 5);
  auto whole = makeExampleSource(json{{"task", "addition"}}, 4, m_dir);
  EXPECT_NE(whole->describe().find("difficulty 1..32"), std::string::npos) << whole->describe();

  fs::create_directories(m_dir / "data");
  write("data/train.jsonl", "{\"prompt\": \"a\", \"completion\": \"b\"}\n");
  auto jsonl = makeExampleSource(json{{"jsonl", "data/train.jsonl"}}, 1, m_dir);
  EXPECT_EQ(jsonl->next().prompt, "a");
  EXPECT_NE(jsonl->describe().find("train.jsonl"), std::string::npos);

  const auto bad = [&](const json& cfg, const std::string& expected) {
    EXPECT_DATA_ERROR(makeExampleSource(cfg, 1, m_dir), expected);
  };
  bad(json{{"task", "addition"}, {"min_difficulty", 0}},
      "data: field 'min_difficulty': expected an integer in [1, 32], got 0");
  bad(json{{"task", "addition"}, {"min_difficulty", 5}, {"max_difficulty", 4}},
      "data: field 'max_difficulty': expected at least min_difficulty (5), got 4");
  bad(json{{"task", "addition"}, {"difficulty", 3}, {"max_difficulty", 4}},
      "data: field 'difficulty': give either difficulty or min_difficulty/max_difficulty");
  bad(json{{"task", "addition"}, {"max_dificulty", 4}}, "data: unknown field 'max_dificulty'");
  bad(json{{"task", "division"}}, "data: task 'division': unknown task");
  bad(json{{"task", "addition"}, {"params", {{"operands", 1}}}},
      "data: task 'addition': field 'operands'");
  bad(json{{"task", 3}}, "data: field 'task': expected a string");
  bad(json::object(), "data: expected exactly one of field 'task'");
  bad(json{{"task", "addition"}, {"jsonl", "x.jsonl"}}, "got both");
  bad(json{{"jsonl", "missing.jsonl"}}, "missing.jsonl' does not exist");
  bad(json{{"jsonl", "data/train.jsonl"}, {"difficulty", 2}}, "data: unknown field 'difficulty'");
  bad(json::array(), "data: expected an object, got an array");
}
