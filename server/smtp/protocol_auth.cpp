// AUTH (RFC 4954) with PLAIN and LOGIN, and OAUTHBEARER (RFC 7628) and XOAUTH2 when offered: the
// command, the SASL response lines, the hand-off of the credentials to the driver, and the error
// exchange that refuses a bearer token.
#include <string>
#include <utility>

#include "server/smtp/ascii.hpp"
#include "server/smtp/base64.hpp"
#include "server/smtp/protocol.hpp"
#include "server/smtp/sasl.hpp"

namespace smtp {

void Protocol::auth(std::string_view argument) {
  // Inbound and LMTP serve anyone: there is nobody to log in.
  if (!requires_auth()) return send(503, "5.5.1", "Authentication not enabled");
  if (!extended_) return send(503, "5.5.1", "Send EHLO first");
  // RFC 4954 §4. A transaction implies an authenticated user, so it is checked first to be told.
  if (transaction_) return send(503, "5.5.1", "Not allowed during a mail transaction");
  if (!user_.empty()) return send(503, "5.5.1", "Already authenticated");
  if (!offers_auth()) return send(538, "5.7.11", "Encryption required for requested authentication mechanism");

  const std::vector<std::string_view> words = split_on_spaces(argument);
  if (words.empty() || words.size() > 2) return send(501, "5.5.4", "Syntax: AUTH mechanism [initial-response]");
  const std::string mechanism = to_ascii_upper(words[0]);
  const bool has_initial_response = words.size() == 2;

  if (mechanism == "PLAIN") {
    if (!has_initial_response) {
      sasl_stage_ = SaslStage::PlainMessage;
      input_mode_ = InputMode::AuthResponse;
      return send(334, "", "");
    }
    const std::optional<std::string> message = decode_initial_response(words[1]);
    if (!message) return send(501, "5.5.2", "Invalid base64 data");
    return verify_plain(*message);
  }

  if (mechanism == "LOGIN") {
    // The initial response, if any, is the username.
    if (!has_initial_response) {
      sasl_stage_ = SaslStage::LoginUsername;
      input_mode_ = InputMode::AuthResponse;
      return send(334, "", kLoginUsernameChallenge);
    }
    const std::optional<std::string> username = decode_initial_response(words[1]);
    if (!username) return send(501, "5.5.2", "Invalid base64 data");
    login_username_ = *username;
    sasl_stage_ = SaslStage::LoginPassword;
    input_mode_ = InputMode::AuthResponse;
    return send(334, "", kLoginPasswordChallenge);
  }

  if (options_.offer_oauth && mechanism == "OAUTHBEARER") {
    return start_bearer(SaslStage::OAuthBearerMessage, words);
  }
  if (options_.offer_oauth && mechanism == "XOAUTH2") return start_bearer(SaslStage::XOAuth2Message, words);

  send(504, "5.5.4", "Unrecognized authentication mechanism");
}

// One SASL response line (RFC 4954 §4): base64, or "*" to cancel.
void Protocol::auth_response(std::string_view line) {
  input_mode_ = InputMode::Commands;
  // RFC 7628 §3.2.3: the client acknowledges the error (%x01; XOAUTH2 clients send an empty line).
  if (sasl_stage_ == SaslStage::BearerRefused) return send(535, "5.7.8", "Authentication credentials invalid");
  if (line == "*") {
    login_username_.clear();
    return send(501, "5.7.0", "Authentication cancelled");
  }
  const std::optional<std::string> decoded = base64_decode(line);
  if (!decoded) {
    login_username_.clear();
    return send(501, "5.5.2", "Invalid base64 data");
  }
  switch (sasl_stage_) {
    case SaslStage::PlainMessage:
      return verify_plain(*decoded);
    case SaslStage::LoginUsername:
      login_username_ = *decoded;
      sasl_stage_ = SaslStage::LoginPassword;
      input_mode_ = InputMode::AuthResponse;
      return send(334, "", kLoginPasswordChallenge);
    case SaslStage::LoginPassword:
      return verify_login(*decoded);
    case SaslStage::OAuthBearerMessage:
    case SaslStage::XOAuth2Message:
      return verify_bearer(sasl_stage_, *decoded);
    case SaslStage::BearerRefused:
      break;  // answered above
  }
}

void Protocol::verify_plain(std::string_view message) {
  std::optional<PlainMessage> plain = parse_plain_message(message);
  if (!plain) return send(501, "5.5.2", "Invalid PLAIN payload");
  const VerifyCredentials verify{std::move(plain->authzid), std::move(plain->authcid), std::move(plain->password)};
  await(verify, verify);
}

// LOGIN has no framing of its own; refuse what PLAIN's framing would refuse.
void Protocol::verify_login(std::string_view password) {
  std::string username = std::exchange(login_username_, {});
  const auto has_nul = [](std::string_view text) { return text.find('\0') != std::string_view::npos; };
  if (username.empty() || password.empty() || has_nul(username) || has_nul(password)) {
    return send(501, "5.5.2", "Invalid LOGIN payload");
  }
  const VerifyCredentials verify{"", std::move(username), std::string(password)};
  await(verify, verify);
}

void Protocol::start_bearer(SaslStage stage, const std::vector<std::string_view>& words) {
  if (words.size() == 1) {
    sasl_stage_ = stage;
    input_mode_ = InputMode::AuthResponse;
    return send(334, "", "");
  }
  const std::optional<std::string> message = decode_initial_response(words[1]);
  if (!message) return send(501, "5.5.2", "Invalid base64 data");
  verify_bearer(stage, *message);
}

void Protocol::verify_bearer(SaslStage stage, std::string_view message) {
  const bool oauthbearer = stage == SaslStage::OAuthBearerMessage;
  std::optional<BearerMessage> bearer = oauthbearer ? parse_oauthbearer_message(message) : parse_xoauth2_message(message);
  if (!bearer) return send(501, "5.5.2", oauthbearer ? "Invalid OAUTHBEARER payload" : "Invalid XOAUTH2 payload");
  const VerifyBearerToken verify{oauthbearer ? "OAUTHBEARER" : "XOAUTH2", std::move(bearer->user),
                                 std::move(bearer->token)};
  await(verify, verify);
}

// RFC 7628 §3.2.2: the error goes as a challenge, and the 535 only after the client answers it.
void Protocol::refuse_bearer_token() {
  sasl_stage_ = SaslStage::BearerRefused;
  input_mode_ = InputMode::AuthResponse;
  send(334, "", bearer_error_challenge(options_.oauth_scope));
}

}  // namespace smtp
