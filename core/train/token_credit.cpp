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

}  // namespace nmar::core
