#include <algorithm>
#include <array>
#include <cstdio>
#include <limits>
#include <memory>
#include <tuple>

#include "checkpoint/safetensors.h"
#include "checkpoint/safetensors_format.h"
#include "util/error.h"
#include "util/json_file.h"

namespace nmar::core {
namespace fs = std::filesystem;
using nlohmann::json;

namespace {

// Every dtype of the format with a fixed byte size. Sub-byte types (F4, F6_*) are not listed.
const std::array<SafetensorsDtype, 16> kDtypes = {{
    {"BOOL", 1, c10::kBool},
    {"U8", 1, c10::kByte},
    {"I8", 1, c10::kChar},
    {"F8_E5M2", 1, std::nullopt},
    {"F8_E4M3", 1, std::nullopt},
    {"F8_E8M0", 1, std::nullopt},
    {"I16", 2, c10::kShort},
    {"U16", 2, std::nullopt},
    {"F16", 2, c10::kHalf},
    {"BF16", 2, c10::kBFloat16},
    {"I32", 4, c10::kInt},
    {"U32", 4, std::nullopt},
    {"F32", 4, c10::kFloat},
    {"F64", 8, c10::kDouble},
    {"I64", 8, c10::kLong},
    {"U64", 8, std::nullopt},
}};

std::string inQuotes(const std::string& s) { return "'" + s + "'"; }

/** Reads a non-negative integer that fits @p limit, or explains what the value is instead. */
std::optional<std::uint64_t> asCount(const json& v, std::uint64_t limit, std::string* problem) {
  if (v.is_number_unsigned()) {
    const auto value = v.get<std::uint64_t>();
    if (value <= limit) return value;
    *problem = "too large (" + v.dump() + ")";
  } else if (v.is_number_integer()) {
    *problem = "negative (" + v.dump() + ")";
  } else if (v.is_number_float()) {
    *problem = "not an integer (" + v.dump() + ")";
  } else {
    *problem = "a " + std::string(v.type_name()) + ", not a number";
  }
  return std::nullopt;
}

SafetensorsEntry parseEntry(const std::string& what, const std::string& name, const json& value) {
  const std::string where = what + ": tensor " + inQuotes(name);
  if (!value.is_object())
    throw Error(where + ": entry must be a JSON object, got " + value.type_name());
  for (const auto& item : value.items()) {
    const std::string& key = item.key();
    if (key != "dtype" && key != "shape" && key != "data_offsets")
      throw Error(where + ": unexpected field " + inQuotes(key) +
                  " (expected only dtype, shape and data_offsets)");
  }
  for (const char* field : {"dtype", "shape", "data_offsets"}) {
    if (!value.contains(field)) throw Error(where + ": missing field '" + field + "'");
  }
  SafetensorsEntry e;
  e.name = name;

  const json& dtype = value.at("dtype");
  if (!dtype.is_string())
    throw Error(where + ": field 'dtype' must be a string, got " + dtype.type_name());
  e.dtype = dtype.get<std::string>();
  const SafetensorsDtype* info = findSafetensorsDtype(e.dtype);
  if (!info)
    throw Error(where + ": unknown dtype " + inQuotes(e.dtype) + " (expected one of " +
                safetensorsDtypeList() + ")");

  const json& shape = value.at("shape");
  if (!shape.is_array())
    throw Error(where + ": field 'shape' must be an array, got " + shape.type_name());
  if (shape.size() > kSafetensorsMaxRank)
    throw Error(where + ": field 'shape' has " + std::to_string(shape.size()) +
                " dimensions, more than the limit of " + std::to_string(kSafetensorsMaxRank));
  std::uint64_t numel = 1;
  bool overflow = false;
  // Product of the non-zero dimensions: LibTorch's strides. An empty tensor (a zero dimension,
  // 0 bytes) may still not have strides past int64: LibTorch would overflow computing them.
  std::int64_t strideSpan = 1;
  bool strideOverflow = false;
  bool empty = false;
  for (std::size_t i = 0; i < shape.size(); ++i) {
    std::string problem;
    const auto dim = asCount(shape[i], std::numeric_limits<std::int64_t>::max(), &problem);
    if (!dim)
      throw Error(where + ": field 'shape' dimension " + std::to_string(i) + " is " + problem +
                  ", expected a non-negative integer");
    e.shape.push_back(static_cast<std::int64_t>(*dim));
    overflow = overflow || __builtin_mul_overflow(numel, *dim, &numel);
    empty = empty || *dim == 0;
    if (*dim > 0)
      strideOverflow =
          strideOverflow ||
          __builtin_mul_overflow(strideSpan, static_cast<std::int64_t>(*dim), &strideSpan);
  }
  if (strideOverflow && empty)
    throw Error(where + ": shape " + shape.dump() +
                ": the product of its non-zero dimensions overflows a 64-bit integer");

  const json& offsets = value.at("data_offsets");
  if (!offsets.is_array() || offsets.size() != 2)
    throw Error(where + ": field 'data_offsets' must be an array [begin, end], got " +
                offsets.dump());
  for (std::size_t i = 0; i < 2; ++i) {
    std::string problem;
    const auto v = asCount(offsets[i], std::numeric_limits<std::uint64_t>::max(), &problem);
    if (!v)
      throw Error(where + ": field 'data_offsets' " + (i == 0 ? "begin" : "end") + " is " +
                  problem + ", expected a non-negative integer");
    (i == 0 ? e.begin : e.end) = *v;
  }
  if (e.begin > e.end)
    throw Error(where + ": data_offsets are reversed (begin " + std::to_string(e.begin) +
                " > end " + std::to_string(e.end) + ")");

  std::uint64_t bytes = 0;
  overflow = overflow || __builtin_mul_overflow(numel, info->size, &bytes);
  if (overflow || bytes != e.end - e.begin) {
    throw Error(where + ": shape " + shape.dump() + " of dtype " + e.dtype + " needs " +
                (overflow ? std::string("more than 2^64") : std::to_string(bytes)) +
                " bytes but data_offsets [" + std::to_string(e.begin) + ", " +
                std::to_string(e.end) + "] hold " + std::to_string(e.end - e.begin));
  }
  return e;
}

std::map<std::string, std::string> parseMetadata(const std::string& what, const json& value) {
  std::map<std::string, std::string> metadata;
  if (value.is_null()) return metadata;
  if (!value.is_object())
    throw Error(what + ": '__metadata__' must be an object of strings, got " + value.type_name());
  for (const auto& [key, v] : value.items()) {
    if (!v.is_string())
      throw Error(what + ": '__metadata__' key " + inQuotes(key) + " must be a string, got " +
                  v.type_name());
    metadata[key] = v.get<std::string>();
  }
  return metadata;
}

/** Checks that the byte ranges tile [0, dataSize) exactly: no overlap, no hole, no tail. */
void checkLayout(const std::string& what, std::vector<SafetensorsEntry>& entries,
                 std::uint64_t dataSize) {
  for (const SafetensorsEntry& e : entries) {
    if (e.end > dataSize)
      throw Error(what + ": tensor " + inQuotes(e.name) + ": data_offsets [" +
                  std::to_string(e.begin) + ", " + std::to_string(e.end) +
                  "] run past the end of the data buffer (" + std::to_string(dataSize) +
                  " bytes): the file is truncated or the offsets are wrong");
  }
  std::sort(entries.begin(), entries.end(), [](const auto& a, const auto& b) {
    return std::tie(a.begin, a.end, a.name) < std::tie(b.begin, b.end, b.name);
  });
  std::uint64_t cursor = 0;
  const SafetensorsEntry* previous = nullptr;
  for (const SafetensorsEntry& e : entries) {
    if (e.begin < cursor)
      throw Error(what + ": tensor " + inQuotes(e.name) + ": bytes [" + std::to_string(e.begin) +
                  ", " + std::to_string(e.end) + ") overlap tensor " + inQuotes(previous->name) +
                  " [" + std::to_string(previous->begin) + ", " + std::to_string(previous->end) +
                  ")");
    if (e.begin > cursor)
      throw Error(what + ": bytes [" + std::to_string(cursor) + ", " + std::to_string(e.begin) +
                  ") of the data buffer belong to no tensor (a hole before tensor " +
                  inQuotes(e.name) + "; the format forbids holes)");
    cursor = e.end;
    previous = &e;
  }
  if (cursor != dataSize)
    throw Error(what + ": " + std::to_string(dataSize - cursor) +
                " trailing bytes after the last tensor's data (the buffer has " +
                std::to_string(dataSize) + " bytes, tensors cover " + std::to_string(cursor) +
                "; the format forbids holes)");
}

}  // namespace

const SafetensorsDtype* findSafetensorsDtype(std::string_view name) {
  for (const SafetensorsDtype& d : kDtypes)
    if (name == d.name) return &d;
  return nullptr;
}

const SafetensorsDtype* safetensorsDtypeFor(c10::ScalarType type) {
  for (const SafetensorsDtype& d : kDtypes)
    if (d.torchType == type) return &d;
  return nullptr;
}

std::string safetensorsDtypeList() {
  std::string list;
  for (const SafetensorsDtype& d : kDtypes)
    list += (list.empty() ? "" : ", ") + std::string(d.name);
  return list;
}

std::string safetensorsWhat(const std::string& file) { return "safetensors file '" + file + "'"; }

SafetensorsHeader parseSafetensorsHeader(std::string_view text, std::uint64_t dataSize,
                                         const fs::path& file) {
  const std::string what = safetensorsWhat(file.string());
  const std::size_t bad = findInvalidUtf8(text);
  if (bad != std::string_view::npos)
    throw Error(what + ": header is not valid UTF-8 (byte " + std::to_string(bad) +
                " of the header)");
  if (text.empty() || text.front() != '{')
    throw Error(what + ": header must be a JSON object starting with '{'" +
                (text.empty() ? std::string(" but is empty") : ""));
  const json root = parseJsonText(text, what + ": header", DuplicateKeys::kReject);
  if (!root.is_object())
    throw Error(what + ": header must be a JSON object, got " + root.type_name());

  SafetensorsHeader header;
  header.dataSize = dataSize;
  for (const auto& [name, value] : root.items()) {
    if (name == "__metadata__") {
      header.metadata = parseMetadata(what, value);
    } else {
      header.entries.push_back(parseEntry(what, name, value));
    }
  }
  checkLayout(what, header.entries, dataSize);
  return header;
}

SafetensorsHeader readSafetensorsHeader(const fs::path& file) {
  const std::string what = safetensorsWhat(file.string());
  std::error_code ec;
  if (!fs::is_regular_file(file, ec))
    throw Error(what + (fs::exists(file, ec) ? " is not a regular file" : " does not exist"));
  const std::uint64_t fileSize = fs::file_size(file, ec);
  if (ec) throw Error(what + ": cannot get its size: " + ec.message());
  if (fileSize < 8)
    throw Error(what + " is " + std::to_string(fileSize) +
                " bytes long, shorter than the 8-byte header length");

  std::unique_ptr<std::FILE, int (*)(std::FILE*)> in(std::fopen(file.c_str(), "rb"), &std::fclose);
  if (!in) throw Error(what + " cannot be opened for reading");
  unsigned char lengthBytes[8];
  if (std::fread(lengthBytes, 1, 8, in.get()) != 8) throw Error(what + ": cannot read its header");
  std::uint64_t length = 0;
  for (int i = 7; i >= 0; --i) length = (length << 8) | lengthBytes[i];
  if (length > kSafetensorsMaxHeaderBytes)
    throw Error(what + ": header length " + std::to_string(length) + " is absurd (limit " +
                std::to_string(kSafetensorsMaxHeaderBytes) + " bytes): not a safetensors file?");
  if (length > fileSize - 8)
    throw Error(what + ": header length " + std::to_string(length) +
                " runs past the end of the file (" + std::to_string(fileSize) + " bytes)");

  std::string text(length, '\0');
  if (std::fread(text.data(), 1, length, in.get()) != length)
    throw Error(what + ": cannot read its " + std::to_string(length) + "-byte header");
  SafetensorsHeader header = parseSafetensorsHeader(text, fileSize - 8 - length, file);
  header.dataStart = 8 + length;
  return header;
}

}  // namespace nmar::core
