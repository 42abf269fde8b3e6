// decodeGroup: G pruned decodes of one prompt in lockstep, one batched forward per step; the
// per-row stack machine follows PrunedDecoder (pruned_decoder.cpp) rule for rule.
#include "decode/group_decoder.h"

#include <string>

#include <ATen/ATen.h>
#include <torch/csrc/autograd/grad_mode.h>

#include "util/error.h"
#include "util/log.h"

namespace nmar::core {
namespace {

/** One completion: its sampler, stack and trace, and which cache slots its queries may see. */
struct Row {
  explicit Row(const SamplerSettings& s) : sampler(s) {}
  Sampler sampler;
  Trace trace;
  std::vector<std::int64_t> stack;  // ids on S, prompt first
  std::vector<std::int64_t> slots;  // the cache slot of every stack entry
  std::vector<char> live;           // per cache slot: may this row's queries attend to it?
  int undosUsed = 0;
  int consecutiveUndos = 0;
  StopReason reason = StopReason::kNone;
  std::int64_t token = 0;  // the token chosen for the current step
  SampleResult stats;
  bool running() const { return reason == StopReason::kNone; }
};

void finishRow(Row& row, StopReason reason, const DecodeSettings& settings,
               const Tokenizer* tokenizer) {
  row.reason = reason;
  if (reason == StopReason::kEos && !row.trace.outputIds.empty() &&
      row.trace.outputIds.back() == settings.eosId)
    row.trace.outputIds.pop_back();  // the final EOS is left out of the output
  row.trace.meta["stop_reason"] = stopReasonName(reason);
  row.trace.outputText = decodeOutputText(tokenizer, row.trace.outputIds);
}

SampleContext contextOf(const Row& row, const DecodeSettings& settings, int promptLength) {
  SampleContext ctx;
  ctx.undoId = settings.undoId;
  ctx.eosId = settings.eosId;
  ctx.canPop = static_cast<int>(row.stack.size()) > promptLength;
  ctx.undosUsed = row.undosUsed;
  ctx.consecutiveUndos = row.consecutiveUndos;
  if (settings.sampler.repetitionPenalty != 1.0)
    ctx.liveTokens.assign(row.stack.begin() + promptLength, row.stack.end());
  return ctx;
}

}  // namespace

bool groupDecodable(const DecodeSettings& settings) {
  return settings.mode != TraceMode::kResample && settings.forced.empty() &&
         !settings.recordAttention && !settings.recordLogits && !settings.verifier.active();
}

std::vector<Trace> decodeGroup(Transformer model, const std::vector<std::int64_t>& promptIds,
                               const DecodeSettings& settings,
                               const std::vector<std::uint64_t>& seeds, const Tokenizer* tokenizer,
                               const std::string& promptText, const std::atomic<bool>* cancel) {
  const ModelConfig& config = model->config();
  settings.validate(config.vocabSize);
  if (settings.mode == TraceMode::kResample)
    throw Error("decodeGroup: mode resample is decoded one sequence at a time (PrunedDecoder)");
  if (!settings.forced.empty())
    throw Error("decodeGroup: forced deviations need PrunedDecoder (one sequence at a time)");
  if (settings.recordAttention || settings.recordLogits)
    throw Error("decodeGroup: recording attention or logits needs PrunedDecoder");
  if (settings.verifier.active())
    throw Error("decodeGroup: the verifier trigger needs PrunedDecoder (one sequence at a time)");
  if (seeds.empty()) throw Error("decodeGroup: no seeds (expected one per completion)");
  validateDecodePrompt(config, promptIds);

  const auto g = static_cast<std::int64_t>(seeds.size());
  const auto m = static_cast<std::int64_t>(promptIds.size());
  const int promptLength = static_cast<int>(m);
  const bool soft = settings.mode == TraceMode::kSoft;
  std::vector<Row> rows;
  rows.reserve(seeds.size());
  for (std::uint64_t seed : seeds) {
    DecodeSettings rowSettings = settings;
    rowSettings.sampler.seed = seed;
    Row row(rowSettings.sampler);
    row.trace = newDecodeTrace(rowSettings, config.vocabSize, promptIds, promptText);
    row.stack = promptIds;
    for (std::int64_t i = 0; i < m; ++i) row.slots.push_back(i);
    row.live.assign(static_cast<std::size_t>(m), 1);
    rows.push_back(std::move(row));
  }

  torch::NoGradGuard noGrad;
  KVCache cache(config.numLayers);
  cache.reserve(m + settings.sampler.maxNewTokens);
  at::Tensor logits;  // [G, V]: each row's current L
  {
    ForwardOptions fo;
    fo.cache = &cache;
    const at::Tensor ids = at::tensor(promptIds, at::kLong).unsqueeze(0).expand({g, m});
    logits = model->forward(ids.contiguous(), fo).logits.select(1, m - 1);
  }
  // A stop rule may already hold before the first step (max_new_tokens 0 is rejected, but a
  // GPT-2 prompt may end right below n_positions).
  for (Row& row : rows) {
    const StopReason r = decodeStopReason(settings, config, row.trace.steps, m);
    if (r != StopReason::kNone) finishRow(row, r, settings, tokenizer);
  }

  const at::Tensor ids = at::zeros({g, 1}, at::kLong);
  const at::Tensor positions = at::zeros({g, 1}, at::kLong);
  auto* idp = ids.data_ptr<std::int64_t>();
  auto* posp = positions.data_ptr<std::int64_t>();
  int steps = 0;
  for (;;) {
    bool anyRunning = false;
    for (const Row& row : rows) anyRunning = anyRunning || row.running();
    if (!anyRunning) break;
    if (cancel != nullptr && cancel->load(std::memory_order_relaxed)) {
      for (Row& row : rows)
        if (row.running()) finishRow(row, StopReason::kCancelled, settings, tokenizer);
      break;
    }
    const std::int64_t slot = cache.length();  // every row's new token goes here
    const at::Tensor mask = at::zeros({g, 1, 1, slot + 1}, at::kBool);
    auto* maskp = mask.data_ptr<bool>();
    const at::Tensor cpuLogits = logits.to(at::kCPU, at::kFloat);
    for (std::int64_t r = 0; r < g; ++r) {
      Row& row = rows[static_cast<std::size_t>(r)];
      bool* rowMask = maskp + r * (slot + 1);
      rowMask[slot] = true;  // a query always sees itself (a finished row sees only itself)
      if (!row.running()) {
        idp[r] = 0;
        posp[r] = 0;
        continue;
      }
      row.stats = row.sampler.sample(cpuLogits[r], contextOf(row, settings, promptLength));
      row.token = row.stats.token;
      idp[r] = row.token;
      posp[r] = soft ? m + steps : static_cast<std::int64_t>(row.stack.size());
      for (std::int64_t k = 0; k < slot; ++k) rowMask[k] = row.live[static_cast<std::size_t>(k)];
    }
    ForwardOptions fo;
    fo.cache = &cache;
    fo.mask = mask;
    fo.positionIds = positions;
    logits = model->forward(ids, fo).logits.select(1, 0);

    for (Row& row : rows) {
      if (!row.running()) {
        row.live.push_back(0);
        continue;
      }
      TraceStep s;
      s.token = row.token;
      s.text = decodeTokenText(tokenizer, row.token);
      s.logprob = row.stats.logprob;
      s.entropy = row.stats.entropy;
      for (const auto& p : row.stats.topk) s.topk.push_back({p.first, p.second});
      s.position = soft ? promptLength + steps : static_cast<int>(row.stack.size());
      if (settings.undoId >= 0 && row.token == settings.undoId) {
        s.kind = StepKind::kPop;
        s.popped = row.stack.back();
        if (!soft) row.live[static_cast<std::size_t>(row.slots.back())] = 0;
        row.live.push_back(soft ? 1 : 0);  // hard: the UNDO leaves with the token it popped
        row.stack.pop_back();
        row.slots.pop_back();
        row.trace.outputIds.pop_back();
        ++row.undosUsed;
        ++row.consecutiveUndos;
      } else {
        s.kind = StepKind::kPush;
        row.live.push_back(1);
        row.stack.push_back(row.token);
        row.slots.push_back(slot);
        row.trace.outputIds.push_back(row.token);
        row.consecutiveUndos = 0;
      }
      s.depth = static_cast<int>(row.stack.size()) - promptLength;
      row.trace.steps.push_back(std::move(s));
      const std::int64_t next = soft ? m + steps + 1 : static_cast<std::int64_t>(row.stack.size());
      const StopReason reason = decodeStopReason(settings, config, row.trace.steps, next);
      if (reason != StopReason::kNone) finishRow(row, reason, settings, tokenizer);
    }
    ++steps;
  }

  std::vector<Trace> traces;
  traces.reserve(rows.size());
  for (Row& row : rows) traces.push_back(std::move(row.trace));
  logger("core.decode")
      ->debug("decodeGroup: {} completions in {} batched steps ({} mode)", g, steps,
              traceModeName(settings.mode));
  return traces;
}

}  // namespace nmar::core
