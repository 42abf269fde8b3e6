#include "train/token_init.h"

#include <ATen/CPUGeneratorImpl.h>
#include <torch/torch.h>

#include <algorithm>
#include <chrono>
#include <cmath>

#include "util/error.h"
#include "util/log.h"

namespace nmar::core {
namespace {

using Clock = std::chrono::steady_clock;

double msSince(Clock::time_point start) {
  return std::chrono::duration<double, std::milli>(Clock::now() - start).count();
}

std::string embeddingName(const ModelConfig& c) {
  return c.family == ModelFamily::Gpt2 ? "transformer.wte.weight" : "model.embed_tokens.weight";
}

/** The matrix the logits are computed with: the head of an untied model, else the embedding. */
at::Tensor outputMatrix(const TransformerImpl& model) {
  const TensorMap w = model.stateDict();
  return model.config().tieWordEmbeddings ? w.at(embeddingName(model.config()))
                                          : w.at("lm_head.weight");
}

/** What the strategy decided, computed before the model changes. */
struct Plan {
  std::int64_t id = -1;
  bool added = false;          // the tokenizer gets the token
  bool grows = false;          // the vocabulary gets a new row
  std::int64_t statCount = 0;  // existing rows: ids [0, statCount) without id
  at::Tensor embedRow;         // fp32 [D]
  at::Tensor headRow;          // fp32 [D], untied heads only
  std::vector<std::string> wordsUsed;
  std::vector<SkippedWord> wordsSkipped;
};

/** The existing rows of @p weight (ids [0, count) without @p skip) as fp32 `[n, D]`. */
at::Tensor existingRows(const at::Tensor& weight, std::int64_t count, std::int64_t skip) {
  if (skip >= count) return weight.narrow(0, 0, count).to(at::kFloat);
  const at::TensorOptions longs = at::TensorOptions().dtype(at::kLong).device(weight.device());
  const at::Tensor ids = at::cat({at::arange(skip, longs), at::arange(skip + 1, count, longs)});
  return weight.index_select(0, ids).to(at::kFloat);
}

/**
 * The generator for a user seed: splitmix64 of the seed with a salt, so that init-token with seed
 * N never replays the stream that initWeights(N) drew the existing rows from (a "random" row would
 * otherwise be a copy of row 0 when both seeds are the default 0).
 */
at::Generator undoGenerator(std::uint64_t seed) {
  std::uint64_t z = seed ^ 0x4e4d4152554e444fULL;  // "NMARUNDO"
  z += 0x9e3779b97f4a7c15ULL;
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
  return at::detail::createCPUGenerator(z ^ (z >> 31));
}

at::Tensor randomRow(std::int64_t d, double std, std::uint64_t seed, const at::Device& device) {
  at::Generator gen = undoGenerator(seed);
  at::Tensor row = at::empty({d}, at::TensorOptions().dtype(at::kFloat));
  row.normal_(0.0, std, gen);
  return row.to(device);
}

/** Fills the semantic rows of @p plan: the mean over words of each word's mean piece row. */
void semanticRows(const Tokenizer& tok, const at::Tensor& embed, const at::Tensor& head,
                  const TokenInitOptions& opt, const std::string& source, Plan& plan) {
  if (opt.words.empty())
    throw Error(source +
                ": semantic initialisation needs at least one word (the word list is "
                "empty)");
  at::Tensor sumE = at::zeros({embed.size(1)}, embed.options().dtype(at::kFloat));
  at::Tensor sumH = head.defined() ? at::zeros_like(sumE) : at::Tensor();
  for (const std::string& word : opt.words) {
    if (word.empty()) {
      plan.wordsSkipped.push_back({word, "empty word"});
      continue;
    }
    std::vector<std::int32_t> ids;
    try {
      ids = tok.encode(word);
    } catch (const Error& e) {
      plan.wordsSkipped.push_back({word, std::string("cannot be encoded: ") + e.what()});
      continue;
    }
    std::vector<std::int64_t> usable;
    for (std::int32_t id : ids)
      if (id != plan.id && id < plan.statCount && !tok.isSpecial(id)) usable.push_back(id);
    if (usable.empty()) {
      plan.wordsSkipped.push_back(
          {word, ids.empty() ? "tokenises to nothing" : "tokenises only to special tokens"});
      continue;
    }
    const at::Tensor index = at::tensor(usable).to(embed.device());
    sumE += embed.index_select(0, index).to(at::kFloat).mean(0);
    if (head.defined()) sumH += head.index_select(0, index).to(at::kFloat).mean(0);
    plan.wordsUsed.push_back(word);
  }
  if (plan.wordsUsed.empty()) {
    std::string why;
    for (const SkippedWord& w : plan.wordsSkipped)
      why += (why.empty() ? "'" : "; '") + w.word + "': " + w.reason;
    throw Error(source +
                ": semantic initialisation: no word of the word list gives a usable "
                "token piece (" +
                why + ")");
  }
  const double n = static_cast<double>(plan.wordsUsed.size());
  plan.embedRow = sumE / n;
  if (head.defined()) plan.headRow = sumH / n;
}

/** Checks what every strategy needs and decides the id; throws before anything changes. */
Plan checkAndPlaceToken(const TransformerImpl& model, const Tokenizer* tok,
                        const TokenInitOptions& opt,
                        const std::vector<std::vector<std::int32_t>>& heldOut,
                        const std::string& source) {
  if (tok == nullptr)
    throw Error(source + ": the checkpoint has no tokenizer, so an UNDO token cannot be added");
  if (opt.content.empty()) throw Error(source + ": the UNDO token's content is empty");
  const ModelConfig& c = model.config();
  if (heldOut.empty())
    throw Error(source + ": no held-out windows: the KL report needs at least one window of ids");
  for (std::size_t w = 0; w < heldOut.size(); ++w) {
    const std::string where = source + ": held-out window " + std::to_string(w);
    if (heldOut[w].empty()) throw Error(where + " is empty");
    if (c.family == ModelFamily::Gpt2 &&
        static_cast<std::int64_t>(heldOut[w].size()) > c.maxPositions)
      throw Error(where + " has " + std::to_string(heldOut[w].size()) +
                  " ids, more than the model's " + std::to_string(c.maxPositions) + " positions");
    for (std::size_t i = 0; i < heldOut[w].size(); ++i)
      if (heldOut[w][i] < 0 || heldOut[w][i] >= c.vocabSize)
        throw Error(where + ", position " + std::to_string(i) + ": id " +
                    std::to_string(heldOut[w][i]) + " is outside the model's vocabulary [0, " +
                    std::to_string(c.vocabSize) + ")");
  }
  Plan plan;
  const std::optional<std::int32_t> existing = tok->tokenId(opt.content);
  plan.added = !existing.has_value();
  plan.id = existing ? *existing : tok->vocabSize();
  if (plan.id > c.vocabSize)
    throw Error(source + ": the tokenizer " +
                (existing ? "has '" + opt.content + "' as" : "would give '" + opt.content + "'") +
                " id " + std::to_string(plan.id) + " but the model has only " +
                std::to_string(c.vocabSize) + " embedding rows");
  if (existing && plan.id == c.vocabSize)
    throw Error(source + ": the tokenizer has '" + opt.content + "' as id " +
                std::to_string(plan.id) + " but the model has no row for it (" +
                std::to_string(c.vocabSize) + " embedding rows)");
  plan.grows = plan.id == c.vocabSize;
  plan.statCount = std::min<std::int64_t>(tok->vocabSize(), c.vocabSize);
  const std::int64_t existingCount = plan.statCount - (plan.id < plan.statCount ? 1 : 0);
  if (existingCount < 1) throw Error(source + ": the model has no other token rows to start from");
  return plan;
}

/** Computes the new rows of @p plan by the strategy of @p opt. */
void computeRows(const TransformerImpl& model, const Tokenizer& tok, const TokenInitOptions& opt,
                 const std::string& source, Plan& plan) {
  const ModelConfig& c = model.config();
  const TensorMap w = model.stateDict();
  const at::Tensor embed = w.at(embeddingName(c));
  const at::Tensor head = c.tieWordEmbeddings ? at::Tensor() : w.at("lm_head.weight");
  switch (opt.strategy) {
    case TokenInitStrategy::kRandom:
      plan.embedRow = randomRow(c.hiddenSize, c.initializerRange, opt.seed, embed.device());
      if (head.defined())
        plan.headRow = randomRow(c.hiddenSize, c.initializerRange, opt.seed + 1, head.device());
      break;
    case TokenInitStrategy::kMean:
      plan.embedRow = existingRows(embed, plan.statCount, plan.id).mean(0);
      if (head.defined()) plan.headRow = existingRows(head, plan.statCount, plan.id).mean(0);
      break;
    case TokenInitStrategy::kSemantic:
      semanticRows(tok, embed, head, opt, source, plan);
      break;
    case TokenInitStrategy::kHewitt:
      if (!(opt.hewittScale > 0.0) || !std::isfinite(opt.hewittScale))
        throw Error(source +
                    ": hewitt initialisation: the covariance scale must be a positive "
                    "finite number, got " +
                    std::to_string(opt.hewittScale));
      try {
        plan.embedRow = sampleHewittRows(existingRows(embed, plan.statCount, plan.id), 1,
                                         opt.hewittScale, opt.seed)[0];
        if (head.defined())
          plan.headRow = sampleHewittRows(existingRows(head, plan.statCount, plan.id), 1,
                                          opt.hewittScale, opt.seed + 1)[0];
      } catch (const Error& e) {
        throw Error(source + ": hewitt initialisation: " + e.what());
      }
      break;
  }
}

/** Writes the rows of @p plan into the model (growing it by one row when the plan says so). */
void applyRows(TransformerImpl& model, const Plan& plan) {
  torch::NoGradGuard noGrad;
  if (plan.grows) {
    model.resizeVocab(plan.id + 1, plan.embedRow.unsqueeze(0),
                      plan.headRow.defined() ? plan.headRow.unsqueeze(0) : at::Tensor());
    return;
  }
  const TensorMap w = model.stateDict();  // aliases the parameters
  at::Tensor embed = w.at(embeddingName(model.config()));
  embed[plan.id].copy_(plan.embedRow.to(embed.options()));
  if (plan.headRow.defined()) {
    at::Tensor head = w.at("lm_head.weight");
    head[plan.id].copy_(plan.headRow.to(head.options()));
  }
}

at::Tensor windowTensor(const std::vector<std::int32_t>& window, const at::Device& device) {
  std::vector<std::int64_t> ids(window.begin(), window.end());
  return at::tensor(ids).unsqueeze(0).to(device);
}

/** The mean KL and P(UNDO) numbers of @p report, from the hidden states before the change. */
void measureShift(TransformerImpl& model, const Plan& plan, const std::vector<at::Tensor>& before,
                  const at::Tensor& oldOutRow, std::int64_t vocabBefore,
                  const std::vector<std::vector<std::int32_t>>& heldOut, TokenInitReport& r) {
  const at::Tensor outBefore = outputMatrix(model).narrow(0, 0, vocabBefore);
  const at::TensorOptions longs = at::TensorOptions().dtype(at::kLong).device(model.device());
  const at::Tensor keep =
      plan.id < vocabBefore
          ? at::cat({at::arange(plan.id, longs), at::arange(plan.id + 1, vocabBefore, longs)})
          : at::arange(vocabBefore, longs);
  double klFull = 0.0, klRenorm = 0.0, pSum = 0.0, pMax = 0.0;
  std::int64_t positions = 0;
  for (std::size_t w = 0; w < heldOut.size(); ++w) {
    // Before: the old rows are the new ones except at the UNDO id, whose old row was kept.
    at::Tensor logitsB = at::linear(before[w], outBefore).to(at::kFloat)[0];
    if (oldOutRow.defined())
      logitsB.select(-1, plan.id)
          .copy_(at::linear(before[w], oldOutRow.unsqueeze(0))[0].select(-1, 0));
    const at::Tensor logitsA = model.forward(windowTensor(heldOut[w], model.device())).logits[0];
    const at::Tensor lpB = at::log_softmax(logitsB.to(at::kDouble), -1);
    const at::Tensor lpA = at::log_softmax(logitsA.to(at::kDouble), -1);
    klFull += (lpB.exp() * (lpB - lpA.narrow(-1, 0, vocabBefore))).sum().item<double>();
    const at::Tensor rB = at::log_softmax(lpB.index_select(-1, keep), -1);
    const at::Tensor rA = at::log_softmax(lpA.index_select(-1, keep), -1);
    klRenorm += (rB.exp() * (rB - rA)).sum().item<double>();
    const at::Tensor pUndo = lpA.select(-1, plan.id).exp();
    pSum += pUndo.sum().item<double>();
    pMax = std::max(pMax, pUndo.max().item<double>());
    positions += logitsA.size(0);
  }
  r.heldOutWindows = static_cast<std::int64_t>(heldOut.size());
  r.heldOutPositions = positions;
  r.klFull = klFull / static_cast<double>(positions);
  r.klRenormalised = klRenorm / static_cast<double>(positions);
  r.pUndoMean = pSum / static_cast<double>(positions);
  r.pUndoMax = pMax;
}

/** Norms and nearest neighbours (by cosine over the existing embedding rows) of the new row. */
void describeRow(const TransformerImpl& model, const Tokenizer& tok, const Plan& plan, int k,
                 TokenInitReport& r) {
  const TensorMap w = model.stateDict();
  const at::Tensor embed = w.at(embeddingName(model.config()));
  const at::Tensor rows = existingRows(embed, plan.statCount, plan.id);
  const at::Tensor row = embed[plan.id].to(at::kFloat);
  r.embeddingNorm = row.norm().item<double>();
  r.meanRowNorm = rows.norm(2, 1).mean().item<double>();
  if (!model.config().tieWordEmbeddings) {
    const at::Tensor head = w.at("lm_head.weight");
    r.headNorm = head[plan.id].to(at::kFloat).norm().item<double>();
    r.meanHeadRowNorm =
        existingRows(head, plan.statCount, plan.id).norm(2, 1).mean().item<double>();
  }
  const std::int64_t shown = std::min<std::int64_t>(std::max(k, 0), rows.size(0));
  if (shown == 0) return;
  const at::Tensor cosine = at::matmul(rows, row) / (rows.norm(2, 1) * row.norm()).clamp_min(1e-12);
  const auto top = at::topk(cosine, shown);
  const at::Tensor values = std::get<0>(top).to(at::kCPU, at::kDouble);
  const at::Tensor index = std::get<1>(top).to(at::kCPU);
  for (std::int64_t i = 0; i < shown; ++i) {
    std::int64_t id = index[i].item<std::int64_t>();
    if (id >= plan.id) ++id;  // existingRows() left the UNDO row out
    std::string text;
    try {
      text = tok.tokenText(static_cast<std::int32_t>(id));
    } catch (const Error&) {
      text = "<id " + std::to_string(id) + ">";  // an unused id of the vocabulary
    }
    r.nearest.push_back({id, text, values[i].item<double>()});
  }
}

/**
 * The whole initialisation on @p model. When @p addTo is given, the token is added to it once
 * everything has been checked; @p tok is only read.
 */
TokenInitReport runInit(TransformerImpl& model, const Tokenizer* tok, Tokenizer* addTo,
                        const TokenInitOptions& opt,
                        const std::vector<std::vector<std::int32_t>>& heldOut,
                        const std::string& source) {
  torch::NoGradGuard noGrad;
  const Clock::time_point t0 = Clock::now();
  Plan plan = checkAndPlaceToken(model, tok, opt, heldOut, source);
  computeRows(model, *tok, opt, source, plan);
  double initMs = msSince(t0);

  const Clock::time_point t1 = Clock::now();
  std::vector<at::Tensor> before;
  for (const auto& window : heldOut) {
    ForwardOptions fo;
    fo.returnHidden = true;
    before.push_back(model.forward(windowTensor(window, model.device()), fo).hidden);
  }
  const std::int64_t vocabBefore = model.config().vocabSize;
  const at::Tensor oldOutRow = plan.grows ? at::Tensor() : outputMatrix(model)[plan.id].clone();
  double reportMs = msSince(t1);

  const Clock::time_point t2 = Clock::now();
  if (addTo != nullptr && plan.added) {
    const std::int32_t id = addTo->addSpecialToken(opt.content);
    if (id != plan.id)
      throw Error(source + ": the tokenizer gave '" + opt.content + "' id " + std::to_string(id) +
                  ", expected " + std::to_string(plan.id));
  }
  applyRows(model, plan);
  initMs += msSince(t2);

  const Clock::time_point t3 = Clock::now();
  TokenInitReport r;
  r.strategy = opt.strategy;
  r.content = opt.content;
  r.id = plan.id;
  r.added = plan.added;
  r.vocabBefore = vocabBefore;
  r.vocabAfter = model.config().vocabSize;
  r.tiedHead = model.config().tieWordEmbeddings;
  r.seed = opt.seed;
  r.hewittScale = opt.hewittScale;
  r.wordsUsed = plan.wordsUsed;
  r.wordsSkipped = plan.wordsSkipped;
  measureShift(model, plan, before, oldOutRow, vocabBefore, heldOut, r);
  describeRow(model, *tok, plan, opt.neighbours, r);
  r.initMs = initMs;
  r.reportMs = reportMs + msSince(t3);
  logger("core.train")
      ->info("{}: UNDO '{}' = id {} ({} init{}): KL {:.3g} nats, P(UNDO) mean {:.3g} max {:.3g}",
             source, opt.content, r.id, tokenInitStrategyName(opt.strategy),
             plan.added ? "" : ", re-initialised", r.klFull, r.pUndoMean, r.pUndoMax);
  for (const SkippedWord& w : plan.wordsSkipped)
    logger("core.train")->warn("{}: semantic word '{}' skipped: {}", source, w.word, w.reason);
  return r;
}

std::string sourceName(const Pretrained& p) {
  return p.dir.empty() ? std::string("model") : "checkpoint '" + p.dir.string() + "'";
}

}  // namespace

std::vector<std::string> defaultSemanticWords() {
  return {"delete", "remove", "undo", "erase", "back", "cancel", "revert", "backspace"};
}

at::Tensor sampleHewittRows(const at::Tensor& rows, std::int64_t count, double scale,
                            std::uint64_t seed) {
  if (!rows.defined() || rows.dim() != 2 || rows.size(0) < 2)
    throw Error("a covariance sample needs at least two rows [n, D] with n >= 2, got " +
                std::string(rows.defined()
                                ? std::to_string(rows.dim()) + "-d tensor with " +
                                      std::to_string(rows.dim() ? rows.size(0) : 0) + " rows"
                                : "no rows"));
  if (count < 1) throw Error("a covariance sample needs count >= 1, got " + std::to_string(count));
  if (!(scale > 0.0) || !std::isfinite(scale))
    throw Error("the covariance scale must be positive and finite, got " + std::to_string(scale));
  const at::Tensor e = rows.to(at::kFloat);
  const std::int64_t n = e.size(0);
  const at::Tensor mean = e.mean(0);
  at::Generator gen = undoGenerator(seed);
  at::Tensor z = at::empty({count, n}, at::TensorOptions().dtype(at::kFloat));
  z.normal_(0.0, 1.0, gen);
  z = z.to(e.device());
  // (E - mean)^T z = E^T z - mean * sum(z): no centred copy of E.
  const at::Tensor centred = at::matmul(z, e) - z.sum(1, true) * mean.unsqueeze(0);
  return mean.unsqueeze(0) + std::sqrt(scale / static_cast<double>(n - 1)) * centred;
}

TokenInitReport initUndoToken(Pretrained& p, const TokenInitOptions& options,
                              const std::vector<std::vector<std::int32_t>>& heldOut) {
  if (p.model.is_empty()) throw Error(sourceName(p) + ": no model loaded");
  return runInit(*p.model, p.tokenizer.get(), p.tokenizer.get(), options, heldOut, sourceName(p));
}

TokenInitComparison compareStrategies(const Pretrained& p, const TokenInitOptions& base,
                                      const std::vector<std::vector<std::int32_t>>& heldOut) {
  const std::string source = sourceName(p);
  if (p.model.is_empty()) throw Error(source + ": no model loaded");
  checkAndPlaceToken(*p.model, p.tokenizer.get(), base, heldOut, source);  // shared checks
  TokenInitComparison out;
  for (TokenInitStrategy s : allTokenInitStrategies()) {
    Transformer copy(p.model->config());
    copy->to(p.model->device(), p.model->dtype());
    copy->loadStateDict(p.model->stateDict(), source);
    copy->eval();
    TokenInitOptions opt = base;
    opt.strategy = s;
    try {
      out.reports.push_back(runInit(*copy, p.tokenizer.get(), nullptr, opt, heldOut, source));
    } catch (const Error& e) {
      out.failures.push_back({s, e.what()});
    }
  }
  return out;
}

}  // namespace nmar::core
