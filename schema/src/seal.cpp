// Sealing values at rest. See seal.hpp.
#include "postern/schema/seal.hpp"

#include "postern/schema/read_file.hpp"

#include <sodium.h>

#include <algorithm>
#include <system_error>

namespace postern::schema {
namespace {

constexpr unsigned char kVersion = 1;
constexpr std::size_t kNonceSize = crypto_aead_xchacha20poly1305_ietf_NPUBBYTES;
constexpr std::size_t kTagSize = crypto_aead_xchacha20poly1305_ietf_ABYTES;
constexpr std::size_t kMaxKeyId = 64;
static_assert(crypto_aead_xchacha20poly1305_ietf_KEYBYTES == 32);

bool is_key_id(std::string_view id) {
  if (id.empty() || id.size() > kMaxKeyId) return false;
  return std::all_of(id.begin(), id.end(), [](char c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '.' || c == '_' ||
           c == '-';
  });
}

void append_u64(std::string& out, std::uint64_t value) {
  for (int shift = 56; shift >= 0; shift -= 8) out.push_back(static_cast<char>((value >> shift) & 0xFF));
}

// What a sealed value is bound to: the format, the key, the message, and which part of it.
// Every variable-length part is length-prefixed, so no two bindings share an encoding.
std::string binding(std::string_view key_id, std::string_view message_id, std::string_view part) {
  std::string ad = "postern-seal/1";
  ad.push_back(static_cast<char>(key_id.size()));
  ad.append(key_id);
  append_u64(ad, message_id.size());
  ad.append(message_id);
  append_u64(ad, part.size());
  ad.append(part);
  return ad;
}

std::string chunk_part(std::int64_t seq, bool last) {
  std::string part = "chunk";
  append_u64(part, static_cast<std::uint64_t>(seq));
  part.push_back(last ? '\1' : '\0');
  return part;
}

std::string field_part(std::string_view field) { return "field:" + std::string(field); }

std::string seal(const SealKey& key, const std::string& ad, std::string_view plain) {
  std::string out;
  out.push_back(static_cast<char>(kVersion));
  out.push_back(static_cast<char>(key.id.size()));
  out.append(key.id);
  const std::size_t nonce_at = out.size();
  out.resize(nonce_at + kNonceSize + plain.size() + kTagSize);
  auto* nonce = reinterpret_cast<unsigned char*>(out.data() + nonce_at);
  randombytes_buf(nonce, kNonceSize);
  unsigned long long written = 0;
  crypto_aead_xchacha20poly1305_ietf_encrypt(
      nonce + kNonceSize, &written, reinterpret_cast<const unsigned char*>(plain.data()), plain.size(),
      reinterpret_cast<const unsigned char*>(ad.data()), ad.size(), nullptr, nonce, key.bytes.data());
  return out;
}

// The parts of a sealed value; throws SealBroken when it is not one.
struct Parsed {
  std::string_view key_id;
  const unsigned char* nonce;
  std::string_view ciphertext;  // with its tag
};

Parsed parse(std::string_view sealed) {
  if (sealed.size() < 2 || static_cast<unsigned char>(sealed[0]) != kVersion) {
    throw SealBroken("not a sealed value (unknown format)");
  }
  const std::size_t id_size = static_cast<unsigned char>(sealed[1]);
  if (id_size == 0 || id_size > kMaxKeyId || sealed.size() < 2 + id_size + kNonceSize + kTagSize) {
    throw SealBroken("not a sealed value (too short)");
  }
  const std::string_view key_id = sealed.substr(2, id_size);
  if (!is_key_id(key_id)) throw SealBroken("not a sealed value (bad key id)");
  const std::string_view rest = sealed.substr(2 + id_size);
  return {key_id, reinterpret_cast<const unsigned char*>(rest.data()), rest.substr(kNonceSize)};
}

// Opens `sealed` bound to (message, part); `what` names it in errors.
std::string open(const SealKeys& keys, std::string_view message_id, const std::string& part, std::string_view sealed,
                 const std::string& what) {
  const Parsed parsed = parse(sealed);
  const SealKey* key = keys.find(parsed.key_id);
  if (key == nullptr) {
    throw SealKeyMissing("sealed under seal key " + std::string(parsed.key_id) +
                             ", which is not among the seal keys here (queue.seal_key_files)",
                         std::string(parsed.key_id));
  }
  const std::string ad = binding(key->id, message_id, part);
  std::string plain(parsed.ciphertext.size() - kTagSize, '\0');
  unsigned long long length = 0;
  if (crypto_aead_xchacha20poly1305_ietf_decrypt(
          reinterpret_cast<unsigned char*>(plain.data()), &length, nullptr,
          reinterpret_cast<const unsigned char*>(parsed.ciphertext.data()), parsed.ciphertext.size(),
          reinterpret_cast<const unsigned char*>(ad.data()), ad.size(), parsed.nonce, key->bytes.data()) != 0) {
    throw SealBroken(what + " of message " + std::string(message_id) +
                     " does not open: tampered with, out of place, or from another message");
  }
  plain.resize(length);
  return plain;
}

}  // namespace

SealKeys::SealKeys(std::vector<SealKey> keys) : keys_(std::move(keys)) {
  for (std::size_t i = 0; i < keys_.size(); ++i) {
    for (std::size_t j = 0; j < i; ++j) {
      if (keys_[i].id == keys_[j].id) throw SealKeyFileError("two seal keys have the id " + keys_[i].id);
    }
  }
}

const SealKey* SealKeys::find(std::string_view id) const {
  const auto it = std::find_if(keys_.begin(), keys_.end(), [&](const SealKey& k) { return k.id == id; });
  return it == keys_.end() ? nullptr : &*it;
}

SealKey parse_seal_key(std::string_view text, const std::string& name) {
  while (!text.empty() && (text.back() == '\n' || text.back() == '\r')) text.remove_suffix(1);
  const std::size_t colon = text.find(':');
  if (colon == std::string_view::npos) {
    throw SealKeyFileError(name + ": expected one line \"<key id>:<base64 of 32 bytes>\"");
  }
  SealKey key;
  key.id = std::string(text.substr(0, colon));
  if (!is_key_id(key.id)) {
    throw SealKeyFileError(name + ": the key id must be 1 to 64 letters, digits, '.', '_' or '-'");
  }
  const std::string_view encoded = text.substr(colon + 1);
  std::size_t decoded = 0;
  unsigned char bytes[64];
  if (sodium_base642bin(bytes, sizeof bytes, encoded.data(), encoded.size(), nullptr, &decoded, nullptr,
                        sodium_base64_VARIANT_ORIGINAL) != 0 ||
      decoded != key.bytes.size()) {
    sodium_memzero(bytes, sizeof bytes);
    throw SealKeyFileError(name + ": the key of " + key.id + " is not 32 bytes in base64");
  }
  std::copy(bytes, bytes + key.bytes.size(), key.bytes.begin());
  sodium_memzero(bytes, sizeof bytes);
  return key;
}

SealKeys load_seal_keys(const std::vector<std::string>& paths) {
  std::vector<SealKey> keys;
  for (const std::string& path : paths) {
    std::string text;
    try {
      text = read_file(path);
    } catch (const std::system_error& e) {
      throw SealKeyFileError("cannot read seal key file " + path + ": " + e.code().message());
    }
    keys.push_back(parse_seal_key(text, path));
    sodium_memzero(text.data(), text.size());
  }
  return SealKeys(std::move(keys));
}

std::string seal_chunk(const SealKey& key, std::string_view message_id, std::int64_t seq, bool last,
                       std::string_view plain) {
  return seal(key, binding(key.id, message_id, chunk_part(seq, last)), plain);
}

std::string seal_field(const SealKey& key, std::string_view message_id, std::string_view field,
                       std::string_view plain) {
  return seal(key, binding(key.id, message_id, field_part(field)), plain);
}

std::string open_field(const SealKeys& keys, std::string_view message_id, std::string_view field,
                       std::string_view sealed) {
  return open(keys, message_id, field_part(field), sealed, "the " + std::string(field));
}

std::string sealed_key_id(std::string_view sealed) { return std::string(parse(sealed).key_id); }

std::string open_chunk(const SealKeys& keys, std::string_view message_id, std::int64_t seq, bool last,
                       std::string_view sealed) {
  return open(keys, message_id, chunk_part(seq, last), sealed, "chunk " + std::to_string(seq));
}

}  // namespace postern::schema
