#include "cli_common.h"

#include <cctype>
#include <sstream>

#include "util/error.h"

namespace nmar::app {

std::vector<std::int64_t> parseIdList(const std::string& text) {
  std::vector<std::int64_t> ids;
  std::stringstream in(text);
  std::string item;
  int index = 0;
  while (std::getline(in, item, ',')) {
    ++index;
    const auto b = item.find_first_not_of(" \t");
    const auto e = item.find_last_not_of(" \t");
    const std::string trimmed = b == std::string::npos ? "" : item.substr(b, e - b + 1);
    bool ok = !trimmed.empty() && trimmed.size() <= 18;
    for (char c : trimmed) ok = ok && std::isdigit(static_cast<unsigned char>(c));
    if (!ok)
      throw core::Error("--ids: item " + std::to_string(index) + " ('" + trimmed +
                        "') is not a non-negative integer token id");
    ids.push_back(std::stoll(trimmed));
  }
  if (ids.empty()) throw core::Error("--ids: expected a comma-separated list such as 1,2,3");
  return ids;
}

}  // namespace nmar::app
