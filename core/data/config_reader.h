#pragma once
/**
 * @file Reading the JSON sections of the data module (task parameters, data sources, deviation
 * settings, curricula) with messages that name the section and the field.
 */
#include <cstdint>
#include <initializer_list>
#include <set>
#include <string>

#include <nlohmann/json.hpp>

namespace nmar::core {

/** "a string", "an integer", "an object", ... for messages. */
std::string jsonTypeName(const nlohmann::json& j);

/**
 * Typed, range-checked access to the fields of one JSON object. Every Error reads
 * "<where>: field '<key>': expected ..., got ..." (or "<where>: expected an object, got ...").
 * Fields that are absent or null take the fallback. The keys asked for are remembered, so that
 * rejectUnknown() can name a misspelt field instead of silently ignoring it. Not thread-safe.
 */
class ConfigReader {
 public:
  /**
   * Reads @p object (null counts as an empty object); throws Error when it is not an object. When
   * @p name is given, the object is itself a field of that name: messages then read
   * "<where>: field '<name>.<key>': ..." and "<where>: field '<name>': expected an object ...".
   */
  ConfigReader(const nlohmann::json& object, std::string where, std::string name = {});

  /** True when @p key is present and not null (and marks it as known). */
  bool has(const std::string& key);

  /** An integer field in [@p lo, @p hi]; a float with an integral value is accepted. */
  std::int64_t integer(const std::string& key, std::int64_t fallback, std::int64_t lo,
                       std::int64_t hi);

  /** A finite number in [@p lo, @p hi]. */
  double number(const std::string& key, double fallback, double lo, double hi);

  /** A boolean field (true or false; nothing else is accepted). */
  bool boolean(const std::string& key, bool fallback);

  /** A string field; @p allowed (when not empty) lists the accepted values. */
  std::string string(const std::string& key, const std::string& fallback,
                     std::initializer_list<const char*> allowed = {});

  /** The raw value of @p key (null when absent), marked as known. */
  const nlohmann::json& raw(const std::string& key);

  /** Throws Error "<where>: field '<name.><key>': <problem>". */
  [[noreturn]] void fail(const std::string& key, const std::string& problem) const;

  /** Throws Error "<where>: unknown field 'k' (expected one of ...)" for a key never asked for. */
  void rejectUnknown() const;

  /** The section name used in messages. */
  const std::string& where() const { return m_where; }

 private:
  const nlohmann::json& m_object;
  std::string m_where;
  std::string m_name;  // "" or "<name>." prefixed to keys in messages
  std::set<std::string> m_known;
};

}  // namespace nmar::core
