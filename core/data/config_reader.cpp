#include "data/config_reader.h"

#include <cmath>
#include <sstream>

#include "util/error.h"

namespace nmar::core {

namespace {
const nlohmann::json& nullJson() {
  static const nlohmann::json kNull;
  return kNull;
}

std::string shortDump(const nlohmann::json& j) {
  std::string s = j.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
  if (s.size() > 40) s = s.substr(0, 37) + "...";
  return s;
}
}  // namespace

std::string jsonTypeName(const nlohmann::json& j) {
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
      return "an integer";
  }
}

ConfigReader::ConfigReader(const nlohmann::json& object, std::string where, std::string name)
    : m_object(object), m_where(std::move(where)), m_name(name.empty() ? "" : name + ".") {
  if (!m_object.is_null() && !m_object.is_object())
    throw Error(m_where + (name.empty() ? "" : ": field '" + name + "'") +
                ": expected an object, got " + jsonTypeName(m_object));
}

bool ConfigReader::has(const std::string& key) {
  m_known.insert(key);
  return m_object.is_object() && m_object.contains(key) && !m_object.at(key).is_null();
}

const nlohmann::json& ConfigReader::raw(const std::string& key) {
  return has(key) ? m_object.at(key) : nullJson();
}

void ConfigReader::fail(const std::string& key, const std::string& problem) const {
  throw Error(m_where + ": field '" + m_name + key + "': " + problem);
}

std::int64_t ConfigReader::integer(const std::string& key, std::int64_t fallback, std::int64_t lo,
                                   std::int64_t hi) {
  if (!has(key)) return fallback;
  const nlohmann::json& v = m_object.at(key);
  const std::string range =
      "an integer in [" + std::to_string(lo) + ", " + std::to_string(hi) + "]";
  std::int64_t x = 0;
  if (v.is_number_integer()) {
    if (v.is_number_unsigned() && v.get<std::uint64_t>() > static_cast<std::uint64_t>(hi))
      fail(key, "expected " + range + ", got " + shortDump(v));
    x = v.get<std::int64_t>();
  } else if (v.is_number_float() && std::isfinite(v.get<double>()) &&
             std::floor(v.get<double>()) == v.get<double>() && std::fabs(v.get<double>()) < 9e18) {
    x = static_cast<std::int64_t>(v.get<double>());
  } else {
    fail(key, "expected " + range + ", got " + jsonTypeName(v) + " " + shortDump(v));
  }
  if (x < lo || x > hi) fail(key, "expected " + range + ", got " + std::to_string(x));
  return x;
}

double ConfigReader::number(const std::string& key, double fallback, double lo, double hi) {
  if (!has(key)) return fallback;
  const nlohmann::json& v = m_object.at(key);
  std::ostringstream range;
  range << "a number in [" << lo << ", " << hi << "]";
  if (!v.is_number()) fail(key, "expected " + range.str() + ", got " + jsonTypeName(v));
  const double x = v.get<double>();
  if (!std::isfinite(x) || x < lo || x > hi)
    fail(key, "expected " + range.str() + ", got " + shortDump(v));
  return x;
}

bool ConfigReader::boolean(const std::string& key, bool fallback) {
  if (!has(key)) return fallback;
  const nlohmann::json& v = m_object.at(key);
  if (!v.is_boolean())
    fail(key, "expected true or false, got " + jsonTypeName(v) + " " + shortDump(v));
  return v.get<bool>();
}

std::string ConfigReader::string(const std::string& key, const std::string& fallback,
                                 std::initializer_list<const char*> allowed) {
  if (!has(key)) return fallback;
  const nlohmann::json& v = m_object.at(key);
  std::string choices;
  for (const char* a : allowed) choices += std::string(choices.empty() ? "" : ", ") + a;
  if (!v.is_string())
    fail(key, "expected a string" + (choices.empty() ? "" : " (one of " + choices + ")") +
                  ", got " + jsonTypeName(v));
  const std::string s = v.get<std::string>();
  if (allowed.size() == 0) return s;
  for (const char* a : allowed)
    if (s == a) return s;
  fail(key, "unknown value '" + s + "' (expected one of " + choices + ")");
}

void ConfigReader::rejectUnknown() const {
  if (!m_object.is_object()) return;
  for (const auto& item : m_object.items()) {
    if (m_known.count(item.key())) continue;
    std::string known;
    for (const std::string& k : m_known) known += (known.empty() ? "" : ", ") + k;
    throw Error(m_where + ": unknown field '" + m_name + item.key() + "'" +
                (known.empty() ? std::string(" (expected no fields)")
                               : " (expected one of " + known + ")"));
  }
}

}  // namespace nmar::core
