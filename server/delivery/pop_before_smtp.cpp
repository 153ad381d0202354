// See pop_before_smtp.hpp.
#include "server/delivery/pop_before_smtp.hpp"

#include "server/delivery/pop3_login.hpp"
#include "server/delivery/upstream_tls.hpp"
#include "server/runtime/log.hpp"
#include "server/runtime/metrics.hpp"

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/redirect_error.hpp>
#include <boost/asio/ssl/context.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/strand.hpp>
#include <boost/asio/use_awaitable.hpp>

#include <chrono>
#include <optional>

namespace postern::delivery {
namespace asio = boost::asio;
using Clock = std::chrono::steady_clock;

namespace {

constexpr std::string_view kPrefix = "POP before SMTP: ";
// A failed login answers for the deliveries that ask this soon after it.
constexpr std::chrono::seconds kFailureHold{10};
// Steps of a login that may each take timeout_seconds before the whole login is given up.
constexpr int kLoginSteps = 3;
// Beyond a running login's deadline and wait, for the deliveries waiting for it.
constexpr std::chrono::seconds kWaitMargin{5};

// The login in progress, on the gate's strand: the deliveries that wait for it wait on
// `finished`, which expires at their deadline unless cancelled when the outcome is in.
struct RunningLogin {
  explicit RunningLogin(const asio::any_io_executor& strand) : finished(strand) {}
  asio::steady_timer finished;
  std::optional<PopBeforeSmtpGate::Outcome> outcome;
};

}  // namespace

struct detail::PopGateState {
  asio::any_io_executor strand;
  Upstream upstream;
  std::shared_ptr<asio::ssl::context> tls;
  std::string tls_error;  // the TLS context could not be built: every ensure() fails with this

  // Touched only on the strand.
  std::optional<Clock::time_point> last_login;  // success, set once its wait_seconds are over
  std::optional<Clock::time_point> failed_at;
  PopBeforeSmtpGate::Outcome last_failure;
  std::shared_ptr<RunningLogin> running;
};

namespace {

using State = detail::PopGateState;

PopBeforeSmtpGate::Outcome failure(std::string text) { return {false, std::string(kPrefix) + text}; }

// This delivery logs in; the ones that come meanwhile wait for it.
asio::awaitable<PopBeforeSmtpGate::Outcome> log_in(std::shared_ptr<State> state) {
  const PopBeforeSmtp& pop = *state->upstream.pop_before_smtp;
  const std::chrono::seconds limit{std::max(1u, state->upstream.timeout_seconds)};
  const std::chrono::seconds wait{pop.wait_seconds};
  const Clock::time_point deadline = Clock::now() + kLoginSteps * limit;
  auto running = std::make_shared<RunningLogin>(state->strand);
  running->finished.expires_at(deadline + wait + kWaitMargin);
  state->running = running;

  PopBeforeSmtpGate::Outcome outcome;
  try {
    pop3_client::LoginResult result = co_await pop3_login(state->strand, state->upstream, state->tls, deadline);
    const Clock::time_point logged_in_at = Clock::now();
    if (result.logged_in()) {
      if (wait.count() > 0) {
        asio::steady_timer pause(state->strand);
        pause.expires_after(wait);
        boost::system::error_code ec;
        co_await pause.async_wait(asio::redirect_error(asio::use_awaitable, ec));
      }
      state->last_login = logged_in_at;
      state->failed_at.reset();
    } else {
      outcome = failure(result.text);
    }
  } catch (const std::exception& e) {
    outcome = failure(std::string("internal error: ") + e.what());
  }
  if (!outcome.ok) {
    state->failed_at = Clock::now();
    state->last_failure = outcome;
  }
  running->outcome = outcome;
  running->finished.cancel();
  state->running.reset();
  co_return outcome;
}

// Runs on the strand, so that the state needs no lock.
asio::awaitable<PopBeforeSmtpGate::Outcome> ensure_on_strand(std::shared_ptr<State> state) {
  const PopBeforeSmtp& pop = *state->upstream.pop_before_smtp;
  const Clock::time_point now = Clock::now();
  if (state->last_login && now - *state->last_login < std::chrono::seconds{pop.interval_seconds}) {
    co_return PopBeforeSmtpGate::Outcome{};
  }
  if (state->failed_at && now - *state->failed_at < kFailureHold) co_return state->last_failure;
  if (!state->running) {
    PopBeforeSmtpGate::Outcome outcome = co_await log_in(state);
    co_return outcome;
  }
  const std::shared_ptr<RunningLogin> running = state->running;
  boost::system::error_code ec;
  co_await running->finished.async_wait(asio::redirect_error(asio::use_awaitable, ec));
  if (running->outcome) co_return *running->outcome;
  co_return failure("timed out waiting for the POP3 login to " + pop.host + ":" + std::to_string(pop.port) +
                    " in progress");
}

}  // namespace

PopBeforeSmtpGate::PopBeforeSmtpGate(asio::any_io_executor executor, const Upstream& upstream)
    : state_(std::make_shared<State>()) {
  state_->strand = asio::make_strand(executor);
  state_->upstream = upstream;
  const PopBeforeSmtp& pop = *state_->upstream.pop_before_smtp;
  for (const char* result : {"ok", "refused", "failed"}) {
    metrics::delivery().pop_logins.declare({upstream.name, result});
  }
  if (pop.security == UpstreamSecurity::None) return;
  UpstreamTlsSetup setup = set_up_upstream_tls(tls_peer(pop), upstream.name, "pop");
  state_->tls = std::move(setup.context);
  if (!setup.error.empty()) state_->tls_error = std::string(kPrefix) + setup.error;
}

PopBeforeSmtpGate::~PopBeforeSmtpGate() = default;

asio::awaitable<PopBeforeSmtpGate::Outcome> PopBeforeSmtpGate::ensure() {
  if (!state_->tls_error.empty()) co_return Outcome{false, state_->tls_error};
  auto state = state_;
  Outcome outcome = co_await asio::co_spawn(state->strand, ensure_on_strand(state), asio::use_awaitable);
  co_return outcome;
}

}  // namespace postern::delivery
