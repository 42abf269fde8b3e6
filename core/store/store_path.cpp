#include "store/store_path.h"

#include <cstdlib>
#include <string>

#include "util/error.h"

namespace nmar::core {
namespace {

std::string env(const char* name) {
  const char* v = std::getenv(name);
  return v ? std::string(v) : std::string();
}

}  // namespace

std::filesystem::path defaultStorePath() {
  if (const std::string store = env("NMAR_STORE"); !store.empty()) return store;
  // The XDG base directory spec says relative values are invalid and must be ignored.
  if (const std::string xdg = env("XDG_DATA_HOME"); !xdg.empty() && xdg[0] == '/')
    return std::filesystem::path(xdg) / "nmar" / "runs.sqlite";
  if (const std::string home = env("HOME"); !home.empty())
    return std::filesystem::path(home) / ".local" / "share" / "nmar" / "runs.sqlite";
  throw Error("no default run store: set NMAR_STORE, XDG_DATA_HOME or HOME, or pass --store PATH");
}

}  // namespace nmar::core
