#include "shares/share_mail.hpp"

#include <stdexcept>

namespace postern::shares {
namespace {

void require_field(std::string_view name, std::string_view value) {
  if (value.empty()) throw std::invalid_argument("share mail: " + std::string(name) + " is empty");
  if (value.find_first_of(std::string_view("\r\n\0", 3)) != std::string_view::npos) {
    throw std::invalid_argument("share mail: " + std::string(name) + " holds a line break or NUL");
  }
}

// Folds the metadata before "index=" so that no header line exceeds RFC 5322's 78 characters.
std::string fold_metadata(const std::string& value) {
  const std::size_t index = value.find(" index=");
  return index == std::string::npos ? value : value.substr(0, index) + "\r\n" + value.substr(index);
}

}  // namespace

ShareMailEncoder::ShareMailEncoder(const ShareMailFields& fields) {
  require_field("From", fields.from);
  require_field("To", fields.to);
  require_field("Date", fields.date);
  require_field("Message-ID", fields.message_id);
  const ShareMetadata& share = fields.share;
  if (const std::string problem = params_problem(share.params); !problem.empty()) {
    throw std::invalid_argument("share mail: " + problem);
  }
  if (share.index < 1 || share.index > share.params.count) {
    throw std::invalid_argument("share mail: index outside 1..n");
  }

  const std::string id = share.id.hex();
  const std::string boundary = "=_postern_share_" + id;
  const std::string file_name = "postern-share-" + id + "-" + std::to_string(share.index) + ".bin";
  const std::string k = std::to_string(share.params.threshold);
  const std::string n = std::to_string(share.params.count);
  const std::string how_many = share.params.scheme == Scheme::Xor ? "all " + n : "any " + k;

  head_ = "From: " + fields.from + "\r\n" +
          "To: " + fields.to + "\r\n" +
          "Date: " + fields.date + "\r\n" +
          "Message-ID: " + fields.message_id + "\r\n" +
          "Subject: " + std::string(kShareSubject) + "\r\n" +
          "MIME-Version: 1.0\r\n" +
          std::string(kShareHeaderName) + ": " + fold_metadata(format_share_metadata(share)) + "\r\n" +
          "Content-Type: multipart/mixed;\r\n boundary=\"" + boundary + "\"\r\n" +
          "\r\n" +
          "--" + boundary + "\r\n" +
          "Content-Type: text/plain; charset=us-ascii\r\n" +
          "Content-Transfer-Encoding: 7bit\r\n" +
          "\r\n" +
          "This mail holds share " + std::to_string(share.index) + " of " + n +
          " of a message that was split so that no\r\n" +
          "single mail provider can read it; " + how_many + " of the shares, each sent to a\r\n" +
          "different mailbox, restore it. Combine them with postern-combine.\r\n" +
          "\r\n" +
          "--" + boundary + "\r\n" +
          "Content-Type: application/octet-stream;\r\n name=\"" + file_name + "\"\r\n" +
          "Content-Transfer-Encoding: base64\r\n" +
          "Content-Disposition: attachment;\r\n filename=\"" + file_name + "\"\r\n" +
          "\r\n";
  close_ = "--" + boundary + "--\r\n";
}

std::string ShareMailEncoder::encode(std::string_view share_piece) {
  std::string out;
  if (!head_sent_) {
    out = head_;
    head_sent_ = true;
  }
  out += base64_.encode(share_piece);
  return out;
}

std::string ShareMailEncoder::finish() {
  std::string out = encode({});
  out += base64_.finish();
  out += close_;
  return out;
}

std::uint64_t ShareMailEncoder::mail_size(std::uint64_t share_size) const {
  return head_.size() + Base64LineEncoder::encoded_size(share_size) + close_.size();
}

}  // namespace postern::shares
