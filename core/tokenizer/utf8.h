#pragma once
/** @file UTF-8 helpers for the tokenizers: validation, lossy decoding, normalisation forms. */
#include <cstddef>
#include <string>
#include <string_view>

namespace nmar::core::utf8 {

/** Marker returned by findInvalid() when the whole string is valid UTF-8. */
inline constexpr std::size_t kValid = std::string_view::npos;

/**
 * Looks at the sequence that starts at @p s[i]. Returns its length (1..4) when it is a valid UTF-8
 * sequence and stores its code point in @p cp; otherwise returns minus the length of the maximal
 * invalid subpart (at least 1), following the Unicode "maximal subpart" practice.
 */
int decodeAt(std::string_view s, std::size_t i, char32_t& cp);

/** Returns the byte offset of the first invalid UTF-8 sequence in @p s, or kValid. */
std::size_t findInvalid(std::string_view s);

/** Appends the UTF-8 encoding of @p cp to @p out. */
void append(std::string& out, char32_t cp);

/** Decodes @p bytes, replacing each maximal invalid subpart with U+FFFD (like Rust's
 * from_utf8_lossy). */
std::string lossy(std::string_view bytes);

/** Like lossy(), but shows each invalid byte as "<0xNN>" instead of U+FFFD (for token chips). */
std::string escapeInvalid(std::string_view bytes);

/** Describes the character at @p s[i] for messages: "'x' (U+0078)", or "byte 0xNN" when invalid. */
std::string describeCharAt(std::string_view s, std::size_t i);

/** Unicode normalisation forms (as done by utf8proc). */
enum class NormalForm { kNfc, kNfd, kNfkc, kNfkd };

/** Returns @p s (valid UTF-8) in the normal form @p form; ASCII text is returned unchanged. */
std::string normalize(std::string_view s, NormalForm form);

/** Returns @p s (valid UTF-8) with every code point lower-cased (simple case mapping). */
std::string toLower(std::string_view s);

/** True when @p cp is Unicode whitespace (White_Space property, as Rust's char::is_whitespace). */
bool isWhitespace(char32_t cp);

/** True when @p cp is a letter or a number (Unicode general category L* or N*). */
bool isAlphanumeric(char32_t cp);

}  // namespace nmar::core::utf8
