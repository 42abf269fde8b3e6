// JSON files: precise parse errors, pretty atomic writes, UTF-8 checks.
#include <gtest/gtest.h>
#include <unistd.h>

#include <fstream>
#include <sstream>

#include "util/json_file.h"
#include "util/error.h"

using namespace nmar::core;
namespace fs = std::filesystem;

namespace {

class JsonFileTest : public ::testing::Test {
 protected:
  void SetUp() override {
    const auto* info = ::testing::UnitTest::GetInstance()->current_test_info();
    m_dir = fs::temp_directory_path() /
            ("nmar_json_" + std::string(info->name()) + "_" + std::to_string(::getpid()));
    fs::remove_all(m_dir);
    fs::create_directories(m_dir);
  }
  void TearDown() override { fs::remove_all(m_dir); }

  std::string errorOf(const std::function<void()>& f) {
    try {
      f();
    } catch (const Error& e) {
      return e.what();
    }
    ADD_FAILURE() << "expected an Error";
    return {};
  }
  fs::path m_dir;
};

std::string readText(const fs::path& file) {
  std::ifstream in(file, std::ios::binary);
  std::ostringstream s;
  s << in.rdbuf();
  return s.str();
}

}  // namespace

TEST_F(JsonFileTest, ReadsAFile) {
  std::ofstream(m_dir / "c.json") << R"({"hidden_size": 64, "name": "tiny", "dup": 1, "dup": 2})";
  const nlohmann::json j = readJsonFile(m_dir / "c.json");
  EXPECT_EQ(j["hidden_size"], 64);
  EXPECT_EQ(j["name"], "tiny");
  EXPECT_EQ(j["dup"], 2) << "duplicates keep the last value by default";
}

TEST_F(JsonFileTest, MissingFileIsNamed) {
  const fs::path file = m_dir / "config.json";
  const std::string m = errorOf([&] { readJsonFile(file); });
  EXPECT_EQ(m, "JSON file '" + file.string() + "' does not exist");
  EXPECT_NE(errorOf([&] { readJsonFile(m_dir); }).find("is a folder"), std::string::npos);
}

TEST_F(JsonFileTest, ParseErrorHasLineAndColumn) {
  const fs::path file = m_dir / "bad.json";
  std::ofstream(file) << "{\n  \"a\": 1,\n  \"b\": [1, 2,, 3]\n}\n";
  const std::string m = errorOf([&] { readJsonFile(file); });
  EXPECT_NE(m.find("JSON file '" + file.string() + "': invalid JSON at line 3, column 14: "),
            std::string::npos)
      << m;
  EXPECT_EQ(m.find("[json.exception"), std::string::npos) << "no library prefix: " << m;
}

TEST_F(JsonFileTest, InvalidUtf8IsAParseError) {
  const fs::path file = m_dir / "latin1.json";
  std::ofstream(file) << "{\"name\": \"caf\xe9\"}";
  const std::string m = errorOf([&] { readJsonFile(file); });
  EXPECT_NE(m.find("invalid JSON at line 1"), std::string::npos) << m;
  EXPECT_NE(m.find("UTF-8"), std::string::npos) << m;
}

TEST_F(JsonFileTest, DuplicateKeysCanBeRejected) {
  const fs::path file = m_dir / "dup.json";
  std::ofstream(file) << R"({"outer": {"a": 1, "b": {"a": 2}, "a": 3}})";
  EXPECT_EQ(readJsonFile(file)["outer"]["a"], 3);
  const std::string m = errorOf([&] { readJsonFile(file, DuplicateKeys::kReject); });
  EXPECT_NE(m.find(file.string()), std::string::npos) << m;
  EXPECT_NE(m.find("duplicate key 'a' in object 'outer'"), std::string::npos) << m;
  EXPECT_EQ(parseJsonText(R"({"a": {"a": 1}, "b": [{"a": 1}, {"a": 2}]})", "text",
                          DuplicateKeys::kReject)["b"][1]["a"],
            2)
      << "the same key in different objects is fine";
}

TEST_F(JsonFileTest, WritesPrettyTwoSpaceJsonAtomically) {
  const fs::path file = m_dir / "out.json";
  std::ofstream(file) << "previous";
  writeJsonFile(file, {{"b", {1, 2}}, {"a", "x"}, {"c", {{"d", nullptr}}}});
  EXPECT_EQ(
      readText(file),
      "{\n  \"a\": \"x\",\n  \"b\": [\n    1,\n    2\n  ],\n  \"c\": {\n    \"d\": null\n  }\n}\n");
  EXPECT_EQ(std::distance(fs::directory_iterator(m_dir), fs::directory_iterator()), 1);
  EXPECT_EQ(readJsonFile(file)["b"][1], 2);
}

TEST_F(JsonFileTest, WriteErrorsNameTheFile) {
  const fs::path file = m_dir / "s.json";
  std::string m = errorOf([&] { writeJsonFile(file, {{"k", std::string("\xff")}}); });
  EXPECT_NE(m.find("'" + file.string() + "'"), std::string::npos) << m;
  EXPECT_NE(m.find("not valid UTF-8"), std::string::npos) << m;
  EXPECT_FALSE(fs::exists(file));

  const fs::path nowhere = m_dir / "no" / "such" / "folder.json";
  m = errorOf([&] { writeFileAtomically(nowhere, "x"); });
  EXPECT_NE(m.find(nowhere.string()), std::string::npos) << m;
  EXPECT_NE(m.find("No such file or directory"), std::string::npos) << m;
}

TEST_F(JsonFileTest, WriteFileAtomicallyReplacesContents) {
  const fs::path file = m_dir / "f.txt";
  writeFileAtomically(file, "first, longer contents");
  writeFileAtomically(file, std::string_view("sec\0nd", 6));
  EXPECT_EQ(readText(file), std::string("sec\0nd", 6));
}

TEST(Utf8, FindsTheFirstIllFormedByte) {
  EXPECT_EQ(findInvalidUtf8("plain ascii"), std::string_view::npos);
  EXPECT_EQ(findInvalidUtf8("caf\xc3\xa9 \xe2\x9c\x93 \xf0\x9f\x98\x80"), std::string_view::npos);
  EXPECT_EQ(findInvalidUtf8("ab\xc0\xaf"), 2u) << "overlong '/'";
  EXPECT_EQ(findInvalidUtf8("\xe0\x80\xaf"), 0u) << "overlong 3-byte";
  EXPECT_EQ(findInvalidUtf8("x\xed\xa0\x80"), 1u) << "surrogate";
  EXPECT_EQ(findInvalidUtf8("\xf4\x90\x80\x80"), 0u) << "above U+10FFFF";
  EXPECT_EQ(findInvalidUtf8("abc\xe2\x9c"), 3u) << "truncated";
  EXPECT_EQ(findInvalidUtf8("\x80"), 0u) << "lone continuation byte";
  EXPECT_EQ(findInvalidUtf8("a\xc3\x28"), 1u) << "bad continuation";
  EXPECT_EQ(findInvalidUtf8(std::string_view("\0ok", 3)), std::string_view::npos);
}
