// See signed_body.hpp.
#include "server/delivery/signed_body.hpp"

#include "dkim/canonical.hpp"
#include "server/delivery/queued_body.hpp"

#include <utility>

namespace postern::delivery {
namespace {

// `prefix`, then every piece of `inner`. The prefix ends with CRLF and starts no line with a
// dot, so the stuffed size is the prefix's plus the inner one's.
class PrefixedBody final : public BodySource {
 public:
  PrefixedBody(std::string prefix, std::unique_ptr<BodySource> inner)
      : prefix_(std::move(prefix)), inner_(std::move(inner)), size_(prefix_.size() + inner_->size_as_sent()) {}

  std::uint64_t size_as_sent() const override { return size_; }
  bool finished() const override { return prefix_.empty() && inner_->finished(); }
  boost::asio::awaitable<std::string> next_piece() override {
    if (!prefix_.empty()) co_return std::exchange(prefix_, std::string());
    std::string piece = co_await inner_->next_piece();
    co_return piece;
  }

 private:
  std::string prefix_;
  std::unique_ptr<BodySource> inner_;
  std::uint64_t size_;
};

}  // namespace

boost::asio::awaitable<std::unique_ptr<BodySource>> signed_body(OpenBody open, SignatureFields fields) {
  std::unique_ptr<BodySource> first = co_await open();
  std::string header_section;
  bool in_body = false;
  dkim::BodyHasher hasher;
  while (!first->finished()) {
    std::string piece = co_await first->next_piece();
    if (in_body) {
      hasher.update(piece);
      continue;
    }
    const std::size_t searched = header_section.size() < 3 ? 0 : header_section.size() - 3;  // it may straddle pieces
    header_section += piece;
    if (header_section.starts_with("\r\n")) {
      hasher.update(std::string_view(header_section).substr(2));
      header_section.clear();
      in_body = true;
    } else if (const std::size_t blank = header_section.find("\r\n\r\n", searched); blank != std::string::npos) {
      hasher.update(std::string_view(header_section).substr(blank + 4));
      header_section.resize(blank + 2);
      in_body = true;
    } else if (header_section.size() > kMaxHeaderRead) {
      throw BodyUnreadable("the header section of the message does not end within its first " +
                           std::to_string(kMaxHeaderRead / 1024) + " KiB: it cannot be signed");
    }
  }
  std::string prefix = fields(header_section, hasher.finish());
  std::unique_ptr<BodySource> second = co_await open();
  if (prefix.empty()) co_return second;
  co_return std::make_unique<PrefixedBody>(std::move(prefix), std::move(second));
}

}  // namespace postern::delivery
