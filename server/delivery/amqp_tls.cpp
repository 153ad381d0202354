// See amqp_tls.hpp.
#include "server/delivery/amqp_tls.hpp"

#include <amqp.h>
#include <amqp_ssl_socket.h>
#include <boost/asio/ip/address.hpp>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>

namespace postern::delivery {
namespace {

// The first certificate error of the handshake running on this thread. librabbitmq frees the
// TLS session when the check fails, so its verify result is recorded while the chain is checked;
// a connection is opened by one thread from start to end.
thread_local long first_verify_error = X509_V_OK;

int record_verify_error(int ok, X509_STORE_CTX* store) {
  if (!ok && first_verify_error == X509_V_OK) first_verify_error = X509_STORE_CTX_get_error(store);
  return ok;
}

bool is_ip_address(const std::string& host) {
  boost::system::error_code ec;
  boost::asio::ip::make_address(host, ec);
  return !ec;
}

}  // namespace

std::string prepare_amqp_tls(amqp_socket_t* socket, const Upstream& upstream) {
  first_verify_error = X509_V_OK;
  auto* context = static_cast<SSL_CTX*>(amqp_ssl_socket_get_context(socket));
  SSL_CTX_set_min_proto_version(context, TLS1_2_VERSION);
  SSL_CTX_set_options(context, SSL_OP_NO_COMPRESSION | SSL_OP_NO_RENEGOTIATION);
  amqp_ssl_socket_set_verify_hostname(socket, 0);
  amqp_ssl_socket_set_verify_peer(socket, upstream.verify_certificate ? 1 : 0);
  if (!upstream.verify_certificate) return {};
  if (!upstream.ca_file.empty()) {
    if (amqp_ssl_socket_set_cacert(socket, upstream.ca_file.c_str()) != AMQP_STATUS_OK) {
      return "cannot load CA file " + upstream.ca_file;
    }
  } else if (SSL_CTX_set_default_verify_paths(context) != 1) {
    return "cannot load the system CA store";
  }
  // librabbitmq checks the verify result after the handshake (the mode stays VERIFY_NONE); the
  // name check makes a mismatch one of its errors ("hostname mismatch", "IP address mismatch").
  X509_VERIFY_PARAM* param = SSL_CTX_get0_param(context);
  X509_VERIFY_PARAM_set_hostflags(param, X509_CHECK_FLAG_NO_PARTIAL_WILDCARDS);
  if (is_ip_address(upstream.host)) {
    X509_VERIFY_PARAM_set1_ip_asc(param, upstream.host.c_str());
  } else {
    X509_VERIFY_PARAM_set1_host(param, upstream.host.c_str(), upstream.host.size());
  }
  SSL_CTX_set_verify(context, SSL_VERIFY_NONE, record_verify_error);
  return {};
}

bool is_amqp_tls_failure(int status) {
  return status == AMQP_STATUS_SSL_ERROR || status == AMQP_STATUS_SSL_HOSTNAME_VERIFY_FAILED ||
         status == AMQP_STATUS_SSL_PEER_VERIFY_FAILED || status == AMQP_STATUS_SSL_CONNECTION_FAILED;
}

std::string amqp_tls_failure(int status) {
  if (status == AMQP_STATUS_SSL_PEER_VERIFY_FAILED && first_verify_error != X509_V_OK) {
    return std::string("certificate verify failed (") + X509_verify_cert_error_string(first_verify_error) + ")";
  }
  return amqp_error_string2(status);
}

}  // namespace postern::delivery
