// Writing hpfeeds frames (frame.hpp): one encoder per opcode, byte for byte what the Python
// reference (hpfeeds protocol.py) sends, and the size of a PUBLISH frame before it is built, so a
// publisher can refuse a message over the broker's limit without connecting.
//
//   std::string bytes = encode_auth(ident, auth_hash(info.nonce, secret));
//   if (publish_frame_size(ident, channel, payload.size()) > limit) ...   // refuse up front
//   append_publish(batch, ident, channel, payload);                       // several frames, one write
//
// A name (ident, channel, broker name) longer than 255 bytes does not fit its len8 field, and a
// frame longer than 2^32 - 1 bytes does not fit the header: the encoders throw
// std::length_error for both rather than send a frame the broker would misread.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>

namespace hpfeeds {

std::string encode_error(std::string_view text);
std::string encode_info(std::string_view broker_name, std::string_view nonce);
// hash: auth_hash(nonce, secret) (auth_hash.hpp).
std::string encode_auth(std::string_view ident, std::string_view hash);
std::string encode_publish(std::string_view ident, std::string_view channel, std::string_view payload);
// encode_publish, appended to `out`: a batch of frames in one buffer without a copy per frame.
void append_publish(std::string& out, std::string_view ident, std::string_view channel, std::string_view payload);
std::string encode_subscribe(std::string_view ident, std::string_view channel);
std::string encode_unsubscribe(std::string_view ident, std::string_view channel);

// The length of encode_publish(ident, channel, payload), header included, for a payload of
// payload_size bytes; no limit checked, no overflow below SIZE_MAX / 2.
std::size_t publish_frame_size(std::string_view ident, std::string_view channel, std::size_t payload_size);

}  // namespace hpfeeds
