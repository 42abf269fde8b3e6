#pragma once
/** @file Key/value cache of a decoder-only Transformer: push positions, truncate in O(1). */
#include <cstdint>
#include <vector>

#include <ATen/core/Tensor.h>

namespace nmar::core {

/**
 * Per-layer keys and values, each `[B, Hkv, T, Dh]`, for the positions fed so far.
 *
 * Invariant: between two Transformer::forward calls every layer holds exactly the keys/values of
 * the positions fed so far, in feeding order, and length() is their number. The pruned decoder
 * keeps it equal to the stack S by truncating after an UNDO; the cache never recomputes anything.
 *
 * Storage is preallocated per layer and grows by doubling, so append() is amortised O(1) in the
 * sequence length (it copies only the new positions); truncate() only moves the length. Every
 * change of contents or length goes through append(), truncate() or clear().
 *
 * The cache holds inference state: append() rejects tensors that require grad (run the forward
 * under a NoGradGuard). Not thread-safe; use it on the thread that owns the model.
 */
class KVCache {
 public:
  /** An empty cache for a model with @p numLayers layers; storage is allocated on first append. */
  explicit KVCache(int64_t numLayers);

  /** Positions held by every layer. */
  int64_t length() const;

  /** Batch size of the stored tensors, or 0 before the first append. */
  int64_t batchSize() const;

  /** Number of layers this cache was made for. */
  int64_t numLayers() const { return static_cast<int64_t>(m_layers.size()); }

  /** Positions that fit without reallocating. */
  int64_t capacity() const;

  /**
   * Appends @p k, @p v (`[B, Hkv, Q, Dh]`) after the live positions of @p layer. Layers are
   * appended one after the other within a forward; length() counts a position once every layer
   * holds it. Throws Error when the layer index, the shapes (B, Hkv, Dh, dtype, device must match
   * what is stored) or requires_grad are wrong; the cache is left unchanged then.
   */
  void append(int64_t layer, const at::Tensor& k, const at::Tensor& v);

  /**
   * Live keys of @p layer: a `[B, Hkv, len, Dh]` view of the storage (len includes an append made
   * in the current forward); undefined before the layer's first append. A later append may
   * reallocate, so do not keep the view across appends.
   */
  at::Tensor keys(int64_t layer) const;

  /** Live values of @p layer, like keys(). */
  at::Tensor values(int64_t layer) const;

  /**
   * Forgets every position from @p newLength on, in every layer. O(1): only the length moves.
   * Throws Error when @p newLength is negative or greater than what a layer holds.
   */
  void truncate(int64_t newLength);

  /** Forgets everything and releases the storage (the next append may use a new batch size). */
  void clear();

  /** Makes room for @p positions positions now (or at the first append) to avoid regrowing. */
  void reserve(int64_t positions);

 private:
  struct Layer {
    at::Tensor k, v;     // [B, Hkv, capacity, Dh]
    int64_t length = 0;  // live positions of this layer
  };
  void checkLayer(int64_t layer, const char* what) const;

  std::vector<Layer> m_layers;
  int64_t m_reserve = 0;
};

}  // namespace nmar::core
