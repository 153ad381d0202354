// PrivMail's SixBit code (after the SixBit ASCII of AIS): the 6-bit values in which the
// `privmail` format shares its search material (the truncated text and the bucket words).
//
//   std::uint8_t v = sixbit_encode('a');   // 1, as for 'A': lower case folds to upper
//   char c = sixbit_decode(v);             // 'A'
//
// Encoding, for a 7-bit ASCII code c: 0-31 -> 42; 32-63 -> c; 64-95 -> c - 64; 96 -> 42;
// 97-122 -> c - 96; 123-127 -> 42. Decoding, for a value v below 64: 0-31 -> v + 64; 32-63 -> v.
// So 42 stands for '*' and for every character the code cannot hold. Codes above 127 (which
// the format never holds) encode as 42 too.
#pragma once

#include <cstdint>

namespace postern::shares {

constexpr std::uint8_t sixbit_encode(char c) {
  const auto code = static_cast<std::uint8_t>(c);
  if (code >= 32 && code <= 63) return code;
  if (code >= 64 && code <= 95) return static_cast<std::uint8_t>(code - 64);
  if (code >= 97 && code <= 122) return static_cast<std::uint8_t>(code - 96);
  return 42;
}

// `value` is taken modulo 64.
constexpr char sixbit_decode(std::uint8_t value) {
  value &= 63;
  return static_cast<char>(value < 32 ? value + 64 : value);
}

}  // namespace postern::shares
