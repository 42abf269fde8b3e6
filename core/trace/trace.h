#pragma once
/**
 * @file The trace format "nmar-trace/1" (spec §5): what a decode produced or a dataset holds,
 * replayable step by step. Torch-free and Qt-free: viz/ and widgets/ may include it.
 *
 * JSON layout (one object per trace; JSONL for many, one object per line):
 * {
 *   "format": "nmar-trace/1", "model": str, "tokenizer": str,
 *   "mode": "hard" | "soft" | "resample", "sampler": {...}, "seed": uint,
 *   "prompt_ids": [int], "prompt_text": str, "undo_id": int, "eos_id": int (-1: none),
 *   "steps": [ {"kind": "push" | "pop", "token": int, "popped": int (pop only), "text": str,
 *               "position": int, "depth": int, "forced": bool, "logprob": num, "entropy": num,
 *               "topk": [[id, prob], ...], "attention": [layer][head][key],
 *               "verifier_score": num, "verifier": bool } ],
 *   "output_ids": [int], "output_text": str,
 *   "verdict": any, "rewards": {...}, "meta": {...}
 * }
 * Required: format, model, tokenizer, mode, prompt_ids, undo_id, eos_id, steps, output_ids and,
 * per step, kind, token, position, depth (and popped for a pop). Everything else is optional
 * (logprob, entropy, topk, attention are absent for dataset traces); unknown keys are rejected.
 *
 * Step semantics (0-based step index k; m = number of prompt ids; S = the stack, prompt included):
 * - push: token (a regular id) is pushed. pop: token is the UNDO id, popped is the id removed.
 * - position: the position id the step's token was fed at. hard and resample: |S| before the step;
 *   soft: m + k. (A resample pop is not fed; its position is still |S| before it.)
 * - depth: the number of trace tokens on S after the step (|S| - m).
 * - attention (optional): per layer, heads x (position + 1) probabilities of the step's query over
 *   its visible keys in position order (hard: S_before and itself; soft: every position up to
 *   itself).
 * - verifier_score (optional): the deviation detector's probability in [0, 1] that the pushed token
 *   is a deviation (push steps only; written when a verifier scored the decode).
 * - verifier (optional, default false): this pop was caused by the verifier trigger (the score of
 *   the token it popped exceeded tau), not drawn by the model alone. Pop steps only.
 * - output_ids: S above the prompt after the last step; a final EOS on the stack may be left out.
 */
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

namespace nmar::core {

/** The format string every trace carries. */
inline constexpr const char* kTraceFormat = "nmar-trace/1";

/** How the decode that produced a trace treated UNDO (spec §3). */
enum class TraceMode {
  kHard,      ///< pruned decoding (N-MAR)
  kSoft,      ///< UNDO stays in context
  kResample,  ///< drop the top and resample from saved logits
};

/** "hard", "soft", "resample". */
std::string traceModeName(TraceMode mode);

/** Parses a mode name; throws Error "<what>: unknown decode mode 'x' (expected ...)". */
TraceMode parseTraceMode(const std::string& name, const std::string& what);

/** A step pushes a token or pops the top one (an UNDO). */
enum class StepKind { kPush, kPop };

/** One entry of a step's top-k list. */
struct TopKEntry {
  std::int64_t id = 0;
  double prob = 0.0;
  bool operator==(const TopKEntry& o) const { return id == o.id && prob == o.prob; }
  bool operator!=(const TopKEntry& o) const { return !(*this == o); }
};

/**
 * Attention of a step's query, recorded per layer: heads x keys probabilities, row-major
 * ([head][key]). Empty when not recorded.
 */
struct StepAttention {
  int heads = 0;
  int keys = 0;
  std::vector<std::vector<float>> layers;  ///< each of size heads * keys

  bool empty() const { return layers.empty(); }
  /** The probability of @p key for @p head in @p layer (no bounds check beyond std::vector). */
  float at(int layer, int head, int key) const {
    return layers[static_cast<std::size_t>(layer)][static_cast<std::size_t>(head * keys + key)];
  }
  bool operator==(const StepAttention& o) const {
    return heads == o.heads && keys == o.keys && layers == o.layers;
  }
  bool operator!=(const StepAttention& o) const { return !(*this == o); }
};

/** One push or pop of a trace (see the file comment for the rules). */
struct TraceStep {
  StepKind kind = StepKind::kPush;
  std::int64_t token = 0;    ///< the pushed id; for a pop, the UNDO id
  std::int64_t popped = -1;  ///< pop only: the id removed from the stack; -1 for a push
  std::string text;          ///< the token's text (display only; ids are authoritative)
  int position = 0;
  int depth = 0;
  bool forced = false;            ///< a forced deviation (spec §3)
  std::optional<double> logprob;  ///< log-probability of token under the model (finite, <= 0)
  std::vector<TopKEntry> topk;    ///< most likely next tokens, empty when not recorded
  std::optional<double> entropy;  ///< entropy (nats) of the next-token distribution, >= 0
  StepAttention attention;
  std::optional<double> verifierScore;  ///< push: the detector's P(deviation), in [0, 1]
  bool verifier = false;                ///< pop: caused by the verifier trigger

  bool operator==(const TraceStep& o) const;
  bool operator!=(const TraceStep& o) const { return !(*this == o); }
};

/** A whole trace. Value type; cheap to move. */
struct Trace {
  std::string model;      ///< model identity (name, path or hash)
  std::string tokenizer;  ///< tokenizer identity
  TraceMode mode = TraceMode::kHard;
  nlohmann::json sampler = nlohmann::json::object();  ///< sampler settings (an object)
  std::uint64_t seed = 0;
  std::vector<std::int64_t> promptIds;
  std::string promptText;
  std::int64_t undoId = -1;
  std::int64_t eosId = -1;  ///< -1: none
  std::vector<TraceStep> steps;
  std::vector<std::int64_t> outputIds;
  std::string outputText;
  nlohmann::json verdict;  ///< the task verifier's verdict; null: none
  nlohmann::json rewards;  ///< an object of rewards (spec §7); null: none
  nlohmann::json meta;     ///< free-form object; null: none

  bool operator==(const Trace& o) const;
  bool operator!=(const Trace& o) const { return !(*this == o); }
};

/**
 * The trace as JSON (the layout in the file comment). Optional members that are absent are left
 * out, so toJson(traceFromJson(j)) == j for a canonical j. Does not validate.
 */
nlohmann::json toJson(const Trace& trace);

/** One step as JSON. */
nlohmann::json stepToJson(const TraceStep& step);

/**
 * Reads a trace from @p json and validates it (validateTrace). Every Error starts with
 * "<source>: " and names the step and the field: e.g. "t.json: step 3: field 'position':
 * expected an integer, got string", "t.json: missing field 'undo_id'".
 */
Trace traceFromJson(const nlohmann::json& json, const std::string& source);

/**
 * Replays the steps through the stack machine and checks every rule of the file comment: a pop
 * pops a pushed token (else "<source>: step k: pop with nothing to pop (void UNDO)"), popped ids,
 * positions and depths match the replay, the output equals the replayed stack, probabilities in
 * [0,1], logprob <= 0, entropy >= 0, attention shapes. Throws Error naming source, step and field.
 */
void validateTrace(const Trace& trace, const std::string& source = "trace");

/**
 * The steps a sequence of @p ids (prompt of @p promptLength ids, then trace tokens) stands for,
 * with positions and depths for @p mode and no logprobs: for datasets. Throws Error for a void
 * UNDO (naming the position).
 */
std::vector<TraceStep> stepsFromSequence(const std::vector<std::int64_t>& ids, int promptLength,
                                         std::int64_t undoId, TraceMode mode = TraceMode::kHard);

/** The full id sequence of a trace: the prompt ids followed by every step's token. */
std::vector<std::int64_t> traceSequence(const Trace& trace);

}  // namespace nmar::core
