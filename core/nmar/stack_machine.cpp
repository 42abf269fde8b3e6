#include "nmar/stack_machine.h"

#include <algorithm>

#include "util/error.h"

namespace nmar::core {

StackMachine::StackMachine(int promptLength) : m_promptLength(promptLength) {
  m_stack.reserve(static_cast<std::size_t>(std::max(promptLength, 0)) + 16);
  for (int i = 0; i < promptLength; ++i) m_stack.push_back(i);
}

int StackMachine::pop() {
  const int index = m_stack.back();
  m_stack.pop_back();
  return index;
}

std::vector<int> StackAnalysis::stackBefore(int i) const {
  std::vector<int> stack;
  if (i < 0 || i >= static_cast<int>(parent.size())) return stack;
  for (int p = parent[static_cast<std::size_t>(i)]; p >= 0;
       p = parent[static_cast<std::size_t>(p)]) {
    stack.push_back(p);
  }
  std::reverse(stack.begin(), stack.end());
  return stack;
}

std::vector<int> StackAnalysis::stackAfter(int i) const {
  if (i + 1 >= length) return finalStack;
  return stackBefore(i + 1);
}

namespace {

std::string prefixFor(const SequenceOptions& options) {
  return options.sequenceIndex >= 0 ? "sequence " + std::to_string(options.sequenceIndex) + ": "
                                    : std::string();
}

/** The number of real positions, from explicit length or trailing pads (never cutting the prompt).
 */
int realLength(const std::int64_t* ids, int count, int promptLength,
               const SequenceOptions& options) {
  if (options.length >= 0) {
    if (options.length > count) {
      throw Error(prefixFor(options) + "length " + std::to_string(options.length) +
                  " exceeds the " + std::to_string(count) + " ids given");
    }
    if (options.length < promptLength) {
      throw Error(prefixFor(options) + "prompt length " + std::to_string(promptLength) +
                  " exceeds the sequence length " + std::to_string(options.length));
    }
    return options.length;
  }
  int length = count;
  if (options.padId >= 0) {
    while (length > promptLength && ids[length - 1] == options.padId) --length;
  }
  return length;
}

/** Fills targetGroup once deviations are known (second O(n) loop). */
void assignTargetGroups(StackAnalysis& a) {
  const int m = a.promptLength;
  bool seenUndo = false;
  for (int i = 0; i < static_cast<int>(a.kinds.size()); ++i) {
    const int j = i + 1;
    TargetGroup group = TargetGroup::kNone;
    if (j < a.length) {
      const auto uj = static_cast<std::size_t>(j);
      if (j < m) {
        group = TargetGroup::kPrompt;
      } else if (a.deviation[uj]) {
        group = TargetGroup::kDeviation;
      } else if (a.kinds[uj] == TokenKind::kUndo) {
        group = TargetGroup::kDetect;
      } else if (a.kinds[static_cast<std::size_t>(i)] == TokenKind::kUndo) {
        group = TargetGroup::kCorrect;
      } else {
        group = seenUndo ? TargetGroup::kRest : TargetGroup::kPrefix;
      }
      if (a.kinds[uj] == TokenKind::kUndo) seenUndo = true;
    }
    a.targetGroup[static_cast<std::size_t>(i)] = group;
  }
}

}  // namespace

StackAnalysis analyzeSequence(const std::int64_t* ids, std::size_t count, int promptLength,
                              std::int64_t undoId, const SequenceOptions& options) {
  const std::string prefix = prefixFor(options);
  const int n = static_cast<int>(count);
  if (promptLength < 0) {
    throw Error(prefix + "prompt length " + std::to_string(promptLength) + " is negative");
  }
  if (promptLength > n) {
    throw Error(prefix + "prompt length " + std::to_string(promptLength) + " exceeds the " +
                std::to_string(n) + " ids given");
  }
  if (options.padId >= 0 && options.padId == undoId) {
    throw Error(prefix + "padding id " + std::to_string(options.padId) +
                " must differ from the UNDO id");
  }

  StackAnalysis a;
  a.promptLength = promptLength;
  a.length = realLength(ids, n, promptLength, options);
  a.kinds.assign(count, TokenKind::kPad);
  a.depthBefore.assign(count, 0);
  a.parent.assign(count, -1);
  a.popped.assign(count, -1);
  a.poppedBy.assign(count, -1);
  a.deviation.assign(count, 0);
  a.pruned.assign(count, 0);
  a.targetGroup.assign(count, TargetGroup::kNone);

  StackMachine stack(0);
  for (int i = 0; i < a.length; ++i) {
    const auto ui = static_cast<std::size_t>(i);
    a.depthBefore[ui] = stack.size();
    a.parent[ui] = stack.top();
    if (i < promptLength) {
      a.kinds[ui] = TokenKind::kPrompt;
      stack.push(i);
    } else if (ids[i] == undoId) {
      a.kinds[ui] = TokenKind::kUndo;
      a.pruned[ui] = 1;
      if (stack.size() <= promptLength) {
        throw Error(prefix + "position " + std::to_string(i) +
                    ": void UNDO (no trace token above the " + std::to_string(promptLength) +
                    "-token prompt to pop)");
      }
      const int top = stack.pop();
      const auto ut = static_cast<std::size_t>(top);
      a.popped[ui] = top;
      a.poppedBy[ut] = i;
      a.deviation[ut] = 1;
      a.pruned[ut] = 1;
      a.events.push_back({StackEvent::Type::kPop, i, top});
    } else {
      a.kinds[ui] = TokenKind::kPush;
      stack.push(i);
      a.events.push_back({StackEvent::Type::kPush, i, i});
    }
  }
  a.finalStack = stack.positions();
  a.output.reserve(a.finalStack.size() - static_cast<std::size_t>(promptLength));
  for (std::size_t k = static_cast<std::size_t>(promptLength); k < a.finalStack.size(); ++k) {
    a.output.push_back(ids[a.finalStack[k]]);
  }
  assignTargetGroups(a);
  return a;
}

StackAnalysis analyzeSequence(const std::vector<std::int64_t>& ids, int promptLength,
                              std::int64_t undoId, const SequenceOptions& options) {
  return analyzeSequence(ids.data(), ids.size(), promptLength, undoId, options);
}

StackAnalysis analyzeSequence(const std::vector<std::int64_t>& ids, int promptLength,
                              std::int64_t undoId, std::int64_t padId) {
  SequenceOptions options;
  options.padId = padId;
  return analyzeSequence(ids.data(), ids.size(), promptLength, undoId, options);
}

}  // namespace nmar::core
