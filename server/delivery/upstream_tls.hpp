// TLS towards an upstream: the client context shared by its connections, and the per-connection
// settings (SNI, host-name verification) to apply through Transport::native_handle() before
// each handshake.
//
//   auto context = make_upstream_tls_context(upstream);    // once per upstream
//   prepare_upstream_tls(transport.native_handle(), upstream);   // before each handshake
//   if (ec) detail = upstream_tls_failure(ssl, upstream, ec, transport.timed_out());
#pragma once

#include "server/delivery/upstream.hpp"

#include <boost/system/error_code.hpp>

#include <memory>
#include <string>

namespace boost::asio::ssl {
class context;
}
using SSL = struct ssl_st;

namespace postern::delivery {

// The TLS client context for an upstream: TLS 1.2 or later; with verify_certificate, peer
// verification against ca_file, or the system store when ca_file is empty. Throws
// std::runtime_error when the CA file cannot be loaded.
std::shared_ptr<boost::asio::ssl::context> make_upstream_tls_context(const Upstream& upstream);

// SNI for a host name, and with verify_certificate the peer check including the host name (or
// IP address) of the upstream, on one connection's TLS session before its handshake.
void prepare_upstream_tls(SSL* ssl, const Upstream& upstream);

// Why a handshake failed, for "TLS handshake with host:port failed: <detail>": "timed out",
// "certificate verify failed (self-signed certificate)", "the server closed the connection",
// or the error's message.
std::string upstream_tls_failure(SSL* ssl, const Upstream& upstream, const boost::system::error_code& ec,
                                 bool timed_out);

}  // namespace postern::delivery
