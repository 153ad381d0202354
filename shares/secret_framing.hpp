// What the `postern` share format actually shares: not the message alone but a framed secret
//
//   original message bytes || zero padding || trailer (48 bytes)
//   trailer = "POSTERN" 0x01 (magic and version) || original length (64-bit big-endian)
//             || SHA-256 of the original
//
// padded so that its size is a multiple of 4096: a share is as long as the secret, so the share
// mails reveal only the message's size bucket, and the trailer lets the combiner check that
// what it restored is exactly what was sent. Both ends stream; the hash is computed on the way
// and comes last.
//
//   SecretFramer framer(original_size);              // the size known from the queue
//   for (piece : original) splitter.split(framer.frame(piece));
//   splitter.split(framer.finish());                 // padding and trailer
//
//   SecretUnframer unframer;
//   for (piece : combined) out += unframer.take(piece);   // bytes certain to be the original's
//   UnframeResult end = unframer.finish();            // the rest, or why the secret is refused
//   if (end.error.empty()) out += end.tail; else discard(out);
//
// The unframer hands out bytes before it has seen the trailer, so a caller must keep them aside
// until finish() accepts the whole.
#pragma once

#include <sodium.h>

#include <cstdint>
#include <string>
#include <string_view>

namespace postern::shares {

inline constexpr std::uint64_t kSecretBucket = 4096;
inline constexpr std::uint64_t kTrailerSize = 48;
// Padding is at most one bucket less one byte, so the last this many bytes may be non-original.
inline constexpr std::uint64_t kUnframeHoldBack = kSecretBucket - 1 + kTrailerSize;

// The size of the framed secret (and of every share) for an original of `original_size` bytes.
std::uint64_t framed_size(std::uint64_t original_size);

class SecretFramer {
 public:
  explicit SecretFramer(std::uint64_t original_size);

  // The piece itself, which is also the framed secret's next bytes; hashed on the way. Throws
  // std::length_error when the pieces exceed the declared size.
  std::string_view frame(std::string_view original_piece);

  // Padding and trailer. Throws std::length_error when the pieces fell short of the declared size:
  // a message that changed between two passes would give shares of different secrets.
  std::string finish();

 private:
  std::uint64_t declared_size_;
  std::uint64_t seen_ = 0;
  crypto_hash_sha256_state hash_;
};

struct UnframeResult {
  std::string tail;   // the original's last bytes, not yet handed out by take()
  std::string error;  // empty when the secret is accepted, else why not
};

class SecretUnframer {
 public:
  SecretUnframer();

  // Of the combined secret's bytes so far, those certain to be the original's (all but the last
  // kUnframeHoldBack); the rest waits for finish().
  std::string take(std::string_view secret_piece);

  // Checks size, magic, version, length, padding and hash.
  UnframeResult finish();

 private:
  std::uint64_t handed_out_ = 0;
  std::string held_;
  crypto_hash_sha256_state hash_;
};

}  // namespace postern::shares
