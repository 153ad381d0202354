// A message's bytes as delivery sends them: pieces pulled one at a time, so that no delivery holds
// a whole message. UpstreamSession (upstream_session.hpp) pulls the pieces after the 354 and
// writes each one dot-stuffed before it pulls the next; the maildir upstream writes them to its
// file. The queue's source is QueuedBody (queued_body.hpp); TextBody wraps a string held
// elsewhere (tools, tests).
//
//   const std::uint64_t size = body.size_as_sent();   // for SIZE=, before MAIL
//   while (!body.finished()) {
//     std::string piece = co_await body.next_piece();
//     ...
//   }
//
// A source is read once, from its start to its end.
#pragma once

#include "server/smtp_client/dot_stuffer.hpp"

#include <boost/asio/awaitable.hpp>

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <stdexcept>
#include <string>
#include <string_view>

namespace postern::delivery {

// The message cannot be read (the database is away, the message is gone or not the size
// recorded): the delivery must stop before the upstream could take a truncated message.
class BodyUnreadable : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

class BodySource {
 public:
  virtual ~BodySource() = default;

  // The message on the wire before dot-stuffing, as SIZE= counts it (RFC 1870 §3): exactly
  // smtp_client::DotStuffer::size_as_sent() of all the pieces together, known before the first.
  virtual std::uint64_t size_as_sent() const = 0;

  // True once the last piece was handed out (at once for an empty message).
  virtual bool finished() const = 0;

  // The next piece of the message (CRLF lines, not dot-stuffed; a line may span pieces). Call
  // only while !finished(). Throws BodyUnreadable.
  virtual boost::asio::awaitable<std::string> next_piece() = 0;
};

// A message held whole elsewhere (it must outlive the source), in pieces of `piece_size`.
class TextBody final : public BodySource {
 public:
  explicit TextBody(std::string_view text, std::size_t piece_size = 256 * 1024)
      : text_(text), piece_size_(std::max<std::size_t>(1, piece_size)) {}

  std::uint64_t size_as_sent() const override { return smtp_client::DotStuffer::size_as_sent(text_); }
  bool finished() const override { return offset_ == text_.size(); }
  boost::asio::awaitable<std::string> next_piece() override {
    const std::string_view piece = text_.substr(offset_, piece_size_);
    offset_ += piece.size();
    co_return std::string(piece);
  }

 private:
  std::string_view text_;
  std::size_t piece_size_;
  std::size_t offset_ = 0;
};

}  // namespace postern::delivery
