#include "train/detector_labels.h"

#include "nmar/stack_machine.h"
#include "trace/trace.h"
#include "train/token_credit.h"

namespace nmar::core {

std::vector<int> stackLabels(const StackAnalysis& a) {
  std::vector<int> labels(a.kinds.size(), kNoLabel);
  for (std::size_t i = 0; i < a.kinds.size(); ++i)
    if (a.kinds[i] == TokenKind::kPush) labels[i] = a.deviation[i] ? 1 : 0;
  return labels;
}

std::vector<int> stackLabels(const std::vector<std::int64_t>& ids, int promptLength,
                             std::int64_t undoId) {
  return stackLabels(analyzeSequence(ids, promptLength, undoId));
}

std::vector<int> naturalLabels(const Trace& trace, const std::vector<std::int64_t>& gold) {
  const TokenCredit credit = tokenCredit(trace, gold, 1.0, 1.0);
  std::vector<int> labels(trace.steps.size(), kNoLabel);
  for (std::size_t k = 0; k < trace.steps.size(); ++k)
    if (trace.steps[k].kind == StepKind::kPush) labels[k] = credit.wrong[k] ? 1 : 0;
  return labels;
}

}  // namespace nmar::core
