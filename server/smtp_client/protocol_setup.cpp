// Setting a session up: the greeting, EHLO (HELO for an old server), STARTTLS and AUTH. A
// refusal here is temporary for the message (the upstream is unwell or misconfigured), except
// a 5xx to AUTH, which says the credentials are wrong: permanent.
#include "server/smtp/base64.hpp"
#include "server/smtp_client/protocol.hpp"

namespace smtp_client {

void Protocol::greeting(const smtp::Reply& reply) {
  if (reply.code != 220) return setup_refused(reply, refused_temporarily(reply, options_.peer + " greeting"));
  send_ehlo();
}

void Protocol::send_ehlo() {
  send("EHLO " + options_.ehlo_name + "\r\n");
  phase_ = Phase::Ehlo;
}

void Protocol::ehlo(const smtp::Reply& reply) {
  if (reply.code == 250) {
    capabilities_ = parse_ehlo(reply);
    return after_hello();
  }
  if (!reply.permanent()) return setup_refused(reply, refused_temporarily(reply, options_.peer + " EHLO"));
  // An old server (RFC 5321 §3.2: a 5xx to EHLO means HELO may work): no extensions at all.
  send("HELO " + options_.ehlo_name + "\r\n");
  phase_ = Phase::Helo;
}

void Protocol::helo(const smtp::Reply& reply) {
  if (reply.code != 250) return setup_refused(reply, refused_temporarily(reply, options_.peer + " HELO"));
  capabilities_ = {};
  after_hello();
}

void Protocol::after_hello() {
  if (options_.security != Security::StartTls || tls_active_) return start_auth();
  // Required: an upstream without STARTTLS never gets the message in plaintext.
  if (!capabilities_.starttls) {
    return fail(temporary("4.7.10", "upstream does not offer STARTTLS (" + options_.peer + ")"));
  }
  send("STARTTLS\r\n");
  phase_ = Phase::StartTls;
}

void Protocol::starttls(const smtp::Reply& reply) {
  if (reply.code != 220) return setup_refused(reply, refused_temporarily(reply, options_.peer + " STARTTLS"));
  // Anything after the 220 came in plaintext before the handshake and could be taken for a
  // reply under TLS: the STARTTLS command injection (CVE-2011-0411), from the client side.
  if (reader_.has_pending()) {
    broken_ = true;
    return fail(temporary("4.5.0", options_.peer + " sent data after its STARTTLS reply"));
  }
  phase_ = Phase::Handshaking;
}

void Protocol::start_auth() {
  if (options_.username.empty()) return ready();
  if (capabilities_.auth.empty()) return fail(temporary("4.7.0", "upstream offers no AUTH (" + options_.peer + ")"));
  if (capabilities_.offers_auth("PLAIN")) {
    // RFC 4616 §2: authzid NUL authcid NUL password, as the initial response (RFC 4954 §4).
    auth_mechanism_ = "PLAIN";
    std::string token;
    token.push_back('\0');
    token += options_.username;
    token.push_back('\0');
    token += options_.password;
    send("AUTH PLAIN " + smtp::base64_encode(token) + "\r\n");
    phase_ = Phase::AuthPlain;
  } else if (capabilities_.offers_auth("LOGIN")) {
    auth_mechanism_ = "LOGIN";
    send("AUTH LOGIN\r\n");
    phase_ = Phase::AuthLogin;
  } else {
    std::string offered;
    for (const auto& mechanism : capabilities_.auth) offered += (offered.empty() ? "" : " ") + mechanism;
    fail(temporary("4.7.0",
                   "upstream " + options_.peer + " offers neither AUTH PLAIN nor LOGIN (only " + offered + ")"));
  }
}

void Protocol::auth_reply(const smtp::Reply& reply) {
  if (reply.code == 334) {
    switch (phase_) {
      case Phase::AuthPlain:  // a challenge after a complete initial response: give up
        return cancel_auth(temporary("4.7.0", options_.peer + " sent an unexpected AUTH PLAIN challenge"));
      case Phase::AuthLogin:
        send(smtp::base64_encode(options_.username) + "\r\n");
        phase_ = Phase::AuthLoginUsername;
        return;
      case Phase::AuthLoginUsername:
        send(smtp::base64_encode(options_.password) + "\r\n");
        phase_ = Phase::AuthLoginPassword;
        return;
      default:  // LOGIN asking for more than user and password
        return cancel_auth(refused(reply, options_.peer + " AUTH " + auth_mechanism_));
    }
  }
  if (reply.code == 235) return ready();
  setup_refused(reply, refused(reply, options_.peer + " AUTH " + auth_mechanism_));
}

// RFC 4954 §4: "*" cancels the exchange; its reply is read, then the failure stands.
void Protocol::cancel_auth(Failure failure) {
  send("*\r\n");
  auth_cancelled_ = std::move(failure);
  phase_ = Phase::AuthCancel;
}

void Protocol::setup_refused(const smtp::Reply& reply, Failure failure) {
  // RFC 5321 §3.8: with 421 the server closes the channel; nothing more is said on it.
  if (reply.code == 421) broken_ = true;
  fail(std::move(failure));
}

void Protocol::ready() {
  set_up_ = true;
  outbox_.push_back(SessionReady{options_.username.empty() ? "" : auth_mechanism_, capabilities_.pipelining});
  start_transaction();
}

}  // namespace smtp_client
