// The text blocks of a `privmail` share mail's body (PrivMail's Ver1.0), and the constants of
// their layout, shared by the writer and the parser:
//
//   -----BEGIN SECRET SHARE BLOCK Ver1.0-----            the body's share, base64 in lines of 60
//   -----END SECRET SHARE BLOCK Ver1.0-----
//   (empty line)
//   -----BEGIN SECRET SHARE TRUNCATED BLOCK Ver1.0-----  the SixBit truncated text's share
//   -----END SECRET SHARE TRUNCATED BLOCK Ver1.0-----
//   (empty line)
//   -----BEGIN SECRET SHARE BUCKET SIZE 5 BLOCK Ver1.0-----   one base64 word share per line
//   -----END SECRET SHARE BUCKET SIZE 5 BLOCK Ver1.0-----
//   ... a bucket block per size that holds words
//
//   std::string begin = bucket_block_begin(10);
#pragma once

#include <cstddef>
#include <string>
#include <string_view>

namespace postern::shares {

inline constexpr std::string_view kPrivmailBodyBegin = "-----BEGIN SECRET SHARE BLOCK Ver1.0-----";
inline constexpr std::string_view kPrivmailBodyEnd = "-----END SECRET SHARE BLOCK Ver1.0-----";
inline constexpr std::string_view kPrivmailTruncatedBegin = "-----BEGIN SECRET SHARE TRUNCATED BLOCK Ver1.0-----";
inline constexpr std::string_view kPrivmailTruncatedEnd = "-----END SECRET SHARE TRUNCATED BLOCK Ver1.0-----";

// base64 characters per line in the body and truncated blocks
inline constexpr std::size_t kPrivmailLineLength = 60;
// The UID that links a message's share mails: base64 of 6 random bytes, the Subject's start.
inline constexpr std::size_t kPrivmailUidBytes = 6;
inline constexpr std::size_t kPrivmailUidLength = 8;

inline std::string bucket_block_begin(std::size_t size) {
  return "-----BEGIN SECRET SHARE BUCKET SIZE " + std::to_string(size) + " BLOCK Ver1.0-----";
}

inline std::string bucket_block_end(std::size_t size) {
  return "-----END SECRET SHARE BUCKET SIZE " + std::to_string(size) + " BLOCK Ver1.0-----";
}

}  // namespace postern::shares
