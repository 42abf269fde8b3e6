#pragma once
/** @file Reading and writing JSON files (config.json, indexes, traces) with precise errors. */
#include <filesystem>
#include <string>
#include <string_view>

#include <nlohmann/json.hpp>

namespace nmar::core {

/** What to do when a JSON object holds the same key twice. */
enum class DuplicateKeys {
  kKeepLast,  ///< what most JSON readers (and Python's json) do
  kReject,    ///< an Error naming the key and the object that holds it
};

/**
 * Parses @p text as JSON. @p what names the source in messages (e.g. "JSON file 'a/config.json'").
 * Throws Error "<what>: invalid JSON at line L, column C: <reason>" on a syntax error or invalid
 * UTF-8, and, with DuplicateKeys::kReject, "<what>: duplicate key 'k' in <object>".
 */
nlohmann::json parseJsonText(std::string_view text, const std::string& what,
                             DuplicateKeys duplicates = DuplicateKeys::kKeepLast);

/**
 * Reads the whole file @p file as bytes. Throws Error naming the file (as @p what, default
 * "file '<path>'") when it does not exist, is a folder, or cannot be read.
 */
std::string readFileBytes(const std::filesystem::path& file, const std::string& what = {});

/**
 * Reads and parses the JSON file @p file. Throws Error naming the file when it is missing, cannot
 * be read or is not valid JSON (with line and column of the problem).
 */
nlohmann::json readJsonFile(const std::filesystem::path& file,
                            DuplicateKeys duplicates = DuplicateKeys::kKeepLast);

/**
 * Writes @p value to @p file as pretty JSON (2-space indent, trailing newline), atomically (see
 * writeFileAtomically). Throws Error naming the file on an I/O failure or a string that is not
 * valid UTF-8.
 */
void writeJsonFile(const std::filesystem::path& file, const nlohmann::json& value);

/**
 * Replaces @p file with @p bytes atomically: the bytes go to a temporary file in the same folder,
 * which is flushed to disk and then renamed over @p file. A failure or a crash leaves either the
 * old file or the new one, never a mix; the temporary file is removed on failure. Throws Error
 * naming the file and the system's reason. The folder must exist.
 */
void writeFileAtomically(const std::filesystem::path& file, std::string_view bytes);

/**
 * Byte index of the first byte of @p text that is not part of a well-formed UTF-8 sequence
 * (overlong forms, surrogates and code points above U+10FFFF are ill-formed), or npos.
 */
std::size_t findInvalidUtf8(std::string_view text);

}  // namespace nmar::core
