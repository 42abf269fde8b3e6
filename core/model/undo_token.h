#pragma once
/** @file Adding the UNDO token (spec §1, §6) to a loaded checkpoint. */
#include <cstdint>
#include <optional>
#include <string>

#include "model/pretrained.h"

namespace nmar::core {

/** The default content of the UNDO token. */
inline constexpr char kDefaultUndoToken[] = "<|undo|>";

/** What addUndoToken() did. */
struct UndoTokenReport {
  std::int64_t id = -1;            ///< the UNDO token's id
  bool added = false;              ///< false when the checkpoint already had it
  std::int64_t vocabBefore = 0;    ///< model vocabulary (embedding rows) before
  std::int64_t vocabAfter = 0;     ///< and after
};

/**
 * Adds @p content as a special token to the tokenizer of @p p and gives it an embedding row (and an
 * output row for an untied head) initialised to the mean of the existing rows (spec §6 "mean"; the
 * other strategies belong to training). When the embedding is already larger than the tokenizer
 * (padded vocabularies), the row at the new id is overwritten with the mean instead of growing.
 * Idempotent: a checkpoint that already has the token is left unchanged. The token is recorded in
 * the tokenizer files on save, so the checkpoint stays self-describing.
 * Throws Error when @p p has no tokenizer.
 */
UndoTokenReport addUndoToken(Pretrained& p, const std::string& content = kDefaultUndoToken);

/** The id of @p content in the checkpoint's tokenizer, if it has one. */
std::optional<std::int64_t> undoTokenId(const Pretrained& p,
                                        const std::string& content = kDefaultUndoToken);

}  // namespace nmar::core
