#pragma once
/**
 * @file Pruned decoding (spec §3): a KV cache that always holds exactly the live stack, so an UNDO
 * costs O(1) and never recomputes the prefix. Modes hard (N-MAR), soft and resample; forced
 * deviations; one push or pop event per step; the result is an nmar-trace/1 Trace.
 */
#include <atomic>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include <ATen/core/Tensor.h>
#include <nlohmann/json.hpp>

#include "decode/decode_events.h"
#include "decode/forced_deviation.h"
#include "decode/sampler.h"
#include "decode/token_verifier.h"
#include "model/transformer.h"
#include "trace/trace.h"

namespace nmar::core {

class Tokenizer;

/** Everything a decode needs besides the model, the prompt and the sink. */
struct DecodeSettings {
  TraceMode mode = TraceMode::kHard;
  SamplerSettings sampler;  ///< temperature, filters, UNDO bias/budget/run limit, length, EOS, seed
  std::int64_t undoId = -1;  ///< -1: the model has no UNDO token (decodes plainly, never pops)
  std::int64_t eosId = -1;   ///< -1: none
  std::vector<ForcedDeviation> forced;  ///< scheduled forced deviations
  int deviationTopK = 5;         ///< a random deviation is drawn from the top-k after the argmax
  bool recordAttention = false;  ///< store the new query's attention rows in every fed step
  bool recordLogits = false;     ///< debug: keep the raw logits used at every step (stepLogits())
  std::string modelName;         ///< the trace's model identity
  std::string tokenizerName;     ///< the trace's tokenizer identity
  /** The verifier trigger (issue 12): scores every push; see PrunedDecoder. Off by default. */
  VerifierSettings verifier;

  /**
   * Checks the settings for a model with @p vocabSize ids: sampler settings, ids in range,
   * UNDO != EOS, forced deviations (see validateForcedDeviations), deviationTopK >= 1. Throws
   * Error naming the field.
   */
  void validate(std::int64_t vocabSize) const;
};

/**
 * The header of a decode's trace (identity, mode, sampler, seed, prompt, UNDO/EOS ids, meta with
 * stop_reason "running", forced_deviations and deviation_top_k), no steps. Without an UNDO token
 * undo_id is @p vocabSize (an id the model cannot emit) and meta.undo_token is "none".
 */
Trace newDecodeTrace(const DecodeSettings& settings, std::int64_t vocabSize,
                     const std::vector<std::int64_t>& promptIds, const std::string& promptText);

/**
 * Throws Error for an empty prompt, an id outside the vocabulary (naming its index) or a prompt
 * that leaves a GPT-2 model no position to decode into.
 */
void validateDecodePrompt(const ModelConfig& config, const std::vector<std::int64_t>& promptIds);

/**
 * Why a decode must end after its latest step, kNone when it goes on: an EOS push (stop_at_eos),
 * max_new_tokens steps, or a GPT-2 model without a position for @p nextPosition.
 */
StopReason decodeStopReason(const DecodeSettings& settings, const ModelConfig& config,
                            const std::vector<TraceStep>& steps, std::int64_t nextPosition);

/** The text of one token ("" without a tokenizer, "<id N>" for an id beyond it). */
std::string decodeTokenText(const Tokenizer* tokenizer, std::int64_t id);

/** The decoded text of @p ids ("" without a tokenizer; piece by piece if decoding fails). */
std::string decodeOutputText(const Tokenizer* tokenizer, const std::vector<std::int64_t>& ids);

/**
 * Decodes one sequence step by step. Owns the KV cache, the stack and the trace; borrows the model
 * (shared holder) and the tokenizer (may be null: step texts are then empty).
 *
 * Per step (spec §3): the next token is sampled from the current logits L (or forced); a regular
 * token is fed at position |S| and pushed (event push); an UNDO is a pop:
 * - hard: UNDO is fed at position |S| (it sees S and itself), its logits kept, then the cache is
 *   truncated by 2 and S popped; L <- the UNDO's logits.
 * - soft: nothing is truncated; every token is fed at position i (its index in the sequence);
 *   UNDO stays in context; S is still popped, so the output is the stack output.
 * - resample: UNDO is not fed; the cache is truncated by 1, and L <- the logits saved when the new
 *   top was fed, with every token already popped from that level banned.
 * In hard and resample mode the cache length equals |S| after every step.
 *
 * With an active verifier (settings.verifier), every push is scored from the model's final hidden
 * state of the pushed token (step.verifierScore). When the score of the token just pushed exceeds
 * tau and an UNDO is allowed (something to pop, budget left, a run limit other than 0), the next
 * sampled step is an UNDO (step.verifier = true, with the model's raw statistics like forcePop)
 * or, with a bias, the bias is added to the UNDO logit for that sample (an UNDO drawn then is
 * marked verifier). A scheduled forced deviation still takes precedence. The trigger does not fire
 * on a token the verifier already popped from the same stack level with the same stack below it
 * (its score would be the same, and hard mode would loop). Pops follow the mode's rules, so the
 * parity invariant holds for verifier-caused UNDOs too.
 *
 * UNDO is masked while nothing can be popped, when the budget is used up and when the run of
 * consecutive UNDOs reaches its limit. A forced step pushes the given token (or a random wrong one
 * from the model's top-k after the argmax), or pops (forcePop), and is marked forced; its logprob,
 * entropy and top-k describe the model's raw distribution (temperature 1, no filters), since the
 * token was not drawn from the sampler's. Decoding stops after an EOS push (stop_at_eos), after
 * max_new_tokens steps, when a GPT-2 model runs out of positions, or when stop() is called.
 *
 * Errors: a failing step (bad id, model error) throws and leaves cache, stack and trace as they
 * were before the step. Not thread-safe: use it on the thread that owns the model; every forward
 * runs under a NoGradGuard.
 */
class PrunedDecoder {
 public:
  /** Validates @p settings against the model's vocabulary (throws Error naming the field). */
  PrunedDecoder(Transformer model, DecodeSettings settings, const Tokenizer* tokenizer = nullptr);
  ~PrunedDecoder();
  PrunedDecoder(const PrunedDecoder&) = delete;
  PrunedDecoder& operator=(const PrunedDecoder&) = delete;

  /** Events go to @p sink (may be null; not owned; must outlive the decoder's use of it). */
  void setSink(DecodeEventSink* sink) { m_sink = sink; }

  /**
   * Resets everything (cache, stack, trace, sampler and deviation generators reseeded) and feeds
   * @p promptIds in one forward. Emits onStart. Throws Error for an empty prompt, an id outside
   * the vocabulary or a prompt longer than a GPT-2 model's positions.
   */
  void start(const std::vector<std::int64_t>& promptIds, const std::string& promptText = "");

  /** True once the decode ended (see stopReason()); also false before start(). */
  bool done() const { return m_reason != StopReason::kNone; }
  /** Why it ended; kNone while running. */
  StopReason stopReason() const { return m_reason; }

  /**
   * Takes one step (a scheduled forced deviation if one is due at this step index, else a sample)
   * and returns it (valid until the next step). Emits onStep, then onFinish if the decode ended.
   * Throws Error before start() or after done().
   */
  const TraceStep& step();

  /**
   * Takes one step that pushes @p token (kRandomDeviation: a random wrong token from the model's
   * top-k after its argmax), marked forced: the GUI's "Inject error". Throws Error for the UNDO
   * id, an id outside the vocabulary, before start() or after done().
   */
  const TraceStep& forcePush(std::int64_t token = kRandomDeviation);

  /**
   * Takes one step that is an UNDO whatever the sampler would draw (the budget and run limits do
   * not apply), marked forced, with the model's raw statistics: for benchmarks with a fixed UNDO
   * rate and an explicit "undo" control. Throws Error when the model has no UNDO token, nothing
   * can be popped (never a void UNDO), before start() or after done().
   */
  const TraceStep& forcePop();

  /** Ends the decode now with @p reason (default cancelled); the trace stays valid. */
  void stop(StopReason reason = StopReason::kCancelled);

  /**
   * The trace so far: header, steps, and the output ids/text of the current stack (a final EOS left
   * out); meta holds stop_reason, forced_deviations and deviation_top_k. It passes validateTrace()
   * after every step. Without an UNDO token its undo_id is the vocabulary size (an id the model
   * cannot emit) and meta.undo_token is "none".
   */
  const Trace& trace() const;

  /** |S|, prompt included. */
  int stackSize() const;
  /** Trace tokens on the stack (|S| minus the prompt). */
  int depth() const;
  /** Positions held by the KV cache (== stackSize() in hard and resample mode). */
  std::int64_t cacheLength() const;
  /** Positions the cache can hold without reallocating. */
  std::int64_t cacheCapacity() const;
  /** Bytes of keys and values one cached position takes (all layers). */
  std::int64_t kvBytesPerPosition() const;
  /** UNDOs taken so far. */
  int undosUsed() const { return m_undosUsed; }

  /**
   * With recordLogits: the raw logits (`[V]` fp32, CPU) the decoder held when it chose step k's
   * token (for forced steps too), one per step. Empty otherwise.
   */
  const std::vector<at::Tensor>& stepLogits() const { return m_stepLogits; }

  const DecodeSettings& settings() const { return m_settings; }

 private:
  struct State;

  void requireRunning(const char* what) const;
  const TraceStep& apply(std::int64_t token, bool forced, const SampleResult& stats,
                         bool byVerifier = false);
  void pushToken(TraceStep& step);
  void popToken(TraceStep& step);
  at::Tensor feed(std::int64_t token, TraceStep& step, at::Tensor* hidden = nullptr);
  bool verifierTriggered() const;
  SampleContext context() const;
  SampleResult rawStats(std::int64_t token) const;
  std::vector<std::int64_t> deviationExclusions() const;
  std::string tokenText(std::int64_t id) const;
  void finishIfDone();
  void finish(StopReason reason);

  Transformer m_model;
  DecodeSettings m_settings;
  const Tokenizer* m_tokenizer;
  DecodeEventSink* m_sink = nullptr;
  std::unique_ptr<State> m_state;
  Sampler m_sampler;
  DeviationRng m_deviationRng;

  mutable Trace m_trace;  // output_text is refreshed lazily by trace()
  mutable bool m_outputTextStale = false;
  StopReason m_reason = StopReason::kNone;
  bool m_started = false;
  int m_undosUsed = 0;
  int m_consecutiveUndos = 0;
  std::vector<at::Tensor> m_stepLogits;
};

/**
 * Convenience: decodes @p promptIds to the end with a PrunedDecoder, emitting to @p sink (may be
 * null) and checking @p cancel (may be null) once per token; a raised flag ends the decode with
 * StopReason::kCancelled and a valid trace. Returns the trace (meta.stop_reason says why it ended).
 */
Trace decode(Transformer model, const std::vector<std::int64_t>& promptIds,
             const DecodeSettings& settings, DecodeEventSink* sink = nullptr,
             const std::atomic<bool>* cancel = nullptr, const Tokenizer* tokenizer = nullptr,
             const std::string& promptText = "");

}  // namespace nmar::core
