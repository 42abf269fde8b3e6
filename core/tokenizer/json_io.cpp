#include "tokenizer/json_io.h"

#include <fstream>
#include <sstream>

#include "util/error.h"

namespace nmar::core::tokjson {
namespace fs = std::filesystem;

void fieldError(const std::string& file, const std::string& field, const std::string& problem) {
  throw Error(file + ": field '" + field + "' " + problem);
}

void checkTokenIdDense(int64_t id, std::size_t entries, const std::string& where) {
  if (id <= maxTokenId(entries)) return;
  throw Error(where + ": id " + std::to_string(id) + " is far past the " + std::to_string(entries) +
              " tokens defined (ids must stay below " + std::to_string(maxTokenId(entries) + 1) +
              ", twice the number of tokens plus 1024: ids index dense tables)");
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
