// See hpfeeds_publisher.hpp.
#include "server/delivery/hpfeeds_publisher.hpp"

#include "server/delivery/hpfeeds_connection.hpp"
#include "server/delivery/upstream_tls.hpp"
#include "server/hpfeeds/encode.hpp"
#include "server/hpfeeds/frame.hpp"
#include "server/runtime/log.hpp"

#include <boost/asio/associated_executor.hpp>
#include <boost/asio/async_result.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/redirect_error.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/strand.hpp>
#include <boost/asio/use_awaitable.hpp>

#include <algorithm>
#include <chrono>
#include <deque>
#include <functional>
#include <vector>

namespace postern::delivery {
namespace asio = boost::asio;

// Everything but the immutable settings lives on `strand`.
struct detail::HpfeedsPublisherState {
  using Clock = std::chrono::steady_clock;
  // Hands a publish's result to its awaiting coroutine (on that coroutine's executor).
  using Completion = std::function<void(JournalResult)>;

  struct Queued {
    std::shared_ptr<const std::string> payload;
    Completion complete;
  };
  struct InGrace {
    Completion complete;
    Clock::time_point ends;
  };

  explicit HpfeedsPublisherState(asio::any_io_executor s) : strand(s), grace_timer(s), idle_timer(s) {}

  asio::any_io_executor strand;
  std::shared_ptr<const Upstream> upstream;
  std::shared_ptr<asio::ssl::context> tls;
  std::string unusable;  // why nothing can be published as configured; "" when all is well

  std::deque<Queued> queue;                       // not yet written, oldest first
  std::deque<InGrace> in_grace;                   // written; oldest (so first to end) first
  std::shared_ptr<HpfeedsConnection> connection;  // logged in and sound, or null
  bool sending = false;                           // send_queued() runs
  bool watching_grace = false;                    // watch_grace() runs
  asio::steady_timer grace_timer;
  asio::steady_timer idle_timer;
  unsigned idle_generation = 0;  // an idle timer armed before the last activity is ignored
  bool closing = false;          // close() was called: no connection is kept once idle
};

namespace {

using State = detail::HpfeedsPublisherState;

// Frames of up to this many bytes go out in one write; a single publish may be larger.
constexpr std::size_t kBatchBytes = 256 * 1024;

JournalResult deferred(std::string detail) { return {JournalResult::Kind::Deferred, std::move(detail)}; }

std::string why_unusable(const Upstream& upstream) {
  const HpfeedsSettings& settings = upstream.hpfeeds;
  if (upstream.security == UpstreamSecurity::StartTls) return "hpfeeds has no STARTTLS: security must be none or tls";
  if (settings.channels.empty()) return "no hpfeeds channel configured";
  if (settings.ident.size() > hpfeeds::kMaxShortString) return "hpfeeds ident longer than 255 bytes";
  for (const std::string& channel : settings.channels) {
    if (channel.size() > hpfeeds::kMaxShortString) {
      return "hpfeeds channel longer than 255 bytes: " + channel.substr(0, 40) + "...";
    }
  }
  return "";
}

// The largest of the PUBLISH frames (one per channel) that carry a payload of payload_size bytes.
std::size_t largest_frame(const HpfeedsSettings& settings, std::size_t payload_size) {
  std::size_t largest = 0;
  for (const std::string& channel : settings.channels) {
    largest = std::max(largest, hpfeeds::publish_frame_size(settings.ident, channel, payload_size));
  }
  return largest;
}

asio::awaitable<void> close_politely(std::shared_ptr<HpfeedsConnection> connection) { co_await connection->close(); }

void close_connection(const std::shared_ptr<State>& state, const char* reason) {
  std::shared_ptr<HpfeedsConnection> connection = std::move(state->connection);
  if (!connection) return;
  log::info("hpfeeds_connection_closed", {{"upstream", state->upstream->name}, {"server", connection->peer()},
                                          {"reason", reason}});
  asio::co_spawn(state->strand, close_politely(std::move(connection)), asio::detached);
}

// Called whenever something finished: once nothing is queued, being written or within its
// grace, the connection is closed (on shutdown) or kept for idle_seconds.
void settle(const std::shared_ptr<State>& state) {
  if (state->sending || state->watching_grace || !state->queue.empty() || !state->in_grace.empty() ||
      !state->connection) {
    return;
  }
  if (state->closing) return close_connection(state, "shutdown");
  if (state->upstream->idle_seconds == 0) return close_connection(state, "idle");
  const unsigned generation = ++state->idle_generation;
  state->idle_timer.expires_after(std::chrono::seconds{state->upstream->idle_seconds});
  state->idle_timer.async_wait([state, generation](boost::system::error_code ec) {
    if (ec || generation != state->idle_generation) return;
    if (state->sending || !state->queue.empty() || !state->in_grace.empty()) return;
    close_connection(state, "idle");
  });
}

// The connection broke (OP_ERROR, close, garbage, a failed write): every publish within its
// grace may not have reached the broker.
void connection_lost(const std::shared_ptr<State>& state, const std::string& why) {
  if (!state->connection || !state->connection->broken()) return;
  const std::string peer = state->connection->peer();
  state->connection.reset();
  std::deque<State::InGrace> lost;
  lost.swap(state->in_grace);
  state->grace_timer.cancel();
  // A broker that drops an idle connection costs nothing; one that drops publishes is news.
  const log::Level level = lost.empty() ? log::Level::Info : log::Level::Warning;
  if (log::enabled(level)) {
    log::write(level, "hpfeeds_connection_lost", {{"upstream", state->upstream->name}, {"server", peer},
                                                  {"error", why}, {"deferred", std::to_string(lost.size())}});
  }
  for (State::InGrace& publish : lost) publish.complete(deferred(why));
  settle(state);
}

// Ends the grace of the publishes written longest ago: Delivered, since the connection is still
// sound (connection_lost empties in_grace the moment it is not).
asio::awaitable<void> watch_grace(std::shared_ptr<State> state) {
  while (!state->in_grace.empty()) {
    state->grace_timer.expires_at(state->in_grace.front().ends);
    boost::system::error_code ec;
    co_await state->grace_timer.async_wait(asio::redirect_error(asio::use_awaitable, ec));
    const auto now = State::Clock::now();
    while (!state->in_grace.empty() && state->in_grace.front().ends <= now) {
      State::Completion complete = std::move(state->in_grace.front().complete);
      state->in_grace.pop_front();
      complete(JournalResult{JournalResult::Kind::Delivered, {}});
    }
  }
  state->watching_grace = false;
  settle(state);
}

asio::awaitable<std::string> open_connection(const std::shared_ptr<State>& state) {
  std::weak_ptr<State> weak = state;
  auto connection = std::make_shared<HpfeedsConnection>(state->strand, state->upstream, state->tls,
                                                        [weak](const std::string& why) {
                                                          if (auto alive = weak.lock()) connection_lost(alive, why);
                                                        });
  std::string error = co_await connection->open();
  if (error.empty()) state->connection = std::move(connection);
  co_return error;
}

// Writes the next batch from the queue (connecting first when there is no connection) and puts
// its publishes in their grace. On failure returns why, with the publishes that failed in
// `failed` (the whole queue when the connection could not be opened) for the caller to defer.
asio::awaitable<std::string> send_batch(const std::shared_ptr<State>& state, std::vector<State::Completion>& failed) {
  if (state->connection && state->connection->broken()) state->connection.reset();
  if (!state->connection) {
    std::string error = co_await open_connection(state);
    if (!error.empty()) {
      // The publishes queued meanwhile waited for this connection too.
      for (State::Queued& job : state->queue) failed.push_back(std::move(job.complete));
      state->queue.clear();
      log::warning("hpfeeds_connect_failed", {{"upstream", state->upstream->name}, {"error", error},
                                              {"deferred", std::to_string(failed.size())}});
      co_return error;
    }
  }
  const std::shared_ptr<HpfeedsConnection> connection = state->connection;
  const HpfeedsSettings& settings = state->upstream->hpfeeds;
  std::string bytes;
  while (!state->queue.empty() && (failed.empty() || bytes.size() < kBatchBytes)) {
    State::Queued job = std::move(state->queue.front());
    state->queue.pop_front();
    failed.push_back(std::move(job.complete));  // first, so that it is answered whatever happens
    for (const std::string& channel : settings.channels) {
      hpfeeds::append_publish(bytes, settings.ident, channel, *job.payload);
    }
  }
  const std::string error = co_await connection->write(bytes);
  if (!error.empty()) {
    if (state->connection == connection) state->connection.reset();
    co_return error;
  }
  const auto ends = State::Clock::now() + std::chrono::milliseconds{settings.error_grace_milliseconds};
  for (State::Completion& complete : failed) state->in_grace.push_back({std::move(complete), ends});
  failed.clear();
  if (!state->watching_grace) {
    state->watching_grace = true;
    asio::co_spawn(state->strand, watch_grace(state), asio::detached);
  }
  co_return "";
}

// The one writer of the publisher: runs while anything is queued.
asio::awaitable<void> send_queued(std::shared_ptr<State> state) {
  while (!state->queue.empty()) {
    std::vector<State::Completion> failed;
    std::string error;
    try {
      error = co_await send_batch(state, failed);
    } catch (const std::exception& e) {
      error = std::string("internal error: ") + e.what();
      log::error("hpfeeds_publish_error", {{"upstream", state->upstream->name}, {"error", error}});
      // Whatever it was may well happen again: answer everything queued rather than loop on it.
      for (State::Queued& job : state->queue) failed.push_back(std::move(job.complete));
      state->queue.clear();
    }
    for (State::Completion& complete : failed) complete(deferred(error));
  }
  state->sending = false;
  settle(state);
}

void enqueue(const std::shared_ptr<State>& state, State::Queued job) {
  state->queue.push_back(std::move(job));
  ++state->idle_generation;  // busy again: a pending idle close no longer applies
  if (!state->sending) {
    state->sending = true;
    asio::co_spawn(state->strand, send_queued(state), asio::detached);
  }
}

}  // namespace

HpfeedsPublisher::HpfeedsPublisher(asio::any_io_executor executor, const Upstream& upstream)
    : state_(std::make_shared<State>(asio::make_strand(executor))) {
  state_->upstream = std::make_shared<const Upstream>(upstream);
  const Upstream& u = *state_->upstream;
  state_->unusable = why_unusable(u);
  if (state_->unusable.empty() && u.security == UpstreamSecurity::Tls) {
    UpstreamTlsSetup setup = set_up_upstream_tls(tls_peer(u), u.name, "upstream");
    state_->tls = std::move(setup.context);
    state_->unusable = std::move(setup.error);
  }
  if (!state_->unusable.empty()) {
    state_->unusable = "upstream " + u.name + ": " + state_->unusable;
    log::error("hpfeeds_upstream_unusable", {{"upstream", u.name}, {"error", state_->unusable}});
  }
}

HpfeedsPublisher::~HpfeedsPublisher() { close(); }

void HpfeedsPublisher::close() {
  asio::post(state_->strand, [state = state_] {
    state->closing = true;
    ++state->idle_generation;
    state->idle_timer.cancel();
    settle(state);
  });
}

asio::awaitable<JournalResult> HpfeedsPublisher::publish(std::shared_ptr<const std::string> payload) {
  auto state = state_;
  try {
    if (!state->unusable.empty()) co_return deferred(state->unusable);
    if (!payload) payload = std::make_shared<const std::string>();
    const std::size_t frame = largest_frame(state->upstream->hpfeeds, payload->size());
    const std::size_t limit = state->upstream->hpfeeds.max_frame_bytes;
    if (frame > limit) {
      co_return JournalResult{JournalResult::Kind::Failed,
                              "message too large for hpfeeds: PUBLISH frame of " + std::to_string(frame) +
                                  " bytes exceeds max_frame_bytes " + std::to_string(limit)};
    }
    auto initiate = [state, payload](auto handler) {
      auto executor = asio::get_associated_executor(handler, state->strand);
      // Copyable for std::function; called at most once.
      auto held = std::make_shared<decltype(handler)>(std::move(handler));
      State::Completion complete = [held, executor](JournalResult result) {
        asio::post(executor, [held, result = std::move(result)]() mutable { std::move(*held)(std::move(result)); });
      };
      asio::post(state->strand, [state, job = State::Queued{payload, std::move(complete)}]() mutable {
        enqueue(state, std::move(job));
      });
    };
    using Signature = void(JournalResult);
    JournalResult result =
        co_await asio::async_initiate<decltype(asio::use_awaitable), Signature>(initiate, asio::use_awaitable);
    co_return result;
  } catch (const std::exception& e) {
    log::error("hpfeeds_publish_error", {{"upstream", state->upstream->name}, {"error", e.what()}});
    co_return deferred(std::string("internal error: ") + e.what());
  }
}

}  // namespace postern::delivery
