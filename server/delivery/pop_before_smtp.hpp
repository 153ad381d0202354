// POP before SMTP for one upstream (upstream.pop_before_smtp): its provider relays only for
// whoever logged in to its POP3 server a short while before, so before a message goes there
// ensure() makes sure such a login succeeded within interval_seconds, and logs in when not: the
// POP3 client protocol (server/pop3_client) driven over one Transport (server/net/transport.hpp),
// with the upstream TLS settings (upstream_tls.hpp) of the POP3 server. UpstreamPool owns one
// gate per upstream that has pop_before_smtp and asks it before every message.
//
//   PopBeforeSmtpGate gate{executor, upstream};
//   PopBeforeSmtpGate::Outcome pop = co_await gate.ensure();
//   if (!pop.ok) ...   // pop.error: "POP before SMTP: POP3 login to pop.example:995 refused:
//                      //   -ERR [AUTH] Authentication failed."  Never send without it.
//
// One login at a time per upstream: deliveries that ask while one runs wait for its outcome and
// share it. A failed login is shared also by those that ask within a few seconds after it, so
// that a queue of messages does not hammer the POP3 server (and lock the account) with a wrong
// password. After a fresh login every delivery waits wait_seconds (the provider may register the
// login with a delay), then the login counts for interval_seconds from when it succeeded.
// Deadlines: the upstream's timeout_seconds for the connect, each TLS handshake, each write and
// each whole response, and three times that for the whole login; a delivery waiting for another
// one's login gives up when that login's deadline and wait are over.
//
// Thread-safe: ensure() may be awaited from coroutines on any threads; the gate's state and its
// logins live on a strand of its own. Logs every login (pop_login, never the password) and counts
// it in postern_pop_logins_total{upstream,result}.
#pragma once

#include "server/delivery/upstream.hpp"

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/awaitable.hpp>

#include <memory>
#include <string>

namespace postern::delivery {

namespace detail {
struct PopGateState;
}

class PopBeforeSmtpGate {
 public:
  struct Outcome {
    bool ok = true;
    std::string error;  // when not ok: why, for the log and every recipient's 451 4.7.0 reply
  };

  // upstream.pop_before_smtp must be set. Logs a warning when the POP3 server's certificate is
  // not verified, and an error (then every ensure() fails) when its CA file cannot be loaded.
  PopBeforeSmtpGate(boost::asio::any_io_executor executor, const Upstream& upstream);
  ~PopBeforeSmtpGate();
  PopBeforeSmtpGate(const PopBeforeSmtpGate&) = delete;
  PopBeforeSmtpGate& operator=(const PopBeforeSmtpGate&) = delete;

  // Ok at once while the last login counts; else the outcome of a login (this delivery's own
  // or the one in progress). Never throws (but std::bad_alloc).
  boost::asio::awaitable<Outcome> ensure();

 private:
  std::shared_ptr<detail::PopGateState> state_;
};

}  // namespace postern::delivery
