#include "data/example.h"

#include <cstdio>

namespace nmar::core {

bool Example::operator==(const Example& o) const {
  return task == o.task && prompt == o.prompt && completion == o.completion && answer == o.answer &&
         steps == o.steps && difficulty == o.difficulty && verifier == o.verifier &&
         source == o.source;
}

nlohmann::json toJson(const Example& example) {
  nlohmann::json j{
      {"task", example.task},     {"prompt", example.prompt}, {"completion", example.completion},
      {"answer", example.answer}, {"steps", example.steps},   {"difficulty", example.difficulty}};
  if (!example.verifier.is_null()) j["verifier"] = example.verifier;
  if (!example.source.empty()) j["source"] = example.source;
  return j;
}

nlohmann::json toJson(const Verdict& verdict) {
  return {{"correct", verdict.correct},
          {"process", verdict.process},
          {"steps_right", verdict.stepsRight},
          {"steps_total", verdict.stepsTotal},
          {"detail", verdict.detail}};
}

std::string_view trimWhitespace(std::string_view text) {
  constexpr const char* kSpace = " \t\r\n\f\v";
  const auto b = text.find_first_not_of(kSpace);
  if (b == std::string_view::npos) return {};
  const auto e = text.find_last_not_of(kSpace);
  return text.substr(b, e - b + 1);
}

std::string shownOutput(std::string_view text) {
  if (text.empty()) return "nothing";
  constexpr std::size_t kMax = 60;
  const bool cut = text.size() > kMax;
  std::string out;
  for (char c : text.substr(0, cut ? kMax - 3 : text.size())) {
    const auto u = static_cast<unsigned char>(c);
    if (c == '\n') {
      out += "\\n";
    } else if (u < 0x20 || u == 0x7f) {
      char buf[8];
      std::snprintf(buf, sizeof buf, "\\x%02X", u);
      out += buf;
    } else {
      out += c;
    }
  }
  return cut ? out + "..." : out;
}

}  // namespace nmar::core
