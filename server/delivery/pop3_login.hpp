// One POP3 login for POP before SMTP: the POP3 client protocol (server/pop3_client) driven over
// one Transport (server/net/transport.hpp) to the POP3 server of upstream.pop_before_smtp, TLS
// set up as for the upstream itself (upstream_tls.hpp). PopBeforeSmtpGate (pop_before_smtp.hpp)
// decides when to log in; this only performs what the protocol asks (connect, write, read, TLS,
// close): every protocol decision and every failure text is the protocol's.
//
//   pop3_client::LoginResult result = co_await pop3_login(strand, upstream, tls, deadline);
//
// Deadlines: upstream.timeout_seconds for the connect, each TLS handshake, each write and each
// whole response (a server that trickles bytes does not extend it), none past `deadline`, which
// bounds the whole login. Logs the outcome as pop_login (result ok, refused or failed), with the
// server, user, mechanism and TLS version; never the password.
#pragma once

#include "server/delivery/upstream.hpp"
#include "server/net/transport.hpp"
#include "server/pop3_client/result.hpp"

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/awaitable.hpp>

#include <memory>

namespace boost::asio::ssl {
class context;
}

namespace postern::delivery {

// executor: a strand, which the login's I/O runs on; co_await this there. tls: from
// make_upstream_tls_context(tls_peer(*upstream.pop_before_smtp)), null when its security is
// None. Never throws (but std::bad_alloc): every failure is in the result.
boost::asio::awaitable<pop3_client::LoginResult> pop3_login(boost::asio::any_io_executor executor,
                                                            const Upstream& upstream,
                                                            std::shared_ptr<boost::asio::ssl::context> tls,
                                                            net::Transport::Deadline deadline);

}  // namespace postern::delivery
