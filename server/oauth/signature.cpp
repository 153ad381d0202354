// See signature.hpp. OpenSSL verifies ECDSA signatures in DER, so R‖S is converted first.
#include "server/oauth/signature.hpp"

#include <openssl/bn.h>
#include <openssl/ecdsa.h>
#include <openssl/evp.h>

#include <memory>
#include <optional>
#include <string>

namespace postern::oauth {
namespace {

constexpr std::size_t kEs256SignatureBytes = 64;

struct EcdsaSigFree {
  void operator()(ECDSA_SIG* sig) const { ECDSA_SIG_free(sig); }
};
struct MdCtxFree {
  void operator()(EVP_MD_CTX* ctx) const { EVP_MD_CTX_free(ctx); }
};

const unsigned char* bytes(std::string_view text) { return reinterpret_cast<const unsigned char*>(text.data()); }

// R‖S as the DER ECDSA-Sig-Value OpenSSL verifies; nothing when it is not 64 bytes.
std::optional<std::string> es256_to_der(std::string_view raw) {
  if (raw.size() != kEs256SignatureBytes) return std::nullopt;
  std::unique_ptr<ECDSA_SIG, EcdsaSigFree> sig(ECDSA_SIG_new());
  BIGNUM* r = BN_bin2bn(bytes(raw), kEs256SignatureBytes / 2, nullptr);
  BIGNUM* s = BN_bin2bn(bytes(raw) + kEs256SignatureBytes / 2, kEs256SignatureBytes / 2, nullptr);
  if (!sig || !r || !s || ECDSA_SIG_set0(sig.get(), r, s) != 1) {  // set0 owns r and s only on success
    BN_free(r);
    BN_free(s);
    return std::nullopt;
  }
  const int length = i2d_ECDSA_SIG(sig.get(), nullptr);
  if (length <= 0) return std::nullopt;
  std::string der(static_cast<std::size_t>(length), '\0');
  auto* out = reinterpret_cast<unsigned char*>(der.data());
  if (i2d_ECDSA_SIG(sig.get(), &out) != length) return std::nullopt;
  return der;
}

}  // namespace

bool verify_signature(const PublicKey& key, std::string_view signing_input, std::string_view signature) {
  std::string checked;
  if (key.algorithm == Algorithm::ES256) {
    std::optional<std::string> der = es256_to_der(signature);
    if (!der) return false;
    checked = std::move(*der);
  } else {
    if (signature.size() != static_cast<std::size_t>(EVP_PKEY_get_size(key.key.get()))) return false;
    checked = std::string(signature);
  }
  std::unique_ptr<EVP_MD_CTX, MdCtxFree> ctx(EVP_MD_CTX_new());
  if (!ctx || EVP_DigestVerifyInit(ctx.get(), nullptr, EVP_sha256(), nullptr, key.key.get()) != 1) return false;
  return EVP_DigestVerify(ctx.get(), bytes(checked), checked.size(), bytes(signing_input), signing_input.size()) == 1;
}

}  // namespace postern::oauth
