// See session.hpp.
#include "server/net/session.hpp"

#include "server/auth/credential_check.hpp"
#include "server/net/tls_context.hpp"
#include "server/net/transport.hpp"
#include "postern/schema/address.hpp"
#include "server/policy/grant_check.hpp"
#include "server/policy/sending_limits.hpp"
#include "server/queue/message_intake.hpp"
#include "server/sharing/share_map_cache.hpp"
#include "server/runtime/log.hpp"
#include "server/runtime/metrics.hpp"

#include <boost/asio/post.hpp>

#include <algorithm>
#include <array>
#include <memory>
#include <optional>
#include <system_error>

namespace postern::net {
namespace asio = boost::asio;
using asio::ip::tcp;

namespace {

// The TLS handshake of a session, counted and logged.
asio::awaitable<bool> handshake(Transport& transport, std::chrono::seconds limit) {
  boost::system::error_code ec = co_await transport.handshake(Transport::after(limit));
  metrics::smtp().tls_handshakes.inc(ec ? "failed" : "ok");
  if (ec) log::info("tls_failed", {{"error", transport.timed_out() ? "timed out" : ec.message()}});
  co_return !ec;
}

asio::awaitable<bool> write(Transport& transport, const std::string& bytes, std::chrono::seconds limit) {
  const boost::system::error_code ec = co_await transport.write(bytes, Transport::after(limit));
  co_return !ec;
}

constexpr std::chrono::seconds kCloseLimit{5};

bool is_loopback_address(const std::string& text) {
  boost::system::error_code ec;
  const auto address = asio::ip::make_address(text, ec);
  return !ec && address.is_loopback();
}

// The driver of one session: runs the protocol's steps over the connection, one method per
// kind of step. Each returns false when the session must end (reason_ says why).
class SessionDriver {
 public:
  SessionDriver(Transport connection, std::string client, const SessionSettings& settings,
                SessionServices& services, smtp::ProtocolOptions options)
      : connection_(std::move(connection)),
        settings_(settings),
        services_(services),
        client_(std::move(client)),
        protocol_(std::move(options)) {}

  asio::awaitable<void> run() {
    const auto started = std::chrono::steady_clock::now();
    for (bool open = true; open;) {
      smtp::Step step = protocol_.next();
      if (auto* send = std::get_if<smtp::SendReply>(&step)) {
        queue_reply(*send);
      } else if (auto* data = std::get_if<smtp::MessageData>(&step)) {
        spool_piece(*data);
      } else if (auto* need = std::get_if<smtp::NeedInput>(&step)) {
        open = co_await read_more(*need);
      } else if (std::holds_alternative<smtp::StartTls>(step)) {
        open = co_await start_tls();
      } else if (auto* credentials = std::get_if<smtp::VerifyCredentials>(&step)) {
        open = co_await flush();
        if (open) {
          smtp::Outcome outcome = co_await services_.credentials.verify(*credentials, client_);
          protocol_.credentials_checked(std::move(outcome));
        }
      } else if (auto* bearer = std::get_if<smtp::VerifyBearerToken>(&step)) {
        open = co_await flush();
        if (open) {
          smtp::Outcome outcome = co_await services_.credentials.verify_bearer(*bearer, client_);
          protocol_.credentials_checked(std::move(outcome));
        }
      } else if (auto* sender = std::get_if<smtp::CheckSender>(&step)) {
        open = co_await flush();
        if (open) co_await check_sender(*sender);
      } else if (auto* recipient = std::get_if<smtp::CheckRecipient>(&step)) {
        check_recipient(*recipient);
      } else if (auto* message = std::get_if<smtp::AcceptMessage>(&step)) {
        co_await accept_message(*message);
      } else {  // Close
        co_await flush();
        open = false;
      }
    }
    co_await connection_.close(Transport::after(kCloseLimit));
    auto seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
    log::info("disconnect", {{"client", client_}, {"user", protocol_.authenticated_user()},
                             {"messages", std::to_string(messages_)}, {"reason", reason_},
                             {"seconds", std::to_string(seconds)}});
  }

 private:
  // Replies are batched and written before any wait, which is what pipelining needs
  // (RFC 2920 §3.1).
  void queue_reply(const smtp::SendReply& send) {
    // The protocol refused the message data itself: no AcceptMessage comes for it.
    if (send.refused_message) {
      drop_spool();  // the pieces spooled so far belong to the refused message
      const bool too_large = *send.refused_message == smtp::MessageRefusal::TooLarge;
      metrics::smtp().messages_rejected.inc(too_large ? "size" : "bad_data");
      log::info("message_rejected", {{"client", client_}, {"user", protocol_.authenticated_user()},
                                     {"reason", send.reply.lines.empty() ? "" : send.reply.lines.front()}});
    }
    pending_ += send.reply.wire();
  }

  asio::awaitable<bool> flush() {
    if (pending_.empty()) co_return true;
    bool ok = co_await write(connection_, pending_, settings_.command_timeout);
    pending_.clear();
    if (!ok) reason_ = "write failed";
    co_return ok;
  }

  // Says a last reply and ends the session.
  asio::awaitable<bool> farewell(int code, const char* enhanced, const char* text, const char* why) {
    pending_ = smtp::Reply::line(code, enhanced, text).wire();
    co_await flush();
    reason_ = why;
    co_return false;
  }

  // The deadlines bound whole things, not single reads: a client that trickles a byte at a time
  // or idles between NOOPs still runs into them.
  struct Limit {
    Transport::Deadline deadline;
    const char* name;  // why the session ends when it passes, for the log
  };

  // The earliest of: this command line (from its first byte) or this DATA phase (from the 354),
  // authentication (from the connect, until AUTH succeeds), and the whole session.
  Limit next_deadline(const smtp::NeedInput& need) {
    if (need.message_data) {
      if (!in_data_) data_deadline_ = Transport::after(settings_.data_timeout);
      in_data_ = true;
    } else {
      if (in_data_ || protocol_.buffered_bytes() == 0) command_deadline_ = Transport::after(settings_.command_timeout);
      in_data_ = false;
    }
    Limit limit{in_data_ ? data_deadline_ : command_deadline_, "timeout"};
    const bool needs_auth = settings_.intake == queue::Intake::Submission;
    if (needs_auth && protocol_.authenticated_user().empty() && auth_deadline_ < limit.deadline) {
      limit = {auth_deadline_, "authentication timeout"};
    }
    if (session_deadline_ < limit.deadline) limit = {session_deadline_, "session timeout"};
    return limit;
  }

  asio::awaitable<bool> read_more(const smtp::NeedInput& need) {
    const bool flushed = co_await flush();  // a co_await of its own (see start_tls)
    if (!flushed) co_return false;
    boost::system::error_code ec;
    const Limit limit = next_deadline(need);
    // Message content is read in large pieces, into a buffer that lives only while DATA does;
    // commands are short and the session waits for them most of its life, in a small one.
    char* buffer = command_buffer_.data();
    std::size_t size = command_buffer_.size();
    if (need.message_data) {
      if (!data_buffer_) data_buffer_ = std::make_unique<char[]>(kDataBufferSize);
      buffer = data_buffer_.get();
      size = kDataBufferSize;
    } else {
      data_buffer_.reset();
    }
    std::size_t n = co_await connection_.read_some(buffer, size, limit.deadline, ec);
    // RFC 5321 §3.8: a server that must close says 421 first.
    if (connection_.aborted()) co_return co_await farewell(421, "4.3.2", "Service shutting down", "shutdown");
    if (connection_.timed_out()) co_return co_await farewell(421, "4.4.2", "Timeout", limit.name);
    if (ec) {
      reason_ = ec == asio::error::eof ? "client closed" : ec.message();
      co_return false;
    }
    protocol_.receive(std::string_view(buffer, n));
    co_return true;
  }

  // Every co_await here stands in a statement of its own: GCC 12 compiles one inside ||, && or
  // an if condition into a bad resume point (a crash at the STARTTLS handshake).
  asio::awaitable<bool> start_tls() {
    bool secured = co_await flush();
    if (secured) secured = co_await handshake(connection_, settings_.handshake_timeout);
    if (!secured) {
      reason_ = "STARTTLS handshake failed";
      co_return false;
    }
    protocol_.tls_started();
    co_return true;
  }

  asio::awaitable<void> check_sender(const smtp::CheckSender& sender) {
    auto result = co_await services_.grants.check(sender.user, sender.address);
    if (result.outcome.verdict == smtp::Outcome::Verdict::Accepted) {
      result.outcome = co_await services_.limits.check_message(sender.user, budget_);
      if (result.outcome.verdict != smtp::Outcome::Verdict::Accepted) result.detail = "sending limit";
    }
    if (result.outcome.verdict != smtp::Outcome::Verdict::Accepted) {
      metrics::smtp().messages_rejected.inc(
          result.outcome.verdict == smtp::Outcome::Verdict::Refused ? "sender_denied" : "sender_temp_failure");
      log::info("sender_refused", {{"client", client_}, {"user", sender.user},
                                   {"sender", sender.address}, {"reason", result.detail}});
    }
    grants_ = std::move(result.grants);
    protocol_.sender_checked(std::move(result.outcome));
  }

  // From memory (the listener's domains, the share maps' cache): no wait, so nothing to flush
  // first. Inbound mail has no user, so no sending limits.
  void check_recipient(const smtp::CheckRecipient& recipient) {
    const bool inbound = settings_.intake != queue::Intake::Submission;
    smtp::Outcome outcome = inbound ? accept_domain(recipient.address) : smtp::Outcome::accepted();
    if (outcome.verdict == smtp::Outcome::Verdict::Accepted) outcome = services_.share_maps.check(recipient.address);
    if (outcome.verdict == smtp::Outcome::Verdict::Accepted && !inbound) {
      outcome = services_.limits.check_recipient(budget_);
    }
    if (outcome.verdict != smtp::Outcome::Verdict::Accepted) {
      log::info("recipient_refused", {{"client", client_}, {"user", recipient.user},
                                      {"recipient", recipient.address},
                                      {"reason", outcome.reply && !outcome.reply->lines.empty()
                                                     ? outcome.reply->lines.front()
                                                     : std::string("share maps not loaded")}});
    }
    protocol_.recipient_checked(std::move(outcome));
  }

  // An inbound listener takes mail for its accept_domains only, every mailbox there (and the
  // bare <postmaster>, RFC 5321 §4.5.1): anything else would make it an open relay.
  smtp::Outcome accept_domain(const std::string& address) {
    const std::size_t at = address.rfind('@');
    if (at == std::string::npos) return smtp::Outcome::accepted();  // <postmaster>, the only form without '@'
    const auto domain = schema::normalize_domain(address.substr(at + 1));
    const auto& domains = settings_.accept_domains;
    if (domain && std::find(domains.begin(), domains.end(), *domain) != domains.end()) {
      return smtp::Outcome::accepted();
    }
    metrics::smtp().messages_rejected.inc("relay_denied");
    if (settings_.intake == queue::Intake::Lmtp) {
      return smtp::Outcome::refused(
          smtp::Reply::line(550, "5.1.1", "Recipient address rejected: domain not accepted here"));
    }
    return smtp::Outcome::refused(smtp::Reply::line(554, "5.7.1", "Relay access denied"));
  }

  // Pieces are appended here, on the I/O thread: each is at most 64 KiB, written sequentially
  // to memory or to a file (the page cache), as brief as a socket read.
  void spool_piece(const smtp::MessageData& data) {
    if (spool_failure_) return;  // this message is lost already; the protocol reads it to its end
    if (!spool_) spool_.emplace(services_.intake.new_spool());
    try {
      spool_->append(data.piece);
    } catch (const queue::SpoolError& e) {
      log::warning("spool_failed", {{"client", client_}, {"user", protocol_.authenticated_user()},
                                    {"error", e.what()}});
      spool_failure_ = e.code();
      spool_.reset();
    }
  }

  void drop_spool() {
    spool_.reset();
    spool_failure_.reset();
  }

  asio::awaitable<void> accept_message(smtp::AcceptMessage& message) {
    if (spool_failure_) {  // 4xx: the client may try again, here or at another replica
      const bool full = *spool_failure_ == std::errc::no_space_on_device;
      metrics::smtp().messages_rejected.inc("temp_failure");
      drop_spool();
      protocol_.message_handled(smtp::Outcome::temporary_failure(
          full ? std::optional{smtp::Reply::line(452, "4.3.1", "Insufficient system storage")} : std::nullopt));
      co_return;
    }
    queue::MessageSpool content = spool_ ? std::move(*spool_) : services_.intake.new_spool();  // none: empty
    drop_spool();
    queue::SessionFacts facts{client_,           connection_.encrypted(), connection_.tls_version(),
                              connection_.tls_cipher(), settings_.intake,      settings_.dsn};
    auto outcome = co_await services_.intake.accept(std::move(message.envelope), std::move(content), facts, grants_);
    if (outcome.verdict == smtp::Outcome::Verdict::Accepted) ++messages_;
    protocol_.message_handled(std::move(outcome));
  }

  Transport connection_;
  const SessionSettings& settings_;
  SessionServices& services_;
  const std::string client_;
  smtp::Protocol protocol_;
  schema::UserGrants grants_;  // from the MAIL FROM check, reused for the header From check
  std::shared_ptr<policy::SendingLimits::Budget> budget_;  // the user's, from the MAIL FROM check
  std::optional<queue::MessageSpool> spool_;  // the content of the message being read
  std::optional<std::error_code> spool_failure_;  // why this message could not be spooled
  std::string pending_;        // replies not yet written
  static constexpr std::size_t kDataBufferSize = 16384;
  std::array<char, 1024> command_buffer_;
  std::unique_ptr<char[]> data_buffer_;  // during DATA only
  unsigned messages_ = 0;
  std::string reason_ = "client quit";
  const Transport::Deadline auth_deadline_ = Transport::after(settings_.auth_timeout);
  const Transport::Deadline session_deadline_ = Transport::after(settings_.session_timeout);
  Transport::Deadline command_deadline_{};
  Transport::Deadline data_deadline_{};
  bool in_data_ = false;
};

}  // namespace

asio::awaitable<void> run_session(tcp::socket socket, std::shared_ptr<const SessionSettings> held_settings,
                                  SessionServices& services, ConnectionLimiter::Slot slot,
                                  std::optional<std::string> proxied_client) {
  const SessionSettings& settings = *held_settings;
  // Held for the whole session: its place in the connection limits is given back at the end.
  const ConnectionLimiter::Slot held = std::move(slot);
  const metrics::OpenConnection counted;
  Transport connection{std::move(socket), services.tls ? services.tls->current() : nullptr, Transport::Role::Server};
  const std::string client = proxied_client ? *proxied_client : connection.peer_address();
  const bool loopback = proxied_client ? is_loopback_address(client) : connection.peer_is_loopback();
  smtp::ProtocolOptions options = settings.protocol;
  options.tls_available = services.tls != nullptr && settings.offer_tls;
  options.tls_active = settings.implicit_tls;
  options.auth_without_tls = settings.allow_plaintext_auth_on_loopback && loopback;

  // A shutdown past its grace period cuts the connection, on the session's own strand.
  auto registration = services.registry.add([connection]() mutable {
    asio::post(connection.executor(), [connection]() mutable { connection.abort(); });
  });
  log::info("connect", {{"client", client}, {"intake", queue::intake_name(settings.intake)},
                        {"tls", settings.implicit_tls ? "implicit" : "none"}});
  bool secured = true;  // no co_await inside && (see start_tls)
  if (settings.implicit_tls) secured = co_await handshake(connection, settings.handshake_timeout);
  if (!secured) {
    co_await connection.close(Transport::after(kCloseLimit));
    log::info("disconnect", {{"client", client}, {"reason", "TLS handshake failed"}});
    co_return;
  }
  SessionDriver driver{std::move(connection), client, settings, services, std::move(options)};
  co_await driver.run();
}

asio::awaitable<void> refuse_session(tcp::socket socket, std::string reason,
                                     std::optional<std::string> proxied_client) {
  Transport connection{std::move(socket), nullptr, Transport::Role::Server};
  const std::string client = proxied_client ? *proxied_client : connection.peer_address();
  log::warning("connection_refused", {{"client", client}, {"reason", reason}});
  co_await write(connection, smtp::Reply::line(421, "4.7.0", "Too many connections, try again later").wire(),
                 std::chrono::seconds{5});
  co_await connection.close(Transport::after(kCloseLimit));
}

}  // namespace postern::net
