// The SMTP session as a dialog, for the smtp_protocol_*_test.cpp files: a Dialog drives one
// smtp::Protocol the way the network driver does and returns the replies as the client would
// read them; authenticated(), in_transaction(), with_recipient() and in_data() start one in
// the state a test needs.
//
//   Dialog dialog = authenticated();
//   EXPECT_EQ(dialog.feed("MAIL FROM:<alice@example.org>\r\n"), "");
//   EXPECT_EQ(dialog.sender_checked(Outcome::accepted()), "250 2.1.0 Ok\r\n");
#pragma once

#include <string>
#include <string_view>
#include <utility>
#include <variant>
#include <vector>

#include "server/smtp/protocol.hpp"

namespace smtp_test {

inline const std::string kGreeting = "220 mx.example.org ESMTP Postern\r\n";
inline const std::string kPlainAlice = "AGFsaWNlAHNlY3JldA==";  // "\0alice\0secret"

inline smtp::ProtocolOptions implicit_tls() {
  smtp::ProtocolOptions options;
  options.hostname = "mx.example.org";
  options.tls_active = true;
  return options;
}

inline smtp::ProtocolOptions plaintext_with_starttls() {
  smtp::ProtocolOptions options = implicit_tls();
  options.tls_active = false;
  options.tls_available = true;
  return options;
}

// Drives one Protocol: each call returns the wire text of the replies up to the step where
// the driver would stop (NeedInput, an asynchronous step, or Close), which stopped_at() holds.
// MessageData pieces are kept as the session driver spools them: message_content() is what
// the latest AcceptMessage handed over (the pieces since the previous one, joined), and the
// pieces of a message the protocol refuses are dropped.
class Dialog {
 public:
  explicit Dialog(smtp::ProtocolOptions options = implicit_tls()) : protocol_(std::move(options)) {
    greeting_ = run();
  }

  const std::string& greeting() const { return greeting_; }
  std::string feed(std::string_view bytes) {
    protocol_.receive(bytes);
    return run();
  }
  std::string credentials_checked(smtp::Outcome outcome) {
    protocol_.credentials_checked(std::move(outcome));
    return run();
  }
  std::string sender_checked(smtp::Outcome outcome) {
    protocol_.sender_checked(std::move(outcome));
    return run();
  }
  std::string recipient_checked(smtp::Outcome outcome) {
    protocol_.recipient_checked(std::move(outcome));
    return run();
  }
  std::string message_handled(smtp::Outcome outcome) {
    protocol_.message_handled(std::move(outcome));
    return run();
  }
  std::string tls_handshake() {
    protocol_.tls_started();
    return run();
  }
  // Calls next() once more without answering, as a buggy driver would.
  std::string again() { return run(); }

  const smtp::Step& stopped_at() const { return stop_; }
  template <class T>
  bool awaits() const {
    return std::holds_alternative<T>(stop_);
  }
  bool needs_input() const { return awaits<smtp::NeedInput>(); }
  bool closed() const { return awaits<smtp::Close>(); }
  // Every message the protocol refused by itself so far, in order.
  const std::vector<smtp::MessageRefusal>& refused_messages() const { return refused_messages_; }
  // The content handed over with the latest AcceptMessage: the MessageData pieces before it,
  // joined (a repeated AcceptMessage hands over nothing more); empty after a protocol refusal.
  const std::string& message_content() const { return content_; }
  // The size of every MessageData piece so far, of every message, in order.
  const std::vector<std::size_t>& piece_sizes() const { return piece_sizes_; }
  smtp::Protocol& protocol() { return protocol_; }

 private:
  std::string run() {
    std::string wire;
    for (;;) {
      smtp::Step step = protocol_.next();
      if (const auto* send = std::get_if<smtp::SendReply>(&step)) {
        wire += send->reply.wire();
        if (send->refused_message) {
          refused_messages_.push_back(*send->refused_message);
          spooled_.clear();  // the driver drops the pieces of a refused message
          content_.clear();
        }
        continue;
      }
      if (auto* data = std::get_if<smtp::MessageData>(&step)) {
        piece_sizes_.push_back(data->piece.size());
        spooled_ += data->piece;
        continue;
      }
      if (std::holds_alternative<smtp::AcceptMessage>(step)) content_ = std::exchange(spooled_, {});
      stop_ = std::move(step);
      return wire;
    }
  }

  smtp::Protocol protocol_;
  std::string greeting_;
  smtp::Step stop_ = smtp::NeedInput{};
  std::vector<smtp::MessageRefusal> refused_messages_;
  std::string spooled_;  // pieces of the message being read
  std::string content_;
  std::vector<std::size_t> piece_sizes_;
};

// Greeted with EHLO and authenticated as alice.
inline Dialog authenticated(smtp::ProtocolOptions options = implicit_tls()) {
  Dialog dialog(std::move(options));
  dialog.feed("EHLO client.example\r\n");
  dialog.feed("AUTH PLAIN " + kPlainAlice + "\r\n");
  dialog.credentials_checked(smtp::Outcome::accepted());
  return dialog;
}

// ... with MAIL FROM:<alice@example.org> allowed.
inline Dialog in_transaction(smtp::ProtocolOptions options = implicit_tls()) {
  Dialog dialog = authenticated(std::move(options));
  dialog.feed("MAIL FROM:<alice@example.org>\r\n");
  dialog.sender_checked(smtp::Outcome::accepted());
  return dialog;
}

// ... and one recipient.
inline Dialog with_recipient(smtp::ProtocolOptions options = implicit_tls()) {
  Dialog dialog = in_transaction(std::move(options));
  dialog.feed("RCPT TO:<bob@example.net>\r\n");
  return dialog;
}

// ... and in DATA.
inline Dialog in_data(smtp::ProtocolOptions options = implicit_tls()) {
  Dialog dialog = with_recipient(std::move(options));
  dialog.feed("DATA\r\n");
  return dialog;
}

}  // namespace smtp_test
