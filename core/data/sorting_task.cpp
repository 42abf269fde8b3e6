#include "data/sorting_task.h"

#include <algorithm>
#include <sstream>

#include "data/config_reader.h"
#include "data/random.h"
#include "util/error.h"

namespace nmar::core {

namespace {

std::vector<std::string> splitWhitespace(std::string_view text) {
  std::vector<std::string> items;
  std::istringstream in{std::string(text)};
  for (std::string item; in >> item;) items.push_back(item);
  return items;
}

std::string join(const std::vector<std::int64_t>& values) {
  std::string s;
  for (std::size_t i = 0; i < values.size(); ++i) s += (i ? " " : "") + std::to_string(values[i]);
  return s;
}

}  // namespace

SortingTask::SortingTask(const nlohmann::json& params) {
  ConfigReader r(params, "task 'sorting'");
  m_maxValue = r.integer("max_value", 99, 1, 1000000000);
  r.rejectUnknown();
}

nlohmann::json SortingTask::params() const { return {{"max_value", m_maxValue}}; }

Example SortingTask::make(const std::vector<std::int64_t>& values) const {
  std::vector<std::int64_t> sorted = values;
  std::sort(sorted.begin(), sorted.end());
  Example ex;
  ex.task = name();
  ex.prompt = "sort " + join(values) + ":";
  ex.completion = join(sorted);
  ex.answer = ex.completion;
  ex.difficulty = static_cast<int>(values.size());
  return ex;
}

Example SortingTask::generate(std::mt19937_64& rng, int difficulty) const {
  checkDifficulty(difficulty);
  std::vector<std::int64_t> values;
  for (int i = 0; i < difficulty; ++i) values.push_back(uniformInt(rng, 0, m_maxValue));
  return make(values);
}

Verdict SortingTask::verify(const Example& example, const std::string& output) const {
  const std::vector<std::string> got = splitWhitespace(output);
  const std::vector<std::string> want = splitWhitespace(example.expected());
  Verdict v;
  v.correct = got == want;
  v.process = v.correct ? 1.0 : 0.0;
  const std::string wantText(trimWhitespace(example.expected()));
  v.detail = v.correct ? "ok: " + wantText
                       : "expected " + wantText + ", got " + shownOutput(trimWhitespace(output));
  return v;
}

Example SortingTask::fromPrompt(const std::string& prompt) const {
  const auto fail = [&](const std::string& why) {
    throw Error("sorting: prompt \"" + shownOutput(prompt) + "\": " + why +
                " (expected \"sort \", integers separated by single spaces, then ':', e.g. "
                "sort 5 3 9:)");
  };
  const std::string head = "sort ";
  if (prompt.compare(0, head.size(), head) != 0) fail("does not start with \"sort \"");
  if (prompt.size() <= head.size() || prompt.back() != ':') fail("does not end with ':'");
  const std::string body = prompt.substr(head.size(), prompt.size() - head.size() - 1);
  std::vector<std::int64_t> values;
  std::size_t start = 0;
  while (start <= body.size()) {
    const std::size_t end = std::min(body.find(' ', start), body.size());
    const std::string item = body.substr(start, end - start);
    const std::size_t digits = item.size() - (!item.empty() && item[0] == '-');
    if (digits == 0 || digits > 18 ||
        !std::all_of(item.end() - static_cast<std::ptrdiff_t>(digits), item.end(),
                     [](char c) { return c >= '0' && c <= '9'; }))
      fail("item " + std::to_string(values.size() + 1) + " (\"" + shownOutput(item) +
           "\") is not an integer");
    values.push_back(std::stoll(item));
    start = end + 1;
  }
  if (values.size() > static_cast<std::size_t>(maxDifficulty()))
    fail("more than " + std::to_string(maxDifficulty()) + " items");
  return make(values);
}

}  // namespace nmar::core
