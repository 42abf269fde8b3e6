#include "tokenizer/utf8.h"

#include <cstdio>
#include <cstdlib>
#include <memory>

#include <utf8proc.h>

#include "util/error.h"

namespace nmar::core::utf8 {

int decodeAt(std::string_view s, std::size_t i, char32_t& cp) {
  const auto byte = [&](std::size_t k) { return static_cast<unsigned char>(s[k]); };
  const unsigned char b0 = byte(i);
  if (b0 < 0x80) {
    cp = b0;
    return 1;
  }
  int len = 0;
  unsigned char lo = 0x80, hi = 0xBF;  // the allowed range of the second byte
  if (b0 >= 0xC2 && b0 <= 0xDF) {
    len = 2;
  } else if (b0 >= 0xE0 && b0 <= 0xEF) {
    len = 3;
    if (b0 == 0xE0) lo = 0xA0;
    if (b0 == 0xED) hi = 0x9F;
  } else if (b0 >= 0xF0 && b0 <= 0xF4) {
    len = 4;
    if (b0 == 0xF0) lo = 0x90;
    if (b0 == 0xF4) hi = 0x8F;
  } else {
    return -1;
  }
  char32_t value = b0 & (len == 2 ? 0x1F : len == 3 ? 0x0F : 0x07);
  for (int k = 1; k < len; ++k) {
    if (i + k >= s.size()) return -k;
    const unsigned char b = byte(i + k);
    const unsigned char min = k == 1 ? lo : 0x80, max = k == 1 ? hi : 0xBF;
    if (b < min || b > max) return -k;
    value = (value << 6) | (b & 0x3F);
  }
  cp = value;
  return len;
}

std::size_t findInvalid(std::string_view s) {
  std::size_t i = 0;
  char32_t cp = 0;
  while (i < s.size()) {
    if (static_cast<unsigned char>(s[i]) < 0x80) {
      ++i;
      continue;
    }
    const int n = decodeAt(s, i, cp);
    if (n < 0) return i;
    i += static_cast<std::size_t>(n);
  }
  return kValid;
}

void append(std::string& out, char32_t cp) {
  if (cp < 0x80) {
    out += static_cast<char>(cp);
  } else if (cp < 0x800) {
    out += static_cast<char>(0xC0 | (cp >> 6));
    out += static_cast<char>(0x80 | (cp & 0x3F));
  } else if (cp < 0x10000) {
    out += static_cast<char>(0xE0 | (cp >> 12));
    out += static_cast<char>(0x80 | ((cp >> 6) & 0x3F));
    out += static_cast<char>(0x80 | (cp & 0x3F));
  } else {
    out += static_cast<char>(0xF0 | (cp >> 18));
    out += static_cast<char>(0x80 | ((cp >> 12) & 0x3F));
    out += static_cast<char>(0x80 | ((cp >> 6) & 0x3F));
    out += static_cast<char>(0x80 | (cp & 0x3F));
  }
}

namespace {

template <typename OnInvalid>
std::string repair(std::string_view bytes, OnInvalid onInvalid) {
  std::string out;
  out.reserve(bytes.size());
  std::size_t i = 0;
  char32_t cp = 0;
  while (i < bytes.size()) {
    const int n = decodeAt(bytes, i, cp);
    if (n > 0) {
      out.append(bytes.data() + i, static_cast<std::size_t>(n));
      i += static_cast<std::size_t>(n);
    } else {
      onInvalid(out, bytes.substr(i, static_cast<std::size_t>(-n)));
      i += static_cast<std::size_t>(-n);
    }
  }
  return out;
}

std::string hexByte(unsigned char b) {
  char buf[8];
  std::snprintf(buf, sizeof buf, "<0x%02X>", b);
  return buf;
}

}  // namespace

std::string lossy(std::string_view bytes) {
  if (findInvalid(bytes) == kValid) return std::string(bytes);
  return repair(bytes, [](std::string& out, std::string_view) { out += "\xEF\xBF\xBD"; });
}

std::string escapeInvalid(std::string_view bytes) {
  if (findInvalid(bytes) == kValid) return std::string(bytes);
  return repair(bytes, [](std::string& out, std::string_view bad) {
    for (char c : bad) out += hexByte(static_cast<unsigned char>(c));
  });
}

std::string describeCharAt(std::string_view s, std::size_t i) {
  char32_t cp = 0;
  const int n = decodeAt(s, i, cp);
  if (n < 0) return "byte " + hexByte(static_cast<unsigned char>(s[i])).substr(1, 4);
  char buf[16];
  std::snprintf(buf, sizeof buf, "U+%04X", static_cast<unsigned>(cp));
  std::string shown = cp < 0x20 || cp == 0x7F ? std::string() : std::string(s.substr(i, n));
  if (cp == '\n') shown = "\\n";
  if (cp == '\t') shown = "\\t";
  if (cp == '\r') shown = "\\r";
  return (shown.empty() ? std::string() : "'" + shown + "' ") + "(" + buf + ")";
}

namespace {

std::string normalizeAll(std::string_view s, int options) {
  utf8proc_uint8_t* dst = nullptr;
  const utf8proc_ssize_t n = utf8proc_map(reinterpret_cast<const utf8proc_uint8_t*>(s.data()),
                                          static_cast<utf8proc_ssize_t>(s.size()), &dst,
                                          static_cast<utf8proc_option_t>(options));
  std::unique_ptr<utf8proc_uint8_t, decltype(&std::free)> holder(dst, &std::free);
  if (n < 0) throw Error(std::string("Unicode normalisation failed: ") + utf8proc_errmsg(n));
  return std::string(reinterpret_cast<const char*>(dst), static_cast<std::size_t>(n));
}

bool isAscii(char c) { return static_cast<unsigned char>(c) < 0x80; }

}  // namespace

std::string normalize(std::string_view s, NormalForm form) {
  int options = UTF8PROC_STABLE;
  switch (form) {
    case NormalForm::kNfc:
      options |= UTF8PROC_COMPOSE;
      break;
    case NormalForm::kNfd:
      options |= UTF8PROC_DECOMPOSE;
      break;
    case NormalForm::kNfkc:
      options |= UTF8PROC_COMPOSE | UTF8PROC_COMPAT;
      break;
    case NormalForm::kNfkd:
      options |= UTF8PROC_DECOMPOSE | UTF8PROC_COMPAT;
      break;
  }
  // ASCII is invariant under every normal form, and an ASCII character followed by another one
  // can neither compose nor reorder with its neighbours: only the regions around non-ASCII
  // characters (with the ASCII character before them) go through utf8proc.
  std::string out;
  out.reserve(s.size());
  std::size_t pos = 0;
  while (pos < s.size()) {
    std::size_t p = pos;
    while (p < s.size() && isAscii(s[p])) ++p;
    if (p == s.size()) break;
    const std::size_t start = p > pos ? p - 1 : p;
    std::size_t q = p;
    while (q < s.size() && !(isAscii(s[q]) && (q + 1 == s.size() || isAscii(s[q + 1])))) ++q;
    out.append(s.data() + pos, start - pos);
    out += normalizeAll(s.substr(start, q - start), options);
    pos = q;
  }
  out.append(s.data() + pos, s.size() - pos);
  return out;
}

std::string toLower(std::string_view s) {
  std::string out;
  out.reserve(s.size());
  std::size_t i = 0;
  char32_t cp = 0;
  while (i < s.size()) {
    const int n = decodeAt(s, i, cp);
    if (n < 0) throw Error("lower-casing: invalid UTF-8 at byte offset " + std::to_string(i));
    append(out, static_cast<char32_t>(utf8proc_tolower(static_cast<utf8proc_int32_t>(cp))));
    i += static_cast<std::size_t>(n);
  }
  return out;
}

bool isWhitespace(char32_t cp) {
  if (cp == ' ' || (cp >= 0x09 && cp <= 0x0D) || cp == 0x85) return true;
  if (cp < 0x80) return false;
  const auto cat = utf8proc_category(static_cast<utf8proc_int32_t>(cp));
  return cat == UTF8PROC_CATEGORY_ZS || cat == UTF8PROC_CATEGORY_ZL || cat == UTF8PROC_CATEGORY_ZP;
}

bool isAlphanumeric(char32_t cp) {
  if (cp < 0x80) return (cp >= '0' && cp <= '9') || ((cp | 0x20) >= 'a' && (cp | 0x20) <= 'z');
  const auto cat = utf8proc_category(static_cast<utf8proc_int32_t>(cp));
  return (cat >= UTF8PROC_CATEGORY_LU && cat <= UTF8PROC_CATEGORY_LO) ||
         (cat >= UTF8PROC_CATEGORY_ND && cat <= UTF8PROC_CATEGORY_NO);
}

}  // namespace nmar::core::utf8
