// TLS towards an upstream (its SMTP server, or the POP3 server of its POP before SMTP): the
// client context shared by its connections, and the per-connection settings (SNI, host-name
// verification) to apply through Transport::native_handle() before each handshake.
//
//   const TlsPeer peer = tls_peer(upstream);                // or tls_peer(*upstream.pop_before_smtp)
//   auto context = make_upstream_tls_context(peer);         // once per upstream
//   prepare_upstream_tls(transport.native_handle(), peer);  // before each handshake
//   if (ec) detail = upstream_tls_failure(ssl, peer, ec, transport.timed_out());
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

// The server a TLS connection goes to and how its certificate is checked.
struct TlsPeer {
  std::string host;
  bool verify_certificate = true;
  std::string ca_file;  // empty: the system CA store
};

TlsPeer tls_peer(const Upstream& upstream);
TlsPeer tls_peer(const PopBeforeSmtp& pop);

// The TLS client context for a peer: TLS 1.2 or later; with verify_certificate, peer
// verification against ca_file, or the system store when ca_file is empty. Throws
// std::runtime_error when the CA file cannot be loaded.
std::shared_ptr<boost::asio::ssl::context> make_upstream_tls_context(const TlsPeer& peer);

// The context for a peer, made once at start-up: a CA file that cannot be loaded is logged
// (`<kind>_tls_setup_failed`) and returned as `error`, with which every connection to that peer
// then fails; a peer whose certificate is not verified is logged (`<kind>_certificate_not_verified`).
// `kind` names the peer in the log events: "upstream", "pop".
struct UpstreamTlsSetup {
  std::shared_ptr<boost::asio::ssl::context> context;  // null when `error` is set
  std::string error;
};
UpstreamTlsSetup set_up_upstream_tls(const TlsPeer& peer, const std::string& upstream_name, const std::string& kind);

// SNI for a host name, and with verify_certificate the peer check including the host name (or
// IP address) of the peer, on one connection's TLS session before its handshake.
void prepare_upstream_tls(SSL* ssl, const TlsPeer& peer);

// Why a handshake failed, for "TLS handshake with host:port failed: <detail>": "timed out",
// "certificate verify failed (self-signed certificate)", "the server closed the connection",
// or the error's message.
std::string upstream_tls_failure(SSL* ssl, const TlsPeer& peer, const boost::system::error_code& ec, bool timed_out);

}  // namespace postern::delivery
