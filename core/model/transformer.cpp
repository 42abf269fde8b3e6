#include "model/transformer.h"

#include <algorithm>
#include <sstream>

#include "model/attention.h"
#include "util/error.h"

namespace nmar::core {
namespace {

std::string shapeText(const at::Tensor& t) {
  std::ostringstream out;
  out << t.sizes();
  return out.str();
}

[[noreturn]] void fail(const std::string& what) { throw Error("Transformer::forward: " + what); }

/** The first element of @p values where @p bad is true, with its index, for error messages. */
std::string firstBad(const at::Tensor& values, const at::Tensor& bad) {
  at::Tensor coords = bad.nonzero()[0].cpu();
  at::Tensor value = values.cpu();
  std::string where = "[";
  for (int64_t i = 0; i < coords.size(0); ++i) {
    const int64_t c = coords[i].item<int64_t>();
    value = value[c];
    where += (i > 0 ? ", " : "") + std::to_string(c);
  }
  return std::to_string(value.item<int64_t>()) + " at " + where + "]";
}

/** Checks an integer tensor `[B|1, Q]` and returns it as int64 on @p device. */
at::Tensor checkIntegral2d(const at::Tensor& t, const char* name, int64_t b, int64_t q,
                           bool allowBroadcast, const at::Device& device) {
  if (!t.defined() || t.dim() != 2 || t.size(1) != q ||
      !(t.size(0) == b || (allowBroadcast && t.size(0) == 1)))
    fail(std::string(name) + " must have shape [" + std::to_string(b) +
         (allowBroadcast ? "|1" : "") + ", " + std::to_string(q) + "], got " +
         (t.defined() ? shapeText(t) : "undefined"));
  if (!at::isIntegralType(t.scalar_type(), /*includeBool=*/false))
    fail(std::string(name) + " must be an integer tensor, got " +
         std::string(c10::toString(t.scalar_type())));
  return t.to(device, at::kLong);
}

}  // namespace

TransformerImpl::TransformerImpl(const ModelConfig& config) : m_config(config) {
  m_config.validate("Transformer config (" + config.modelType + ")");
  const bool gpt2 = m_config.family == ModelFamily::Gpt2;
  m_body = register_module(gpt2 ? "transformer" : "model", DecoderStack(m_config));
  if (!m_config.tieWordEmbeddings)
    m_lmHead = register_module(
        "lm_head", Projection(m_config.hiddenSize, m_config.vocabSize, false, /*conv1d=*/false));
}

at::ScalarType TransformerImpl::dtype() const {
  return m_body->tokenEmbedding()->weight().scalar_type();
}

at::Device TransformerImpl::device() const { return m_body->tokenEmbedding()->weight().device(); }

AttentionContext TransformerImpl::makeContext(const at::Tensor& ids, ForwardOptions& opt,
                                              int64_t cacheLength) {
  const int64_t b = ids.size(0), q = ids.size(1), k = cacheLength + q;
  const at::Device dev = ids.device();
  const at::TensorOptions longs = at::TensorOptions().dtype(at::kLong).device(dev);
  AttentionContext ctx;
  ctx.cache = opt.cache;

  if (opt.positionIds.defined()) {
    opt.positionIds =
        checkIntegral2d(opt.positionIds, "positionIds", b, q, true, dev).expand({b, q});
    at::Tensor bad = opt.positionIds < 0;
    if (m_config.family == ModelFamily::Gpt2)
      bad = bad.logical_or(opt.positionIds >= m_config.maxPositions);
    if (bad.any().item<bool>())
      fail("position id " + firstBad(opt.positionIds, bad) + " is outside [0, " +
           (m_config.family == ModelFamily::Gpt2 ? std::to_string(m_config.maxPositions)
                                                 : std::string("inf")) +
           ")");
  } else {
    if (m_config.family == ModelFamily::Gpt2 && k > m_config.maxPositions)
      fail("sequence of " + std::to_string(k) + " positions (cache " + std::to_string(cacheLength) +
           " + " + std::to_string(q) +
           " new) exceeds n_positions = " + std::to_string(m_config.maxPositions));
    opt.positionIds = at::arange(cacheLength, k, longs).unsqueeze(0).expand({b, q});
  }

  if (opt.mask.defined()) {
    const at::Tensor& m = opt.mask;
    std::string expected = "[" + std::to_string(b) + "|1, 1, " + std::to_string(q) + ", " +
                           std::to_string(k) + "] (K = cache length " +
                           std::to_string(cacheLength) + " + Q " + std::to_string(q) + ")";
    if (m.dim() != 4 || !(m.size(0) == b || m.size(0) == 1) || m.size(1) != 1 || m.size(2) != q ||
        m.size(3) != k)
      fail("mask has shape " + shapeText(m) + ", expected " + expected);
    if (m.scalar_type() != at::kBool)
      fail("mask must be a bool tensor (true = may attend), got " +
           std::string(c10::toString(m.scalar_type())));
    ctx.blocked = m.to(dev).logical_not();
  } else if (q > 1) {  // a single new query sees every key: no mask at all
    at::Tensor queries = at::arange(cacheLength, k, longs).unsqueeze(1);
    at::Tensor keys = at::arange(k, longs).unsqueeze(0);
    ctx.blocked = (keys > queries).view({1, 1, q, k});
  }

  if (m_config.family == ModelFamily::Llama) {
    auto tables = ropeTables(opt.positionIds, m_config.headDim, m_config.ropeTheta, dtype());
    ctx.cos = tables.first;
    ctx.sin = tables.second;
  }
  return ctx;
}

ForwardOutput TransformerImpl::forward(const at::Tensor& idsIn, const ForwardOptions& options) {
  if (!idsIn.defined() || idsIn.dim() != 2 || idsIn.size(0) < 1 || idsIn.size(1) < 1)
    fail("ids must be a non-empty [B, Q] tensor, got " +
         (idsIn.defined() ? shapeText(idsIn) : std::string("undefined")));
  if (!at::isIntegralType(idsIn.scalar_type(), /*includeBool=*/false))
    fail("ids must be an integer tensor, got " + std::string(c10::toString(idsIn.scalar_type())));
  const at::Tensor ids = idsIn.to(device(), at::kLong);
  const at::Tensor badIds = (ids < 0).logical_or(ids >= m_config.vocabSize);
  if (badIds.any().item<bool>())
    fail("token id " + firstBad(ids, badIds) + " is outside the vocabulary [0, " +
         std::to_string(m_config.vocabSize) + ")");

  ForwardOptions opt = options;
  KVCache* cache = opt.cache;
  int64_t cacheLength = 0;
  if (cache != nullptr) {
    if (cache->numLayers() != m_config.numLayers)
      fail("cache has " + std::to_string(cache->numLayers()) + " layers, the model " +
           std::to_string(m_config.numLayers));
    if (cache->batchSize() != 0 && cache->batchSize() != ids.size(0))
      fail("cache holds batch size " + std::to_string(cache->batchSize()) + ", ids have " +
           std::to_string(ids.size(0)));
    cacheLength = cache->length();
  }
  AttentionContext ctx = makeContext(ids, opt, cacheLength);

  ForwardOutput out;
  at::Tensor hidden;
  try {
    hidden =
        m_body->forward(ids, opt.positionIds, ctx, opt.returnAttention ? &out.attentions : nullptr);
  } catch (...) {
    // Leave the cache as it was: layers that already appended are rolled back.
    if (cache != nullptr && cache->length() >= cacheLength) cache->truncate(cacheLength);
    throw;
  }
  at::Tensor logits = m_lmHead.is_empty() ? at::linear(hidden, m_body->tokenEmbedding()->weight())
                                          : m_lmHead(hidden);
  out.logits = logits.to(at::kFloat);
  if (opt.returnHidden) out.hidden = hidden;
  return out;
}

}  // namespace nmar::core
