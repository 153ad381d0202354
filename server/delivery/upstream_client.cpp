// See upstream_client.hpp.
#include "server/delivery/upstream_client.hpp"

#include "server/delivery/smtp_reply_reader.hpp"
#include "server/runtime/log.hpp"

#include <boost/asio/buffer.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/redirect_error.hpp>
#include <boost/asio/ssl/context.hpp>
#include <boost/asio/ssl/error.hpp>
#include <boost/asio/ssl/stream.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/write.hpp>

#include <openssl/ssl.h>
#include <openssl/x509v3.h>

#include <algorithm>
#include <array>
#include <chrono>
#include <exception>
#include <stdexcept>
#include <string_view>

namespace postern::delivery {
namespace asio = boost::asio;
using asio::ip::tcp;

namespace {

constexpr std::size_t kDataChunk = 64 * 1024;
constexpr std::chrono::seconds kQuitLimit{10};

// A failure that ends the attempt. code/reply go to every recipient without a result yet;
// text becomes DeliveryReport::error.
struct Failure {
  int code = 451;
  std::string reply;
  std::string text;
};

Failure temporary(std::string_view enhanced, std::string text) {
  return {451, "451 " + std::string(enhanced) + " " + text, std::move(text)};
}

// The upstream refused a step with a reply that decides for every recipient: its 4xx or 5xx
// stands (AUTH, MAIL FROM).
Failure refused(const SmtpReply& reply, const std::string& what) {
  if (reply.code < 400) return temporary("4.5.0", what + ": unexpected reply " + reply.one_line());
  return {reply.code, reply.one_line(), what + " refused: " + reply.one_line()};
}

// A refusal that only ever counts as temporary (greeting, EHLO, STARTTLS): the upstream's own
// 4xx, or 451 quoting its 5xx.
Failure refused_temporarily(const SmtpReply& reply, const std::string& what) {
  if (reply.transient()) return {reply.code, reply.one_line(), what + " refused: " + reply.one_line()};
  return temporary("4.4.0", what + " refused: " + reply.one_line());
}

RecipientResult result_of(const SmtpReply& reply) {
  if (reply.code >= 200 && reply.code < 300) return {reply.code, reply.one_line()};
  if (reply.code >= 400) return {reply.code, reply.one_line()};
  return {451, "451 4.5.0 unexpected reply " + reply.one_line()};
}

std::string base64(std::string_view bytes) {
  static constexpr char kAlphabet[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  std::string out;
  out.reserve((bytes.size() + 2) / 3 * 4);
  std::size_t i = 0;
  for (; i + 2 < bytes.size(); i += 3) {
    unsigned v = static_cast<unsigned char>(bytes[i]) << 16 | static_cast<unsigned char>(bytes[i + 1]) << 8 |
                 static_cast<unsigned char>(bytes[i + 2]);
    out += kAlphabet[v >> 18 & 63];
    out += kAlphabet[v >> 12 & 63];
    out += kAlphabet[v >> 6 & 63];
    out += kAlphabet[v & 63];
  }
  if (i + 1 == bytes.size()) {
    unsigned v = static_cast<unsigned char>(bytes[i]) << 16;
    out += kAlphabet[v >> 18 & 63];
    out += kAlphabet[v >> 12 & 63];
    out += "==";
  } else if (i + 2 == bytes.size()) {
    unsigned v = static_cast<unsigned char>(bytes[i]) << 16 | static_cast<unsigned char>(bytes[i + 1]) << 8;
    out += kAlphabet[v >> 18 & 63];
    out += kAlphabet[v >> 12 & 63];
    out += kAlphabet[v >> 6 & 63];
    out += '=';
  }
  return out;
}

// An address that can go between <> on a command line: no line breaks, no angle brackets, no
// control characters, at most RFC 5321's 256 octets of path.
bool sendable_address(std::string_view address) {
  if (address.size() > 254) return false;
  return std::none_of(address.begin(), address.end(), [](char c) {
    auto u = static_cast<unsigned char>(c);
    return u < 0x20 || u == 0x7f || c == '<' || c == '>';
  });
}

bool is_ip_address(const std::string& host) {
  boost::system::error_code ec;
  asio::ip::make_address(host, ec);
  return !ec;
}

asio::ssl::context& plain_context() {
  // The stream type needs a context even when the upstream never does TLS.
  static asio::ssl::context unused{asio::ssl::context::tls_client};
  return unused;
}

}  // namespace

std::shared_ptr<asio::ssl::context> make_upstream_tls_context(const Upstream& upstream) {
  auto context = std::make_shared<asio::ssl::context>(asio::ssl::context::tls_client);
  SSL_CTX* native = context->native_handle();
  SSL_CTX_set_min_proto_version(native, TLS1_2_VERSION);
  SSL_CTX_set_options(native, SSL_OP_NO_COMPRESSION | SSL_OP_NO_RENEGOTIATION);
  if (upstream.verify_certificate) {
    boost::system::error_code ec;
    if (!upstream.ca_file.empty()) {
      context->load_verify_file(upstream.ca_file, ec);
      if (ec) throw std::runtime_error("cannot load CA file " + upstream.ca_file + ": " + ec.message());
    } else {
      context->set_default_verify_paths(ec);
      if (ec) throw std::runtime_error("cannot load the system CA store: " + ec.message());
    }
    context->set_verify_mode(asio::ssl::verify_peer);
  } else {
    context->set_verify_mode(asio::ssl::verify_none);
  }
  return context;
}

class UpstreamClient::Impl : public std::enable_shared_from_this<UpstreamClient::Impl> {
 public:
  Impl(asio::any_io_executor executor, const Upstream& upstream, std::string ehlo_name,
       std::shared_ptr<asio::ssl::context> tls)
      : executor_(std::move(executor)),
        upstream_(upstream),
        ehlo_name_(std::move(ehlo_name)),
        tls_(std::move(tls)),
        stream_(executor_, tls_ ? *tls_ : plain_context()),
        resolver_(executor_),
        deadline_(executor_),
        peer_(upstream_.host + ":" + std::to_string(upstream_.port)),
        limit_(std::max(1u, upstream_.timeout_seconds)) {}

  const asio::any_io_executor& executor() const { return executor_; }
  bool reusable() const { return ready_ && !broken_ && clean_; }
  bool stale() const { return stale_; }
  unsigned transactions() const { return transactions_; }

  asio::awaitable<DeliveryReport> deliver(const OutboundMessage& message) {
    DeliveryReport report;
    report.recipients.resize(message.recipients.size());
    stale_ = false;
    const bool reused = ready_;
    try {
      if (!ready_) co_await open();
      co_await transaction(message, report, reused);
    } catch (const Failure& failure) {
      report.error = failure.text;
      for (auto& r : report.recipients) {
        if (r.code == 0) r = {failure.code, failure.reply};
      }
    } catch (const std::exception& e) {
      broken_ = true;
      report.error = std::string("internal error: ") + e.what();
      for (auto& r : report.recipients) {
        if (r.code == 0) r = {451, "451 4.3.0 " + report.error};
      }
    }
    if (!report.error.empty()) {
      log::info("upstream_attempt_failed", {{"upstream", upstream_.name}, {"error", report.error},
                                            {"reused", reused ? "yes" : "no"}});
    }
    co_return report;
  }

  asio::awaitable<void> quit() {
    if (!socket().is_open()) co_return;
    ready_ = false;
    if (!broken_) {  // a healthy session, or one refused politely (a 554 greeting, no STARTTLS)
      try {
        co_await send("QUIT\r\n");
        co_await read_reply(std::min(limit_, kQuitLimit));
      } catch (const Failure&) {
      }
    }
    if (encrypted_ && !broken_) {
      boost::system::error_code ec;
      arm(std::min(limit_, std::chrono::seconds{5}));
      co_await stream_.async_shutdown(asio::redirect_error(asio::use_awaitable, ec));
      disarm();
    }
    close_socket();
    log::debug("upstream_closed", {{"upstream", upstream_.name}, {"transactions", std::to_string(transactions_)}});
  }

 private:
  tcp::socket& socket() { return stream_.next_layer(); }

  // ---- deadlines ----

  // The deadline cancels whatever I/O is pending when it expires. A generation number makes an
  // expiry that was already queued when the I/O finished harmless.
  void arm(std::chrono::seconds limit) {
    timed_out_ = false;
    const unsigned generation = ++generation_;
    deadline_.expires_after(limit);
    deadline_.async_wait([weak = weak_from_this(), generation](boost::system::error_code ec) {
      if (ec) return;
      auto self = weak.lock();
      if (!self || self->generation_ != generation) return;
      self->timed_out_ = true;
      boost::system::error_code ignored;
      self->socket().cancel(ignored);
      self->resolver_.cancel();
    });
  }

  void disarm() {
    ++generation_;
    deadline_.cancel();
  }

  void close_socket() {
    boost::system::error_code ignored;
    socket().shutdown(tcp::socket::shutdown_both, ignored);
    socket().close(ignored);
    ready_ = false;
  }

  // ---- I/O: each throws Failure (and marks the session broken) when it fails ----

  // what: "sending a command", "waiting for a reply"...
  Failure io_failure(const std::string& what, const boost::system::error_code& ec) {
    broken_ = true;
    last_io_timed_out_ = timed_out_;
    if (timed_out_) return temporary("4.4.2", "timed out " + what + " (" + peer_ + ")");
    if (ec == asio::error::eof || ec == asio::ssl::error::stream_truncated) {
      return temporary("4.4.2", peer_ + " closed the connection while " + what);
    }
    return temporary("4.4.2", "connection to " + peer_ + " failed while " + what + ": " + ec.message());
  }

  asio::awaitable<void> send(std::string_view bytes, const char* what = "sending a command") {
    boost::system::error_code ec;
    arm(limit_);
    if (encrypted_) co_await asio::async_write(stream_, asio::buffer(bytes.data(), bytes.size()), asio::redirect_error(asio::use_awaitable, ec));
    else co_await asio::async_write(socket(), asio::buffer(bytes.data(), bytes.size()), asio::redirect_error(asio::use_awaitable, ec));
    disarm();
    if (ec || timed_out_) throw io_failure(what, ec);
  }

  // One whole reply within limit (a trickling server does not get to extend it).
  asio::awaitable<SmtpReply> read_reply(std::chrono::seconds limit, const char* what = "waiting for a reply") {
    bool armed = false;
    for (;;) {
      if (auto reply = reader_.next()) {
        if (armed) disarm();
        co_return std::move(*reply);
      }
      if (reader_.failed()) {
        if (armed) disarm();
        broken_ = true;
        last_io_timed_out_ = false;
        throw temporary("4.5.0", "protocol error from " + peer_ + ": " + reader_.error());
      }
      if (!armed) {
        arm(limit);
        armed = true;
      }
      boost::system::error_code ec;
      std::size_t n = encrypted_
          ? co_await stream_.async_read_some(asio::buffer(buffer_), asio::redirect_error(asio::use_awaitable, ec))
          : co_await socket().async_read_some(asio::buffer(buffer_), asio::redirect_error(asio::use_awaitable, ec));
      if (ec || timed_out_) {
        disarm();
        throw io_failure(what, ec);
      }
      reader_.feed(std::string_view(buffer_.data(), n));
    }
  }

  // ---- session set-up ----

  asio::awaitable<void> open() {
    broken_ = false;
    clean_ = true;
    encrypted_ = false;
    transactions_ = 0;
    reader_ = SmtpReplyReader{};
    try {
      if (upstream_.security != UpstreamSecurity::None && !tls_) throw temporary("4.7.5", "no TLS context");
      co_await connect();
      if (upstream_.security == UpstreamSecurity::Tls) co_await handshake();
      SmtpReply greeting = co_await read_reply(limit_);
      if (greeting.code != 220) throw refused_temporarily(greeting, peer_ + " greeting");
      co_await hello();
      if (upstream_.security == UpstreamSecurity::StartTls) {
        if (!capabilities_.starttls) throw temporary("4.7.10", "upstream does not offer STARTTLS (" + peer_ + ")");
        co_await send("STARTTLS\r\n");
        SmtpReply reply = co_await read_reply(limit_);
        if (reply.code != 220) throw refused_temporarily(reply, peer_ + " STARTTLS");
        if (reader_.has_pending()) {
          broken_ = true;
          throw temporary("4.5.0", peer_ + " sent data after its STARTTLS reply");
        }
        co_await handshake();
        reader_ = SmtpReplyReader{};
        co_await hello();
      }
      if (!upstream_.username.empty()) co_await authenticate();
    } catch (const Failure&) {
      clean_ = false;  // quit() says goodbye when the session is still sound, hangs up when not
      throw;
    }
    ready_ = true;
    log::info("upstream_session", {{"upstream", upstream_.name}, {"peer", peer_},
                                   {"tls", encrypted_ ? SSL_get_version(stream_.native_handle()) : "none"},
                                   {"auth", upstream_.username.empty() ? "none" : auth_mechanism_},
                                   {"pipelining", capabilities_.pipelining ? "yes" : "no"}});
  }

  asio::awaitable<void> connect() {
    boost::system::error_code ec;
    arm(limit_);
    auto endpoints = co_await resolver_.async_resolve(upstream_.host, std::to_string(upstream_.port),
                                                      asio::redirect_error(asio::use_awaitable, ec));
    disarm();
    if (timed_out_) throw temporary("4.4.3", "cannot resolve " + upstream_.host + ": timed out");
    if (ec) throw temporary("4.4.3", "cannot resolve " + upstream_.host + ": " + ec.message());

    std::string last_error = "no address";
    for (const auto& entry : endpoints) {
      boost::system::error_code ignored;
      socket().close(ignored);
      ec = {};
      arm(limit_);
      co_await socket().async_connect(entry.endpoint(), asio::redirect_error(asio::use_awaitable, ec));
      disarm();
      if (!ec && !timed_out_) {
        socket().set_option(tcp::no_delay(true), ignored);
        co_return;
      }
      last_error = timed_out_ ? "timed out" : ec.message();
      log::debug("upstream_connect_failed", {{"upstream", upstream_.name},
                                             {"address", entry.endpoint().address().to_string()},
                                             {"error", last_error}});
    }
    boost::system::error_code ignored;
    socket().close(ignored);
    throw temporary("4.4.1", "connect to " + peer_ + " failed: " + last_error);
  }

  asio::awaitable<void> handshake() {
    SSL* ssl = stream_.native_handle();
    const bool ip = is_ip_address(upstream_.host);
    // SNI takes host names only (RFC 6066 §3).
    if (!ip) SSL_set_tlsext_host_name(ssl, upstream_.host.c_str());
    if (upstream_.verify_certificate) {
      // The name check by OpenSSL itself (what asio::ssl::host_name_verification does in a
      // callback), so that a mismatch reads "hostname mismatch" in SSL_get_verify_result.
      X509_VERIFY_PARAM* param = SSL_get0_param(ssl);
      X509_VERIFY_PARAM_set_hostflags(param, X509_CHECK_FLAG_NO_PARTIAL_WILDCARDS);
      if (ip) X509_VERIFY_PARAM_set1_ip_asc(param, upstream_.host.c_str());
      else X509_VERIFY_PARAM_set1_host(param, upstream_.host.c_str(), upstream_.host.size());
      stream_.set_verify_mode(asio::ssl::verify_peer);
    } else {
      stream_.set_verify_mode(asio::ssl::verify_none);
    }
    boost::system::error_code ec;
    arm(limit_);
    co_await stream_.async_handshake(asio::ssl::stream_base::client, asio::redirect_error(asio::use_awaitable, ec));
    disarm();
    if (ec || timed_out_) {
      broken_ = true;
      std::string detail;
      long verify = SSL_get_verify_result(ssl);
      if (timed_out_) detail = "timed out";
      else if (upstream_.verify_certificate && verify != X509_V_OK) {
        detail = std::string("certificate verify failed (") + X509_verify_cert_error_string(verify) + ")";
      } else if (ec == asio::error::eof || ec == asio::ssl::error::stream_truncated) {
        detail = "the server closed the connection";
      } else {
        detail = ec.message();
      }
      throw temporary("4.7.5", "TLS handshake with " + peer_ + " failed: " + detail);
    }
    encrypted_ = true;
  }

  asio::awaitable<void> hello() {
    co_await send("EHLO " + ehlo_name_ + "\r\n");
    SmtpReply reply = co_await read_reply(limit_);
    if (reply.code == 250) {
      capabilities_ = parse_ehlo(reply);
      co_return;
    }
    if (!reply.permanent()) throw refused_temporarily(reply, peer_ + " EHLO");
    // An old server: HELO, and no extensions at all.
    co_await send("HELO " + ehlo_name_ + "\r\n");
    SmtpReply helo = co_await read_reply(limit_);
    if (helo.code != 250) throw refused_temporarily(helo, peer_ + " HELO");
    capabilities_ = {};
  }

  asio::awaitable<void> authenticate() {
    if (capabilities_.auth.empty()) throw temporary("4.7.0", "upstream offers no AUTH (" + peer_ + ")");
    SmtpReply reply;
    if (capabilities_.offers_auth("PLAIN")) {
      auth_mechanism_ = "PLAIN";
      std::string token;
      token.push_back('\0');
      token += upstream_.username;
      token.push_back('\0');
      token += upstream_.password;
      co_await send("AUTH PLAIN " + base64(token) + "\r\n");
      reply = co_await read_reply(limit_);
      if (reply.code == 334) {  // a challenge after a complete initial response: give up
        co_await send("*\r\n");
        co_await read_reply(limit_);
        throw temporary("4.7.0", peer_ + " sent an unexpected AUTH PLAIN challenge");
      }
    } else if (capabilities_.offers_auth("LOGIN")) {
      auth_mechanism_ = "LOGIN";
      co_await send("AUTH LOGIN\r\n");
      reply = co_await read_reply(limit_);
      if (reply.code == 334) {
        co_await send(base64(upstream_.username) + "\r\n");
        reply = co_await read_reply(limit_);
        if (reply.code == 334) {
          co_await send(base64(upstream_.password) + "\r\n");
          reply = co_await read_reply(limit_);
        }
      }
    } else {
      std::string offered;
      for (const auto& m : capabilities_.auth) offered += (offered.empty() ? "" : " ") + m;
      throw temporary("4.7.0", "upstream " + peer_ + " offers neither AUTH PLAIN nor LOGIN (only " + offered + ")");
    }
    if (reply.code == 235) co_return;
    if (reply.code == 334) {  // LOGIN asking for more than user and password
      co_await send("*\r\n");
      co_await read_reply(limit_);
    }
    throw refused(reply, peer_ + " AUTH " + auth_mechanism_);
  }

  // ---- one transaction ----

  // RSET after a transaction that did not reach the end of DATA; a session whose RSET fails is
  // not used again.
  asio::awaitable<void> reset() {
    try {
      co_await send("RSET\r\n");
      SmtpReply reply = co_await read_reply(limit_);
      if (reply.code == 250) clean_ = true;
      else broken_ = true;
    } catch (const Failure&) {
    }
  }

  asio::awaitable<void> transaction(const OutboundMessage& message, DeliveryReport& report, bool reused) {
    // results[i] is set only for a final outcome; a Failure thrown from here gives its code to
    // every recipient still at 0, including those the upstream accepted at RCPT.
    auto& results = report.recipients;
    if (message.data == nullptr) throw temporary("4.3.0", "no message data");
    const std::string& data = *message.data;
    const bool add_crlf = !data.empty() && (data.size() < 2 || data.compare(data.size() - 2, 2, "\r\n") != 0);
    const std::uint64_t size = data.size() + (add_crlf ? 2 : 0);

    // Refusals decided before anything is sent: the session stays clean.
    if (!sendable_address(message.sender)) {
      throw Failure{553, "553 5.1.7 invalid sender address", "invalid sender address"};
    }
    if (message.smtputf8 && !capabilities_.smtputf8) {
      std::string text = "upstream " + peer_ + " does not support SMTPUTF8";
      throw Failure{550, "550 5.6.7 " + text, text};
    }
    if (capabilities_.size && capabilities_.max_size > 0 && size > capabilities_.max_size) {
      std::string text = "message size " + std::to_string(size) + " exceeds the limit of " + peer_ +
                         " (" + std::to_string(capabilities_.max_size) + " bytes)";
      throw Failure{552, "552 5.3.4 " + text, text};
    }
    std::vector<std::size_t> to_send;  // recipients that go on the wire
    for (std::size_t i = 0; i < message.recipients.size(); ++i) {
      if (!message.recipients[i].empty() && sendable_address(message.recipients[i])) to_send.push_back(i);
      else results[i] = {553, "553 5.1.3 invalid recipient address"};
    }
    if (to_send.empty()) co_return;

    std::string mail = "MAIL FROM:<" + message.sender + ">";
    if (capabilities_.size) mail += " SIZE=" + std::to_string(size);
    if (message.eight_bit_mime && capabilities_.eight_bit_mime) mail += " BODY=8BITMIME";
    if (message.smtputf8) mail += " SMTPUTF8";
    mail += "\r\n";

    clean_ = false;
    const bool pipelining = capabilities_.pipelining;
    std::string batch = mail;
    if (pipelining) {
      for (std::size_t i : to_send) batch += "RCPT TO:<" + message.recipients[i] + ">\r\n";
      batch += "DATA\r\n";
    }

    // MAIL. A reused connection found dead here (write failed, EOF, reset, 421) has taken
    // nothing of this message: stale, the pool sends it again on a fresh connection.
    SmtpReply mail_reply;
    try {
      co_await send(batch);
      mail_reply = co_await read_reply(limit_);
    } catch (const Failure&) {
      if (reused && !last_io_timed_out_) stale_ = true;
      throw;
    }
    if (mail_reply.code == 421) {
      broken_ = true;
      if (reused) stale_ = true;
      throw refused_temporarily(mail_reply, peer_ + " MAIL FROM");
    }
    const bool mail_ok = mail_reply.code >= 200 && mail_reply.code < 300;
    if (!mail_ok && !pipelining) {
      co_await reset();
      throw refused(mail_reply, peer_ + " MAIL FROM");
    }

    // RCPT, one reply each; with PIPELINING every reply of the group comes back, in order
    // (RFC 2920 §3.1), whatever happened to MAIL.
    std::vector<bool> accepted(message.recipients.size(), false);
    std::size_t accepted_count = 0;
    for (std::size_t i : to_send) {
      if (!pipelining) co_await send("RCPT TO:<" + message.recipients[i] + ">\r\n");
      SmtpReply reply = co_await read_reply(limit_);
      if (!mail_ok) continue;
      if (reply.code >= 200 && reply.code < 300) {
        accepted[i] = true;
        ++accepted_count;
      } else {
        results[i] = result_of(reply);
      }
      if (reply.code == 421) {  // the server is closing: nothing more on this connection
        broken_ = true;
        throw refused_temporarily(reply, peer_ + " RCPT TO");
      }
    }

    SmtpReply data_reply;
    if (pipelining) {
      data_reply = co_await read_reply(limit_);
      if (!mail_ok || accepted_count == 0) {
        // A server that still wants the data (354) gets a hang-up, never an empty message.
        if (data_reply.code == 354 || data_reply.code == 421) broken_ = true;
        else co_await reset();
        if (!mail_ok) throw refused(mail_reply, peer_ + " MAIL FROM");
        co_return;
      }
    } else {
      if (accepted_count == 0) {
        co_await reset();
        co_return;
      }
      co_await send("DATA\r\n");
      data_reply = co_await read_reply(limit_);
    }

    // From here on each recipient accepted at RCPT gets the outcome of DATA.
    auto settle = [&](const RecipientResult& outcome) {
      for (std::size_t i : to_send) {
        if (accepted[i]) results[i] = outcome;
      }
    };
    if (data_reply.code != 354) {
      settle(result_of(data_reply));
      if (data_reply.code == 421) broken_ = true;
      else co_await reset();
      co_return;
    }

    co_await send_data(data, add_crlf);
    SmtpReply final_reply;
    try {
      final_reply = co_await read_reply(limit_ * 10, "waiting for the reply to the message data");
    } catch (const Failure& failure) {
      // The data went out whole: the upstream may have taken it. At-least-once: try again later.
      throw temporary("4.4.2", failure.text + " (after the whole message was sent)");
    }
    settle(result_of(final_reply));
    ++transactions_;
    if (final_reply.code == 421) broken_ = true;
    else clean_ = true;
  }

  // The message with dot-stuffing (RFC 5321 §4.5.2: a line that starts with "." gets another),
  // a final CRLF when missing, then ".", written in chunks of about kDataChunk bytes.
  asio::awaitable<void> send_data(const std::string& data, bool add_crlf) {
    std::string chunk;
    chunk.reserve(kDataChunk + 8);
    std::size_t pos = 0;
    std::size_t line_end = 0;  // just past the CRLF that ends the line holding pos
    bool line_start = true;
    while (pos < data.size()) {
      if (pos >= line_end) {
        std::size_t crlf = data.find("\r\n", pos);
        line_end = crlf == std::string::npos ? data.size() : crlf + 2;
      }
      if (line_start && data[pos] == '.') chunk += '.';
      std::size_t take = std::min(line_end - pos, kDataChunk - std::min(kDataChunk - 1, chunk.size()));
      chunk.append(data, pos, take);
      pos += take;
      line_start = pos == line_end;
      if (chunk.size() >= kDataChunk) {
        co_await send(chunk, "sending the message data");
        chunk.clear();
      }
    }
    if (add_crlf) chunk += "\r\n";
    chunk += ".\r\n";
    co_await send(chunk, "sending the message data");
  }

  asio::any_io_executor executor_;
  const Upstream upstream_;
  const std::string ehlo_name_;
  std::shared_ptr<asio::ssl::context> tls_;
  asio::ssl::stream<tcp::socket> stream_;
  tcp::resolver resolver_;
  asio::steady_timer deadline_;
  const std::string peer_;
  const std::chrono::seconds limit_;

  SmtpReplyReader reader_;
  SmtpCapabilities capabilities_;
  std::string auth_mechanism_;
  std::array<char, 16384> buffer_{};
  unsigned generation_ = 0;
  unsigned transactions_ = 0;
  bool timed_out_ = false;
  bool last_io_timed_out_ = false;
  bool encrypted_ = false;
  bool ready_ = false;   // connected and set up: transactions can run
  bool broken_ = false;  // an I/O or protocol failure: never reuse, no QUIT
  bool clean_ = false;   // between transactions
  bool stale_ = false;
};

UpstreamClient::UpstreamClient(asio::any_io_executor executor, const Upstream& upstream, std::string ehlo_name,
                               std::shared_ptr<asio::ssl::context> tls)
    : impl_(std::make_shared<Impl>(std::move(executor), upstream, std::move(ehlo_name), std::move(tls))) {}

UpstreamClient::~UpstreamClient() = default;

const asio::any_io_executor& UpstreamClient::executor() const { return impl_->executor(); }

asio::awaitable<DeliveryReport> UpstreamClient::deliver(const OutboundMessage& message) {
  auto impl = impl_;  // alive for the whole transaction
  co_return co_await impl->deliver(message);
}

bool UpstreamClient::reusable() const { return impl_->reusable(); }
bool UpstreamClient::stale() const { return impl_->stale(); }
unsigned UpstreamClient::transactions() const { return impl_->transactions(); }

asio::awaitable<void> UpstreamClient::quit() {
  auto impl = impl_;
  co_await impl->quit();
}

}  // namespace postern::delivery
