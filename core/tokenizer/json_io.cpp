#include "tokenizer/json_io.h"

#include <fstream>
#include <sstream>

#include "util/error.h"

namespace nmar::core::tokjson {
namespace fs = std::filesystem;

std::string readTextFile(const fs::path& file) {
  std::error_code ec;
  if (!fs::exists(file, ec)) throw Error(file.string() + ": no such file");
  if (fs::is_directory(file, ec)) throw Error(file.string() + ": is a folder, expected a file");
  std::ifstream in(file, std::ios::binary);
  if (!in) throw Error(file.string() + ": cannot open for reading");
  std::ostringstream ss;
  ss << in.rdbuf();
  if (in.bad()) throw Error(file.string() + ": read error");
  return ss.str();
}

nlohmann::json readJsonFile(const fs::path& file) {
  const std::string text = readTextFile(file);
  try {
    return nlohmann::json::parse(text);
  } catch (const nlohmann::json::parse_error& e) {
    // e.byte is 1-based and points just past the offending character.
    const std::size_t end = std::min<std::size_t>(e.byte > 0 ? e.byte - 1 : 0, text.size());
    std::size_t line = 1, column = 1;
    for (std::size_t i = 0; i < end; ++i) {
      if (text[i] == '\n') {
        ++line;
        column = 1;
      } else {
        ++column;
      }
    }
    std::string what = e.what();
    if (const auto pos = what.find("syntax error"); pos != std::string::npos)
      what = what.substr(pos);
    throw Error(file.string() + ": malformed JSON at line " + std::to_string(line) + ", column " +
                std::to_string(column) + ": " + what);
  }
}

void writeJsonFile(const fs::path& file, const nlohmann::json& j) {
  const fs::path tmp = file.string() + ".tmp";
  {
    std::ofstream out(tmp, std::ios::binary | std::ios::trunc);
    if (!out) throw Error(file.string() + ": cannot open for writing");
    out << j.dump(2, ' ', false, nlohmann::json::error_handler_t::strict) << "\n";
    out.flush();
    if (!out) throw Error(file.string() + ": write error");
  }
  std::error_code ec;
  fs::rename(tmp, file, ec);
  if (ec) {
    fs::remove(tmp, ec);
    throw Error(file.string() + ": cannot replace file: " + ec.message());
  }
}

void fieldError(const std::string& file, const std::string& field, const std::string& problem) {
  throw Error(file + ": field '" + field + "' " + problem);
}

std::string typeName(const nlohmann::json& j) {
  switch (j.type()) {
    case nlohmann::json::value_t::null:
      return "null";
    case nlohmann::json::value_t::object:
      return "an object";
    case nlohmann::json::value_t::array:
      return "an array";
    case nlohmann::json::value_t::string:
      return "a string";
    case nlohmann::json::value_t::boolean:
      return "a boolean";
    case nlohmann::json::value_t::number_float:
      return "a floating-point number";
    default:
      return "a number";
  }
}

const nlohmann::json& require(const nlohmann::json& obj, const char* key, const std::string& file,
                              const std::string& field, const std::string& expected) {
  if (!obj.is_object() || !obj.contains(key) || obj.at(key).is_null())
    fieldError(file, field, "is missing (expected " + expected + ")");
  return obj.at(key);
}

std::string optString(const nlohmann::json& obj, const char* key, const std::string& file,
                      const std::string& field, const std::string& fallback) {
  if (!obj.is_object() || !obj.contains(key) || obj.at(key).is_null()) return fallback;
  const auto& v = obj.at(key);
  if (!v.is_string()) fieldError(file, field, "is " + typeName(v) + ", expected a string");
  return v.get<std::string>();
}

bool optBool(const nlohmann::json& obj, const char* key, const std::string& file,
             const std::string& field, bool fallback) {
  if (!obj.is_object() || !obj.contains(key) || obj.at(key).is_null()) return fallback;
  const auto& v = obj.at(key);
  if (!v.is_boolean()) fieldError(file, field, "is " + typeName(v) + ", expected true or false");
  return v.get<bool>();
}

}  // namespace nmar::core::tokjson
