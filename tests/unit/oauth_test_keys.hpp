// Signing keys made with OpenSSL for the oauth_*_test.cpp files: each gives its public JWK and
// signs tokens the way an issuer does (ES256 as raw R‖S).
//
//   const TestKey& rsa = rsa_key();                      // made once per test program
//   std::string jwks = jwk_set({rsa.jwk("k1")});
//   std::string token = rsa.token({{"alg", "RS256"}, {"kid", "k1"}}, claims);
#pragma once

#include "server/oauth/base64url.hpp"

#include <nlohmann/json.hpp>
#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/ecdsa.h>
#include <openssl/evp.h>

#include <memory>
#include <stdexcept>
#include <string>
#include <vector>

namespace oauth_test {

using Json = nlohmann::json;
using postern::oauth::base64url_encode;

class TestKey {
 public:
  enum class Type { Rsa, P256 };

  explicit TestKey(Type type)
      : type_(type),
        key_(type == Type::Rsa ? EVP_PKEY_Q_keygen(nullptr, nullptr, "RSA", std::size_t{2048})
                               : EVP_PKEY_Q_keygen(nullptr, nullptr, "EC", "P-256"),
             EVP_PKEY_free) {
    if (!key_) throw std::runtime_error("key generation failed");
  }

  // The public key as a JWK; kid left out when empty.
  Json jwk(const std::string& kid) const {
    Json jwk;
    if (type_ == Type::Rsa) {
      jwk = {{"kty", "RSA"}, {"n", number(OSSL_PKEY_PARAM_RSA_N, 0)}, {"e", number(OSSL_PKEY_PARAM_RSA_E, 0)}};
    } else {
      jwk = {{"kty", "EC"}, {"crv", "P-256"}, {"x", number(OSSL_PKEY_PARAM_EC_PUB_X, 32)},
             {"y", number(OSSL_PKEY_PARAM_EC_PUB_Y, 32)}};
    }
    if (!kid.empty()) jwk["kid"] = kid;
    return jwk;
  }

  // The signature of `input` as a JWS carries it: RSASSA-PKCS1-v1_5, or ECDSA as R‖S (DER when
  // asked, which verifiers must refuse).
  std::string sign(const std::string& input, bool der = false) const {
    std::unique_ptr<EVP_MD_CTX, decltype(&EVP_MD_CTX_free)> ctx(EVP_MD_CTX_new(), EVP_MD_CTX_free);
    std::size_t length = 0;
    const auto* data = reinterpret_cast<const unsigned char*>(input.data());
    if (EVP_DigestSignInit(ctx.get(), nullptr, EVP_sha256(), nullptr, key_.get()) != 1 ||
        EVP_DigestSign(ctx.get(), nullptr, &length, data, input.size()) != 1) {
      throw std::runtime_error("signing failed");
    }
    std::string signature(length, '\0');
    if (EVP_DigestSign(ctx.get(), reinterpret_cast<unsigned char*>(signature.data()), &length, data, input.size()) != 1) {
      throw std::runtime_error("signing failed");
    }
    signature.resize(length);
    if (type_ == Type::Rsa || der) return signature;
    const auto* p = reinterpret_cast<const unsigned char*>(signature.data());
    std::unique_ptr<ECDSA_SIG, decltype(&ECDSA_SIG_free)> sig(d2i_ECDSA_SIG(nullptr, &p, static_cast<long>(length)),
                                                              ECDSA_SIG_free);
    std::string raw(64, '\0');
    BN_bn2binpad(ECDSA_SIG_get0_r(sig.get()), reinterpret_cast<unsigned char*>(raw.data()), 32);
    BN_bn2binpad(ECDSA_SIG_get0_s(sig.get()), reinterpret_cast<unsigned char*>(raw.data()) + 32, 32);
    return raw;
  }

  std::string token(const Json& header, const Json& claims) const {
    const std::string input = base64url_encode(header.dump()) + "." + base64url_encode(claims.dump());
    return input + "." + base64url_encode(sign(input));
  }

 private:
  // A big-endian number of the key, base64url; `width` pads it to that many bytes.
  std::string number(const char* name, int width) const {
    BIGNUM* bn = nullptr;
    if (EVP_PKEY_get_bn_param(key_.get(), name, &bn) != 1) throw std::runtime_error("no key parameter");
    std::string bytes(static_cast<std::size_t>(width ? width : BN_num_bytes(bn)), '\0');
    BN_bn2binpad(bn, reinterpret_cast<unsigned char*>(bytes.data()), static_cast<int>(bytes.size()));
    BN_free(bn);
    return base64url_encode(bytes);
  }

  Type type_;
  std::shared_ptr<EVP_PKEY> key_;
};

inline const TestKey& rsa_key() {
  static const TestKey key(TestKey::Type::Rsa);
  return key;
}

inline const TestKey& p256_key() {
  static const TestKey key(TestKey::Type::P256);
  return key;
}

inline std::string jwk_set(const std::vector<Json>& keys) { return Json{{"keys", keys}}.dump(); }

}  // namespace oauth_test
