#pragma once
// Helpers shared by the tokenizer tests: fixture paths, file reading, temporary folders, errors.
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <functional>
#include <sstream>
#include <string>

#include "util/error.h"
#include "nmar_test_paths.h"

namespace nmar::test {

inline std::filesystem::path fixtures() { return std::filesystem::path(NMAR_FIXTURES_DIR); }

inline std::string readFile(const std::filesystem::path& p) {
  std::ifstream in(p, std::ios::binary);
  std::ostringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

inline void writeFile(const std::filesystem::path& p, const std::string& text) {
  std::ofstream(p, std::ios::binary) << text;
}

/** A fresh temporary folder, removed on destruction. */
struct TempDir {
  std::filesystem::path path;
  explicit TempDir(const std::string& tag) {
    static int counter = 0;
    path = std::filesystem::temp_directory_path() /
           ("nmar-" + tag + "-" + std::to_string(::getpid()) + "-" + std::to_string(counter++));
    std::filesystem::remove_all(path);
    std::filesystem::create_directories(path);
  }
  ~TempDir() { std::filesystem::remove_all(path); }
};

/** The message of the nmar::core::Error that @p f throws, or "<no error>". */
inline std::string errorOf(const std::function<void()>& f) {
  try {
    f();
  } catch (const nmar::core::Error& e) {
    return e.what();
  }
  return "<no error>";
}

}  // namespace nmar::test
