// See jwks.hpp. Keys are built with OpenSSL 3's EVP_PKEY_fromdata from the JWK's big-endian
// numbers, and checked with EVP_PKEY_public_check (a point on the curve, a sane modulus).
#include "server/oauth/jwks.hpp"

#include "server/oauth/base64url.hpp"

#include <nlohmann/json.hpp>
#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/evp.h>
#include <openssl/param_build.h>

#include <cerrno>
#include <cstring>
#include <fstream>
#include <iterator>
#include <sstream>
#include <utility>

namespace postern::oauth {
namespace {

using Json = nlohmann::json;

constexpr int kMinRsaBits = 2048;
constexpr std::size_t kP256CoordinateBytes = 32;

struct BnFree {
  void operator()(BIGNUM* bn) const { BN_free(bn); }
};
struct ParamBuildFree {
  void operator()(OSSL_PARAM_BLD* bld) const { OSSL_PARAM_BLD_free(bld); }
};
struct ParamFree {
  void operator()(OSSL_PARAM* params) const { OSSL_PARAM_free(params); }
};
struct PkeyCtxFree {
  void operator()(EVP_PKEY_CTX* ctx) const { EVP_PKEY_CTX_free(ctx); }
};

std::string describe_key(std::size_t index, const std::string& kid) {
  return "keys[" + std::to_string(index) + "]" + (kid.empty() ? "" : " (kid " + kid + ")");
}

// A JWK member that must be base64url: its bytes.
std::string member_bytes(const Json& jwk, const char* name, const std::string& where) {
  const auto it = jwk.find(name);
  if (it == jwk.end() || !it->is_string()) throw JwksError(where + ": \"" + name + "\" is missing");
  std::optional<std::string> bytes = base64url_decode(it->get_ref<const std::string&>());
  if (!bytes || bytes->empty()) throw JwksError(where + ": \"" + name + "\" is not base64url");
  return std::move(*bytes);
}

std::shared_ptr<EVP_PKEY> key_from_params(const char* type, OSSL_PARAM_BLD* bld, const std::string& where) {
  std::unique_ptr<OSSL_PARAM, ParamFree> params(OSSL_PARAM_BLD_to_param(bld));
  std::unique_ptr<EVP_PKEY_CTX, PkeyCtxFree> ctx(EVP_PKEY_CTX_new_from_name(nullptr, type, nullptr));
  EVP_PKEY* raw = nullptr;
  if (!params || !ctx || EVP_PKEY_fromdata_init(ctx.get()) != 1 ||
      EVP_PKEY_fromdata(ctx.get(), &raw, EVP_PKEY_PUBLIC_KEY, params.get()) != 1) {
    throw JwksError(where + ": not a valid " + type + " public key");
  }
  std::shared_ptr<EVP_PKEY> key(raw, EVP_PKEY_free);
  std::unique_ptr<EVP_PKEY_CTX, PkeyCtxFree> check(EVP_PKEY_CTX_new_from_pkey(nullptr, key.get(), nullptr));
  if (!check || EVP_PKEY_public_check(check.get()) != 1) {
    throw JwksError(where + ": not a valid " + type + " public key");
  }
  return key;
}

std::shared_ptr<EVP_PKEY> rsa_key(const Json& jwk, const std::string& where) {
  const std::string n = member_bytes(jwk, "n", where);
  const std::string e = member_bytes(jwk, "e", where);
  const auto to_bn = [](const std::string& bytes) {
    return std::unique_ptr<BIGNUM, BnFree>(
        BN_bin2bn(reinterpret_cast<const unsigned char*>(bytes.data()), static_cast<int>(bytes.size()), nullptr));
  };
  const auto modulus = to_bn(n);
  const auto exponent = to_bn(e);
  std::unique_ptr<OSSL_PARAM_BLD, ParamBuildFree> bld(OSSL_PARAM_BLD_new());
  if (!modulus || !exponent || !bld || OSSL_PARAM_BLD_push_BN(bld.get(), OSSL_PKEY_PARAM_RSA_N, modulus.get()) != 1 ||
      OSSL_PARAM_BLD_push_BN(bld.get(), OSSL_PKEY_PARAM_RSA_E, exponent.get()) != 1) {
    throw JwksError(where + ": cannot build the RSA key");
  }
  if (BN_num_bits(modulus.get()) < kMinRsaBits) {
    throw JwksError(where + ": RSA key of " + std::to_string(BN_num_bits(modulus.get())) +
                    " bits, at least " + std::to_string(kMinRsaBits) + " are required");
  }
  return key_from_params("RSA", bld.get(), where);
}

std::shared_ptr<EVP_PKEY> p256_key(const Json& jwk, const std::string& where) {
  const auto crv = jwk.find("crv");
  if (crv == jwk.end() || !crv->is_string() || *crv != "P-256") {
    throw JwksError(where + ": EC keys must have \"crv\": \"P-256\"");
  }
  const std::string x = member_bytes(jwk, "x", where);
  const std::string y = member_bytes(jwk, "y", where);
  if (x.size() != kP256CoordinateBytes || y.size() != kP256CoordinateBytes) {
    throw JwksError(where + ": P-256 coordinates must be 32 bytes each");
  }
  std::string point = "\x04" + x + y;  // uncompressed (SEC 1 §2.3.3)
  std::unique_ptr<OSSL_PARAM_BLD, ParamBuildFree> bld(OSSL_PARAM_BLD_new());
  if (!bld || OSSL_PARAM_BLD_push_utf8_string(bld.get(), OSSL_PKEY_PARAM_GROUP_NAME, "prime256v1", 0) != 1 ||
      OSSL_PARAM_BLD_push_octet_string(bld.get(), OSSL_PKEY_PARAM_PUB_KEY, point.data(), point.size()) != 1) {
    throw JwksError(where + ": cannot build the EC key");
  }
  return key_from_params("EC", bld.get(), where);
}

// One JWK: a key, or nothing for one that is not for JWS signatures Postern checks.
std::optional<PublicKey> parse_key(const Json& jwk, std::size_t index) {
  if (!jwk.is_object()) throw JwksError(describe_key(index, "") + ": not a JSON object");
  std::string kid;
  if (const auto it = jwk.find("kid"); it != jwk.end()) {
    if (!it->is_string()) throw JwksError(describe_key(index, "") + ": \"kid\" is not a string");
    kid = it->get<std::string>();
  }
  const std::string where = describe_key(index, kid);
  if (const auto use = jwk.find("use"); use != jwk.end() && *use != "sig") return std::nullopt;
  const auto kty = jwk.find("kty");
  if (kty == jwk.end() || !kty->is_string()) throw JwksError(where + ": \"kty\" is missing");
  std::optional<Algorithm> algorithm;
  if (*kty == "RSA") {
    algorithm = Algorithm::RS256;
  } else if (*kty == "EC") {
    algorithm = Algorithm::ES256;
  } else {
    return std::nullopt;
  }
  if (const auto alg = jwk.find("alg"); alg != jwk.end()) {
    if (!alg->is_string() || algorithm_named(alg->get<std::string>()) != algorithm) {
      // An RSA key for RS512, say: not one Postern verifies with.
      return std::nullopt;
    }
  }
  std::shared_ptr<EVP_PKEY> key = *algorithm == Algorithm::RS256 ? rsa_key(jwk, where) : p256_key(jwk, where);
  return PublicKey{std::move(kid), *algorithm, std::move(key)};
}

}  // namespace

std::string_view algorithm_name(Algorithm algorithm) {
  switch (algorithm) {
    case Algorithm::RS256: return "RS256";
    case Algorithm::ES256: return "ES256";
  }
  return "";
}

std::optional<Algorithm> algorithm_named(std::string_view name) {
  if (name == "RS256") return Algorithm::RS256;
  if (name == "ES256") return Algorithm::ES256;
  return std::nullopt;
}

Keys parse_jwks(std::string_view json) {
  const Json set = Json::parse(json, nullptr, false);
  if (set.is_discarded()) throw JwksError("not valid JSON");
  const auto keys = set.is_object() ? set.find("keys") : set.end();
  if (keys == set.end() || !keys->is_array()) throw JwksError("expected a JSON object with a \"keys\" array");
  Keys usable;
  for (std::size_t i = 0; i < keys->size(); ++i) {
    if (std::optional<PublicKey> key = parse_key((*keys)[i], i)) usable.push_back(std::move(*key));
  }
  if (usable.empty()) throw JwksError("no RS256 or ES256 signing key (kty RSA, or EC with crv P-256)");
  return usable;
}

JwkSet load_jwks_file(const std::string& path) {
  std::ifstream file(path, std::ios::binary);
  if (!file) throw JwksError(path + ": cannot read: " + std::strerror(errno));
  std::ostringstream text;
  text << file.rdbuf();
  if (file.bad()) throw JwksError(path + ": cannot read: " + std::strerror(errno));
  try {
    return JwkSet{text.str(), std::make_shared<const Keys>(parse_jwks(text.str()))};
  } catch (const JwksError& e) {
    throw JwksError(path + ": " + e.what());
  }
}

}  // namespace postern::oauth
