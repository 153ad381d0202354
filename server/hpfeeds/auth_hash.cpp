// See auth_hash.hpp.
#include "server/hpfeeds/auth_hash.hpp"

#include "server/hpfeeds/frame.hpp"

#include <openssl/evp.h>

#include <memory>
#include <stdexcept>

namespace hpfeeds {
namespace {

struct DigestFree {
  void operator()(EVP_MD_CTX* context) const { EVP_MD_CTX_free(context); }
};

}  // namespace

std::string auth_hash(std::string_view nonce, std::string_view secret) {
  std::unique_ptr<EVP_MD_CTX, DigestFree> context{EVP_MD_CTX_new()};
  unsigned char digest[EVP_MAX_MD_SIZE];
  unsigned int length = 0;
  if (!context || EVP_DigestInit_ex(context.get(), EVP_sha1(), nullptr) != 1 ||
      EVP_DigestUpdate(context.get(), nonce.data(), nonce.size()) != 1 ||
      EVP_DigestUpdate(context.get(), secret.data(), secret.size()) != 1 ||
      EVP_DigestFinal_ex(context.get(), digest, &length) != 1 || length != kAuthHashBytes) {
    throw std::runtime_error("SHA-1 failed");
  }
  return std::string(reinterpret_cast<const char*>(digest), length);
}

}  // namespace hpfeeds
