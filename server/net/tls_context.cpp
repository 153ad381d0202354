// See tls_context.hpp.
#include "server/net/tls_context.hpp"

#include <openssl/ssl.h>

#include <stdexcept>

namespace postern::net {
namespace {

// TLS 1.2 suites with forward secrecy and AEAD only; TLS 1.3 suites are OpenSSL's defaults.
constexpr const char* kTls12Ciphers =
    "ECDHE-ECDSA-AES128-GCM-SHA256:ECDHE-RSA-AES128-GCM-SHA256:"
    "ECDHE-ECDSA-AES256-GCM-SHA384:ECDHE-RSA-AES256-GCM-SHA384:"
    "ECDHE-ECDSA-CHACHA20-POLY1305:ECDHE-RSA-CHACHA20-POLY1305";

}  // namespace

TlsContext::TlsContext(std::string certificate_file, std::string key_file)
    : certificate_file_(std::move(certificate_file)), key_file_(std::move(key_file)), context_(build()) {}

std::shared_ptr<boost::asio::ssl::context> TlsContext::build() const {
  namespace ssl = boost::asio::ssl;
  auto context = std::make_shared<ssl::context>(ssl::context::tls_server);
  SSL_CTX* native = context->native_handle();
  SSL_CTX_set_min_proto_version(native, TLS1_2_VERSION);
  SSL_CTX_set_options(native, SSL_OP_NO_COMPRESSION | SSL_OP_NO_RENEGOTIATION |
                                  SSL_OP_CIPHER_SERVER_PREFERENCE);
  SSL_CTX_set_cipher_list(native, kTls12Ciphers);
  boost::system::error_code ec;
  context->use_certificate_chain_file(certificate_file_, ec);
  if (ec) throw std::runtime_error("cannot load TLS certificate " + certificate_file_ + ": " + ec.message());
  context->use_private_key_file(key_file_, ssl::context::pem, ec);
  if (ec) throw std::runtime_error("cannot load TLS key " + key_file_ + ": " + ec.message());
  if (SSL_CTX_check_private_key(native) != 1) {
    throw std::runtime_error("TLS key " + key_file_ + " does not match certificate " + certificate_file_);
  }
  return context;
}

std::shared_ptr<boost::asio::ssl::context> TlsContext::current() const {
  std::lock_guard lock{mutex_};
  return context_;
}

void TlsContext::reload() {
  auto fresh = build();
  std::lock_guard lock{mutex_};
  context_ = std::move(fresh);
}

}  // namespace postern::net
