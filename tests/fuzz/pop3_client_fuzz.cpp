// Drives pop3_client::Protocol with arbitrary server bytes, as the POP-before-SMTP gate would,
// and checks the invariants every login must keep whatever the server sends.
//
// Input: the first byte chooses the session (bits 0-1: security none, STLS, implicit TLS; bit 2:
// a username long enough that AUTH PLAIN waits for the challenge; bit 3: the TLS handshake
// fails), the second the read size (the low 6 bits, or the whole input when they are 0); the
// rest is what the server sends.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>
#include <variant>

#include "server/pop3_client/protocol.hpp"

namespace {

using namespace pop3_client;

constexpr int kMaxIdleSteps = 1000;  // steps in a row without input: a loop
const std::string kPassword = "s3cret-Pop";

void check(bool invariant) {
  if (!invariant) std::abort();
}

// Commands are CRLF lines with no CR, LF or NUL inside and at most 255 octets (RFC 2449 §4); the
// SASL response after a "+ " is not a command and may be longer (RFC 5034 §4).
void check_command(std::string_view bytes, bool sasl_response) {
  check(bytes.ends_with("\r\n"));
  check(bytes.size() <= (sasl_response ? 1024 : 255));
  for (std::size_t i = 0; i + 2 < bytes.size(); ++i) {
    check(bytes[i] != '\0' && bytes[i] != '\r' && bytes[i] != '\n');
  }
}

void check_result(const LoginResult& result) {
  check(result.text.find(kPassword) == std::string::npos);
  check(result.reply.find(kPassword) == std::string::npos);
  check(result.logged_in() == result.text.empty());
  check(result.outcome != LoginOutcome::LoggedIn || !result.mechanism.empty());
  check(result.outcome != LoginOutcome::Refused || result.reply.starts_with("-ERR"));
  for (const char c : result.reply) check(c >= 0x20 && c <= 0x7e);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size < 2) return 0;
  const std::uint8_t flags = data[0];
  const std::size_t read_size = (data[1] & 0x3F) == 0 ? size : (data[1] & 0x3F);
  const std::string_view server(reinterpret_cast<const char*>(data + 2), size - 2);

  LoginOptions options;
  options.peer = "pop.test:995";
  options.security = (flags & 3) == 1 ? Security::StartTls : (flags & 3) == 2 ? Security::ImplicitTls : Security::None;
  options.username = (flags & 0x04) ? std::string(200, 'u') : "pop-user";
  options.password = kPassword;
  Protocol protocol(options);

  bool tls = false;
  bool after_auth_plain = false;  // the last command was AUTH PLAIN without its response
  bool plaintext_password = false;
  int results = 0;
  int idle_steps = 0;
  std::size_t pos = 0;
  for (;;) {
    check(++idle_steps < kMaxIdleSteps);
    const Step step = protocol.next();
    if (std::holds_alternative<Connect>(step)) {
      protocol.connected();
    } else if (const auto* send = std::get_if<SendCommand>(&step)) {
      check_command(send->bytes, after_auth_plain);
      after_auth_plain = send->bytes == "AUTH PLAIN\r\n";
      // STLS required: no credentials before TLS.
      if (send->bytes.starts_with("PASS") || send->bytes.starts_with("AUTH") || send->bytes.starts_with("USER")) {
        plaintext_password = plaintext_password || !tls;
      }
      check(options.security != Security::StartTls || !plaintext_password);
    } else if (std::holds_alternative<ReadResponse>(step)) {
      if (pos >= server.size()) {
        protocol.connection_failed(IoFailure::Closed);
      } else {
        protocol.receive(server.substr(pos, read_size));
        pos += read_size;
        idle_steps = 0;
      }
    } else if (std::holds_alternative<TlsHandshake>(step)) {
      check(options.security != Security::None);
      if (flags & 0x08) {
        protocol.tls_failed("certificate verify failed (self-signed certificate)");
      } else {
        protocol.tls_started();
        tls = true;
      }
    } else if (const auto* done = std::get_if<LoginDone>(&step)) {
      check(++results == 1);
      check_result(done->result);
    } else {
      check(std::holds_alternative<Close>(step));
      check(results == 1);
      check(protocol.next() == step);
      return 0;
    }
  }
}
