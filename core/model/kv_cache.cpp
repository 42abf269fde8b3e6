#include "model/kv_cache.h"

#include <algorithm>
#include <sstream>
#include <string>

#include <ATen/ATen.h>

#include "util/error.h"

namespace nmar::core {
namespace {

constexpr int64_t kMinCapacity = 16;

std::string shapeText(const at::Tensor& t) {
  std::ostringstream out;
  out << t.sizes();
  return out.str();
}

/** Copies the first @p live positions of @p old into a new buffer with room for @p capacity. */
at::Tensor regrow(const at::Tensor& old, int64_t live, int64_t capacity) {
  at::Tensor bigger = at::empty({old.size(0), old.size(1), capacity, old.size(3)}, old.options());
  if (live > 0) bigger.narrow(2, 0, live).copy_(old.narrow(2, 0, live));
  return bigger;
}

}  // namespace

KVCache::KVCache(int64_t numLayers) {
  if (numLayers < 1)
    throw Error("KVCache: numLayers must be positive, got " + std::to_string(numLayers));
  m_layers.resize(static_cast<size_t>(numLayers));
}

int64_t KVCache::length() const { return m_layers.back().length; }

int64_t KVCache::batchSize() const {
  return m_layers.front().k.defined() ? m_layers.front().k.size(0) : 0;
}

void KVCache::checkLayer(int64_t layer, const char* what) const {
  if (layer < 0 || layer >= numLayers())
    throw Error(std::string("KVCache::") + what + ": layer " + std::to_string(layer) +
                " out of range (cache has " + std::to_string(numLayers()) + " layers)");
}

void KVCache::append(int64_t layer, const at::Tensor& k, const at::Tensor& v) {
  checkLayer(layer, "append");
  std::string where = "KVCache::append layer " + std::to_string(layer) + ": ";
  if (!k.defined() || !v.defined() || k.dim() != 4 || !k.sizes().equals(v.sizes()))
    throw Error(where + "expected keys and values of equal shape [B, Hkv, Q, Dh], got " +
                (k.defined() ? shapeText(k) : "undefined") + " and " +
                (v.defined() ? shapeText(v) : "undefined"));
  if (k.requires_grad() || v.requires_grad())
    throw Error(where +
                "tensors require grad: the cache holds inference state, run the forward "
                "under a NoGradGuard");
  Layer& slot = m_layers[static_cast<size_t>(layer)];
  const int64_t q = k.size(2);
  // Layers fill in order: layer 0 starts a chunk when all layers agree, layer l follows l-1.
  const int64_t expectedLength =
      layer == 0 ? m_layers.back().length : m_layers[static_cast<size_t>(layer - 1)].length - q;
  if (slot.length != expectedLength)
    throw Error(where + "appended out of order (layer holds " + std::to_string(slot.length) +
                " positions, expected " + std::to_string(expectedLength) + ")");
  if (slot.k.defined()) {
    const at::Tensor& s = slot.k;
    if (k.size(0) != s.size(0) || k.size(1) != s.size(1) || k.size(3) != s.size(3))
      throw Error(where + "shape " + shapeText(k) + " does not match the cached [" +
                  std::to_string(s.size(0)) + ", " + std::to_string(s.size(1)) + ", T, " +
                  std::to_string(s.size(3)) + "]");
    if (k.scalar_type() != s.scalar_type() || v.scalar_type() != s.scalar_type() ||
        k.device() != s.device())
      throw Error(where + "dtype/device of the new keys differ from the cached ones");
  }
  const int64_t needed = slot.length + q;
  if (!slot.k.defined()) {
    int64_t capacity = std::max({needed, kMinCapacity, m_reserve});
    slot.k = at::empty({k.size(0), k.size(1), capacity, k.size(3)}, k.options());
    slot.v = at::empty({k.size(0), k.size(1), capacity, k.size(3)}, k.options());
  } else if (needed > slot.k.size(2)) {
    int64_t capacity = std::max(needed, 2 * slot.k.size(2));
    slot.k = regrow(slot.k, slot.length, capacity);
    slot.v = regrow(slot.v, slot.length, capacity);
  }
  slot.k.narrow(2, slot.length, q).copy_(k);
  slot.v.narrow(2, slot.length, q).copy_(v);
  slot.length = needed;
}

at::Tensor KVCache::keys(int64_t layer) const {
  checkLayer(layer, "keys");
  const Layer& slot = m_layers[static_cast<size_t>(layer)];
  return slot.k.defined() ? slot.k.narrow(2, 0, slot.length) : at::Tensor();
}

at::Tensor KVCache::values(int64_t layer) const {
  checkLayer(layer, "values");
  const Layer& slot = m_layers[static_cast<size_t>(layer)];
  return slot.v.defined() ? slot.v.narrow(2, 0, slot.length) : at::Tensor();
}

void KVCache::truncate(int64_t newLength) {
  if (newLength < 0 || newLength > length())
    throw Error("KVCache::truncate: new length " + std::to_string(newLength) + " outside [0, " +
                std::to_string(length()) + "]");
  for (Layer& slot : m_layers) slot.length = newLength;
}

void KVCache::clear() {
  for (Layer& slot : m_layers) slot = Layer{};
}

void KVCache::reserve(int64_t positions) {
  m_reserve = std::max(m_reserve, positions);
  for (Layer& slot : m_layers) {
    if (slot.k.defined() && slot.k.size(2) < positions) {
      slot.k = regrow(slot.k, slot.length, positions);
      slot.v = regrow(slot.v, slot.length, positions);
    }
  }
}

int64_t KVCache::capacity() const {
  return m_layers.front().k.defined() ? m_layers.front().k.size(2) : 0;
}

}  // namespace nmar::core
