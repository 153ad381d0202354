// See crypto.hpp.
#include "dkim/crypto.hpp"

#include <openssl/bio.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>

#include <stdexcept>
#include <vector>

namespace postern::dkim {
namespace {

struct PkeyFree {
  void operator()(EVP_PKEY* key) const { EVP_PKEY_free(key); }
};
using Pkey = std::unique_ptr<EVP_PKEY, PkeyFree>;

struct MdCtxFree {
  void operator()(EVP_MD_CTX* ctx) const { EVP_MD_CTX_free(ctx); }
};

struct BioFree {
  void operator()(BIO* bio) const { BIO_free(bio); }
};
using Bio = std::unique_ptr<BIO, BioFree>;

[[noreturn]] void fail(const std::string& what) { throw std::runtime_error("dkim: " + what); }

std::string private_pem(EVP_PKEY* key) {
  Bio bio{BIO_new(BIO_s_mem())};
  if (!bio || PEM_write_bio_PrivateKey(bio.get(), key, nullptr, nullptr, 0, nullptr, nullptr) != 1) {
    fail("cannot write the private key");
  }
  char* data = nullptr;
  const long size = BIO_get_mem_data(bio.get(), &data);
  return std::string(data, static_cast<std::size_t>(size));
}

std::string public_key_text(Algorithm algorithm, EVP_PKEY* key) {
  if (algorithm == Algorithm::Ed25519) {
    std::string raw(32, '\0');
    std::size_t size = raw.size();
    if (EVP_PKEY_get_raw_public_key(key, reinterpret_cast<unsigned char*>(raw.data()), &size) != 1) {
      fail("cannot read the public key");
    }
    raw.resize(size);
    return base64(raw);
  }
  const int size = i2d_PUBKEY(key, nullptr);
  if (size <= 0) fail("cannot encode the public key");
  std::string der(static_cast<std::size_t>(size), '\0');
  auto* out = reinterpret_cast<unsigned char*>(der.data());
  i2d_PUBKEY(key, &out);
  return base64(der);
}

}  // namespace

const char* algorithm_name(Algorithm algorithm) {
  return algorithm == Algorithm::Ed25519 ? "ed25519" : "rsa2048";
}

Algorithm algorithm_from_name(std::string_view name) {
  if (name == "ed25519") return Algorithm::Ed25519;
  if (name == "rsa2048") return Algorithm::Rsa2048;
  throw std::invalid_argument("unknown DKIM algorithm \"" + std::string(name) + "\" (rsa2048 or ed25519)");
}

const char* signature_algorithm(Algorithm algorithm) {
  return algorithm == Algorithm::Ed25519 ? "ed25519-sha256" : "rsa-sha256";
}

const char* key_type(Algorithm algorithm) { return algorithm == Algorithm::Ed25519 ? "ed25519" : "rsa"; }

std::string base64(std::string_view bytes) {
  std::string text(4 * ((bytes.size() + 2) / 3) + 1, '\0');
  const int n = EVP_EncodeBlock(reinterpret_cast<unsigned char*>(text.data()),
                                reinterpret_cast<const unsigned char*>(bytes.data()), static_cast<int>(bytes.size()));
  text.resize(static_cast<std::size_t>(n));
  return text;
}

std::string base64_decode(std::string_view text) {
  if (text.size() % 4 != 0) throw std::invalid_argument("not base64");
  std::string bytes(text.size() / 4 * 3 + 1, '\0');
  const int n = EVP_DecodeBlock(reinterpret_cast<unsigned char*>(bytes.data()),
                                reinterpret_cast<const unsigned char*>(text.data()), static_cast<int>(text.size()));
  if (n < 0) throw std::invalid_argument("not base64");
  std::size_t size = static_cast<std::size_t>(n);
  // EVP_DecodeBlock counts the padding as zero bytes.
  for (std::size_t i = text.size(); i > 0 && text[i - 1] == '='; --i) --size;
  bytes.resize(size);
  return bytes;
}

struct Sha256::State {
  std::unique_ptr<EVP_MD_CTX, MdCtxFree> ctx{EVP_MD_CTX_new()};
};

Sha256::Sha256() : state_(std::make_unique<State>()) {
  if (!state_->ctx || EVP_DigestInit_ex(state_->ctx.get(), EVP_sha256(), nullptr) != 1) fail("SHA-256 unavailable");
}
Sha256::~Sha256() = default;

void Sha256::update(std::string_view bytes) {
  if (EVP_DigestUpdate(state_->ctx.get(), bytes.data(), bytes.size()) != 1) fail("SHA-256 failed");
}

std::string Sha256::finish() {
  std::string digest(EVP_MAX_MD_SIZE, '\0');
  unsigned size = 0;
  if (EVP_DigestFinal_ex(state_->ctx.get(), reinterpret_cast<unsigned char*>(digest.data()), &size) != 1) {
    fail("SHA-256 failed");
  }
  digest.resize(size);
  return digest;
}

GeneratedKey generate_key(Algorithm algorithm) {
  Pkey key{algorithm == Algorithm::Ed25519 ? EVP_PKEY_Q_keygen(nullptr, nullptr, "ED25519")
                                           : EVP_PKEY_Q_keygen(nullptr, nullptr, "RSA", std::size_t{2048})};
  if (!key) fail("cannot generate a key");
  return GeneratedKey{private_pem(key.get()), public_key_text(algorithm, key.get())};
}

struct SigningKey::Key {
  Pkey pkey;
};

SigningKey SigningKey::from_pem(Algorithm algorithm, std::string_view pem) {
  Bio bio{BIO_new_mem_buf(pem.data(), static_cast<int>(pem.size()))};
  Pkey key{bio ? PEM_read_bio_PrivateKey(bio.get(), nullptr, nullptr, nullptr) : nullptr};
  if (!key) fail("not a PEM private key");
  const int expected = algorithm == Algorithm::Ed25519 ? EVP_PKEY_ED25519 : EVP_PKEY_RSA;
  if (EVP_PKEY_get_base_id(key.get()) != expected) fail(std::string("not an ") + algorithm_name(algorithm) + " key");
  return SigningKey(algorithm, std::make_shared<Key>(Key{std::move(key)}));
}

SigningKey SigningKey::ed25519_from_raw(std::string_view raw) {
  Pkey key{EVP_PKEY_new_raw_private_key(EVP_PKEY_ED25519, nullptr, reinterpret_cast<const unsigned char*>(raw.data()),
                                        raw.size())};
  if (!key) fail("not a raw Ed25519 private key");
  return SigningKey(Algorithm::Ed25519, std::make_shared<Key>(Key{std::move(key)}));
}

std::string SigningKey::sign(std::string_view data) const {
  std::unique_ptr<EVP_MD_CTX, MdCtxFree> ctx{EVP_MD_CTX_new()};
  std::string hashed;
  std::string_view input = data;
  const EVP_MD* md = EVP_sha256();
  if (algorithm_ == Algorithm::Ed25519) {
    Sha256 sha;
    sha.update(data);
    hashed = sha.finish();
    input = hashed;
    md = nullptr;  // pure Ed25519 over the hash
  }
  if (!ctx || EVP_DigestSignInit(ctx.get(), nullptr, md, nullptr, key_->pkey.get()) != 1) fail("cannot sign");
  std::size_t size = 0;
  const auto* bytes = reinterpret_cast<const unsigned char*>(input.data());
  if (EVP_DigestSign(ctx.get(), nullptr, &size, bytes, input.size()) != 1) fail("cannot sign");
  std::string signature(size, '\0');
  if (EVP_DigestSign(ctx.get(), reinterpret_cast<unsigned char*>(signature.data()), &size, bytes, input.size()) != 1) {
    fail("cannot sign");
  }
  signature.resize(size);
  return signature;
}

}  // namespace postern::dkim
