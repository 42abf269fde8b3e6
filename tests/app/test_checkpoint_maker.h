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

/**
 * Writes a linear deviation detector (detector_config.json + detector.safetensors) into @p dir
 * for the checkpoint in @p checkpointDir: zero weights and a bias, so that it gives every token
 * the score @p score (in (0, 1)); its hidden size is the model's plus @p hiddenDelta (non-zero:
 * a mismatch) and its default tau @p tau. Returns an empty string, or the error message.
 */
std::string writeDetector(const std::string& dir, const std::string& checkpointDir, double score,
                          double tau = 0.5, int hiddenDelta = 0);

}  // namespace nmar::testing
