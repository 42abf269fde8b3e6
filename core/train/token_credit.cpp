#include "train/token_credit.h"

#include "trace/trace.h"

namespace nmar::core {

TokenCredit tokenCredit(const Trace& trace, const std::vector<std::int64_t>& gold, double alpha,
                        double beta) {
  TokenCredit out;
  out.credit.assign(trace.steps.size(), 0.0);
  out.wrong.assign(trace.steps.size(), false);
  std::vector<bool> stack;  // per completion token on the stack: is it wrong?
  for (std::size_t k = 0; k < trace.steps.size(); ++k) {
    const TraceStep& s = trace.steps[k];
    if (s.kind == StepKind::kPush) {
      const std::size_t d = stack.size();
      const bool wrong = (!stack.empty() && stack.back()) || d >= gold.size() || gold[d] != s.token;
      stack.push_back(wrong);
      out.wrong[k] = wrong;
      if (wrong) {
        out.credit[k] = -beta;
        ++out.wrongPushes;
      }
    } else if (!stack.empty()) {
      const bool wrong = stack.back();
      stack.pop_back();
      out.wrong[k] = wrong;
      out.credit[k] = wrong ? alpha : -alpha;
      ++(wrong ? out.usefulUndos : out.uselessUndos);
    }
  }
  return out;
}

NaturalErrors naturalErrors(const Trace& trace, const std::vector<std::int64_t>& gold) {
  NaturalErrors out;
  struct Entry {
    bool right;
    int error;  ///< index of the natural error this token is, -1 when it is none
  };
  std::vector<Entry> stack;
  std::vector<bool> undone;  // per natural error
  for (std::size_t k = 0; k < trace.steps.size(); ++k) {
    const TraceStep& s = trace.steps[k];
    if (s.kind == StepKind::kPop) {
      if (stack.empty()) continue;  // a void UNDO (validateTrace() rejects it)
      const Entry top = stack.back();
      stack.pop_back();
      ++out.pops;
      out.uselessPops += top.right ? 1 : 0;
      if (top.error >= 0) undone[static_cast<std::size_t>(top.error)] = true;
      continue;
    }
    const bool below = stack.empty() || stack.back().right;  // the stack is a gold prefix
    const std::size_t d = stack.size();
    const bool right = below && d < gold.size() && gold[d] == s.token;
    Entry e{right, -1};
    if (below && !right && !s.forced) {
      e.error = static_cast<int>(undone.size());
      undone.push_back(false);
      ++out.errors;
      if (k + 1 < trace.steps.size() && trace.steps[k + 1].kind == StepKind::kPop)
        ++out.undoneNext;
    }
    stack.push_back(e);
  }
  for (bool u : undone) out.undoneLater += u ? 1 : 0;
  return out;
}

}  // namespace nmar::core
