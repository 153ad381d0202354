// See encode.hpp.
#include "server/hpfeeds/encode.hpp"

#include "server/hpfeeds/frame.hpp"

#include <cstdint>
#include <limits>
#include <stdexcept>

namespace hpfeeds {
namespace {

void check_short(std::string_view value, const char* what) {
  if (value.size() > kMaxShortString) {
    throw std::length_error(std::string("hpfeeds ") + what + " of " + std::to_string(value.size()) +
                            " bytes does not fit its 255-byte field");
  }
}

// The header of a frame with a body of body_size bytes.
void append_header(std::string& out, Opcode opcode, std::size_t body_size) {
  if (body_size > std::numeric_limits<std::uint32_t>::max() - kHeaderBytes) {
    throw std::length_error("hpfeeds frame of " + std::to_string(body_size) + " bytes does not fit the 32-bit length");
  }
  const auto total = static_cast<std::uint32_t>(kHeaderBytes + body_size);
  out += static_cast<char>(total >> 24);
  out += static_cast<char>((total >> 16) & 0xFF);
  out += static_cast<char>((total >> 8) & 0xFF);
  out += static_cast<char>(total & 0xFF);
  out += static_cast<char>(opcode);
}

void append_short(std::string& out, std::string_view value) {
  out += static_cast<char>(value.size());
  out.append(value);
}

// A frame whose body is a len8 string and the rest (AUTH, SUBSCRIBE, UNSUBSCRIBE, INFO).
std::string short_and_rest(Opcode opcode, std::string_view first, const char* first_name, std::string_view rest) {
  check_short(first, first_name);
  const std::size_t body = 1 + first.size() + rest.size();
  std::string out;
  out.reserve(kHeaderBytes + body);
  append_header(out, opcode, body);
  append_short(out, first);
  out.append(rest);
  return out;
}

}  // namespace

std::string encode_error(std::string_view text) {
  std::string out;
  out.reserve(kHeaderBytes + text.size());
  append_header(out, Opcode::Error, text.size());
  out.append(text);
  return out;
}

std::string encode_info(std::string_view broker_name, std::string_view nonce) {
  return short_and_rest(Opcode::Info, broker_name, "broker name", nonce);
}

std::string encode_auth(std::string_view ident, std::string_view hash) {
  return short_and_rest(Opcode::Auth, ident, "ident", hash);
}

std::string encode_publish(std::string_view ident, std::string_view channel, std::string_view payload) {
  std::string out;
  append_publish(out, ident, channel, payload);
  return out;
}

void append_publish(std::string& out, std::string_view ident, std::string_view channel, std::string_view payload) {
  check_short(ident, "ident");
  check_short(channel, "channel");
  const std::size_t total = publish_frame_size(ident, channel, payload.size());
  out.reserve(out.size() + total);
  append_header(out, Opcode::Publish, total - kHeaderBytes);
  append_short(out, ident);
  append_short(out, channel);
  out.append(payload);
}

std::string encode_subscribe(std::string_view ident, std::string_view channel) {
  return short_and_rest(Opcode::Subscribe, ident, "ident", channel);
}

std::string encode_unsubscribe(std::string_view ident, std::string_view channel) {
  return short_and_rest(Opcode::Unsubscribe, ident, "ident", channel);
}

std::size_t publish_frame_size(std::string_view ident, std::string_view channel, std::size_t payload_size) {
  return kHeaderBytes + 1 + ident.size() + 1 + channel.size() + payload_size;
}

}  // namespace hpfeeds
