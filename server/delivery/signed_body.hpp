// A message made at delivery (a share mail), DKIM-signed: its source is opened twice, once read
// through to take its header section and hash its body, then again to send, with the
// DKIM-Signature fields first. A share mail is the same byte for byte each time it is made
// (share_body.hpp), so the signature covers what is sent. Memory: the header section and a piece.
//
//   std::unique_ptr<BodySource> body = co_await signed_body(open_share_mail, signature_fields);
#pragma once

#include "server/delivery/body_source.hpp"

#include <boost/asio/awaitable.hpp>

#include <functional>
#include <memory>
#include <string>
#include <string_view>

namespace postern::delivery {

// Makes the message afresh, from its start.
using OpenBody = std::function<boost::asio::awaitable<std::unique_ptr<BodySource>>()>;
// The fields to prepend, given the header section (without its empty line) and the body hash;
// "" to send the message unsigned.
using SignatureFields = std::function<std::string(std::string_view header_section, std::string_view body_hash)>;

// Throws BodyUnreadable (also when the header section does not end within kMaxHeaderRead).
boost::asio::awaitable<std::unique_ptr<BodySource>> signed_body(OpenBody open, SignatureFields fields);

}  // namespace postern::delivery
