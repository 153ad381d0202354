// See amqp_connection.hpp.
#include "server/delivery/amqp_connection.hpp"

#include "server/delivery/amqp_tls.hpp"
#include "server/delivery/connect_failure.hpp"

#include <amqp.h>
#include <amqp_framing.h>
#include <amqp_ssl_socket.h>
#include <amqp_tcp_socket.h>

#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <sys/socket.h>
#include <sys/time.h>


namespace postern::delivery {
namespace {

constexpr amqp_channel_t kChannel = 1;
// A broker that does not answer connection.close within this is left to notice the closed socket.
constexpr std::chrono::seconds kCloseTimeout{2};
// Writing a message may take this much longer than timeout_seconds per MiB: 25 MiB at 8 Mbit/s.
constexpr std::chrono::seconds kWritePerMebibyte{1};

timeval to_timeval(std::chrono::microseconds span) {
  if (span.count() < 0) span = std::chrono::microseconds{0};
  timeval tv{};
  tv.tv_sec = static_cast<time_t>(span.count() / 1000000);
  tv.tv_usec = static_cast<suseconds_t>(span.count() % 1000000);
  return tv;
}

std::string text_of(amqp_bytes_t bytes) { return {static_cast<const char*>(bytes.bytes), bytes.len}; }

// "404 NOT_FOUND - no exchange 'x' in vhost '/'": RabbitMQ's reply texts start with the code's name.
std::string reply_of(unsigned code, const std::string& text) { return std::to_string(code) + " " + text; }

// Why an RPC (login, channel.open, confirm.select, exchange.declare) failed.
std::string describe(const amqp_rpc_reply_t& reply, const std::string& timed_out) {
  switch (reply.reply_type) {
    case AMQP_RESPONSE_NORMAL:
      return "no error";
    case AMQP_RESPONSE_NONE:
      return "no reply";
    case AMQP_RESPONSE_LIBRARY_EXCEPTION:
      return reply.library_error == AMQP_STATUS_TIMEOUT ? timed_out : amqp_error_string2(reply.library_error);
    case AMQP_RESPONSE_SERVER_EXCEPTION:
      if (reply.reply.id == AMQP_CONNECTION_CLOSE_METHOD) {
        const auto* close = static_cast<const amqp_connection_close_t*>(reply.reply.decoded);
        return reply_of(close->reply_code, text_of(close->reply_text));
      }
      if (reply.reply.id == AMQP_CHANNEL_CLOSE_METHOD) {
        const auto* close = static_cast<const amqp_channel_close_t*>(reply.reply.decoded);
        return reply_of(close->reply_code, text_of(close->reply_text));
      }
      return "unexpected method " + std::to_string(reply.reply.id);
  }
  return "unknown reply";
}

JournalResult deferred(std::string detail) { return {JournalResult::Kind::Deferred, std::move(detail)}; }

// Only one message is in flight on a channel, so an ack (or nack) covers it when it names its
// tag, or a later one with `multiple` (0 with multiple: everything so far).
bool covers(std::uint64_t acked, bool multiple, std::uint64_t tag) {
  return acked == tag || (multiple && (acked == 0 || acked >= tag));
}

// An idle connection is probed by the kernel, so that a broker gone without a word (a dead host,
// a NAT that forgot the flow) shows as an error before the next message, not as a timeout on it.
void keep_alive(int fd) {
  const int idle = 60, interval = 10, count = 3;
  ::setsockopt(fd, IPPROTO_TCP, TCP_KEEPIDLE, &idle, sizeof idle);
  ::setsockopt(fd, IPPROTO_TCP, TCP_KEEPINTVL, &interval, sizeof interval);
  ::setsockopt(fd, IPPROTO_TCP, TCP_KEEPCNT, &count, sizeof count);
}

}  // namespace

AmqpConnection::AmqpConnection(const Upstream& upstream, SocketWatchdog& watchdog)
    : upstream_(upstream), watchdog_(watchdog), timeout_(std::chrono::seconds(upstream.timeout_seconds)) {}

AmqpConnection::~AmqpConnection() {
  if (state_ != nullptr) amqp_destroy_connection(state_);
}

std::string AmqpConnection::where() const { return upstream_.host + ":" + std::to_string(upstream_.port); }

std::string AmqpConnection::timed_out() const { return "timed out after " + std::to_string(timeout_.count()) + " s"; }

std::string AmqpConnection::open() {
  broken_ = true;  // until every step succeeded
  state_ = amqp_new_connection();
  if (state_ == nullptr) return "amqp: out of memory";
  const bool tls = upstream_.security == UpstreamSecurity::Tls;
  amqp_socket_t* socket = tls ? amqp_ssl_socket_new(state_) : amqp_tcp_socket_new(state_);
  if (socket == nullptr) return "amqp: cannot create a socket";
  if (tls) {
    std::string error = prepare_amqp_tls(socket, upstream_);
    if (!error.empty()) return "amqp: TLS set-up failed: " + error;
  }

  const timeval timeout = to_timeval(timeout_);
  const int opened = amqp_socket_open_noblock(socket, upstream_.host.c_str(), upstream_.port, &timeout);
  if (opened != AMQP_STATUS_OK) {
    if (tls && is_amqp_tls_failure(opened)) {
      return "amqp: TLS handshake with " + where() + " failed: " + amqp_tls_failure(opened);
    }
    std::string why = amqp_error_string2(opened);
    if (opened == AMQP_STATUS_TIMEOUT) {
      why = timed_out();
    } else if (opened == AMQP_STATUS_SOCKET_ERROR) {
      why = connect_failure(upstream_.host, upstream_.port).value_or(why);
    }
    return "amqp: connect to " + where() + " failed: " + why;
  }
  talks_ = true;
  keep_alive(amqp_get_sockfd(state_));

  amqp_set_handshake_timeout(state_, &timeout);
  amqp_set_rpc_timeout(state_, &timeout);
  // No heartbeats: librabbitmq serves them only inside its own calls, so the broker would close
  // every connection that waits idle for the next message.
  const amqp_rpc_reply_t login =
      amqp_login(state_, upstream_.amqp.vhost.c_str(), 0, AMQP_DEFAULT_FRAME_SIZE, 0, AMQP_SASL_METHOD_PLAIN,
                 upstream_.username.c_str(), upstream_.password.c_str());
  if (login.reply_type != AMQP_RESPONSE_NORMAL) {
    talks_ = false;  // a refused login ends with the broker's connection.close
    if (login.reply_type == AMQP_RESPONSE_SERVER_EXCEPTION) {
      return "amqp: login refused: " + describe(login, timed_out());
    }
    return "amqp: login to " + where() + " failed: " + describe(login, timed_out());
  }

  amqp_channel_open(state_, kChannel);
  if (amqp_rpc_reply_t r = amqp_get_rpc_reply(state_); r.reply_type != AMQP_RESPONSE_NORMAL) {
    return setup_failure("channel.open", r);
  }
  amqp_confirm_select(state_, kChannel);
  if (amqp_rpc_reply_t r = amqp_get_rpc_reply(state_); r.reply_type != AMQP_RESPONSE_NORMAL) {
    return setup_failure("confirm.select", r);
  }
  const AmqpSettings& amqp = upstream_.amqp;
  if (amqp.declare_exchange && !amqp.exchange.empty()) {  // "" is the default exchange: always there
    amqp_exchange_declare(state_, kChannel, amqp_cstring_bytes(amqp.exchange.c_str()),
                          amqp_cstring_bytes(amqp.exchange_type.c_str()), /*passive=*/0, /*durable=*/1,
                          /*auto_delete=*/0, /*internal=*/0, amqp_empty_table);
    if (amqp_rpc_reply_t r = amqp_get_rpc_reply(state_); r.reply_type != AMQP_RESPONSE_NORMAL) {
      return setup_failure("exchange.declare of " + amqp.exchange, r);
    }
  }
  open_ = true;
  broken_ = false;
  delivery_tag_ = 0;  // confirm.select numbers the channel's messages from 1
  return {};
}

std::string AmqpConnection::setup_failure(const std::string& step, const amqp_rpc_reply_t& reply) {
  // After the broker closed only the channel, the connection still talks; after anything else
  // (a timeout, a lost socket, a closed connection) it does not.
  talks_ = reply.reply_type == AMQP_RESPONSE_SERVER_EXCEPTION && reply.reply.id == AMQP_CHANNEL_CLOSE_METHOD;
  return "amqp: " + step + " failed: " + describe(reply, timed_out());
}

bool AmqpConnection::usable() {
  if (!open_ || broken_) return false;
  // Nothing comes unasked on an idle channel but a close (or a connection.blocked, after which
  // a fresh connection is as good); a readable socket may also be its end of file.
  const int fd = amqp_get_sockfd(state_);
  pollfd p{fd, POLLIN, 0};
  if (fd < 0 || amqp_frames_enqueued(state_) || amqp_data_in_buffer(state_) || ::poll(&p, 1, 0) != 0) {
    broken_ = true;
    talks_ = false;
    return false;
  }
  return true;
}

JournalResult AmqpConnection::drop(std::string detail) {
  broken_ = true;
  talks_ = false;
  return deferred(std::move(detail));
}

JournalResult AmqpConnection::publish(const std::string& payload) {
  const AmqpSettings& amqp = upstream_.amqp;
  amqp_basic_properties_t properties{};
  properties._flags = AMQP_BASIC_CONTENT_TYPE_FLAG | AMQP_BASIC_DELIVERY_MODE_FLAG;
  const char* content_type = amqp.format == JournalFormat::Json ? "application/json" : "message/rfc822";
  properties.content_type = amqp_cstring_bytes(content_type);
  properties.delivery_mode = amqp.persistent ? AMQP_DELIVERY_PERSISTENT : AMQP_DELIVERY_NONPERSISTENT;
  amqp_bytes_t body;
  body.len = payload.size();
  body.bytes = const_cast<char*>(payload.data());  // librabbitmq only reads it

  // librabbitmq writes without a deadline: the watchdog ends a write that a broker stopped reading.
  const auto limit = timeout_ + kWritePerMebibyte * static_cast<long>(payload.size() >> 20);
  int status = AMQP_STATUS_OK;
  bool expired = false;
  {
    SocketWatchdog::Watch watch = watchdog_.watch(amqp_get_sockfd(state_), SocketWatchdog::Clock::now() + limit);
    status = amqp_basic_publish(state_, kChannel, amqp_cstring_bytes(amqp.exchange.c_str()),
                                amqp_cstring_bytes(amqp.routing_key.c_str()), amqp.mandatory ? 1 : 0,
                                /*immediate=*/0, &properties, body);
    expired = watch.end();
  }
  if (expired) return drop("amqp: publish to " + where() + " timed out after " + std::to_string(limit.count()) + " s");
  if (status != AMQP_STATUS_OK) return drop("amqp: publish to " + where() + " failed: " + amqp_error_string2(status));
  return await_confirm(++delivery_tag_);
}

JournalResult AmqpConnection::await_confirm(std::uint64_t tag) {
  const auto deadline = std::chrono::steady_clock::now() + timeout_;
  std::string returned;  // the detail of a basic.return for this message; its ack follows
  for (;;) {
    const timeval left = to_timeval(
        std::chrono::duration_cast<std::chrono::microseconds>(deadline - std::chrono::steady_clock::now()));
    amqp_frame_t frame;
    const int status = amqp_simple_wait_frame_noblock(state_, &frame, &left);
    if (status == AMQP_STATUS_TIMEOUT) {
      return drop("amqp: no confirm from " + where() + " within " + std::to_string(timeout_.count()) + " s");
    }
    if (status != AMQP_STATUS_OK) {
      return drop("amqp: connection to " + where() + " lost: " + amqp_error_string2(status));
    }
    // Header and body frames are the returned message's content: skipped, never buffered whole.
    if (frame.frame_type == AMQP_FRAME_METHOD) {
      const amqp_method_t& method = frame.payload.method;
      if (method.id == AMQP_BASIC_ACK_METHOD) {
        const auto* ack = static_cast<const amqp_basic_ack_t*>(method.decoded);
        if (covers(ack->delivery_tag, ack->multiple != 0, tag)) {
          amqp_maybe_release_buffers(state_);
          if (!returned.empty()) return deferred(returned);  // acked, but it reached no queue
          return {JournalResult::Kind::Delivered, {}};
        }
      } else if (method.id == AMQP_BASIC_NACK_METHOD) {
        const auto* nack = static_cast<const amqp_basic_nack_t*>(method.decoded);
        if (covers(nack->delivery_tag, nack->multiple != 0, tag)) {
          amqp_maybe_release_buffers(state_);
          return deferred("amqp: broker nacked the message");
        }
      } else if (method.id == AMQP_BASIC_RETURN_METHOD) {
        const auto* back = static_cast<const amqp_basic_return_t*>(method.decoded);
        returned = "amqp: unroutable: " + reply_of(back->reply_code, text_of(back->reply_text)) + " (exchange " +
                   text_of(back->exchange) + ", routing key " + text_of(back->routing_key) + ")";
      } else if (method.id == AMQP_CHANNEL_CLOSE_METHOD) {
        const auto* close = static_cast<const amqp_channel_close_t*>(method.decoded);
        return broker_closed(true, close->reply_code, text_of(close->reply_text));
      } else if (method.id == AMQP_CONNECTION_CLOSE_METHOD) {
        const auto* close = static_cast<const amqp_connection_close_t*>(method.decoded);
        return broker_closed(false, close->reply_code, text_of(close->reply_text));
      }
      // Anything else (connection.blocked, unblocked) leaves the confirm to come, or the timeout.
    }
    amqp_maybe_release_buffers(state_);
  }
}

JournalResult AmqpConnection::broker_closed(bool channel, unsigned code, const std::string& text) {
  amqp_maybe_release_buffers(state_);
  broken_ = true;
  // The broker waits for close-ok; after a channel's close the connection still talks.
  if (channel) {
    amqp_channel_close_ok_t ok{};
    talks_ = amqp_send_method(state_, kChannel, AMQP_CHANNEL_CLOSE_OK_METHOD, &ok) == AMQP_STATUS_OK;
  } else {
    amqp_connection_close_ok_t ok{};
    amqp_send_method(state_, 0, AMQP_CONNECTION_CLOSE_OK_METHOD, &ok);
    talks_ = false;
  }
  const std::string reply = reply_of(code, text);
  // RabbitMQ's max_message_size (406 "message size N is larger than configured max size M"):
  // this message can never pass as the broker is configured.
  if (code == 406 && text.find("message size ") != std::string::npos && text.find("larger than") != std::string::npos) {
    return {JournalResult::Kind::Failed, "amqp: broker refused the message: " + reply};
  }
  return deferred(std::string("amqp: broker closed the ") + (channel ? "channel" : "connection") + ": " + reply);
}

void AmqpConnection::close() {
  if (state_ == nullptr) return;
  if (talks_) {
    const timeval timeout = to_timeval(kCloseTimeout);
    amqp_set_rpc_timeout(state_, &timeout);
    amqp_connection_close(state_, AMQP_REPLY_SUCCESS);
  }
  amqp_destroy_connection(state_);
  state_ = nullptr;
  open_ = false;
  broken_ = true;
  talks_ = false;
}

}  // namespace postern::delivery
