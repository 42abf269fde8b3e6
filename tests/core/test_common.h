#pragma once
/** @file Helpers every core test may use: the message of an expected Error, a temporary folder. */
#include <unistd.h>

#include <filesystem>
#include <functional>
#include <string>

#include "util/error.h"

namespace nmar::core::testing {

/** What @p f throws as nmar::core::Error, or "no error". */
inline std::string errorOf(const std::function<void()>& f) {
  try {
    f();
  } catch (const Error& e) {
    return e.what();
  }
  return "no error";
}

/** A fresh folder under the system's temporary directory, removed with everything in it. */
class TempDir {
 public:
  explicit TempDir(const std::string& prefix = "nmar-test") {
    m_path = std::filesystem::temp_directory_path() /
             (prefix + "-" + std::to_string(::getpid()) + "-" + std::to_string(s_counter++));
    std::filesystem::remove_all(m_path);
    std::filesystem::create_directories(m_path);
  }
  ~TempDir() {
    std::error_code ec;
    std::filesystem::remove_all(m_path, ec);
  }
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;
  const std::filesystem::path& path() const { return m_path; }

 private:
  std::filesystem::path m_path;
  static inline int s_counter = 0;
};

}  // namespace nmar::core::testing
