// Which sharing scheme a share group uses, and its threshold k and share count n.
//
//   SharingParams params{Scheme::Shamir, 2, 3};       // any 2 of 3 shares restore the secret
//   if (auto problem = params_problem(params); !problem.empty()) ...;
//
// XOR is n-of-n: shares 1..n-1 are random, share n is the secret XOR all of them; its threshold
// is n. Shamir is k-of-n over GF(2^8): share i is a random polynomial of degree k-1 with the
// secret as constant term, evaluated at x = i. n is at most 255, the non-zero x-coordinates of
// the field.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace postern::shares {

enum class Scheme { Xor, Shamir };

inline constexpr unsigned kMaxShareCount = 255;

struct SharingParams {
  Scheme scheme = Scheme::Xor;
  unsigned threshold = 2;  // k: how many shares restore the secret (n for XOR)
  unsigned count = 2;      // n: how many shares there are

  bool operator==(const SharingParams&) const = default;
};

// "xor" or "shamir", as the share mail header writes it.
std::string_view scheme_name(Scheme scheme);
std::optional<Scheme> parse_scheme(std::string_view name);

// Empty when the parameters are usable, else why not ("threshold 1 is below 2"): n from 2 to 255,
// k from 2 to n, and k = n for XOR.
std::string params_problem(const SharingParams& params);

// How many random bytes each secret byte draws from the keystream: one per random share for XOR
// (n-1), one per non-constant coefficient for Shamir (k-1). Secret byte j draws keystream bytes
// [j * r, (j + 1) * r), whichever share is being made.
unsigned draws_per_byte(const SharingParams& params);

}  // namespace postern::shares
