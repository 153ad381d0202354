// TLS towards an AMQP broker (an amqp upstream with security tls): how librabbitmq's TLS socket
// is set up before it connects, and why its handshake failed. The same rules as towards an SMTP
// upstream (upstream_tls.hpp): TLS 1.2 or later; with verify_certificate, the broker's chain
// checked against ca_file or the system store, and its name — a host name or an IP address —
// checked by OpenSSL itself (librabbitmq 0.11's own check reads DNS names only, so it is off).
//
//   amqp_socket_t* socket = amqp_ssl_socket_new(state);
//   if (std::string error = prepare_amqp_tls(socket, upstream); !error.empty()) ...
//   int status = amqp_socket_open_noblock(socket, host, port, &timeout);  // on this thread
//   if (is_amqp_tls_failure(status)) detail = amqp_tls_failure(status);
#pragma once

#include "server/delivery/upstream.hpp"

#include <string>

using amqp_socket_t = struct amqp_socket_t_;

namespace postern::delivery {

// Empty when the socket is ready to connect, else why not (a CA file that cannot be loaded).
std::string prepare_amqp_tls(amqp_socket_t* socket, const Upstream& upstream);

// True for the librabbitmq statuses of a failed handshake or certificate check.
bool is_amqp_tls_failure(int status);

// Why the last handshake on this thread failed: "certificate verify failed (self-signed
// certificate)", or librabbitmq's text for the status.
std::string amqp_tls_failure(int status);

}  // namespace postern::delivery
