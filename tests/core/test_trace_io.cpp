// Trace files: JSON and JSONL reading/writing, atomic writes, line/column errors.
#include <gtest/gtest.h>

#include <unistd.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <functional>
#include <sstream>

#include "trace/trace_io.h"
#include "util/error.h"

using namespace nmar::core;
namespace fs = std::filesystem;

namespace {

constexpr std::int64_t kUndo = 99;

/** prompt [1, 2], then pushes of 10+k and one UNDO after the second push; @p tag in meta. */
Trace makeTrace(int tag) {
  Trace t;
  t.model = "m";
  t.tokenizer = "tok";
  t.promptIds = {1, 2};
  t.promptText = "pr";
  t.undoId = kUndo;
  t.eosId = 3;
  t.steps = stepsFromSequence({1, 2, 10, 11, kUndo, 12}, 2, kUndo);
  t.steps[0].logprob = -0.25;
  t.steps[0].topk = {{10, 0.75}};
  t.outputIds = {10, 12};
  t.meta = {{"tag", tag}};
  return t;
}

class TraceIoTest : public ::testing::Test {
 protected:
  void SetUp() override {
    const auto* info = ::testing::UnitTest::GetInstance()->current_test_info();
    m_dir = fs::temp_directory_path() /
            ("nmar-trace-io-" + std::to_string(::getpid()) + "-" + info->name());
    fs::remove_all(m_dir);
    fs::create_directories(m_dir);
  }
  void TearDown() override { fs::remove_all(m_dir); }

  void writeText(const fs::path& path, const std::string& text) {
    std::ofstream out(path, std::ios::binary);
    out << text;
  }
  std::string readText(const fs::path& path) {
    std::ifstream in(path, std::ios::binary);
    std::ostringstream s;
    s << in.rdbuf();
    return s.str();
  }
  std::vector<std::string> entries() {
    std::vector<std::string> names;
    for (const auto& e : fs::directory_iterator(m_dir)) names.push_back(e.path().filename());
    std::sort(names.begin(), names.end());
    return names;
  }
  std::string errorOf(const std::function<void()>& f) {
    try {
      f();
    } catch (const Error& e) {
      return e.what();
    }
    return "no error";
  }

  fs::path m_dir;
};

}  // namespace

TEST_F(TraceIoTest, WriteAndReadOneTrace) {
  const fs::path file = m_dir / "t.json";
  const Trace t = makeTrace(1);
  writeTrace(file, t);
  EXPECT_EQ(entries(), (std::vector<std::string>{"t.json"}));  // no temporary file left
  const std::string text = readText(file);
  EXPECT_EQ(text.back(), '\n');
  EXPECT_NE(text.find("\"format\": \"nmar-trace/1\""), std::string::npos);
  EXPECT_EQ(readTrace(file), t);
  // Overwriting replaces the file.
  writeTrace(file, makeTrace(2));
  EXPECT_EQ(readTrace(file).meta["tag"], 2);
  EXPECT_EQ(entries(), (std::vector<std::string>{"t.json"}));
}

TEST_F(TraceIoTest, InvalidTraceIsNotWritten) {
  Trace t = makeTrace(1);
  t.outputIds = {10};
  const fs::path file = m_dir / "bad.json";
  EXPECT_NE(errorOf([&] { writeTrace(file, t); }).find("bad.json: field 'output_ids'"),
            std::string::npos);
  EXPECT_TRUE(entries().empty());
}

TEST_F(TraceIoTest, JsonlWithSeveralTraces) {
  const fs::path file = m_dir / "t.jsonl";
  for (int k = 0; k < 3; ++k) appendTrace(file, makeTrace(k));
  std::vector<Trace> traces = readTraces(file);
  ASSERT_EQ(traces.size(), 3u);
  for (int k = 0; k < 3; ++k) EXPECT_EQ(traces[static_cast<std::size_t>(k)], makeTrace(k));
  // writeTraces replaces the file; blank lines and CRLF are tolerated on reading.
  writeTraces(file, {makeTrace(7), makeTrace(8)});
  traces = readTraces(file);
  ASSERT_EQ(traces.size(), 2u);
  EXPECT_EQ(traces[1], makeTrace(8));
  writeText(file, traceToJsonLine(makeTrace(4)) + "\r\n\n  \n" + traceToJsonLine(makeTrace(5)));
  traces = readTraces(file);
  ASSERT_EQ(traces.size(), 2u);
  EXPECT_EQ(traces[1].meta["tag"], 5);
}

TEST_F(TraceIoTest, MalformedJsonlLineNamesLineAndColumn) {
  const fs::path file = m_dir / "t.jsonl";
  const std::string good = traceToJsonLine(makeTrace(0));
  writeText(file,
            good + "\n" + good + "\n" + "{\"format\": \"nmar-trace/1\", \"model\": ]\n" + good);
  const std::string message = errorOf([&] { readTraces(file); });
  EXPECT_EQ(message.rfind(file.string() + ":3: invalid JSON at column 37: ", 0), 0u) << message;
}

TEST_F(TraceIoTest, InvalidTraceInJsonlNamesLineAndStep) {
  const fs::path file = m_dir / "t.jsonl";
  nlohmann::json bad = toJson(makeTrace(0));
  bad["steps"][1]["kind"] = "pop";  // step 1 pops 10 ...
  bad["steps"][1]["token"] = kUndo;
  bad["steps"][1]["popped"] = 10;
  bad["steps"][1]["depth"] = 0;
  bad["steps"][2]["kind"] = "pop";  // ... and step 2 finds nothing left: void UNDO
  bad["steps"][2]["popped"] = 11;
  bad["steps"][2]["position"] = 2;
  const std::string good = traceToJsonLine(makeTrace(0));
  writeText(file, good + "\n" + good + "\n" + bad.dump() + "\n");
  EXPECT_EQ(errorOf([&] { readTraces(file); }),
            file.string() + ":3: step 2: pop with nothing to pop (void UNDO)");
}

TEST_F(TraceIoTest, MalformedJsonFileNamesLineAndColumn) {
  const fs::path file = m_dir / "t.json";
  writeText(file, "{\n  \"format\": \"nmar-trace/1\",\n  \"model\": tru\n}\n");
  const std::string message = errorOf([&] { readTrace(file); });
  EXPECT_EQ(message.rfind(file.string() + ": invalid JSON at line 3, column ", 0), 0u) << message;
}

TEST_F(TraceIoTest, MissingFileIsNamed) {
  const fs::path file = m_dir / "nope.json";
  const std::string message = errorOf([&] { readTrace(file); });
  EXPECT_NE(message.find("nope.json: cannot open trace file"), std::string::npos) << message;
}

TEST_F(TraceIoTest, AppendAfterATornLineKeepsTheNewRecordIntact) {
  const fs::path file = m_dir / "t.jsonl";
  writeText(file, "{\"format\": \"nmar-tr");
  appendTrace(file, makeTrace(9));
  const std::string text = readText(file);
  const std::string second = text.substr(text.find('\n') + 1);
  EXPECT_EQ(parseTrace(second, "line 2"), makeTrace(9));
  EXPECT_EQ(errorOf([&] { readTraces(file); }).rfind(file.string() + ":1: invalid JSON", 0), 0u);
}

TEST_F(TraceIoTest, InvalidUtf8TextIsReplacedNotFatal) {
  Trace t = makeTrace(0);
  t.steps[0].text = std::string("\xe2\x82", 2);  // half of a multi-byte character
  const fs::path file = m_dir / "t.json";
  writeTrace(file, t);
  EXPECT_EQ(readTrace(file).steps[0].text, "\xef\xbf\xbd");  // U+FFFD
}
