// Trace values, replay validation and the dataset helper (JSON coding is in trace_json.cpp).
#include "trace/trace.h"

#include <cmath>
#include <sstream>

#include "nmar/stack_machine.h"
#include "util/error.h"

namespace nmar::core {

namespace {

/** Attention probabilities may exceed 1 by rounding (bf16, fused kernels) by at most this. */
constexpr double kAttentionTolerance = 1e-3;

std::string idsText(const std::vector<std::int64_t>& ids) {
  constexpr std::size_t kShown = 24;
  std::ostringstream out;
  out << '[';
  for (std::size_t i = 0; i < ids.size() && i < kShown; ++i) out << (i ? ", " : "") << ids[i];
  if (ids.size() > kShown) out << ", ... (" << ids.size() << " ids)";
  out << ']';
  return out.str();
}

std::string number(double v) {
  std::ostringstream out;
  out.precision(10);
  out << v;
  return out.str();
}

void validateStepValues(const TraceStep& step, const std::string& at) {
  if (step.logprob && !(std::isfinite(*step.logprob) && *step.logprob <= 0.0)) {
    throw Error(at + "field 'logprob': " + number(*step.logprob) +
                " is not a log-probability (expected a finite value <= 0)");
  }
  if (step.entropy && !(std::isfinite(*step.entropy) && *step.entropy >= 0.0)) {
    throw Error(at + "field 'entropy': " + number(*step.entropy) +
                " is not an entropy (expected a finite value >= 0)");
  }
  if (step.verifierScore) {
    if (step.kind != StepKind::kPush)
      throw Error(at + "field 'verifier_score': only a push step has one");
    if (!(*step.verifierScore >= 0.0 && *step.verifierScore <= 1.0))
      throw Error(at + "field 'verifier_score': " + number(*step.verifierScore) +
                  " is outside [0, 1]");
  }
  if (step.verifier && step.kind != StepKind::kPop)
    throw Error(at + "field 'verifier': only a pop step can be caused by the verifier");
  for (std::size_t i = 0; i < step.topk.size(); ++i) {
    const TopKEntry& e = step.topk[i];
    const std::string entry = at + "field 'topk'[" + std::to_string(i) + "]: ";
    if (e.id < 0) throw Error(entry + "token id " + std::to_string(e.id) + " is negative");
    if (!(e.prob >= 0.0 && e.prob <= 1.0)) {
      throw Error(entry + "probability " + number(e.prob) + " is outside [0, 1]");
    }
  }
}

void validateAttention(const TraceStep& step, TraceMode mode, const std::string& at) {
  const StepAttention& a = step.attention;
  if (a.empty()) return;
  const std::string field = at + "field 'attention': ";
  if (mode == TraceMode::kResample && step.kind == StepKind::kPop) {
    throw Error(field + "a resample pop is not fed to the model, so it has no attention");
  }
  if (a.heads <= 0) throw Error(field + "no heads");
  if (a.keys != step.position + 1) {
    throw Error(field + "rows have " + std::to_string(a.keys) + " keys, expected " +
                std::to_string(step.position + 1) + " (the visible keys at position " +
                std::to_string(step.position) + ")");
  }
  for (std::size_t l = 0; l < a.layers.size(); ++l) {
    const std::vector<float>& layer = a.layers[l];
    if (layer.size() != static_cast<std::size_t>(a.heads) * static_cast<std::size_t>(a.keys)) {
      throw Error(field + "layer " + std::to_string(l) + " holds " + std::to_string(layer.size()) +
                  " values, expected heads x keys = " + std::to_string(a.heads * a.keys));
    }
    for (std::size_t v = 0; v < layer.size(); ++v) {
      const double p = layer[v];
      if (!(p >= 0.0 && p <= 1.0 + kAttentionTolerance)) {
        throw Error(field + "layer " + std::to_string(l) + ", head " +
                    std::to_string(v / static_cast<std::size_t>(a.keys)) + ", key " +
                    std::to_string(v % static_cast<std::size_t>(a.keys)) + ": " + number(p) +
                    " is not a probability");
      }
    }
  }
}

}  // namespace

std::string traceModeName(TraceMode mode) {
  switch (mode) {
    case TraceMode::kHard:
      return "hard";
    case TraceMode::kSoft:
      return "soft";
    case TraceMode::kResample:
      return "resample";
  }
  return "hard";
}

TraceMode parseTraceMode(const std::string& name, const std::string& what) {
  if (name == "hard") return TraceMode::kHard;
  if (name == "soft") return TraceMode::kSoft;
  if (name == "resample") return TraceMode::kResample;
  throw Error(what + ": unknown decode mode '" + name + "' (expected hard, soft or resample)");
}

bool TraceStep::operator==(const TraceStep& o) const {
  return kind == o.kind && token == o.token && popped == o.popped && text == o.text &&
         position == o.position && depth == o.depth && forced == o.forced && logprob == o.logprob &&
         topk == o.topk && entropy == o.entropy && attention == o.attention &&
         verifierScore == o.verifierScore && verifier == o.verifier;
}

bool Trace::operator==(const Trace& o) const {
  return model == o.model && tokenizer == o.tokenizer && mode == o.mode && sampler == o.sampler &&
         seed == o.seed && promptIds == o.promptIds && promptText == o.promptText &&
         undoId == o.undoId && eosId == o.eosId && steps == o.steps && outputIds == o.outputIds &&
         outputText == o.outputText && verdict == o.verdict && rewards == o.rewards &&
         meta == o.meta;
}

void validateTrace(const Trace& trace, const std::string& source) {
  const std::string head = source + ": ";
  if (trace.undoId < 0) {
    throw Error(head + "field 'undo_id': " + std::to_string(trace.undoId) +
                " is not a token id (expected >= 0)");
  }
  if (trace.eosId < -1) {
    throw Error(head + "field 'eos_id': " + std::to_string(trace.eosId) +
                " is not a token id (expected >= 0, or -1 for none)");
  }
  if (!trace.sampler.is_object()) throw Error(head + "field 'sampler': expected an object");
  if (!trace.rewards.is_null() && !trace.rewards.is_object()) {
    throw Error(head + "field 'rewards': expected an object");
  }
  if (!trace.meta.is_null() && !trace.meta.is_object()) {
    throw Error(head + "field 'meta': expected an object");
  }
  for (std::size_t i = 0; i < trace.promptIds.size(); ++i) {
    if (trace.promptIds[i] < 0) {
      throw Error(head + "field 'prompt_ids'[" + std::to_string(i) + "]: negative token id");
    }
  }

  // Replay: the stack holds sequence positions (prompt, then one per step); ids looked up here.
  const std::vector<std::int64_t> sequence = traceSequence(trace);
  const int m = static_cast<int>(trace.promptIds.size());
  StackMachine stack(m);
  for (std::size_t k = 0; k < trace.steps.size(); ++k) {
    const TraceStep& step = trace.steps[k];
    const std::string at = head + "step " + std::to_string(k) + ": ";
    const int expectedPosition =
        trace.mode == TraceMode::kSoft ? m + static_cast<int>(k) : stack.size();
    if (step.position != expectedPosition) {
      throw Error(at + "field 'position': is " + std::to_string(step.position) + ", expected " +
                  std::to_string(expectedPosition) +
                  (trace.mode == TraceMode::kSoft ? " (soft: prompt length + step index)"
                                                  : " (|S| before the step)"));
    }
    if (step.kind == StepKind::kPush) {
      if (step.token == trace.undoId) {
        throw Error(at + "field 'token': a push of the UNDO id " + std::to_string(trace.undoId) +
                    " (an UNDO must be a pop step)");
      }
      if (step.token < 0) throw Error(at + "field 'token': negative token id");
      if (step.popped != -1) throw Error(at + "field 'popped': only a pop step has one");
      stack.push(m + static_cast<int>(k));
    } else {
      if (step.token != trace.undoId) {
        throw Error(at + "field 'token': a pop must carry the UNDO id " +
                    std::to_string(trace.undoId) + ", got " + std::to_string(step.token));
      }
      if (!stack.canPop()) throw Error(at + "pop with nothing to pop (void UNDO)");
      const std::int64_t top = sequence[static_cast<std::size_t>(stack.pop())];
      if (step.popped != top) {
        throw Error(at + "field 'popped': is " + std::to_string(step.popped) +
                    ", but the replayed stack's top is " + std::to_string(top));
      }
    }
    if (step.depth != stack.depth()) {
      throw Error(at + "field 'depth': is " + std::to_string(step.depth) + ", expected " +
                  std::to_string(stack.depth()) + " (trace tokens on the stack after the step)");
    }
    validateStepValues(step, at);
    validateAttention(step, trace.mode, at);
  }

  std::vector<std::int64_t> output;
  for (std::size_t i = static_cast<std::size_t>(m); i < stack.positions().size(); ++i) {
    output.push_back(sequence[static_cast<std::size_t>(stack.positions()[i])]);
  }
  const bool matches =
      trace.outputIds == output ||
      (trace.eosId >= 0 && !output.empty() && output.back() == trace.eosId &&
       trace.outputIds == std::vector<std::int64_t>(output.begin(), output.end() - 1));
  if (!matches) {
    throw Error(head + "field 'output_ids': " + idsText(trace.outputIds) +
                " differs from the replayed stack's output " + idsText(output));
  }
}

std::vector<TraceStep> stepsFromSequence(const std::vector<std::int64_t>& ids, int promptLength,
                                         std::int64_t undoId, TraceMode mode) {
  const StackAnalysis a = analyzeSequence(ids, promptLength, undoId);
  std::vector<TraceStep> steps;
  steps.reserve(static_cast<std::size_t>(a.length - promptLength));
  int depth = 0;
  for (int i = promptLength; i < a.length; ++i) {
    const auto ui = static_cast<std::size_t>(i);
    TraceStep step;
    step.token = ids[ui];
    if (a.kinds[ui] == TokenKind::kUndo) {
      step.kind = StepKind::kPop;
      step.popped = ids[static_cast<std::size_t>(a.popped[ui])];
      --depth;
    } else {
      step.kind = StepKind::kPush;
      ++depth;
    }
    step.position = mode == TraceMode::kSoft ? i : a.depthBefore[ui];
    step.depth = depth;
    steps.push_back(std::move(step));
  }
  return steps;
}

std::vector<std::int64_t> traceSequence(const Trace& trace) {
  std::vector<std::int64_t> sequence = trace.promptIds;
  sequence.reserve(sequence.size() + trace.steps.size());
  for (const TraceStep& step : trace.steps) sequence.push_back(step.token);
  return sequence;
}

}  // namespace nmar::core
