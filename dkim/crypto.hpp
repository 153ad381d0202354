// The cryptography of DKIM, with OpenSSL 3: SHA-256, base64, keys and signatures.
#pragma once

#include <memory>
#include <string>
#include <string_view>

namespace postern::dkim {

enum class Algorithm { Rsa2048, Ed25519 };

// "rsa2048" / "ed25519" (the names mailadmin and the database use); from_name throws
// std::invalid_argument for another.
const char* algorithm_name(Algorithm algorithm);
Algorithm algorithm_from_name(std::string_view name);
// The a= tag: "rsa-sha256" / "ed25519-sha256"; the k= tag of the DNS record: "rsa" / "ed25519".
const char* signature_algorithm(Algorithm algorithm);
const char* key_type(Algorithm algorithm);

std::string base64(std::string_view bytes);
std::string base64_decode(std::string_view text);  // throws std::invalid_argument

class Sha256 {
 public:
  Sha256();
  ~Sha256();
  Sha256(const Sha256&) = delete;
  Sha256& operator=(const Sha256&) = delete;
  void update(std::string_view bytes);
  std::string finish();  // the 32 raw bytes

 private:
  struct State;
  std::unique_ptr<State> state_;
};

// A new key: the private key as PKCS#8 PEM, and the public key as the DNS record's p= holds it
// (RSA: base64 of the DER SubjectPublicKeyInfo; Ed25519: base64 of the raw 32 bytes, RFC 8463).
struct GeneratedKey {
  std::string private_pem;
  std::string public_key;
};
GeneratedKey generate_key(Algorithm algorithm);

// A private key ready to sign, loaded once (signing is then cheap).
class SigningKey {
 public:
  // From PEM; throws std::runtime_error when it is not a key of that algorithm.
  static SigningKey from_pem(Algorithm algorithm, std::string_view pem);
  // From the raw 32-byte Ed25519 private key (RFC 8463's test vector gives one).
  static SigningKey ed25519_from_raw(std::string_view raw);

  Algorithm algorithm() const { return algorithm_; }
  // The signature's bytes over `data`: RSA-SHA256 (PKCS#1 v1.5), or Ed25519 over SHA-256 of
  // `data` (RFC 8463 §3).
  std::string sign(std::string_view data) const;

 private:
  struct Key;
  SigningKey(Algorithm algorithm, std::shared_ptr<Key> key) : algorithm_(algorithm), key_(std::move(key)) {}
  Algorithm algorithm_;
  std::shared_ptr<Key> key_;
};

}  // namespace postern::dkim
