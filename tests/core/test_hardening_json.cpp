// Limits on JSON from other people (config.json, tokenizer.json, traces): nesting depth, file
// size. Each limit is an Error naming the file and the position, never a crash.
#include <gtest/gtest.h>
#include <unistd.h>

#include <fstream>

#include "tokenizer/tokenizer.h"
#include "trace/trace_io.h"
#include "util/error.h"
#include "util/json_file.h"

using namespace nmar::core;
namespace fs = std::filesystem;

namespace {

class HardeningJson : public ::testing::Test {
 protected:
  void SetUp() override {
    const auto* info = ::testing::UnitTest::GetInstance()->current_test_info();
    m_dir = fs::temp_directory_path() /
            ("nmar_hard_json_" + std::string(info->name()) + "_" + std::to_string(::getpid()));
    fs::remove_all(m_dir);
    fs::create_directories(m_dir);
  }
  void TearDown() override { fs::remove_all(m_dir); }

  fs::path write(const std::string& name, const std::string& bytes) {
    const fs::path file = m_dir / name;
    std::ofstream out(file, std::ios::binary);
    out.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
    return file;
  }

  fs::path m_dir;
};

/** The message of the Error @p f throws ("" and a test failure when it throws none). */
template <class F>
std::string errorOf(F&& f) {
  try {
    f();
  } catch (const Error& e) {
    return e.what();
  }
  ADD_FAILURE() << "expected an Error";
  return "";
}

std::string nested(std::size_t depth, const std::string& inner = "1") {
  return std::string(depth, '[') + inner + std::string(depth, ']');
}

}  // namespace

TEST(JsonNesting, FindsTheFirstBracketPastTheLimit) {
  EXPECT_EQ(findJsonNestingExcess(nested(128)), std::string_view::npos);
  EXPECT_EQ(findJsonNestingExcess(nested(129)), 128u);
  EXPECT_EQ(findJsonNestingExcess(nested(3), 2), 2u);
  // Brackets inside strings (escaped quotes too) do not count; objects do.
  EXPECT_EQ(findJsonNestingExcess(R"({"a": "[[[[\"[[[["})", 1), std::string_view::npos);
  EXPECT_EQ(findJsonNestingExcess(R"({"a": {"b": [1]}})", 2), 12u);
  // Closing brackets without openers never make the depth negative.
  EXPECT_EQ(findJsonNestingExcess("]]]][[", 2), std::string_view::npos);
  EXPECT_EQ(findJsonNestingExcess("]]]][[[", 2), 6u);
}

TEST(JsonNesting, ParseJsonTextAcceptsTheLimitAndNamesThePositionPastIt) {
  EXPECT_EQ(parseJsonText(nested(kMaxJsonDepth), "x").dump().size(), 2 * kMaxJsonDepth + 1);
  const std::string m =
      errorOf([] { parseJsonText("{\"a\":\n  " + nested(200) + "}", "JSON file 'c.json'"); });
  EXPECT_NE(m.find("JSON file 'c.json': JSON nested deeper than 128 levels at line 2, column 130"),
            std::string::npos)
      << m;
}

TEST_F(HardeningJson, AMillionOpenBracketsIsAnErrorNotAStackOverflow) {
  const fs::path file = write("config.json", std::string(1'000'000, '['));
  const std::string m = errorOf([&] { readJsonFile(file); });
  EXPECT_NE(
      m.find("'" + file.string() + "': JSON nested deeper than 128 levels at line 1, column 129"),
      std::string::npos)
      << m;
}

TEST_F(HardeningJson, JsonFileLargerThanTheLimitIsRefusedBeforeReading) {
  const fs::path file = m_dir / "huge.json";
  { std::ofstream out(file); }
  fs::resize_file(file, kMaxJsonFileBytes + 1);  // sparse: no disk space used
  const std::string m = errorOf([&] { readJsonFile(file); });
  EXPECT_NE(m.find("JSON file '" + file.string() + "' is " + std::to_string(kMaxJsonFileBytes + 1) +
                   " bytes, more than the limit of " + std::to_string(kMaxJsonFileBytes)),
            std::string::npos)
      << m;
}

TEST_F(HardeningJson, ReadFileBytesLimitHoldsForStreamsWithoutASize) {
  const fs::path file = write("small.txt", std::string(100, 'x'));
  EXPECT_EQ(readFileBytes(file, "", 100).size(), 100u);
  const std::string m = errorOf([&] { readFileBytes(file, "dataset 'small.txt'", 99); });
  EXPECT_NE(m.find("dataset 'small.txt' is 100 bytes, more than the limit of 99 bytes"),
            std::string::npos)
      << m;
  // /dev/zero has no size and never ends: the limit still stops the read.
  const std::string z = errorOf([] { readFileBytes("/dev/zero", "'/dev/zero'", 1 << 20); });
  EXPECT_NE(z.find("'/dev/zero' holds more than the limit of 1048576 bytes"), std::string::npos)
      << z;
}

TEST_F(HardeningJson, DeeplyNestedTraceFieldIsAnErrorNamingTheFile) {
  // "verdict" and "meta" take any JSON: without a limit, copying them recursed once per level.
  const std::string trace = R"({"format": "nmar-trace/1", "verdict": )" + nested(100'000) + "}";
  const std::string m = errorOf([&] { parseTrace(trace, "t.json"); });
  EXPECT_NE(m.find("t.json: JSON nested deeper than 128 levels at line 1, column 166"),
            std::string::npos)
      << m;
  const fs::path file = write("t.jsonl", "\n" + trace + "\n");
  const std::string l = errorOf([&] { readTraces(file); });
  EXPECT_NE(l.find(file.string() + ":2: JSON nested deeper than 128 levels at column 166"),
            std::string::npos)
      << l;
}

TEST_F(HardeningJson, DeeplyNestedTokenizerJsonIsAnErrorNamingTheFile) {
  // The loader walks pre_tokenizer Sequences recursively.
  std::string pre = R"({"type": "ByteLevel"})";
  for (int i = 0; i < 1000; ++i) pre = R"({"type": "Sequence", "pretokenizers": [)" + pre + "]}";
  write("tokenizer.json", R"({"model": {"type": "BPE", "vocab": {}, "merges": []}, )"
                          R"("pre_tokenizer": )" +
                              pre + "}");
  const std::string m = errorOf([&] { loadTokenizer(m_dir); });
  EXPECT_NE(m.find("'" + (m_dir / "tokenizer.json").string() + "': JSON nested deeper than 128"),
            std::string::npos)
      << m;
}

// Found by fuzz_model_config: nlohmann throws out_of_range (not parse_error) for a number too
// large for a double; it escaped every JSON reader and ended the program.
TEST_F(HardeningJson, NumberTooLargeForADoubleIsAnErrorNamingItsPosition) {
  const std::string m =
      errorOf([] { parseJsonText(R"({"rms_norm_eps": 1e555555555})", "c.json"); });
  EXPECT_EQ(m,
            "c.json: invalid JSON at line 1, column 18: number overflow parsing '1e555555555' (out "
            "of the range of a double)");
  const fs::path config = write("config.json", "{\n  \"rope_theta\": -1e400\n}");
  const std::string f = errorOf([&] { readJsonFile(config); });
  EXPECT_NE(f.find("'" + config.string() +
                   "': invalid JSON at line 2, column 17: number overflow "
                   "parsing '-1e400'"),
            std::string::npos)
      << f;
  const fs::path traces = write("t.jsonl", "{\"seed\": 1e999}\n");
  const std::string t = errorOf([&] { readTraces(traces); });
  EXPECT_NE(t.find(traces.string() + ":1: invalid JSON at column 10: number overflow parsing "
                                     "'1e999'"),
            std::string::npos)
      << t;
  // A huge integer is not an overflow: nlohmann reads it as a double.
  EXPECT_TRUE(parseJsonText("123456789012345678901234567890", "x").is_number_float());
}
