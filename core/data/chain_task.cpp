#include "data/chain_task.h"

#include <algorithm>
#include <optional>

#include "data/config_reader.h"
#include "data/random.h"
#include "util/error.h"

namespace nmar::core {

namespace {

/** Pieces of @p text between commas, each trimmed; none for an empty (or blank) text. */
std::vector<std::string> splitSteps(std::string_view text) {
  std::vector<std::string> steps;
  if (trimWhitespace(text).empty()) return steps;
  std::size_t start = 0;
  while (true) {
    const std::size_t comma = text.find(',', start);
    const std::size_t end = comma == std::string_view::npos ? text.size() : comma;
    steps.emplace_back(trimWhitespace(text.substr(start, end - start)));
    if (comma == std::string_view::npos) break;
    start = comma + 1;
  }
  return steps;
}

/** a op b, or nullopt on 64-bit overflow. */
std::optional<std::int64_t> apply(std::int64_t a, char op, std::int64_t b) {
  std::int64_t r = 0;
  bool overflow = false;
  switch (op) {
    case '+':
      overflow = __builtin_add_overflow(a, b, &r);
      break;
    case '-':
      overflow = __builtin_sub_overflow(a, b, &r);
      break;
    default:
      overflow = __builtin_mul_overflow(a, b, &r);
      break;
  }
  if (overflow) return std::nullopt;
  return r;
}

}  // namespace

ChainTask::ChainTask(const nlohmann::json& params) {
  ConfigReader r(params, "task 'chain'");
  m_maxOperand = r.integer("max_operand", 9, 1, 999);
  m_maxValue = r.integer("max_value", 99, m_maxOperand, 1000000);
  m_operators = r.string("operators", "+-*");
  std::string seen;
  for (char c : m_operators) {
    if (c != '+' && c != '-' && c != '*')
      r.fail("operators", "unexpected character '" + shownOutput(std::string(1, c)) +
                              "' (expected some of +, - and *)");
    if (seen.find(c) != std::string::npos) r.fail("operators", std::string("repeats '") + c + "'");
    seen += c;
  }
  const bool hasMul = seen.find('*') != std::string::npos;
  const bool hasAddSub = seen.find('+') != std::string::npos && seen.find('-') != std::string::npos;
  if (!hasMul && !hasAddSub)
    r.fail("operators", "\"" + m_operators +
                            "\" cannot always stay within [0, max_value] (expected '*', or both "
                            "'+' and '-')");
  r.rejectUnknown();
}

nlohmann::json ChainTask::params() const {
  return {{"max_operand", m_maxOperand}, {"max_value", m_maxValue}, {"operators", m_operators}};
}

Example ChainTask::make(std::int64_t first, const std::vector<std::pair<char, std::int64_t>>& ops,
                        const std::string& prompt) const {
  Example ex;
  ex.task = name();
  ex.prompt = prompt;
  ex.difficulty = static_cast<int>(ops.size());
  std::int64_t value = first;
  for (const auto& [op, operand] : ops) {
    const std::optional<std::int64_t> next = apply(value, op, operand);
    if (!next)
      throw Error("chain: prompt \"" + shownOutput(prompt) + "\": " + std::to_string(value) + op +
                  std::to_string(operand) + " overflows 64-bit integers");
    ex.steps.push_back(std::to_string(value) + op + std::to_string(operand) + "=" +
                       std::to_string(*next));
    value = *next;
  }
  for (std::size_t i = 0; i < ex.steps.size(); ++i) ex.completion += (i ? "," : "") + ex.steps[i];
  ex.answer = std::to_string(value);
  return ex;
}

Example ChainTask::generate(std::mt19937_64& rng, int difficulty) const {
  checkDifficulty(difficulty);
  std::int64_t value = uniformInt(rng, 1, m_maxOperand);
  const std::int64_t first = value;
  std::string prompt = std::to_string(first);
  std::vector<std::pair<char, std::int64_t>> ops;
  for (int k = 0; k < difficulty; ++k) {
    // The largest operand each operator may take from here. A '*' that could only multiply by 1
    // is left out while another operator is usable: chains of "x*1=x" teach nothing.
    std::vector<std::pair<char, std::int64_t>> usable, timesOne;
    for (char op : m_operators) {
      std::int64_t most = 0;
      if (op == '+') most = std::min(m_maxOperand, m_maxValue - value);
      if (op == '-') most = std::min(m_maxOperand, value);
      if (op == '*') most = value == 0 ? m_maxOperand : std::min(m_maxOperand, m_maxValue / value);
      if (op == '*' && most == 1 && m_maxOperand > 1)
        timesOne.emplace_back(op, most);
      else if (most >= 1)
        usable.emplace_back(op, most);
    }
    // Never empty: the constructor's operator rule keeps '*' (by 1 at least) or '+'/'-' usable.
    if (usable.empty()) usable = timesOne;
    const auto& [op, most] = usable[static_cast<std::size_t>(
        uniformInt(rng, 0, static_cast<std::int64_t>(usable.size()) - 1))];
    const std::int64_t operand = uniformInt(rng, 1, most);
    ops.emplace_back(op, operand);
    prompt += op + std::to_string(operand);
    value = *apply(value, op, operand);
  }
  return make(first, ops, prompt + "=");
}

Verdict ChainTask::verify(const Example& example, const std::string& output) const {
  const std::vector<std::string> got = splitSteps(output);
  const std::size_t total = std::max(example.steps.size(), got.size());
  int right = 0;
  for (std::size_t i = 0; i < std::min(example.steps.size(), got.size()); ++i)
    right += got[i] == example.steps[i];
  const std::string_view trimmed = trimWhitespace(output);
  const std::size_t eq = trimmed.rfind('=');
  const std::string_view last =
      trimWhitespace(eq == std::string_view::npos ? trimmed : trimmed.substr(eq + 1));
  const std::string& want = example.expected();

  Verdict v;
  v.correct = last == want;
  v.stepsRight = right;
  v.stepsTotal = static_cast<int>(total);
  v.process = total == 0 ? (v.correct ? 1.0 : 0.0)
                         : static_cast<double>(right) / static_cast<double>(total);
  const std::string steps =
      " (" + std::to_string(right) + " of " + std::to_string(total) + " steps right)";
  v.detail =
      v.correct ? "ok: " + want + steps : "expected " + want + ", got " + shownOutput(last) + steps;
  return v;
}

Example ChainTask::fromPrompt(const std::string& prompt) const {
  const auto fail = [&](const std::string& why) {
    throw Error("chain: prompt \"" + shownOutput(prompt) + "\": " + why +
                " (expected non-negative integers joined by +, - or * and ending with '=', e.g. "
                "3+4*2-1=)");
  };
  if (prompt.empty() || prompt.back() != '=') fail("does not end with '='");
  std::vector<std::pair<char, std::int64_t>> ops;
  std::int64_t first = 0;
  std::size_t i = 0;
  const std::size_t end = prompt.size() - 1;
  for (int k = 0; i < end || k == 0; ++k) {
    char op = 0;
    if (k > 0) {
      op = prompt[i];
      if (op != '+' && op != '-' && op != '*')
        fail("unexpected character '" + shownOutput(std::string(1, op)) + "' at offset " +
             std::to_string(i));
      ++i;
    }
    const std::size_t start = i;
    while (i < end && prompt[i] >= '0' && prompt[i] <= '9') ++i;
    if (i == start) fail("expected a number at offset " + std::to_string(start));
    if (i - start > 18) fail("the number at offset " + std::to_string(start) + " is too long");
    const std::int64_t n = std::stoll(prompt.substr(start, i - start));
    if (k == 0)
      first = n;
    else
      ops.emplace_back(op, n);
  }
  if (ops.empty()) fail("has no operation");
  if (ops.size() > static_cast<std::size_t>(maxDifficulty()))
    fail("more than " + std::to_string(maxDifficulty()) + " operations");
  return make(first, ops, prompt);
}

}  // namespace nmar::core
