// The SMTP client as scripted dialogs, for the smtp_client_*_test.cpp files: a ClientDialog
// drives one smtp_client::Protocol the way the upstream session does and checks it against a
// script, one entry per line of the conversation:
//
//   "S: 250 2.1.0 Ok"    the server sends this line (CRLF added); lines queue up until the
//                        client reads, so consecutive ones arrive in one read
//   "C: MAIL FROM:<a@x>" the client writes this line next (a PIPELINING group is several)
//   "-- connect"         the client asks to connect; the connection opens
//   "-- connect fails: T", "-- resolve fails: T"   ... and fails with text T
//   "-- tls"             the client asks for the TLS handshake; it succeeds
//   "-- tls fails: D"    ... and fails with detail D
//   "-- body"            the client asks for the body; its dot-stuffed lines follow as "C:"
//   "-- closed", "-- timeout", "-- reset"   the write or read in progress fails so
//   "-- done"            the transaction is over (result() holds it)
//   "-- idle"            the session waits for the next message
//   "-- close", "-- hang up"   the client closes politely, or hangs up
//   "-- quit", "-- begin"      the driver calls quit(), or begin() with the same envelope
//
//   ClientDialog dialog;
//   dialog.begin(envelope({"bob@example.net"}));
//   ASSERT_TRUE(dialog.play({"-- connect", "S: 220 mx.test", "C: EHLO relay.test", ...}));
#pragma once

#include "server/smtp_client/protocol.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <deque>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <variant>
#include <vector>

namespace smtp_client_test {

using Lines = std::vector<std::string>;

inline smtp_client::ProtocolOptions plain_options() {
  smtp_client::ProtocolOptions options;
  options.peer = "mx.test:587";
  options.ehlo_name = "relay.test";
  options.security = smtp_client::Security::None;
  return options;
}

inline smtp_client::ProtocolOptions starttls_options() {
  smtp_client::ProtocolOptions options = plain_options();
  options.security = smtp_client::Security::StartTls;
  return options;
}

inline smtp_client::ProtocolOptions auth_options() {
  smtp_client::ProtocolOptions options = plain_options();
  options.username = "relay-user";
  options.password = "secret";
  return options;
}

inline const std::string kBody = "Hi.\r\n";

inline smtp_client::Envelope envelope(std::vector<std::string> recipients = {"bob@example.net"},
                                      std::string_view body = kBody) {
  smtp_client::Envelope envelope;
  envelope.sender = "alice@example.com";
  envelope.recipients = std::move(recipients);
  envelope.size = smtp_client::DotStuffer::size_as_sent(body);
  return envelope;
}

// A new plain session up to the EHLO reply, which offers these extensions.
inline std::vector<std::string> greeted(const std::vector<std::string>& extensions = {}) {
  std::vector<std::string> script = {"-- connect", "S: 220 mx.test ESMTP", "C: EHLO relay.test"};
  if (extensions.empty()) script.push_back("S: 250 mx.test");
  else script.push_back("S: 250-mx.test");
  for (std::size_t i = 0; i < extensions.size(); ++i) {
    script.push_back((i + 1 < extensions.size() ? "S: 250-" : "S: 250 ") + extensions[i]);
  }
  return script;
}

// The rest of a plain transaction for the default envelope, after the setup: delivered, idle.
inline const std::vector<std::string> kOneMessage = {
    "C: MAIL FROM:<alice@example.com>",
    "S: 250 2.1.0 Ok",
    "C: RCPT TO:<bob@example.net>",
    "S: 250 2.1.5 Ok",
    "C: DATA",
    "S: 354 go ahead",
    "-- body",
    "C: Hi.",
    "C: .",
    "S: 250 2.0.0 Ok: queued",
    "-- done",
    "-- idle",
};

// script, then more.
inline std::vector<std::string> then(std::vector<std::string> script, const std::vector<std::string>& more) {
  script.insert(script.end(), more.begin(), more.end());
  return script;
}

inline std::string describe(const smtp_client::Step& step) {
  using namespace smtp_client;
  if (const auto* send = std::get_if<SendCommands>(&step)) return "SendCommands \"" + send->bytes + "\"";
  if (const auto* read = std::get_if<ReadReply>(&step)) {
    return read->end_of_data ? "ReadReply (end of data)" : "ReadReply";
  }
  if (std::holds_alternative<Connect>(step)) return "Connect";
  if (std::holds_alternative<TlsHandshake>(step)) return "TlsHandshake";
  if (std::holds_alternative<SendBody>(step)) return "SendBody";
  if (std::holds_alternative<SessionReady>(step)) return "SessionReady";
  if (std::holds_alternative<TransactionDone>(step)) return "TransactionDone";
  if (std::holds_alternative<Idle>(step)) return "Idle";
  return std::get<Close>(step).polite ? "Close (polite)" : "Close (hang up)";
}

class ClientDialog {
 public:
  explicit ClientDialog(smtp_client::ProtocolOptions options = plain_options()) : protocol_(std::move(options)) {}

  void begin(smtp_client::Envelope envelope, std::string body = kBody) {
    envelope_ = std::move(envelope);
    body_ = std::move(body);
    protocol_.begin(envelope_);
  }
  // The body goes to body_piece() in pieces of this many bytes (default: whole).
  void set_piece_size(std::size_t size) { piece_size_ = size; }

  ::testing::AssertionResult play(const std::vector<std::string>& script) {
    std::size_t index = 0;
    for (std::string_view entry : script) {
      ++index;
      std::string problem = play_one(entry);
      if (!problem.empty()) {
        return ::testing::AssertionFailure() << "script line " << index << " \"" << entry << "\": " << problem;
      }
    }
    if (!lines_.empty()) return ::testing::AssertionFailure() << "the client also wrote \"" << lines_.front() << "\"";
    return ::testing::AssertionSuccess();
  }

  const smtp_client::TransactionResult& result() const { return result_; }
  // result() as "<one-line reply>" per recipient.
  Lines replies() const {
    Lines out;
    for (const auto& recipient : result_.recipients) out.push_back(recipient.reply.one_line());
    return out;
  }
  std::vector<smtp_client::Outcome> outcomes() const {
    std::vector<smtp_client::Outcome> out;
    for (const auto& recipient : result_.recipients) out.push_back(recipient.outcome);
    return out;
  }
  const Lines& writes() const { return writes_; }                     // each write, in order
  const std::vector<smtp_client::ReadReply>& reads() const { return reads_; }  // each read
  const std::optional<smtp_client::SessionReady>& ready() const { return ready_; }
  smtp_client::Protocol& protocol() { return protocol_; }

 private:
  std::string play_one(std::string_view entry) {
    using namespace smtp_client;
    if (entry.starts_with("S: ")) {
      server_ += std::string(entry.substr(3)) + "\r\n";
      return "";
    }
    if (entry.starts_with("C: ")) {
      pump();
      if (lines_.empty()) return "the client waits: " + (held_ ? describe(*held_) : std::string("?"));
      std::string line = std::move(lines_.front());
      lines_.pop_front();
      return line == entry.substr(3) ? "" : "the client wrote \"" + line + "\"";
    }
    if (entry == "-- quit" || entry == "-- begin") {
      if (held_ && !repeated(*held_)) return "the client still has " + describe(*held_);
      held_.reset();
      if (entry == "-- quit") protocol_.quit();
      else protocol_.begin(envelope_);
      return "";
    }
    if (entry == "-- closed" || entry == "-- timeout" || entry == "-- reset") return fail_io(entry);
    pump();
    if (!lines_.empty()) return "the client wrote \"" + lines_.front() + "\"";
    if (!held_) return "the client does nothing";
    const Step step = *std::exchange(held_, std::nullopt);
    return answer(entry, step);
  }

  // Answers the step the client waits on with what the entry says.
  std::string answer(std::string_view entry, const smtp_client::Step& step) {
    using namespace smtp_client;
    const auto expect = [&](bool ok) { return ok ? std::string() : "the client wants " + describe(step); };
    auto after = [&](std::string_view prefix) { return std::string(entry.substr(prefix.size())); };
    if (entry == "-- connect") {
      if (!std::holds_alternative<Connect>(step)) return expect(false);
      protocol_.connected();
    } else if (entry.starts_with("-- connect fails: ") || entry.starts_with("-- resolve fails: ")) {
      if (!std::holds_alternative<Connect>(step)) return expect(false);
      const bool resolve = entry.starts_with("-- resolve");
      protocol_.connect_failed(resolve ? ConnectFailure::Resolve : ConnectFailure::Connect,
                               after(resolve ? "-- resolve fails: " : "-- connect fails: "));
    } else if (entry == "-- tls") {
      if (!std::holds_alternative<TlsHandshake>(step)) return expect(false);
      protocol_.tls_started();
    } else if (entry.starts_with("-- tls fails: ")) {
      if (!std::holds_alternative<TlsHandshake>(step)) return expect(false);
      protocol_.tls_failed(after("-- tls fails: "));
    } else if (entry == "-- body") {
      if (!std::holds_alternative<SendBody>(step)) return expect(false);
      send_body();
    } else if (entry == "-- done") {
      const auto* done = std::get_if<TransactionDone>(&step);
      if (done == nullptr) return expect(false);
      result_ = done->result;
    } else if (entry == "-- idle") {
      return expect(std::holds_alternative<Idle>(step));
    } else if (entry == "-- close" || entry == "-- hang up") {
      const auto* close = std::get_if<Close>(&step);
      return expect(close != nullptr && close->polite == (entry == "-- close"));
    } else {
      return "unknown script entry";
    }
    return "";
  }

  std::string fail_io(std::string_view entry) {
    using namespace smtp_client;
    // A write the script has not matched yet is the one that fails; else the pending read.
    if (lines_.empty()) {
      pump();
      if (lines_.empty() && !(held_ && (std::holds_alternative<ReadReply>(*held_) ||
                                        std::holds_alternative<SendBody>(*held_)))) {
        return "the client does no I/O: " + (held_ ? describe(*held_) : std::string("?"));
      }
    }
    lines_.clear();
    held_.reset();
    if (entry == "-- closed") protocol_.connection_failed(IoFailure::Closed);
    else if (entry == "-- timeout") protocol_.connection_failed(IoFailure::Timeout);
    else protocol_.connection_failed(IoFailure::Error, "Connection reset by peer");
    return "";
  }

  void send_body() {
    std::string out;
    const std::size_t piece = piece_size_ == 0 ? std::max<std::size_t>(1, body_.size()) : piece_size_;
    for (std::size_t pos = 0; pos < body_.size(); pos += piece) {
      out += protocol_.body_piece(std::string_view(body_).substr(pos, piece));
    }
    out += protocol_.body_end();
    add_written(out);
  }

  void add_written(const std::string& bytes) {
    writes_.push_back(bytes);
    std::size_t start = 0;
    while (start < bytes.size()) {
      const std::size_t crlf = bytes.find("\r\n", start);
      const std::size_t end = crlf == std::string::npos ? bytes.size() : crlf;
      lines_.push_back(bytes.substr(start, end - start) + (crlf == std::string::npos ? "<no CRLF>" : ""));
      start = crlf == std::string::npos ? bytes.size() : crlf + 2;
    }
  }

  // Steps that next() hands out again until they are answered.
  static bool repeated(const smtp_client::Step& step) {
    using namespace smtp_client;
    return std::holds_alternative<ReadReply>(step) || std::holds_alternative<Idle>(step) ||
           std::holds_alternative<Connect>(step) || std::holds_alternative<TlsHandshake>(step) ||
           std::holds_alternative<SendBody>(step) || std::holds_alternative<Close>(step);
  }

  // Runs the client until it wrote something or waits for what the script has not given yet.
  void pump() {
    using namespace smtp_client;
    for (int steps = 0; steps < 10000 && lines_.empty(); ++steps) {
      if (held_) {
        if (!std::holds_alternative<ReadReply>(*held_) || server_.empty()) return;
        held_.reset();
        protocol_.receive(std::exchange(server_, std::string()));
      }
      Step step = protocol_.next();
      if (const auto* send = std::get_if<SendCommands>(&step)) {
        add_written(send->bytes);
      } else if (const auto* ready = std::get_if<SessionReady>(&step)) {
        ready_ = *ready;
      } else {
        if (const auto* read = std::get_if<ReadReply>(&step)) reads_.push_back(*read);
        held_ = std::move(step);
      }
    }
  }

  smtp_client::Protocol protocol_;
  smtp_client::Envelope envelope_;
  std::string body_ = kBody;
  std::size_t piece_size_ = 0;
  std::string server_;              // sent by the server, not read yet
  std::deque<std::string> lines_;   // written by the client, not matched yet
  std::optional<smtp_client::Step> held_;  // what the client waits on
  std::optional<smtp_client::SessionReady> ready_;
  smtp_client::TransactionResult result_;
  Lines writes_;
  std::vector<smtp_client::ReadReply> reads_;
};

}  // namespace smtp_client_test
