#include "shares/secret_framing.hpp"

#include "shares/sodium_ready.hpp"

#include <algorithm>
#include <array>
#include <stdexcept>

namespace postern::shares {
namespace {

constexpr std::string_view kMagic = "POSTERN\x01";  // the last byte is the format version
static_assert(kMagic.size() == 8);
constexpr std::size_t kLengthOffset = 8;
constexpr std::size_t kHashOffset = 16;
static_assert(kHashOffset + crypto_hash_sha256_BYTES == kTrailerSize);

void update(crypto_hash_sha256_state& hash, std::string_view bytes) {
  crypto_hash_sha256_update(&hash, reinterpret_cast<const unsigned char*>(bytes.data()), bytes.size());
}

std::string digest(crypto_hash_sha256_state& hash) {
  std::array<unsigned char, crypto_hash_sha256_BYTES> out{};
  crypto_hash_sha256_final(&hash, out.data());
  return std::string(out.begin(), out.end());
}

void put_u64(std::string& out, std::uint64_t value) {
  for (int shift = 56; shift >= 0; shift -= 8) out.push_back(static_cast<char>((value >> shift) & 0xFF));
}

std::uint64_t get_u64(std::string_view bytes) {
  std::uint64_t value = 0;
  for (std::size_t i = 0; i < 8; ++i) value = (value << 8) | static_cast<std::uint8_t>(bytes[i]);
  return value;
}

}  // namespace

std::uint64_t framed_size(std::uint64_t original_size) {
  if (original_size > UINT64_MAX - kTrailerSize - kSecretBucket) {
    throw std::length_error("message too large to share");
  }
  const std::uint64_t unpadded = original_size + kTrailerSize;
  return (unpadded + kSecretBucket - 1) / kSecretBucket * kSecretBucket;
}

SecretFramer::SecretFramer(std::uint64_t original_size) : declared_size_(original_size) {
  ensure_sodium_ready();
  framed_size(original_size);  // refuses sizes whose framing would overflow
  crypto_hash_sha256_init(&hash_);
}

std::string_view SecretFramer::frame(std::string_view original_piece) {
  if (original_piece.size() > declared_size_ - seen_) {
    throw std::length_error("the message is longer than its declared " +
                            std::to_string(declared_size_) + " bytes");
  }
  seen_ += original_piece.size();
  update(hash_, original_piece);
  return original_piece;
}

std::string SecretFramer::finish() {
  if (seen_ != declared_size_) {
    throw std::length_error("the message has " + std::to_string(seen_) + " bytes, not its declared " +
                            std::to_string(declared_size_));
  }
  std::string out(framed_size(declared_size_) - declared_size_ - kTrailerSize, '\0');
  out.append(kMagic);
  put_u64(out, declared_size_);
  out += digest(hash_);
  return out;
}

SecretUnframer::SecretUnframer() {
  ensure_sodium_ready();
  crypto_hash_sha256_init(&hash_);
}

std::string SecretUnframer::take(std::string_view secret_piece) {
  held_.append(secret_piece);
  if (held_.size() <= kUnframeHoldBack) return {};
  const std::size_t certain = held_.size() - kUnframeHoldBack;
  std::string out = held_.substr(0, certain);
  held_.erase(0, certain);
  update(hash_, out);
  handed_out_ += out.size();
  return out;
}

UnframeResult SecretUnframer::finish() {
  const std::uint64_t total = handed_out_ + held_.size();
  const auto refuse = [](std::string reason) { return UnframeResult{{}, std::move(reason)}; };
  if (total == 0 || total % kSecretBucket != 0) {
    return refuse("the combined secret has " + std::to_string(total) +
                  " bytes, not a multiple of 4096: a share is truncated or not of this format");
  }
  const std::string_view trailer = std::string_view(held_).substr(held_.size() - kTrailerSize);
  if (trailer.substr(0, kMagic.size() - 1) != kMagic.substr(0, kMagic.size() - 1)) {
    return refuse("the combined secret has no Postern trailer: the shares do not belong together "
                  "or one is corrupted");
  }
  if (trailer[kMagic.size() - 1] != kMagic.back()) {
    return refuse("the combined secret has format version " +
                  std::to_string(static_cast<std::uint8_t>(trailer[kMagic.size() - 1])) +
                  ", this version reads 1 (or a share is corrupted)");
  }
  const std::uint64_t length = get_u64(trailer.substr(kLengthOffset, 8));
  if (length > total - kTrailerSize || framed_size(length) != total || length < handed_out_) {
    return refuse("the combined secret's recorded length " + std::to_string(length) +
                  " does not fit its size " + std::to_string(total) + ": a share is corrupted");
  }
  const std::size_t tail_size = length - handed_out_;
  const std::string_view padding =
      std::string_view(held_).substr(tail_size, held_.size() - tail_size - kTrailerSize);
  if (std::any_of(padding.begin(), padding.end(), [](char c) { return c != '\0'; })) {
    return refuse("the combined secret's padding is not zero: a share is corrupted");
  }
  std::string tail = held_.substr(0, tail_size);
  update(hash_, tail);
  if (digest(hash_) != trailer.substr(kHashOffset)) {
    return refuse("the combined message does not match its SHA-256: a share is corrupted or the "
                  "shares do not belong together");
  }
  return UnframeResult{std::move(tail), {}};
}

}  // namespace postern::shares
