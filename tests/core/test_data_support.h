#pragma once
// Shared helpers for the data-module tests.
#include <functional>
#include <string>

#include <gtest/gtest.h>

#include "tokenizer/char_tokenizer.h"
#include "util/error.h"

namespace nmar::core::testing {

/** The message of the Error @p f throws, or "no error". */
inline std::string dataErrorOf(const std::function<void()>& f) {
  try {
    f();
  } catch (const Error& e) {
    return e.what();
  }
  return "no error";
}

/** True when every character of @p text is in CharTokenizer's default alphabet. */
inline bool inDefaultAlphabet(const std::string& text) {
  static const std::string alphabet = CharTokenizer::defaultAlphabet();
  for (char c : text)
    if (alphabet.find(c) == std::string::npos) return false;
  return true;
}

}  // namespace nmar::core::testing

/** Expects that @p stmt throws an Error whose message contains @p needle. */
#define EXPECT_DATA_ERROR(stmt, needle)                                                \
  do {                                                                                 \
    const std::string nmarMessage = ::nmar::core::testing::dataErrorOf([&] { stmt; }); \
    EXPECT_NE(nmarMessage.find(needle), std::string::npos)                             \
        << "expected: " << (needle) << "\nmessage:  " << nmarMessage;                  \
  } while (false)
