#pragma once
/**
 * @file Portable random draws over std::mt19937_64 for the data module. The standard
 * distributions (std::uniform_int_distribution, ...) are implementation-defined, so the same seed
 * could give different data with another standard library; these helpers use only the generator's
 * raw 64-bit outputs, which the standard fixes, and are identical everywhere.
 */
#include <cstdint>
#include <random>
#include <string>

namespace nmar::core {

/** A uniform integer in [@p lo, @p hi] (unbiased, by rejection). Precondition: lo <= hi. */
std::int64_t uniformInt(std::mt19937_64& rng, std::int64_t lo, std::int64_t hi);

/** A uniform double in [0, 1) with 53 random bits. */
double uniformReal(std::mt19937_64& rng);

/** True with probability @p p (clamped to [0, 1]); always consumes one draw. */
bool bernoulli(std::mt19937_64& rng, double p);

/** The generator's full state as text (the standard's portable textual representation). */
std::string rngStateText(const std::mt19937_64& rng);

/**
 * Restores @p rng from text written by rngStateText(). Throws Error "<where>: ..." when the text is
 * not a valid std::mt19937_64 state; @p rng is unchanged then.
 */
void restoreRngState(std::mt19937_64& rng, const std::string& text, const std::string& where);

}  // namespace nmar::core
