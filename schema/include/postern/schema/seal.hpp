// Sealing queued messages at rest: what PostgreSQL (and so every backup, replica and dump) holds
// of a sealed message's body is ciphertext. Each body chunk (message_chunks.hpp) and the share
// seed are encrypted on their own with XChaCha20-Poly1305 (libsodium's IETF construction) under a
// 32-byte key that has an id; the message id, the chunk's number, whether it is the last chunk,
// and the key id are bound as associated data, so a chunk cannot be swapped with another, moved
// to another message, or cut off at the end without opening failing. Pure: no database here.
//
//   SealKeys keys = load_seal_keys({"/run/secrets/seal/2026-12.key", "/run/secrets/seal/2026-06.key"});
//   std::string sealed = seal_chunk(keys.sealing(), id, seq, last, plain);   // the first key seals
//   std::string plain = open_chunk(keys, id, seq, last, sealed);   // last: from the stored size
//
// A reader knows which chunk is the last from the message's size (stored in clear): a message
// cut off at the end, or made longer, has a chunk opened with the wrong flag, and that fails.
//
// A sealed value is: version byte 1 | key id length (1 byte) | key id | 24-byte random nonce |
// ciphertext with its 16-byte tag. The key id travels in clear, so a replica that lacks the key
// can say which one (SealKeyMissing) instead of calling the data broken.
//
// A key file holds one line "<key id>:<base64 of 32 bytes>" (a trailing newline is ignored). Key
// ids are 1 to 64 characters of letters, digits, '.', '_' and '-'.
#pragma once

#include <array>
#include <cstdint>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

namespace postern::schema {

// A sealed value that does not open: tampered with, swapped, from another message, cut off, or
// not a sealed value at all. The message says which, never anything of the plaintext.
struct SealBroken : std::runtime_error {
  using std::runtime_error::runtime_error;
};

// The value is sealed under a key this process does not have ("sealed under seal key 2026-06,
// which is not among queue.seal_key_files here"): not broken, and it may open on a replica that
// has the key.
struct SealKeyMissing : std::runtime_error {
  SealKeyMissing(const std::string& message, std::string key_id)
      : std::runtime_error(message), key_id(std::move(key_id)) {}
  std::string key_id;
};

// A key file that cannot be used: names the file and what is wrong, never the key.
struct SealKeyFileError : std::runtime_error {
  using std::runtime_error::runtime_error;
};

struct SealKey {
  std::string id;
  std::array<unsigned char, 32> bytes{};

  friend bool operator==(const SealKey&, const SealKey&) = default;  // a reload compares them
};

// The keys a process has: the first seals, every one opens.
class SealKeys {
 public:
  SealKeys() = default;
  // Throws SealKeyFileError when two keys share an id.
  explicit SealKeys(std::vector<SealKey> keys);

  bool empty() const { return keys_.empty(); }
  // The key new seals use; the first. Call only when !empty().
  const SealKey& sealing() const { return keys_.front(); }
  // The key with this id, or nullptr.
  const SealKey* find(std::string_view id) const;
  const std::vector<SealKey>& all() const { return keys_; }

  friend bool operator==(const SealKeys&, const SealKeys&) = default;

 private:
  std::vector<SealKey> keys_;
};

// "<key id>:<base64 of 32 bytes>", as a key file holds it; `name` (the file) prefixes errors.
SealKey parse_seal_key(std::string_view text, const std::string& name);

// Reads each file with parse_seal_key(); the first file's key seals. Throws SealKeyFileError.
SealKeys load_seal_keys(const std::vector<std::string>& paths);

// Chunk `seq` of message `message_id`; `last` says whether it ends the message.
std::string seal_chunk(const SealKey& key, std::string_view message_id, std::int64_t seq, bool last,
                       std::string_view plain);

// Another value of a message, named by `field` (e.g. "share_seed"), bound to the message and
// the field as the chunks are.
std::string seal_field(const SealKey& key, std::string_view message_id, std::string_view field,
                       std::string_view plain);
std::string open_field(const SealKeys& keys, std::string_view message_id, std::string_view field,
                       std::string_view sealed);

// The id of the key a value was sealed under; throws SealBroken when it is not a sealed value.
std::string sealed_key_id(std::string_view sealed);

// Opens chunk `seq` of message `message_id`, which the reader expects to be the last one or not;
// throws SealBroken or SealKeyMissing.
std::string open_chunk(const SealKeys& keys, std::string_view message_id, std::int64_t seq, bool last,
                       std::string_view sealed);

}  // namespace postern::schema
