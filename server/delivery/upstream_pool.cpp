// See upstream_pool.hpp.
#include "server/delivery/upstream_pool.hpp"

#include "server/delivery/pop_before_smtp.hpp"
#include "server/delivery/upstream_tls.hpp"
#include "server/runtime/log.hpp"

#include <boost/asio/associated_executor.hpp>
#include <boost/asio/async_result.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/redirect_error.hpp>
#include <boost/asio/ssl/context.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/strand.hpp>
#include <boost/asio/use_awaitable.hpp>

#include <algorithm>
#include <deque>
#include <functional>
#include <mutex>
#include <vector>

namespace postern::delivery {
namespace asio = boost::asio;

struct detail::UpstreamPoolState {
  struct Idle {
    std::shared_ptr<UpstreamSession> session;
    std::shared_ptr<asio::steady_timer> timer;  // on the session's strand; expiry closes it
  };

  asio::any_io_executor executor;
  Upstream upstream;
  std::string ehlo_name;
  std::shared_ptr<asio::ssl::context> tls;
  std::string tls_error;  // the TLS context could not be built: every delivery fails with this
  std::unique_ptr<PopBeforeSmtpGate> pop_gate;  // with upstream.pop_before_smtp

  std::mutex mutex;
  unsigned limit = 1;
  unsigned busy = 0;                          // slots held by deliveries
  std::deque<std::function<void()>> waiting;  // deliveries waiting for a slot, oldest first
  std::vector<Idle> idle;                     // most recently used last
  bool closing = false;
};

namespace {

using Shared = detail::UpstreamPoolState;

// A delivery's place among the max_connections: taken by acquire(), given back (or handed to
// the oldest waiting delivery) when it goes out of scope.
class Slot {
 public:
  explicit Slot(std::shared_ptr<Shared> shared) : shared_(std::move(shared)) {}
  Slot(const Slot&) = delete;
  Slot& operator=(const Slot&) = delete;
  ~Slot() {
    std::function<void()> next;
    {
      std::lock_guard lock{shared_->mutex};
      if (shared_->waiting.empty()) {
        --shared_->busy;
        return;
      }
      next = std::move(shared_->waiting.front());
      shared_->waiting.pop_front();
    }
    next();  // the slot goes to the waiting delivery as it is
  }

 private:
  std::shared_ptr<Shared> shared_;
};

asio::awaitable<void> acquire(const std::shared_ptr<Shared>& shared) {
  auto initiate = [shared](auto handler) {
    auto executor = asio::get_associated_executor(handler, shared->executor);
    std::unique_lock lock{shared->mutex};
    if (shared->busy < shared->limit) {
      ++shared->busy;
      lock.unlock();
      asio::post(executor, std::move(handler));
      return;
    }
    // Copyable for std::function; completed at most once, by the Slot that hands over.
    auto held = std::make_shared<decltype(handler)>(std::move(handler));
    shared->waiting.push_back([held, executor]() mutable { asio::post(executor, std::move(*held)); });
  };
  co_await asio::async_initiate<decltype(asio::use_awaitable), void()>(initiate, asio::use_awaitable);
}

asio::awaitable<void> close_session(std::shared_ptr<UpstreamSession> session) {
  co_await session->quit();
}

// Waits out the idle time of one idle session, then closes it, unless a delivery took it (or
// close_idle() did) meanwhile: then the timer was cancelled and the entry is gone.
asio::awaitable<void> watch_idle(std::shared_ptr<Shared> shared, std::shared_ptr<UpstreamSession> session,
                                 std::shared_ptr<asio::steady_timer> timer) {
  boost::system::error_code ec;
  co_await timer->async_wait(asio::redirect_error(asio::use_awaitable, ec));
  {
    std::lock_guard lock{shared->mutex};
    auto it = std::find_if(shared->idle.begin(), shared->idle.end(),
                           [&](const Shared::Idle& entry) { return entry.timer == timer; });
    if (it == shared->idle.end()) co_return;
    shared->idle.erase(it);
  }
  co_await session->quit();
}

std::shared_ptr<UpstreamSession> take_idle(const std::shared_ptr<Shared>& shared) {
  Shared::Idle entry;
  {
    std::lock_guard lock{shared->mutex};
    if (shared->idle.empty()) return nullptr;
    entry = std::move(shared->idle.back());
    shared->idle.pop_back();
  }
  asio::post(entry.session->executor(), [timer = entry.timer] { timer->cancel(); });
  return entry.session;
}

void keep_or_close(const std::shared_ptr<Shared>& shared, std::shared_ptr<UpstreamSession> session) {
  if (session->reusable() && shared->upstream.idle_seconds > 0) {
    auto timer = std::make_shared<asio::steady_timer>(session->executor());
    timer->expires_after(std::chrono::seconds{shared->upstream.idle_seconds});
    std::lock_guard lock{shared->mutex};
    if (!shared->closing) {
      shared->idle.push_back({session, timer});
      // Spawned under the lock: a take_idle() that cancels this timer posts after this start.
      asio::co_spawn(session->executor(), watch_idle(shared, session, timer), asio::detached);
      return;
    }
  }
  auto executor = session->executor();
  asio::co_spawn(executor, close_session(std::move(session)), asio::detached);
}

}  // namespace

UpstreamPool::UpstreamPool(asio::any_io_executor executor, Upstream upstream, std::string default_ehlo_name)
    : shared_(std::make_shared<Shared>()) {
  shared_->executor = std::move(executor);
  shared_->upstream = std::move(upstream);
  const Upstream& u = shared_->upstream;
  shared_->ehlo_name = u.ehlo_name.empty() ? std::move(default_ehlo_name) : u.ehlo_name;
  shared_->limit = std::max(1u, u.max_connections);
  if (u.security != UpstreamSecurity::None) {
    UpstreamTlsSetup setup = set_up_upstream_tls(tls_peer(u), u.name, "upstream");
    shared_->tls = std::move(setup.context);
    if (!setup.error.empty()) shared_->tls_error = "upstream " + u.name + ": " + setup.error;
  } else if (!u.username.empty()) {
    log::warning("upstream_auth_without_tls", {{"upstream", u.name}, {"host", u.host}});
  }
  if (u.pop_before_smtp) shared_->pop_gate = std::make_unique<PopBeforeSmtpGate>(shared_->executor, u);
}

UpstreamPool::~UpstreamPool() { close_idle(); }

const Upstream& UpstreamPool::upstream() const { return shared_->upstream; }

void UpstreamPool::close_idle() {
  std::vector<Shared::Idle> closing;
  {
    std::lock_guard lock{shared_->mutex};
    shared_->closing = true;
    closing.swap(shared_->idle);
  }
  for (auto& entry : closing) {
    asio::post(entry.session->executor(), [timer = entry.timer] { timer->cancel(); });
    asio::co_spawn(entry.session->executor(), close_session(entry.session), asio::detached);
  }
}

asio::awaitable<smtp_client::TransactionResult> UpstreamPool::deliver(const OutboundMessage& message) {
  auto shared = shared_;
  try {
    if (!shared->tls_error.empty()) {
      co_return smtp_client::failed_attempt(message.recipients.size(), "4.7.5", shared->tls_error);
    }
    if (shared->pop_gate) {
      // The upstream relays only after a recent POP3 login: never send without one.
      PopBeforeSmtpGate::Outcome pop = co_await shared->pop_gate->ensure();
      if (!pop.ok) co_return smtp_client::failed_attempt(message.recipients.size(), "4.7.0", std::move(pop.error));
    }
    co_await acquire(shared);
    Slot slot{shared};
    for (int attempt = 0;; ++attempt) {
      std::shared_ptr<UpstreamSession> session = take_idle(shared);
      const bool reused = session != nullptr;
      if (!session) {
        session = std::make_shared<UpstreamSession>(asio::make_strand(shared->executor), shared->upstream,
                                                    shared->ehlo_name, shared->tls);
      }
      smtp_client::TransactionResult result =
          co_await asio::co_spawn(session->executor(), session->deliver(message), asio::use_awaitable);
      // Stale only before the upstream took anything, so before the body: still unread for the retry.
      const bool retry = reused && result.stale && attempt == 0;
      keep_or_close(shared, session);
      if (retry) {
        log::info("upstream_session_stale", {{"upstream", shared->upstream.name}, {"error", result.error}});
        continue;
      }
      co_return result;
    }
  } catch (const std::exception& e) {
    log::error("upstream_delivery_error", {{"upstream", shared->upstream.name}, {"error", e.what()}});
    co_return smtp_client::failed_attempt(message.recipients.size(), "4.3.0",
                                          std::string("internal error: ") + e.what());
  }
}

}  // namespace postern::delivery
