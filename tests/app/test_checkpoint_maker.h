#pragma once
// Makes tiny checkpoints for the GUI tests. Torch-free header (the maker is compiled apart with the
// shared Torch PCH), so the Qt tests that include it stay fast to compile.
#include <string>

namespace nmar::testing {

/**
 * Writes a random tiny Llama checkpoint (seeded) with a character tokenizer over the addition
 * alphabet and the UNDO token added, in @p dir. Returns an empty string, or the error message.
 */
std::string writeUndoCheckpoint(const std::string& dir);

}  // namespace nmar::testing
