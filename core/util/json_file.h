#pragma once
/** @file Reading and writing JSON files (config.json, indexes, traces) with precise errors. */
#include <cstdint>
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
 * Deepest nesting of arrays and objects accepted in JSON read from files (serde_json's limit, so
 * every file the Hugging Face tools write is accepted). Copying, printing and walking a JSON value
 * recurse once per level: without a limit a file of a million '[' exhausts the stack.
 */
inline constexpr std::size_t kMaxJsonDepth = 128;

/** Largest JSON file readJsonFile() reads (a tokenizer.json is at most a few tens of MB). */
inline constexpr std::uintmax_t kMaxJsonFileBytes = std::uintmax_t{256} << 20;

/**
 * Byte index of the bracket that opens level @p maxDepth + 1 of nested arrays/objects in @p text
 * (brackets inside strings do not count), or npos when the text nests no deeper than @p maxDepth.
 * Works on any text, valid JSON or not, in one pass without recursion.
 */
std::size_t findJsonNestingExcess(std::string_view text, std::size_t maxDepth = kMaxJsonDepth);

/** Where and why nlohmann's parser rejected a text. */
struct JsonParseFailure {
  std::size_t index = std::string_view::npos;  ///< byte index of the problem; npos: unknown
  std::string reason;                          ///< without nlohmann's "[json.exception...]" prefix
};

/**
 * Describes an exception that nlohmann::json::parse threw for @p text: a syntax error
 * (parse_error, at its byte) or a number too large for a double (out_of_range 406, located by
 * searching for the number's text). Any other nlohmann exception gives its message, index npos.
 */
JsonParseFailure describeJsonFailure(std::string_view text, const nlohmann::json::exception& e);

/** "line L, column C" (1-based) of byte index @p index of @p text. */
std::string textPosition(std::string_view text, std::size_t index);

/**
 * Parses @p text as JSON. @p what names the source in messages (e.g. "JSON file 'a/config.json'").
 * Throws Error "<what>: invalid JSON at line L, column C: <reason>" on a syntax error, invalid
 * UTF-8 or a number out of the range of a double; "<what>: JSON nested deeper than 128 levels at
 * line L, column C" (kMaxJsonDepth); and, with DuplicateKeys::kReject, "<what>: duplicate key 'k'
 * in <object>". No other exception escapes.
 */
nlohmann::json parseJsonText(std::string_view text, const std::string& what,
                             DuplicateKeys duplicates = DuplicateKeys::kKeepLast);

/**
 * Reads the whole file @p file as bytes. Throws Error naming the file (as @p what, default
 * "file '<path>'") when it does not exist, is a folder, cannot be read, or is larger than
 * @p maxBytes (0: no limit).
 */
std::string readFileBytes(const std::filesystem::path& file, const std::string& what = {},
                          std::uintmax_t maxBytes = 0);

/**
 * Reads and parses the JSON file @p file. Throws Error naming the file when it is missing, cannot
 * be read, is larger than kMaxJsonFileBytes, nests deeper than kMaxJsonDepth or is not valid JSON
 * (with line and column of the problem).
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
