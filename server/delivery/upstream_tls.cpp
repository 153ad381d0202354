// See upstream_tls.hpp.
#include "server/delivery/upstream_tls.hpp"

#include "server/runtime/log.hpp"

#include <boost/asio/error.hpp>
#include <boost/asio/ip/address.hpp>
#include <boost/asio/ssl/context.hpp>
#include <boost/asio/ssl/error.hpp>

#include <openssl/ssl.h>
#include <openssl/x509v3.h>

#include <stdexcept>

namespace postern::delivery {
namespace asio = boost::asio;

namespace {

bool is_ip_address(const std::string& host) {
  boost::system::error_code ec;
  asio::ip::make_address(host, ec);
  return !ec;
}

}  // namespace

TlsPeer tls_peer(const Upstream& upstream) {
  return {upstream.host, upstream.verify_certificate, upstream.ca_file};
}

TlsPeer tls_peer(const PopBeforeSmtp& pop) { return {pop.host, pop.verify_certificate, pop.ca_file}; }

std::shared_ptr<asio::ssl::context> make_upstream_tls_context(const TlsPeer& peer) {
  auto context = std::make_shared<asio::ssl::context>(asio::ssl::context::tls_client);
  SSL_CTX* native = context->native_handle();
  SSL_CTX_set_min_proto_version(native, TLS1_2_VERSION);
  SSL_CTX_set_options(native, SSL_OP_NO_COMPRESSION | SSL_OP_NO_RENEGOTIATION);
  if (peer.verify_certificate) {
    boost::system::error_code ec;
    if (!peer.ca_file.empty()) {
      context->load_verify_file(peer.ca_file, ec);
      if (ec) throw std::runtime_error("cannot load CA file " + peer.ca_file + ": " + ec.message());
    } else {
      context->set_default_verify_paths(ec);
      if (ec) throw std::runtime_error("cannot load the system CA store: " + ec.message());
    }
    context->set_verify_mode(asio::ssl::verify_peer);
  } else {
    context->set_verify_mode(asio::ssl::verify_none);
  }
  return context;
}

UpstreamTlsSetup set_up_upstream_tls(const TlsPeer& peer, const std::string& upstream_name, const std::string& kind) {
  UpstreamTlsSetup setup;
  try {
    setup.context = make_upstream_tls_context(peer);
  } catch (const std::exception& e) {
    setup.error = e.what();
    log::error(kind + "_tls_setup_failed", {{"upstream", upstream_name}, {"error", setup.error}});
  }
  if (!peer.verify_certificate) {
    log::warning(kind + "_certificate_not_verified", {{"upstream", upstream_name}, {"host", peer.host}});
  }
  return setup;
}

void prepare_upstream_tls(SSL* ssl, const TlsPeer& peer) {
  const bool ip = is_ip_address(peer.host);
  // SNI takes host names only (RFC 6066 §3).
  if (!ip) SSL_set_tlsext_host_name(ssl, peer.host.c_str());
  if (peer.verify_certificate) {
    // The name check by OpenSSL itself (what asio::ssl::host_name_verification does in a
    // callback), so that a mismatch reads "hostname mismatch" in SSL_get_verify_result.
    X509_VERIFY_PARAM* param = SSL_get0_param(ssl);
    X509_VERIFY_PARAM_set_hostflags(param, X509_CHECK_FLAG_NO_PARTIAL_WILDCARDS);
    if (ip) X509_VERIFY_PARAM_set1_ip_asc(param, peer.host.c_str());
    else X509_VERIFY_PARAM_set1_host(param, peer.host.c_str(), peer.host.size());
    SSL_set_verify(ssl, SSL_VERIFY_PEER, SSL_get_verify_callback(ssl));
  } else {
    SSL_set_verify(ssl, SSL_VERIFY_NONE, SSL_get_verify_callback(ssl));
  }
}

std::string upstream_tls_failure(SSL* ssl, const TlsPeer& peer, const boost::system::error_code& ec,
                                 bool timed_out) {
  if (timed_out) return "timed out";
  const long verify = SSL_get_verify_result(ssl);
  if (peer.verify_certificate && verify != X509_V_OK) {
    return std::string("certificate verify failed (") + X509_verify_cert_error_string(verify) + ")";
  }
  if (ec == asio::error::eof || ec == asio::ssl::error::stream_truncated) return "the server closed the connection";
  return ec.message();
}

}  // namespace postern::delivery
