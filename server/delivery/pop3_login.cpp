// See pop3_login.hpp.
#include "server/delivery/pop3_login.hpp"

#include "server/delivery/upstream_tls.hpp"
#include "server/pop3_client/protocol.hpp"
#include "server/runtime/log.hpp"
#include "server/runtime/metrics.hpp"

#include <boost/asio/error.hpp>
#include <boost/asio/ssl/error.hpp>

#include <algorithm>
#include <array>
#include <exception>

namespace postern::delivery {
namespace asio = boost::asio;
using net::Transport;

namespace {

constexpr std::chrono::seconds kCloseLimit{5};

pop3_client::LoginOptions login_options(const PopBeforeSmtp& pop) {
  pop3_client::LoginOptions options;
  options.peer = pop.host + ":" + std::to_string(pop.port);
  options.security = pop.security == UpstreamSecurity::Tls        ? pop3_client::Security::ImplicitTls
                   : pop.security == UpstreamSecurity::StartTls ? pop3_client::Security::StartTls
                                                                : pop3_client::Security::None;
  options.username = pop.username;
  options.password = pop.password;
  return options;
}

const char* result_name(pop3_client::LoginOutcome outcome) {
  switch (outcome) {
    case pop3_client::LoginOutcome::LoggedIn: return "ok";
    case pop3_client::LoginOutcome::Refused: return "refused";
    case pop3_client::LoginOutcome::Failed: return "failed";
  }
  return "failed";
}

class Pop3Login {
 public:
  Pop3Login(asio::any_io_executor executor, const Upstream& upstream, std::shared_ptr<asio::ssl::context> tls,
            Transport::Deadline deadline)
      : upstream_(upstream),
        pop_(*upstream.pop_before_smtp),
        transport_(std::move(executor), std::move(tls)),
        protocol_(login_options(pop_)),
        limit_(std::max(1u, upstream.timeout_seconds)),
        deadline_(deadline) {}

  asio::awaitable<pop3_client::LoginResult> run() {
    pop3_client::LoginResult result;
    try {
      for (;;) {
        const pop3_client::Step step = protocol_.next();
        if (const auto* done = std::get_if<pop3_client::LoginDone>(&step)) {
          result = done->result;
          report(result);
        } else if (const auto* close = std::get_if<pop3_client::Close>(&step)) {
          if (close->polite) co_await transport_.close(std::min(Transport::after(kCloseLimit), deadline_));
          break;
        } else {
          co_await perform(step);
        }
      }
    } catch (const std::exception& e) {
      if (!reported_) {
        result.text = std::string("internal error: ") + e.what();
        report(result);
      }
    }
    transport_.close_now();
    co_return result;
  }

 private:
  Transport::Deadline step_deadline() const { return std::min(Transport::after(limit_), deadline_); }

  asio::awaitable<void> perform(const pop3_client::Step& step) {
    if (std::holds_alternative<pop3_client::Connect>(step)) {
      const std::string error = co_await transport_.connect(pop_.host, pop_.port, step_deadline());
      if (error.empty()) protocol_.connected();
      else protocol_.connect_failed(error);
    } else if (const auto* send = std::get_if<pop3_client::SendCommand>(&step)) {
      const boost::system::error_code ec = co_await transport_.write(send->bytes, step_deadline());
      if (ec) report_failure(ec);
    } else if (const auto* read = std::get_if<pop3_client::ReadResponse>(&step)) {
      co_await read_response(*read);
    } else if (std::holds_alternative<pop3_client::TlsHandshake>(step)) {
      co_await handshake();
    }
  }

  // One deadline per response, set when its first byte is awaited.
  asio::awaitable<void> read_response(const pop3_client::ReadResponse& step) {
    if (!reading_ || step.response_number != response_number_) {
      reading_ = true;
      response_number_ = step.response_number;
      response_deadline_ = step_deadline();
    }
    boost::system::error_code ec;
    const std::size_t n = co_await transport_.read_some(buffer_.data(), buffer_.size(), response_deadline_, ec);
    if (ec) report_failure(ec);
    else protocol_.receive(std::string_view(buffer_.data(), n));
  }

  asio::awaitable<void> handshake() {
    SSL* ssl = transport_.native_handle();
    const TlsPeer peer = tls_peer(pop_);
    prepare_upstream_tls(ssl, peer);
    const boost::system::error_code ec = co_await transport_.handshake(step_deadline());
    if (!ec) protocol_.tls_started();
    else protocol_.tls_failed(upstream_tls_failure(ssl, peer, ec, transport_.timed_out()));
  }

  void report_failure(const boost::system::error_code& ec) {
    if (transport_.timed_out()) protocol_.connection_failed(pop3_client::IoFailure::Timeout);
    else if (ec == asio::error::eof || ec == asio::ssl::error::stream_truncated) {
      protocol_.connection_failed(pop3_client::IoFailure::Closed);
    } else {
      protocol_.connection_failed(pop3_client::IoFailure::Error, ec.message());
    }
  }

  void report(const pop3_client::LoginResult& result) {
    reported_ = true;
    metrics::delivery().pop_logins.inc({upstream_.name, result_name(result.outcome)});
    const std::string server = pop_.host + ":" + std::to_string(pop_.port);
    const std::string tls = transport_.encrypted() ? transport_.tls_version() : "none";
    const std::string mechanism = result.mechanism.empty() ? "none" : result.mechanism;
    if (result.logged_in()) {
      log::info("pop_login", {{"upstream", upstream_.name}, {"server", server}, {"user", pop_.username},
                              {"mechanism", mechanism}, {"tls", tls}, {"result", "ok"}});
    } else {
      log::warning("pop_login", {{"upstream", upstream_.name}, {"server", server}, {"user", pop_.username},
                                 {"mechanism", mechanism}, {"tls", tls}, {"result", result_name(result.outcome)},
                                 {"error", result.text}});
    }
  }

  const Upstream& upstream_;
  const PopBeforeSmtp& pop_;
  Transport transport_;
  pop3_client::Protocol protocol_;
  const std::chrono::seconds limit_;
  const Transport::Deadline deadline_;
  std::uint64_t response_number_ = 0;  // the response response_deadline_ is for
  bool reading_ = false;
  Transport::Deadline response_deadline_{};
  bool reported_ = false;
  std::array<char, 4096> buffer_{};
};

}  // namespace

asio::awaitable<pop3_client::LoginResult> pop3_login(asio::any_io_executor executor, const Upstream& upstream,
                                                     std::shared_ptr<asio::ssl::context> tls,
                                                     Transport::Deadline deadline) {
  Pop3Login login(std::move(executor), upstream, std::move(tls), deadline);
  pop3_client::LoginResult result = co_await login.run();
  co_return result;
}

}  // namespace postern::delivery
