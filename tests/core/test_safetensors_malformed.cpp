// Every malformed safetensors file we know of is an Error naming the file, the tensor or field,
// and the reason. Each file is crafted byte by byte.
#include <gtest/gtest.h>
#include <unistd.h>

#include <fstream>
#include <initializer_list>

#include "checkpoint/safetensors.h"
#include "util/error.h"

using namespace nmar::core;
namespace fs = std::filesystem;

namespace {

class MalformedSafetensors : public ::testing::Test {
 protected:
  void SetUp() override {
    const auto* info = ::testing::UnitTest::GetInstance()->current_test_info();
    m_dir = fs::temp_directory_path() /
            ("nmar_bad_" + std::string(info->name()) + "_" + std::to_string(::getpid()));
    fs::remove_all(m_dir);
    fs::create_directories(m_dir);
    m_file = m_dir / "bad.safetensors";
  }
  void TearDown() override { fs::remove_all(m_dir); }

  void writeRaw(const std::string& bytes) {
    std::ofstream out(m_file, std::ios::binary);
    out.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
  }

  /** Writes length + header + data, with @p length overriding the real header length. */
  void write(const std::string& header, const std::string& data,
             std::uint64_t length = ~std::uint64_t{0}) {
    const std::uint64_t n = length == ~std::uint64_t{0} ? header.size() : length;
    std::string bytes(8, '\0');
    for (int i = 0; i < 8; ++i) bytes[i] = static_cast<char>((n >> (8 * i)) & 0xff);
    writeRaw(bytes + header + data);
  }

  /** Reading must fail with a message holding the file name and every one of @p parts. */
  void expectError(std::initializer_list<std::string> parts) {
    try {
      readSafetensors(m_file);
      ADD_FAILURE() << "expected an Error";
    } catch (const Error& e) {
      const std::string m = e.what();
      EXPECT_NE(m.find("'" + m_file.string() + "'"), std::string::npos) << m;
      for (const std::string& p : parts)
        EXPECT_NE(m.find(p), std::string::npos) << "message: " << m << "\nlacks: " << p;
    }
  }

  fs::path m_dir;
  fs::path m_file;
};

const std::string k8Bytes(8, '\0');
std::string f32Entry(const std::string& shape, const std::string& offsets) {
  return R"({"dtype":"F32","shape":)" + shape + R"(,"data_offsets":)" + offsets + "}";
}

}  // namespace

TEST_F(MalformedSafetensors, MissingFile) {
  m_file = m_dir / "nothere.safetensors";
  expectError({"does not exist"});
}

TEST_F(MalformedSafetensors, EmptyFile) {
  writeRaw("");
  expectError({"0 bytes long", "shorter than the 8-byte header length"});
}

TEST_F(MalformedSafetensors, ShorterThanEightBytes) {
  writeRaw(std::string("\x05\x00\x00", 3));
  expectError({"3 bytes long", "shorter than the 8-byte header length"});
}

TEST_F(MalformedSafetensors, AbsurdHeaderLength) {
  write("{}", "", 200'000'000);
  expectError({"header length 200000000 is absurd", "limit 100000000"});
}

TEST_F(MalformedSafetensors, HeaderLengthBeyondFile) {
  write("{}", "", 1000);
  expectError({"header length 1000 runs past the end of the file (10 bytes)"});
}

TEST_F(MalformedSafetensors, HeaderIsNotJson) {
  write(R"({"w": {"dtype": "F32", "shape": [1] "data_offsets": [0, 4]}})", std::string(4, '\0'));
  expectError({"header: invalid JSON at line 1, column 50", "unexpected string literal"});
}

TEST_F(MalformedSafetensors, HeaderJsonErrorReportsLineAndColumn) {
  write("{\n  \"w\": tru\n}", "");
  expectError({"invalid JSON at line 2, column", "literal"});
}

TEST_F(MalformedSafetensors, HeaderIsTruncatedJson) {
  write(R"({"w": {"dtype": "F32")", "");
  expectError({"invalid JSON", "end of input"});
}

TEST_F(MalformedSafetensors, HeaderIsNotAnObject) {
  write("[1, 2, 3]", "");
  expectError({"header must be a JSON object starting with '{'"});
}

TEST_F(MalformedSafetensors, HeaderIsEmpty) {
  write("", "");
  expectError({"header must be a JSON object", "is empty"});
}

TEST_F(MalformedSafetensors, HeaderIsNotUtf8) {
  write("{\"w\xff\": " + f32Entry("[1]", "[0,4]") + "}", std::string(4, '\0'));
  expectError({"header is not valid UTF-8 (byte 3 of the header)"});
}

TEST_F(MalformedSafetensors, EntryIsNotAnObject) {
  write(R"({"w": [1, 2]})", "");
  expectError({"tensor 'w'", "entry must be a JSON object, got array"});
}

TEST_F(MalformedSafetensors, EntryMissingDtype) {
  write(R"({"w": {"shape": [1], "data_offsets": [0, 4]}})", std::string(4, '\0'));
  expectError({"tensor 'w'", "missing field 'dtype'"});
}

TEST_F(MalformedSafetensors, EntryMissingShape) {
  write(R"({"w": {"dtype": "F32", "data_offsets": [0, 4]}})", std::string(4, '\0'));
  expectError({"tensor 'w'", "missing field 'shape'"});
}

TEST_F(MalformedSafetensors, EntryMissingDataOffsets) {
  write(R"({"w": {"dtype": "F32", "shape": [1]}})", std::string(4, '\0'));
  expectError({"tensor 'w'", "missing field 'data_offsets'"});
}

TEST_F(MalformedSafetensors, EntryWithUnexpectedField) {
  write(R"({"w": {"dtype": "F32", "shape": [1], "data_offsets": [0, 4], "stride": [1]}})",
        std::string(4, '\0'));
  expectError({"tensor 'w'", "unexpected field 'stride'"});
}

TEST_F(MalformedSafetensors, DtypeIsNotAString) {
  write(R"({"w": {"dtype": 4, "shape": [1], "data_offsets": [0, 4]}})", std::string(4, '\0'));
  expectError({"tensor 'w'", "field 'dtype' must be a string, got number"});
}

TEST_F(MalformedSafetensors, UnknownDtype) {
  write(R"({"w": {"dtype": "F17", "shape": [1], "data_offsets": [0, 4]}})", std::string(4, '\0'));
  expectError({"tensor 'w'", "unknown dtype 'F17'", "BF16"});
}

TEST_F(MalformedSafetensors, ShapeIsNotAnArray) {
  write(R"({"w": {"dtype": "F32", "shape": 4, "data_offsets": [0, 16]}})", std::string(16, '\0'));
  expectError({"tensor 'w'", "field 'shape' must be an array, got number"});
}

TEST_F(MalformedSafetensors, NegativeDimension) {
  write(R"({"w": )" + f32Entry("[2, -1]", "[0, 4]") + "}", std::string(4, '\0'));
  expectError({"tensor 'w'", "field 'shape' dimension 1 is negative (-1)"});
}

TEST_F(MalformedSafetensors, NonIntegerDimension) {
  write(R"({"w": )" + f32Entry("[2.5]", "[0, 4]") + "}", std::string(4, '\0'));
  expectError({"tensor 'w'", "field 'shape' dimension 0 is not an integer (2.5)"});
}

TEST_F(MalformedSafetensors, StringDimension) {
  write(R"({"w": )" + f32Entry(R"(["2"])", "[0, 8]") + "}", std::string(8, '\0'));
  expectError({"tensor 'w'", "field 'shape' dimension 0 is a string, not a number"});
}

TEST_F(MalformedSafetensors, DimensionTooLarge) {
  write(R"({"w": )" + f32Entry("[18446744073709551615]", "[0, 4]") + "}", std::string(4, '\0'));
  expectError({"tensor 'w'", "dimension 0 is too large"});
}

TEST_F(MalformedSafetensors, ShapeOverflowsSixtyFourBits) {
  write(R"({"w": )" + f32Entry("[4611686018427387904, 8]", "[0, 4]") + "}", std::string(4, '\0'));
  expectError({"tensor 'w'", "needs more than 2^64 bytes"});
}

TEST_F(MalformedSafetensors, DataOffsetsWrongArity) {
  write(R"({"w": )" + f32Entry("[1]", "[4]") + "}", std::string(4, '\0'));
  expectError({"tensor 'w'", "field 'data_offsets' must be an array [begin, end], got [4]"});
}

TEST_F(MalformedSafetensors, DataOffsetsNotIntegers) {
  write(R"({"w": )" + f32Entry("[1]", R"(["0", 4])") + "}", std::string(4, '\0'));
  expectError({"tensor 'w'", "field 'data_offsets' begin is a string, not a number"});
}

TEST_F(MalformedSafetensors, DataOffsetsNegative) {
  write(R"({"w": )" + f32Entry("[1]", "[0, -4]") + "}", std::string(4, '\0'));
  expectError({"tensor 'w'", "field 'data_offsets' end is negative (-4)"});
}

TEST_F(MalformedSafetensors, SizeDoesNotMatchShapeAndDtype) {
  write(R"({"w": )" + f32Entry("[3]", "[0, 8]") + "}", std::string(8, '\0'));
  expectError(
      {"tensor 'w'", "shape [3] of dtype F32 needs 12 bytes but data_offsets [0, 8] hold 8"});
}

TEST_F(MalformedSafetensors, DataOffsetsReversed) {
  write(R"({"w": )" + f32Entry("[1]", "[8, 4]") + "}", std::string(8, '\0'));
  expectError({"tensor 'w'", "data_offsets are reversed (begin 8 > end 4)"});
}

TEST_F(MalformedSafetensors, DataOffsetsPastEndOfFile) {
  write(R"({"w": )" + f32Entry("[4]", "[0, 16]") + "}", std::string(8, '\0'));
  expectError({"tensor 'w'", "data_offsets [0, 16] run past the end of the data buffer (8 bytes)"});
}

TEST_F(MalformedSafetensors, OverlappingTensors) {
  write(R"({"a": )" + f32Entry("[2]", "[0, 8]") + R"(, "b": )" + f32Entry("[2]", "[4, 12]") + "}",
        std::string(12, '\0'));
  expectError({"tensor 'b'", "bytes [4, 12) overlap tensor 'a' [0, 8)"});
}

TEST_F(MalformedSafetensors, TwoTensorsSharingBytes) {
  write(R"({"a": )" + f32Entry("[2]", "[0, 8]") + R"(, "b": )" + f32Entry("[2]", "[0, 8]") + "}",
        std::string(8, '\0'));
  expectError({"tensor 'b'", "overlap tensor 'a'"});
}

TEST_F(MalformedSafetensors, HoleBetweenTensors) {
  write(R"({"a": )" + f32Entry("[1]", "[0, 4]") + R"(, "b": )" + f32Entry("[1]", "[8, 12]") + "}",
        std::string(12, '\0'));
  expectError({"bytes [4, 8) of the data buffer belong to no tensor", "before tensor 'b'",
               "forbids holes"});
}

TEST_F(MalformedSafetensors, HoleAtStartOfBuffer) {
  write(R"({"a": )" + f32Entry("[1]", "[4, 8]") + "}", std::string(8, '\0'));
  expectError({"bytes [0, 4) of the data buffer belong to no tensor", "tensor 'a'"});
}

TEST_F(MalformedSafetensors, TrailingBytesAfterLastTensor) {
  write(R"({"a": )" + f32Entry("[1]", "[0, 4]") + "}", std::string(9, '\0'));
  expectError({"5 trailing bytes after the last tensor's data", "buffer has 9 bytes"});
}

TEST_F(MalformedSafetensors, DataButNoTensors) {
  write("{}", "abc");
  expectError({"3 trailing bytes"});
}

TEST_F(MalformedSafetensors, DuplicateTensorNames) {
  write(R"({"w": )" + f32Entry("[1]", "[0, 4]") + R"(, "w": )" + f32Entry("[1]", "[4, 8]") + "}",
        std::string(8, '\0'));
  expectError({"duplicate key 'w' in the top-level object"});
}

TEST_F(MalformedSafetensors, DuplicateFieldInEntry) {
  write(R"({"w": {"dtype": "F32", "dtype": "I32", "shape": [1], "data_offsets": [0, 4]}})",
        std::string(4, '\0'));
  expectError({"duplicate key 'dtype' in object 'w'"});
}

TEST_F(MalformedSafetensors, MetadataIsNotAnObject) {
  write(R"({"__metadata__": ["pt"]})", "");
  expectError({"'__metadata__' must be an object of strings, got array"});
}

TEST_F(MalformedSafetensors, MetadataValueIsNotAString) {
  write(R"({"__metadata__": {"format": "pt", "step": 12}})", "");
  expectError({"'__metadata__' key 'step' must be a string, got number"});
}

TEST_F(MalformedSafetensors, DtypeLibTorchCannotHold) {
  write(R"({"u": {"dtype": "U16", "shape": [2], "data_offsets": [0, 4]}})", std::string(4, '\0'));
  EXPECT_EQ(readSafetensorsHeader(m_file).entries.at(0).dtype, "U16")
      << "the header itself is valid";
  expectError({"tensor 'u'", "dtype U16 is valid safetensors but LibTorch has no such type"});
}

TEST_F(MalformedSafetensors, BoolByteOtherThanZeroOrOne) {
  write(R"({"m": {"dtype": "BOOL", "shape": [3], "data_offsets": [0, 3]}})",
        std::string("\x01\x00\x02", 3));
  expectError({"tensor 'm'", "BOOL element 2 has byte value 2, expected 0 or 1"});
}

TEST_F(MalformedSafetensors, FolderInsteadOfFile) {
  m_file = m_dir;
  expectError({"is not a regular file"});
}
