#pragma once
/**
 * @file Batched pruned decoding of a group: G completions of one prompt (GRPO's group) decoded in
 * lockstep with one batched forward per step instead of G forwards.
 */
#include <atomic>
#include <cstdint>
#include <string>
#include <vector>

#include "decode/pruned_decoder.h"

namespace nmar::core {

/**
 * Decodes one completion of @p promptIds per seed in @p seeds, all in one batch; row g samples
 * with @p settings.sampler and seed seeds[g], exactly as a PrunedDecoder with that seed would (same
 * step machine, sampler, UNDO rules, stop rules and trace format), so the traces agree with
 * sequential decoding up to float rounding of the batched forward.
 *
 * How the batch stays equivalent to a per-sequence cache (spec §3): every row feeds one token per
 * step into a shared KV cache slot, and a per-row boolean key mask says which slots are live for
 * that row. Hard mode: a token is fed at position |S|; an UNDO is fed at position |S| and sees S and
 * itself, then its slot and the slot of the token it popped are masked out for every later query,
 * which is what truncating a per-sequence cache by 2 does. Soft mode: token k is fed at position
 * prompt + k and every slot stays live. The cache grows by one slot per step (not per live token);
 * a row that has finished feeds a masked filler until the slowest row ends.
 *
 * Supports modes hard and soft without forced deviations, attention or logits recording; throws
 * Error naming the setting otherwise (use PrunedDecoder for those), for an empty @p seeds, and for
 * what PrunedDecoder::start() rejects. @p cancel (may be null) is checked once per step; a raised
 * flag ends every running row with StopReason::kCancelled. Runs under a NoGradGuard on the thread
 * that owns the model.
 */
std::vector<Trace> decodeGroup(Transformer model, const std::vector<std::int64_t>& promptIds,
                               const DecodeSettings& settings,
                               const std::vector<std::uint64_t>& seeds,
                               const Tokenizer* tokenizer = nullptr,
                               const std::string& promptText = "",
                               const std::atomic<bool>* cancel = nullptr);

/** True when decodeGroup() supports @p settings (hard or soft, nothing forced or recorded, no
 * verifier trigger). */
bool groupDecodable(const DecodeSettings& settings);

}  // namespace nmar::core
