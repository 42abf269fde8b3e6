#include "tokenizer/normalizer.h"

#include <nlohmann/json.hpp>

#include "tokenizer/json_io.h"
#include "tokenizer/regex.h"
#include "tokenizer/utf8.h"

namespace nmar::core {

Normalizer Normalizer::fromJson(const nlohmann::json& j, const std::string& file,
                                const std::string& field) {
  Normalizer n;
  if (!j.is_null()) n.parse(j, file, field);
  return n;
}

void Normalizer::parse(const nlohmann::json& j, const std::string& file, const std::string& field) {
  if (!j.is_object())
    tokjson::fieldError(file, field, "is " + tokjson::typeName(j) + ", expected an object");
  const std::string type =
      tokjson::require(j, "type", file, field + ".type", "a normalizer type").get<std::string>();
  Step step;
  step.type = type;
  if (type == "Sequence") {
    const auto& list = tokjson::require(j, "normalizers", file, field + ".normalizers", "an array");
    if (!list.is_array()) tokjson::fieldError(file, field + ".normalizers", "is not an array");
    for (std::size_t i = 0; i < list.size(); ++i)
      if (!list[i].is_null())
        parse(list[i], file, field + ".normalizers[" + std::to_string(i) + "]");
    return;
  }
  if (type == "NFC" || type == "NFD" || type == "NFKC" || type == "NFKD" || type == "Lowercase") {
    m_steps.push_back(step);
    return;
  }
  if (type == "Prepend") {
    step.a =
        tokjson::require(j, "prepend", file, field + ".prepend", "a string").get<std::string>();
    m_steps.push_back(step);
    return;
  }
  if (type == "Strip") {
    step.left = tokjson::optBool(j, "strip_left", file, field + ".strip_left", false);
    step.right = tokjson::optBool(j, "strip_right", file, field + ".strip_right", false);
    m_steps.push_back(step);
    return;
  }
  if (type == "Replace") {
    const auto& pattern = tokjson::require(j, "pattern", file, field + ".pattern",
                                           "{\"String\": ...} or {\"Regex\": ...}");
    step.b =
        tokjson::require(j, "content", file, field + ".content", "a string").get<std::string>();
    if (pattern.contains("String") && pattern["String"].is_string()) {
      step.a = pattern["String"].get<std::string>();
      if (step.a.empty()) tokjson::fieldError(file, field + ".pattern.String", "is empty");
    } else if (pattern.contains("Regex") && pattern["Regex"].is_string()) {
      step.regex = std::make_shared<Regex>(pattern["Regex"].get<std::string>(),
                                           file + ": field '" + field + ".pattern.Regex'");
    } else {
      tokjson::fieldError(file, field + ".pattern",
                          "must be {\"String\": ...} or {\"Regex\": ...}");
    }
    m_steps.push_back(step);
    return;
  }
  tokjson::fieldError(file, field + ".type",
                      "is '" + type +
                          "', which is not supported (expected Sequence, NFC, NFD, NFKC, NFKD, "
                          "Lowercase, Prepend, Replace or Strip)");
}

bool Normalizer::has(const std::string& type) const {
  for (const auto& s : m_steps)
    if (s.type == type) return true;
  return false;
}

namespace {

std::string replaceAll(std::string_view text, const std::string& from, const std::string& to) {
  std::string out;
  out.reserve(text.size() + text.size() / 8);
  std::size_t pos = 0;
  while (true) {
    const std::size_t hit = text.find(from, pos);
    if (hit == std::string_view::npos) break;
    out.append(text.data() + pos, hit - pos);
    out += to;
    pos = hit + from.size();
  }
  out.append(text.data() + pos, text.size() - pos);
  return out;
}

std::string strip(std::string_view text, bool left, bool right) {
  std::size_t begin = 0, end = text.size();
  char32_t cp = 0;
  while (left && begin < end) {
    const int n = utf8::decodeAt(text, begin, cp);
    if (n < 0 || !utf8::isWhitespace(cp)) break;
    begin += static_cast<std::size_t>(n);
  }
  while (right && end > begin) {
    std::size_t start = end - 1;
    while (start > begin && (static_cast<unsigned char>(text[start]) & 0xC0) == 0x80) --start;
    const int n = utf8::decodeAt(text, start, cp);
    if (n < 0 || !utf8::isWhitespace(cp)) break;
    end = start;
  }
  return std::string(text.substr(begin, end - begin));
}

}  // namespace

std::string Normalizer::apply(std::string_view text) const {
  std::string s(text);
  for (const Step& step : m_steps) {
    if (step.type == "NFC") {
      s = utf8::normalize(s, utf8::NormalForm::kNfc);
    } else if (step.type == "NFD") {
      s = utf8::normalize(s, utf8::NormalForm::kNfd);
    } else if (step.type == "NFKC") {
      s = utf8::normalize(s, utf8::NormalForm::kNfkc);
    } else if (step.type == "NFKD") {
      s = utf8::normalize(s, utf8::NormalForm::kNfkd);
    } else if (step.type == "Lowercase") {
      s = utf8::toLower(s);
    } else if (step.type == "Prepend") {
      if (!s.empty()) s = step.a + s;  // HF prepends only to non-empty pieces
    } else if (step.type == "Strip") {
      s = strip(s, step.left, step.right);
    } else if (step.type == "Replace") {
      if (!step.regex) {
        s = replaceAll(s, step.a, step.b);
        continue;
      }
      std::vector<std::pair<std::size_t, std::size_t>> hits;
      step.regex->findAll(s, hits);
      std::string out;
      std::size_t pos = 0;
      for (const auto& [a, b] : hits) {
        out.append(s, pos, a - pos);
        out += step.b;
        pos = b;
      }
      out.append(s, pos, std::string::npos);
      s = std::move(out);
    }
  }
  return s;
}

}  // namespace nmar::core
