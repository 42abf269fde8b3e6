#pragma once
/**
 * @file The N-MAR stack machine (spec §1-2, §4) for one sequence, Torch-free.
 *
 * A sequence is a prompt followed by trace tokens. The stack starts as the prompt (protected);
 * a regular trace token pushes its position, an UNDO pops the top trace token. analyzeSequence()
 * simulates this in one pass and records everything that masks, position ids, loss weights and
 * traces need.
 */
#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "nmar/target_group.h"

namespace nmar::core {

/** What a position of a sequence is. */
enum class TokenKind : std::uint8_t {
  kPrompt,  ///< inside the prompt (never interpreted, even if it is the UNDO id)
  kPush,    ///< a regular trace token: pushed on the stack
  kUndo,    ///< an UNDO trace token: pops the top of the stack
  kPad,     ///< trailing padding: not part of the sequence
};

/** One change of the stack, caused by the trace token at @c step. */
struct StackEvent {
  enum class Type : std::uint8_t { kPush, kPop };
  Type type = Type::kPush;
  int step = 0;   ///< the position whose token caused the event
  int index = 0;  ///< the position pushed (== step) or popped
  bool operator==(const StackEvent& o) const {
    return type == o.type && step == o.step && index == o.index;
  }
};

/**
 * A minimal stack of positions with a protected prompt; the single place where the push/pop rules
 * live. Not thread-safe; cheap to copy.
 */
class StackMachine {
 public:
  /** A stack holding the prompt positions 0..promptLength-1. */
  explicit StackMachine(int promptLength);

  /** Pushes position @p index (a regular trace token). */
  void push(int index) { m_stack.push_back(index); }
  /** True when a trace token lies above the prompt, i.e. an UNDO would not be void. */
  bool canPop() const { return static_cast<int>(m_stack.size()) > m_promptLength; }
  /** Pops and returns the top trace position. Precondition: canPop(). */
  int pop();
  /** |S|, prompt included. */
  int size() const { return static_cast<int>(m_stack.size()); }
  /** Number of trace tokens on the stack (|S| minus the prompt). */
  int depth() const { return size() - m_promptLength; }
  /** The top position, or -1 when the stack is empty (empty prompt, nothing pushed). */
  int top() const { return m_stack.empty() ? -1 : m_stack.back(); }
  int promptLength() const { return m_promptLength; }
  /** The positions on the stack, bottom first. */
  const std::vector<int>& positions() const { return m_stack; }

 private:
  int m_promptLength = 0;
  std::vector<int> m_stack;
};

/**
 * Everything one pass of the stack machine learns about a sequence. Every per-position vector has
 * one entry per input id (trailing pads included), so index i is position i.
 */
struct StackAnalysis {
  int promptLength = 0;  ///< m
  int length = 0;        ///< number of real (non-pad) positions; positions >= length are pads

  std::vector<TokenKind> kinds;
  /** |S_before(i)|: the hard position id (0 for pads). */
  std::vector<int> depthBefore;
  /**
   * Top of S_before(i), or -1 when that stack is empty (and for pads). Because the stack below a
   * position never changes while it is on the stack, S_before(i) = S_before(p) + {p} for p =
   * parent[i]: the hard visibility of i is the visibility of its parent plus i itself.
   */
  std::vector<int> parent;
  /** For an UNDO: the position it popped; else -1. */
  std::vector<int> popped;
  /** For a deviation: the UNDO that popped it; else -1. */
  std::vector<int> poppedBy;
  /** 1 where the token was popped by a later UNDO (a deviation). */
  std::vector<std::uint8_t> deviation;
  /** 1 for every UNDO and every deviation (pruned from the context). */
  std::vector<std::uint8_t> pruned;
  /** Group of the prediction made at position i (its target is token i+1), spec §4. */
  std::vector<TargetGroup> targetGroup;

  /** Positions on the stack once the sequence ends, bottom first (prompt included). */
  std::vector<int> finalStack;
  /** The output: ids of the final stack above the prompt. */
  std::vector<std::int64_t> output;
  /** Every push and pop, in order (the stack history, compactly). */
  std::vector<StackEvent> events;

  /** S_before(i) as positions, bottom first, rebuilt from parent pointers in O(|S|). */
  std::vector<int> stackBefore(int i) const;
  /** The stack after position i was processed (S_before(i+1)), bottom first. */
  std::vector<int> stackAfter(int i) const;
};

/** How analyzeSequence() finds the sequence's end and names it in errors. */
struct SequenceOptions {
  /** Trailing ids equal to padId are padding (ignored); -1: no padding id. */
  std::int64_t padId = -1;
  /**
   * When >= 0, the number of real ids (the rest is padding), overriding padId detection. Use it
   * when the padding id is also a real token (e.g. EOS used as padding).
   */
  int length = -1;
  /** When >= 0, errors start with "sequence <n>: " (the row of a batch). */
  int sequenceIndex = -1;
};

/**
 * Runs the stack machine over @p ids (prompt of @p promptLength ids, then trace tokens) in one
 * O(n) pass. Throws Error for a void UNDO (naming the sequence and the position), a prompt
 * longer than the real sequence, a negative prompt length, or padId == undoId.
 */
StackAnalysis analyzeSequence(const std::vector<std::int64_t>& ids, int promptLength,
                              std::int64_t undoId, std::int64_t padId = -1);

/** As above, with explicit options. */
StackAnalysis analyzeSequence(const std::vector<std::int64_t>& ids, int promptLength,
                              std::int64_t undoId, const SequenceOptions& options);

/** As above, over @p count ids at @p ids (a row of a batch tensor). */
StackAnalysis analyzeSequence(const std::int64_t* ids, std::size_t count, int promptLength,
                              std::int64_t undoId, const SequenceOptions& options);

}  // namespace nmar::core
