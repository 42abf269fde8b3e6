#include "data/random.h"

#include <algorithm>
#include <limits>
#include <sstream>

#include "util/error.h"

namespace nmar::core {

std::int64_t uniformInt(std::mt19937_64& rng, std::int64_t lo, std::int64_t hi) {
  const std::uint64_t span = static_cast<std::uint64_t>(hi) - static_cast<std::uint64_t>(lo);
  if (span == std::numeric_limits<std::uint64_t>::max()) return static_cast<std::int64_t>(rng());
  const std::uint64_t n = span + 1;
  // Reject the top partial block so that every value is equally likely.
  const std::uint64_t limit =
      std::numeric_limits<std::uint64_t>::max() - std::numeric_limits<std::uint64_t>::max() % n;
  std::uint64_t x = rng();
  while (x >= limit) x = rng();
  return static_cast<std::int64_t>(static_cast<std::uint64_t>(lo) + x % n);
}

double uniformReal(std::mt19937_64& rng) {
  return static_cast<double>(rng() >> 11) * (1.0 / 9007199254740992.0);
}

bool bernoulli(std::mt19937_64& rng, double p) {
  const double u = uniformReal(rng);
  return u < std::clamp(p, 0.0, 1.0);
}

std::string rngStateText(const std::mt19937_64& rng) {
  std::ostringstream out;
  out << rng;
  return out.str();
}

void restoreRngState(std::mt19937_64& rng, const std::string& text, const std::string& where) {
  std::istringstream in(text);
  std::mt19937_64 restored;
  in >> restored;
  std::string rest;
  if (in.fail() || (in >> rest, !rest.empty()))
    throw Error(where +
                ": not a valid random generator state (expected 313 integers as written "
                "by a std::mt19937_64)");
  rng = restored;
}

}  // namespace nmar::core
