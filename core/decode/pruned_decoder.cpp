// PrunedDecoder: the step machine of spec §3 (settings, decode() and names are in
// decode_settings.cpp).
#include "decode/pruned_decoder.h"

#include <algorithm>
#include <cmath>
#include <stdexcept>

#include <ATen/ATen.h>
#include <torch/csrc/autograd/grad_mode.h>

#include "tokenizer/tokenizer.h"
#include "util/error.h"
#include "util/log.h"

namespace nmar::core {
namespace {

/** Keeps the deviation stream apart from the sampler's although both come from one seed. */
constexpr std::uint64_t kDeviationSalt = 0xD1B54A32D192ED03ULL;
constexpr int kStatsTopK = 5;

std::vector<TopKEntry> toEntries(const std::vector<std::pair<std::int64_t, double>>& pairs) {
  std::vector<TopKEntry> out;
  out.reserve(pairs.size());
  for (const auto& p : pairs) out.push_back({p.first, p.second});
  return out;
}

/** The new query's attention rows: per layer `[1, H, 1, K]` -> heads x keys floats. */
StepAttention queryAttention(const std::vector<at::Tensor>& attentions) {
  StepAttention a;
  for (const at::Tensor& layer : attentions) {
    const at::Tensor rows = layer.select(0, 0).select(1, 0).to(at::kCPU, at::kFloat).contiguous();
    a.heads = static_cast<int>(rows.size(0));
    a.keys = static_cast<int>(rows.size(1));
    const float* p = rows.data_ptr<float>();
    a.layers.emplace_back(p, p + rows.numel());
  }
  return a;
}

}  // namespace

/** Tensor state of one sequence. */
struct PrunedDecoder::State {
  explicit State(int64_t layers) : cache(layers) {}
  KVCache cache;
  std::vector<std::int64_t> stack;  // ids on S, prompt first
  int promptLength = 0;
  at::Tensor logits;  // L: [V] fp32 on the model's device
  // resample mode: the logits saved when each stack level was fed (index 0: the prompt) and the
  // ids already popped from that level.
  std::vector<at::Tensor> saved;
  std::vector<std::vector<std::int64_t>> banned;
  bool triggered = false;  // the verifier scored the token just pushed above tau
  // Per stack level (index into stack): ids the verifier already popped from that level with the
  // same stack below. Re-pushing one of them gives the same hidden state and the same score, so
  // the trigger does not fire on it again (else hard mode would loop: x, UNDO, x, UNDO, ...).
  std::vector<std::vector<std::int64_t>> verifierPopped;
};

PrunedDecoder::PrunedDecoder(Transformer model, DecodeSettings settings, const Tokenizer* tokenizer)
    : m_model(std::move(model)),
      m_settings((settings.validate(m_model->config().vocabSize), std::move(settings))),
      m_tokenizer(tokenizer),
      m_sampler(m_settings.sampler) {
  if (m_settings.verifier.active() &&
      m_settings.verifier.verifier->hiddenSize() != m_model->config().hiddenSize)
    throw Error("decode settings: field 'verifier': the verifier expects hidden size " +
                std::to_string(m_settings.verifier.verifier->hiddenSize()) + ", the model has " +
                std::to_string(m_model->config().hiddenSize));
}

PrunedDecoder::~PrunedDecoder() = default;

void PrunedDecoder::requireRunning(const char* what) const {
  if (!m_started) throw Error(std::string("PrunedDecoder::") + what + ": call start() first");
  if (done())
    throw Error(std::string("PrunedDecoder::") + what + ": the decode has ended (" +
                stopReasonName(m_reason) + ")");
}

std::string PrunedDecoder::tokenText(std::int64_t id) const {
  return decodeTokenText(m_tokenizer, id);
}

void PrunedDecoder::start(const std::vector<std::int64_t>& promptIds,
                          const std::string& promptText) {
  const ModelConfig& config = m_model->config();
  const auto m = static_cast<int64_t>(promptIds.size());
  validateDecodePrompt(config, promptIds);

  auto state = std::make_unique<State>(config.numLayers);
  state->promptLength = static_cast<int>(m);
  state->stack = promptIds;
  {
    torch::NoGradGuard noGrad;
    ForwardOptions fo;
    fo.cache = &state->cache;
    const at::Tensor ids = at::tensor(promptIds, at::kLong).unsqueeze(0);
    state->logits = m_model->forward(ids, fo).logits.select(0, 0).select(0, m - 1);
  }
  if (m_settings.mode == TraceMode::kResample) {
    state->saved.push_back(state->logits);
    state->banned.emplace_back();
  }
  m_state = std::move(state);

  m_sampler.reseed(m_settings.sampler.seed);
  m_deviationRng = DeviationRng(m_settings.sampler.seed ^ kDeviationSalt);
  m_undosUsed = 0;
  m_consecutiveUndos = 0;
  m_stepLogits.clear();
  m_reason = StopReason::kNone;
  m_started = true;

  m_trace = newDecodeTrace(m_settings, config.vocabSize, promptIds, promptText);
  m_outputTextStale = true;

  logger("core.decode")
      ->debug("start: {} mode, prompt of {} tokens, seed {}", traceModeName(m_settings.mode), m,
              m_settings.sampler.seed);
  if (m_sink != nullptr) m_sink->onStart(m_trace);
  finishIfDone();
}

SampleContext PrunedDecoder::context() const {
  SampleContext ctx;
  ctx.undoId = m_settings.undoId;
  ctx.eosId = m_settings.eosId;
  ctx.canPop = static_cast<int>(m_state->stack.size()) > m_state->promptLength;
  ctx.undosUsed = m_undosUsed;
  ctx.consecutiveUndos = m_consecutiveUndos;
  if (m_settings.sampler.repetitionPenalty != 1.0)
    ctx.liveTokens.assign(m_state->stack.begin() + m_state->promptLength, m_state->stack.end());
  if (m_settings.mode == TraceMode::kResample) ctx.banned = m_state->banned.back();
  return ctx;
}

std::vector<std::int64_t> PrunedDecoder::deviationExclusions() const {
  std::vector<std::int64_t> out;
  if (m_settings.undoId >= 0) out.push_back(m_settings.undoId);
  if (m_settings.eosId >= 0) out.push_back(m_settings.eosId);
  if (m_settings.mode == TraceMode::kResample)
    out.insert(out.end(), m_state->banned.back().begin(), m_state->banned.back().end());
  return out;
}

SampleResult PrunedDecoder::rawStats(std::int64_t token) const {
  const at::Tensor lp = at::log_softmax(m_state->logits.to(at::kCPU, at::kDouble), 0);
  SampleResult r;
  r.token = token;
  const double* p = lp.data_ptr<double>();
  r.logprob = std::min(0.0, p[token]);
  for (int64_t i = 0; i < lp.numel(); ++i)
    if (std::isfinite(p[i])) r.entropy -= std::exp(p[i]) * p[i];
  r.entropy = std::max(0.0, r.entropy);
  r.topk = Sampler::topK(m_state->logits, kStatsTopK);
  return r;
}

const TraceStep& PrunedDecoder::step() {
  requireRunning("step");
  const int k = static_cast<int>(m_trace.steps.size());
  for (const ForcedDeviation& f : m_settings.forced)
    if (f.step == k) return forcePush(f.token);
  const at::Tensor used = m_state->logits;
  SampleResult r;
  bool byVerifier = false;
  if (!verifierTriggered()) {
    r = m_sampler.sample(used, context());
  } else if (!m_settings.verifier.bias) {
    r = rawStats(m_settings.undoId);  // forced UNDO: the model's raw statistics, as forcePop
    byVerifier = true;
  } else {
    at::Tensor biased = used.clone();
    biased[m_settings.undoId] += *m_settings.verifier.bias;
    r = m_sampler.sample(biased, context());
    byVerifier = r.token == m_settings.undoId;
  }
  apply(r.token, false, r, byVerifier);
  if (m_settings.recordLogits) m_stepLogits.push_back(used.to(at::kCPU, at::kFloat).clone());
  finishIfDone();
  return m_trace.steps.back();
}

const TraceStep& PrunedDecoder::forcePush(std::int64_t token) {
  requireRunning("forcePush");
  const std::int64_t vocab = m_model->config().vocabSize;
  if (token == kRandomDeviation) {
    token = drawDeviation(m_state->logits, m_settings.deviationTopK, deviationExclusions(),
                          m_deviationRng.uniform());
  } else if (token < 0 || token >= vocab) {
    throw Error("forced deviation: token " + std::to_string(token) +
                " is outside the vocabulary [0, " + std::to_string(vocab) + ")");
  } else if (m_settings.undoId >= 0 && token == m_settings.undoId) {
    throw Error("forced deviation: token " + std::to_string(token) +
                " is the UNDO id (a forced deviation pushes a regular token)");
  }
  const at::Tensor used = m_state->logits;
  apply(token, true, rawStats(token));
  if (m_settings.recordLogits) m_stepLogits.push_back(used.to(at::kCPU, at::kFloat).clone());
  finishIfDone();
  return m_trace.steps.back();
}

const TraceStep& PrunedDecoder::forcePop() {
  requireRunning("forcePop");
  if (m_settings.undoId < 0)
    throw Error("PrunedDecoder::forcePop: the model has no UNDO token (undo_id is -1)");
  if (static_cast<int>(m_state->stack.size()) <= m_state->promptLength)
    throw Error("PrunedDecoder::forcePop: nothing to pop (only the prompt is on the stack)");
  const at::Tensor used = m_state->logits;
  apply(m_settings.undoId, true, rawStats(m_settings.undoId));
  if (m_settings.recordLogits) m_stepLogits.push_back(used.to(at::kCPU, at::kFloat).clone());
  finishIfDone();
  return m_trace.steps.back();
}

bool PrunedDecoder::verifierTriggered() const {
  if (!m_settings.verifier.active() || !m_state->triggered || m_settings.undoId < 0) return false;
  if (static_cast<int>(m_state->stack.size()) <= m_state->promptLength) return false;
  const SamplerSettings& sm = m_settings.sampler;
  if (sm.undoBudget >= 0 && m_undosUsed >= sm.undoBudget) return false;
  return sm.maxConsecutiveUndos != 0;
}

const TraceStep& PrunedDecoder::apply(std::int64_t token, bool forced, const SampleResult& stats,
                                      bool byVerifier) {
  TraceStep s;
  s.verifier = byVerifier;
  s.token = token;
  s.text = tokenText(token);
  s.forced = forced;
  s.logprob = stats.logprob;
  s.entropy = stats.entropy;
  s.topk = toEntries(stats.topk);
  const int k = static_cast<int>(m_trace.steps.size());
  s.position = m_settings.mode == TraceMode::kSoft ? m_state->promptLength + k
                                                   : static_cast<int>(m_state->stack.size());
  // Both helpers run the forward (which rolls the cache back if it throws) before changing
  // anything, so a failing step leaves the decoder as it was.
  if (m_settings.undoId >= 0 && token == m_settings.undoId)
    popToken(s);
  else
    pushToken(s);
  s.depth = static_cast<int>(m_state->stack.size()) - m_state->promptLength;
  m_trace.steps.push_back(std::move(s));
  m_outputTextStale = true;
  if (m_sink != nullptr) m_sink->onStep(k, m_trace.steps.back());
  return m_trace.steps.back();
}

at::Tensor PrunedDecoder::feed(std::int64_t token, TraceStep& step, at::Tensor* hidden) {
  if (m_state->cache.length() != step.position)
    throw std::logic_error("PrunedDecoder: cache length differs from the step's position");
  torch::NoGradGuard noGrad;
  ForwardOptions fo;
  fo.cache = &m_state->cache;
  fo.returnAttention = m_settings.recordAttention;
  fo.returnHidden = hidden != nullptr;
  const ForwardOutput out = m_model->forward(at::full({1, 1}, token, at::kLong), fo);
  if (m_settings.recordAttention) step.attention = queryAttention(out.attentions);
  if (hidden != nullptr) *hidden = out.hidden.select(0, 0).select(0, 0);
  return out.logits.select(0, 0).select(0, 0);
}

void PrunedDecoder::pushToken(TraceStep& step) {
  step.kind = StepKind::kPush;
  at::Tensor hidden;
  const bool scored = m_settings.verifier.active();
  const at::Tensor logits = feed(step.token, step, scored ? &hidden : nullptr);
  if (scored) {
    torch::NoGradGuard noGrad;
    const double score = m_settings.verifier.verifier->score(hidden);
    step.verifierScore = score;
    const std::size_t level = m_state->stack.size();  // the pushed token's index in S
    auto& popped = m_state->verifierPopped;
    const bool again = level < popped.size() &&
                       std::find(popped[level].begin(), popped[level].end(), step.token) !=
                           popped[level].end();
    m_state->triggered = score > m_settings.verifier.tau && !again;
  }
  m_state->stack.push_back(step.token);
  m_trace.outputIds.push_back(step.token);
  m_state->logits = logits;
  m_consecutiveUndos = 0;
  if (m_settings.mode == TraceMode::kResample) {
    m_state->saved.push_back(logits);
    m_state->banned.emplace_back();
  }
}

void PrunedDecoder::popToken(TraceStep& step) {
  State& st = *m_state;
  st.triggered = false;
  step.kind = StepKind::kPop;
  step.popped = st.stack.back();
  switch (m_settings.mode) {
    case TraceMode::kHard: {
      const at::Tensor undoLogits = feed(step.token, step);
      st.cache.truncate(st.cache.length() - 2);  // the UNDO and the token it popped
      st.logits = undoLogits;
      break;
    }
    case TraceMode::kSoft:
      st.logits = feed(step.token, step);  // UNDO stays in context
      break;
    case TraceMode::kResample:
      st.cache.truncate(st.cache.length() - 1);  // drop the popped token, feed nothing
      st.saved.pop_back();
      st.banned.pop_back();
      st.banned.back().push_back(step.popped);
      st.logits = st.saved.back();
      break;
  }
  st.stack.pop_back();
  if (m_settings.verifier.active()) {
    // Levels above the popped one had another stack below them: forget them.
    st.verifierPopped.resize(st.stack.size() + 1);
    if (step.verifier) st.verifierPopped[st.stack.size()].push_back(step.popped);
  }
  m_trace.outputIds.pop_back();
  ++m_undosUsed;
  ++m_consecutiveUndos;
}

void PrunedDecoder::finishIfDone() {
  if (done() || !m_started) return;
  const int64_t next = m_settings.mode == TraceMode::kSoft
                           ? m_state->promptLength + static_cast<int64_t>(m_trace.steps.size())
                           : static_cast<int64_t>(m_state->stack.size());
  const StopReason reason = decodeStopReason(m_settings, m_model->config(), m_trace.steps, next);
  if (reason != StopReason::kNone) finish(reason);
}

void PrunedDecoder::stop(StopReason reason) {
  if (done() || !m_started) return;
  finish(reason == StopReason::kNone ? StopReason::kCancelled : reason);
}

void PrunedDecoder::finish(StopReason reason) {
  m_reason = reason;
  if (reason == StopReason::kEos && !m_trace.outputIds.empty() &&
      m_trace.outputIds.back() == m_settings.eosId)
    m_trace.outputIds.pop_back();  // the final EOS is left out of the output
  m_trace.meta["stop_reason"] = stopReasonName(reason);
  m_outputTextStale = true;
  logger("core.decode")
      ->debug("finish: {} after {} steps ({} UNDOs), output of {} tokens", stopReasonName(reason),
              m_trace.steps.size(), m_undosUsed, m_trace.outputIds.size());
  if (m_sink != nullptr) m_sink->onFinish(trace(), reason);
}

const Trace& PrunedDecoder::trace() const {
  if (m_outputTextStale && m_tokenizer != nullptr)
    m_trace.outputText = decodeOutputText(m_tokenizer, m_trace.outputIds);
  m_outputTextStale = false;
  return m_trace;
}

int PrunedDecoder::stackSize() const {
  return m_state ? static_cast<int>(m_state->stack.size()) : 0;
}

int PrunedDecoder::depth() const {
  return m_state ? static_cast<int>(m_state->stack.size()) - m_state->promptLength : 0;
}

std::int64_t PrunedDecoder::cacheLength() const { return m_state ? m_state->cache.length() : 0; }

std::int64_t PrunedDecoder::cacheCapacity() const {
  return m_state ? m_state->cache.capacity() : 0;
}

std::int64_t PrunedDecoder::kvBytesPerPosition() const {
  const ModelConfig& c = m_model->config();
  return c.numLayers * 2 * c.numKvHeads * c.headDim *
         static_cast<int64_t>(c10::elementSize(m_model->dtype()));
}

}  // namespace nmar::core
