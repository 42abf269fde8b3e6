#pragma once
/** @file JSON and text file helpers for the tokenizer loaders, with messages that name file and
 * field. */
#include <cstdint>
#include <filesystem>
#include <string>

#include <nlohmann/json.hpp>

namespace nmar::core::tokjson {

/** Throws Error "<file>: field '<field>' <problem>". */
[[noreturn]] void fieldError(const std::string& file, const std::string& field,
                             const std::string& problem);

/**
 * Returns @p obj[@p key], which must exist. @p field is the full dotted name used in messages
 * ("model.vocab"), @p expected what the field should hold ("an object mapping tokens to ids").
 */
const nlohmann::json& require(const nlohmann::json& obj, const char* key, const std::string& file,
                              const std::string& field, const std::string& expected);

/** Returns a string field, or @p fallback when it is absent or null; Error when it has another
 * type. */
std::string optString(const nlohmann::json& obj, const char* key, const std::string& file,
                      const std::string& field, const std::string& fallback = {});

/** Returns a boolean field, or @p fallback when it is absent or null; Error when it has another
 * type. */
bool optBool(const nlohmann::json& obj, const char* key, const std::string& file,
             const std::string& field, bool fallback);

/**
 * Largest token id a file may use when it defines @p entries tokens. Ids index dense tables, so
 * they must stay near the number of entries (below 2 x entries + 1024); otherwise a 1 KB file with
 * the id 2000000000 makes the loader allocate tens of gigabytes.
 */
inline int64_t maxTokenId(std::size_t entries) { return 2 * static_cast<int64_t>(entries) + 1023; }

/** Throws Error "<where>: id <id> is far past the <count> tokens defined ..." when @p id is above
 * maxTokenId(@p entries). */
void checkTokenIdDense(int64_t id, std::size_t entries, const std::string& where);

/** A short description of the JSON type of @p j for messages ("a string", "an array", ...). */
std::string typeName(const nlohmann::json& j);

}  // namespace nmar::core::tokjson
