#pragma once
/** @file Error type for expected failures in core (bad files, bad config, invalid traces). */
#include <stdexcept>
#include <string>

namespace nmar::core {

/**
 * Thrown for expected failures: a file that cannot be read, a malformed config, an invalid trace.
 * The message always names the file, the field or the position and says what was expected, so that
 * the CLI can print it as-is and the GUI can show it in a non-modal message. Programming errors
 * (broken invariants) are not Errors.
 */
class Error : public std::runtime_error {
 public:
  explicit Error(const std::string& message) : std::runtime_error(message) {}
};

}  // namespace nmar::core
