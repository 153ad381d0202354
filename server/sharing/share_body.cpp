// See share_body.hpp.
#include "server/sharing/share_body.hpp"

#include "server/filters/submission_headers.hpp"
#include "shares/privmail_message_shape.hpp"
#include "shares/privmail_share_mail.hpp"
#include "shares/share_group_id.hpp"

namespace postern::sharing {

ShareBody::ShareBody(delivery::ChunkReader read, std::uint64_t stored_size, const shares::ShareMailFields& fields,
                     const shares::Seed& group_seed)
    : cursor_(std::move(read), stored_size, schema::kChunkSize), writer_(fields, stored_size, group_seed) {}

boost::asio::awaitable<std::string> ShareBody::next_piece() {
  std::string piece;
  if (!cursor_.at_end()) {
    std::string chunk = co_await cursor_.next();
    piece = writer_.write(chunk);
  }
  if (cursor_.at_end()) {
    piece += writer_.finish();
    finished_ = true;
  }
  co_return piece;
}

namespace {

// A whole mail held here.
class OwnedTextBody final : public delivery::BodySource {
 public:
  explicit OwnedTextBody(std::string text) : text_(std::move(text)), view_(text_) {}
  OwnedTextBody(const OwnedTextBody&) = delete;  // view_ points into text_
  OwnedTextBody& operator=(const OwnedTextBody&) = delete;
  std::uint64_t size_as_sent() const override { return view_.size_as_sent(); }
  bool finished() const override { return view_.finished(); }
  boost::asio::awaitable<std::string> next_piece() override { return view_.next_piece(); }

 private:
  std::string text_;
  delivery::TextBody view_;
};

}  // namespace

boost::asio::awaitable<std::unique_ptr<delivery::BodySource>> privmail_share_body(delivery::ChunkReader read,
                                                                                  std::uint64_t stored_size,
                                                                                  unsigned index, unsigned count,
                                                                                  const shares::Seed& group_seed) {
  if (std::string problem = shares::privmail_size_problem(stored_size); !problem.empty()) {
    throw delivery::BodyUnreadable("privmail share: " + problem);
  }
  delivery::ChunkCursor cursor{std::move(read), stored_size, schema::kChunkSize};
  std::string message;
  while (!cursor.at_end()) {
    std::string chunk = co_await cursor.next();
    message += chunk;
  }
  const shares::PrivmailShape shape = shares::check_privmail_shape(message);
  if (!shape.content) throw delivery::BodyUnreadable("privmail share: " + shape.problem);
  std::unique_ptr<delivery::BodySource> body =
      std::make_unique<OwnedTextBody>(shares::write_privmail_share_mail(*shape.content, index, count, group_seed));
  co_return body;
}

shares::ShareMailFields share_mail_fields(const shares::Seed& group_seed, unsigned index,
                                          const shares::SharingParams& params, const std::string& from,
                                          const std::string& to, long long arrival_time,
                                          const std::string& hostname) {
  shares::ShareMailFields fields;
  fields.share.id = shares::derive_group_id(group_seed);
  fields.share.index = index;
  fields.share.params = params;
  fields.from = from;
  fields.to = to;
  fields.date = filters::rfc5322_date(static_cast<std::time_t>(arrival_time));
  fields.message_id = "<" + fields.share.id.hex() + "." + std::to_string(index) + "@" + hostname + ">";
  return fields;
}

}  // namespace postern::sharing
