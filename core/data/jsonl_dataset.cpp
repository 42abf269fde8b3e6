#include "data/jsonl_dataset.h"

#include "data/config_reader.h"
#include "data/verifier.h"
#include "util/error.h"
#include "util/json_file.h"

namespace nmar::core {

namespace {

std::string requireString(const nlohmann::json& obj, const char* key, const std::string& where) {
  if (!obj.contains(key) || obj.at(key).is_null())
    throw Error(where + ": field '" + key + "' is missing (expected a string)");
  const nlohmann::json& v = obj.at(key);
  if (!v.is_string())
    throw Error(where + ": field '" + key + "': expected a string, got " + jsonTypeName(v));
  return v.get<std::string>();
}

}  // namespace

Example parseJsonlLine(std::string_view line, const std::string& where) {
  if (const std::size_t bad = findInvalidUtf8(line); bad != std::string_view::npos)
    throw Error(where + ": invalid UTF-8 at column " + std::to_string(bad + 1));
  if (const std::size_t deep = findJsonNestingExcess(line); deep != std::string_view::npos)
    throw Error(where + ": JSON nested deeper than " + std::to_string(kMaxJsonDepth) +
                " levels at column " + std::to_string(deep + 1) + " (arrays and objects)");
  nlohmann::json j;
  try {
    j = nlohmann::json::parse(line);
  } catch (const nlohmann::json::exception& e) {
    const JsonParseFailure failure = describeJsonFailure(line, e);
    throw Error(where + ": invalid JSON" +
                (failure.index == std::string_view::npos
                     ? std::string()
                     : " at column " + std::to_string(failure.index + 1)) +
                ": " + failure.reason);
  }
  if (!j.is_object())
    throw Error(where + ": expected a JSON object {\"prompt\": ..., \"completion\": ...}, got " +
                jsonTypeName(j));
  Example ex;
  ex.task = "jsonl";
  ex.source = where;
  ex.prompt = requireString(j, "prompt", where);
  ex.completion = requireString(j, "completion", where);
  if (j.contains("answer") && !j.at("answer").is_null()) {
    const Verifier v = Verifier::fromJson(j.at("answer"), where, "answer");
    ex.answer = v.value().value_or("");
    if (v.kind() != VerifierKind::kExact) ex.verifier = v.withoutValue().toJson();
  }
  if (j.contains("difficulty") && !j.at("difficulty").is_null()) {
    ConfigReader r(j, where);
    ex.difficulty = static_cast<int>(r.integer("difficulty", 0, 0, 1000000));
  }
  return ex;
}

std::vector<Example> parseJsonlDataset(std::string_view text, const std::string& file) {
  std::vector<Example> examples;
  std::size_t start = 0;
  for (int lineNo = 1; start < text.size(); ++lineNo) {
    std::size_t end = text.find('\n', start);
    if (end == std::string_view::npos) end = text.size();
    std::string_view line = text.substr(start, end - start);
    start = end + 1;
    if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
    if (trimWhitespace(line).empty()) continue;
    examples.push_back(parseJsonlLine(line, file + ":" + std::to_string(lineNo)));
  }
  if (examples.empty())
    throw Error(file + ": no examples (the file is empty or holds only blank lines)");
  return examples;
}

std::vector<Example> loadJsonlDataset(const std::filesystem::path& path) {
  const std::string file = path.string();
  return parseJsonlDataset(readFileBytes(path, "dataset file '" + file + "'"), file);
}

}  // namespace nmar::core
