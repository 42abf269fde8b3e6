#include "data/addition_task.h"

#include <algorithm>

#include "data/config_reader.h"
#include "data/random.h"
#include "util/error.h"

namespace nmar::core {

std::string addDecimal(const std::string& a, const std::string& b) {
  std::string sum;
  int carry = 0;
  for (std::size_t i = 0; i < std::max(a.size(), b.size()) || carry; ++i) {
    int d = carry;
    if (i < a.size()) d += a[a.size() - 1 - i] - '0';
    if (i < b.size()) d += b[b.size() - 1 - i] - '0';
    sum += static_cast<char>('0' + d % 10);
    carry = d / 10;
  }
  while (sum.size() > 1 && sum.back() == '0') sum.pop_back();
  if (sum.empty()) sum = "0";
  std::reverse(sum.begin(), sum.end());
  return sum;
}

AdditionTask::AdditionTask(const nlohmann::json& params) {
  ConfigReader r(params, "task 'addition'");
  m_operands = static_cast<int>(r.integer("operands", 2, 2, 8));
  m_reverse = r.boolean("reverse", false);
  m_reverseOperands = r.boolean("reverse_operands", false);
  r.rejectUnknown();
}

nlohmann::json AdditionTask::params() const {
  nlohmann::json j = {{"operands", m_operands}, {"reverse", m_reverse}};
  // Only when set, so that the configuration hashes of existing runs stay what they were.
  if (m_reverseOperands) j["reverse_operands"] = true;
  return j;
}

Example AdditionTask::make(const std::vector<std::string>& operands, int difficulty) const {
  Example ex;
  ex.task = name();
  std::string sum = "0";
  for (std::size_t i = 0; i < operands.size(); ++i) {
    std::string written = operands[i];
    if (m_reverseOperands) std::reverse(written.begin(), written.end());
    ex.prompt += (i ? "+" : "") + written;
    sum = addDecimal(sum, operands[i]);
  }
  ex.prompt += "=";
  // Least significant digit first: each digit then depends only on digits already written and
  // the carry, which small models learn far faster than the usual order (Lee et al. 2023).
  if (m_reverse) std::reverse(sum.begin(), sum.end());
  ex.completion = sum;
  ex.answer = sum;
  ex.difficulty = difficulty;
  return ex;
}

Example AdditionTask::generate(std::mt19937_64& rng, int difficulty) const {
  checkDifficulty(difficulty);
  std::vector<std::string> operands;
  for (int k = 0; k < m_operands; ++k) {
    std::string n;
    for (int d = 0; d < difficulty; ++d) {
      const bool lead = d == 0 && difficulty > 1;
      n += static_cast<char>('0' + uniformInt(rng, lead ? 1 : 0, 9));
    }
    operands.push_back(n);
  }
  return make(operands, difficulty);
}

Verdict AdditionTask::verify(const Example& example, const std::string& output) const {
  const std::string_view got = trimWhitespace(output);
  const std::string& want = example.expected();
  Verdict v;
  v.correct = got == want;
  v.process = v.correct ? 1.0 : 0.0;
  v.detail = v.correct ? "ok: " + want : "expected " + want + ", got " + shownOutput(got);
  return v;
}

Example AdditionTask::fromPrompt(const std::string& prompt) const {
  const auto fail = [&](const std::string& why) {
    throw Error("addition: prompt \"" + shownOutput(prompt) + "\": " + why +
                " (expected operands of decimal digits joined by '+' and ending with '=', e.g. "
                "123+456=)");
  };
  if (prompt.empty() || prompt.back() != '=') fail("does not end with '='");
  std::vector<std::string> operands(1);
  for (std::size_t i = 0; i + 1 < prompt.size(); ++i) {
    const char c = prompt[i];
    if (c == '+')
      operands.emplace_back();
    else if (c >= '0' && c <= '9')
      operands.back() += c;
    else
      fail("unexpected character '" + shownOutput(std::string(1, c)) + "' at offset " +
           std::to_string(i));
  }
  if (operands.size() < 2 || operands.size() > 8) fail("expected 2 to 8 operands");
  std::size_t digits = 0;
  for (std::size_t k = 0; k < operands.size(); ++k) {
    if (operands[k].empty()) fail("operand " + std::to_string(k + 1) + " is empty");
    digits = std::max(digits, operands[k].size());
  }
  if (digits > static_cast<std::size_t>(maxDifficulty()))
    fail("an operand has more than " + std::to_string(maxDifficulty()) + " digits");
  if (m_reverseOperands)  // written least significant digit first: the numbers are the reverse
    for (std::string& o : operands) std::reverse(o.begin(), o.end());
  return make(operands, static_cast<int>(digits));
}

}  // namespace nmar::core
