// Transformer parameters as a whole: HF state dicts, initialisation, vocabulary resize.
#include <cmath>
#include <sstream>

#include <ATen/CPUGeneratorImpl.h>
#include <torch/csrc/autograd/grad_mode.h>

#include "model/transformer.h"
#include "util/error.h"

namespace nmar::core {
namespace {

std::string shapeText(at::IntArrayRef sizes) {
  std::ostringstream out;
  out << sizes;
  return out.str();
}

bool startsWith(const std::string& s, const std::string& prefix) {
  return s.compare(0, prefix.size(), prefix) == 0;
}

bool endsWith(const std::string& s, const std::string& suffix) {
  return s.size() >= suffix.size() &&
         s.compare(s.size() - suffix.size(), suffix.size(), suffix) == 0;
}

std::string nameList(const std::vector<std::string>& names) {
  std::string out;
  const size_t shown = std::min<size_t>(names.size(), 6);
  for (size_t i = 0; i < shown; ++i) out += (i ? ", '" : "'") + names[i] + "'";
  if (names.size() > shown) out += " and " + std::to_string(names.size() - shown) + " more";
  return out;
}

}  // namespace

TensorMap TransformerImpl::stateDict() const {
  TensorMap out;
  for (const auto& item : named_parameters(/*recurse=*/true))
    out[item.key()] = item.value().detach();
  return out;
}

void TransformerImpl::loadStateDict(const TensorMap& input, const std::string& source) {
  const bool gpt2 = m_config.family == ModelFamily::Gpt2;
  const std::string base = gpt2 ? "transformer." : "model.";
  const std::string embedName = base + (gpt2 ? "wte.weight" : "embed_tokens.weight");

  // A base-model checkpoint (GPT2Model, LlamaModel) has no prefix; HF adds it, so do we.
  bool hasBase = false;
  for (const auto& [name, t] : input) hasBase = hasBase || startsWith(name, base);
  TensorMap tensors;
  for (const auto& [name, t] : input)
    tensors[hasBase || startsWith(name, "lm_head.") ? name : base + name] = t;

  const auto expected = named_parameters(/*recurse=*/true);
  std::vector<std::string> missing;
  for (const auto& item : expected) {
    auto it = tensors.find(item.key());
    if (it == tensors.end()) {
      missing.push_back(item.key());
      continue;
    }
    const at::Tensor& t = it->second;
    if (!t.defined() || !at::isFloatingType(t.scalar_type()))
      throw Error(source + ": tensor '" + item.key() + "' must be floating point, got " +
                  (t.defined() ? std::string(c10::toString(t.scalar_type())) : "undefined"));
    if (!t.sizes().equals(item.value().sizes()))
      throw Error(source + ": tensor '" + item.key() + "' has shape " + shapeText(t.sizes()) +
                  ", expected " + shapeText(item.value().sizes()));
  }
  if (!missing.empty())
    throw Error(source + ": missing tensor" + (missing.size() > 1 ? "s " : " ") +
                nameList(missing) + " (model_type " + m_config.modelType + ")");

  std::vector<std::string> unexpected;
  for (const auto& [name, t] : tensors) {
    if (expected.contains(name)) continue;
    // Buffers that HF itself skips when loading.
    if (gpt2 && (endsWith(name, ".attn.bias") || endsWith(name, ".attn.masked_bias"))) continue;
    if (!gpt2 && endsWith(name, ".rotary_emb.inv_freq")) continue;
    if (name == "lm_head.weight" && m_config.tieWordEmbeddings) {
      const at::Tensor& embed = tensors.at(embedName);
      if (t.sizes().equals(embed.sizes()) && at::equal(t.to(embed.scalar_type()), embed)) continue;
      throw Error(source + ": tensor 'lm_head.weight' differs from '" + embedName +
                  "' but the config ties them (tie_word_embeddings is true)");
    }
    unexpected.push_back(name);
  }
  if (!unexpected.empty())
    throw Error(source + ": unexpected tensor" + (unexpected.size() > 1 ? "s " : " ") +
                nameList(unexpected) + " (not part of a " + m_config.modelType +
                " model with this config)");

  torch::NoGradGuard noGrad;
  for (const auto& item : expected) item.value().copy_(tensors.at(item.key()));
}

void TransformerImpl::initWeights(uint64_t seed) {
  at::Generator gen = at::detail::createCPUGenerator(seed);
  const double std = m_config.initializerRange;
  const double projStd = std / std::sqrt(2.0 * static_cast<double>(m_config.numLayers));
  const bool gpt2 = m_config.family == ModelFamily::Gpt2;
  torch::NoGradGuard noGrad;
  for (auto& item : named_parameters(/*recurse=*/true)) {
    const std::string& name = item.key();
    at::Tensor& p = item.value();
    if (endsWith(name, ".bias")) {
      p.zero_();
    } else if (p.dim() == 1) {
      p.fill_(1.0);  // LayerNorm / RMSNorm weights
    } else {
      at::Tensor draw = at::empty(p.sizes(), at::TensorOptions().dtype(at::kFloat));
      draw.normal_(0.0, gpt2 && endsWith(name, "c_proj.weight") ? projStd : std, gen);
      p.copy_(draw);
    }
  }
}

void TransformerImpl::resizeVocab(int64_t newSize, const at::Tensor& newRows,
                                  const at::Tensor& newHeadRows) {
  const int64_t old = m_config.vocabSize, d = m_config.hiddenSize;
  if (newSize < 1)
    throw Error("resizeVocab: new vocabulary size must be positive, got " +
                std::to_string(newSize));
  auto checkRows = [&](const at::Tensor& rows, const char* what) {
    if (!rows.defined()) return;
    if (newSize <= old)
      throw Error(std::string("resizeVocab: ") + what +
                  " given but the vocabulary does not grow (" + std::to_string(old) + " -> " +
                  std::to_string(newSize) + ")");
    if (rows.dim() != 2 || rows.size(0) != newSize - old || rows.size(1) != d)
      throw Error(std::string("resizeVocab: ") + what + " has shape " + shapeText(rows.sizes()) +
                  ", expected [" + std::to_string(newSize - old) + ", " + std::to_string(d) + "]");
    if (!at::isFloatingType(rows.scalar_type()))
      throw Error(std::string("resizeVocab: ") + what + " must be floating point");
  };
  checkRows(newRows, "newRows");
  checkRows(newHeadRows, "newHeadRows");
  if (newHeadRows.defined() && m_lmHead.is_empty())
    throw Error("resizeVocab: newHeadRows given but the head is tied to the embeddings");

  torch::NoGradGuard noGrad;
  auto resize = [&](at::Tensor weight, const at::Tensor& rows) {
    at::Tensor next;
    if (newSize <= old) {
      next = weight.narrow(0, 0, newSize).clone();
    } else {
      at::Tensor extra =
          rows.defined()
              ? rows.to(weight.options())
              : weight.to(at::kFloat).mean(0, true).expand({newSize - old, d}).to(weight.options());
      next = at::cat({weight, extra}, 0);
    }
    weight.set_data(next);
  };
  resize(m_body->tokenEmbedding()->weight(), newRows);
  if (!m_lmHead.is_empty()) resize(m_lmHead->weight(), newHeadRows);
  m_config.vocabSize = newSize;
}

int64_t TransformerImpl::parameterCount() const {
  int64_t n = 0;
  for (const auto& p : parameters(/*recurse=*/true)) n += p.numel();
  return n;
}

}  // namespace nmar::core
