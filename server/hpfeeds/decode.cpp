// See decode.hpp.
#include "server/hpfeeds/decode.hpp"

namespace hpfeeds {
namespace {

// Takes a len8 string off the front of `body` into `out`. On failure returns why ("ident of 9
// bytes runs past the end of the body (4 bytes left)"), else "".
std::string take_short(std::string_view& body, const char* field, std::string& out) {
  if (body.empty()) return std::string(field) + " missing (the body ends before its length byte)";
  const std::size_t length = static_cast<unsigned char>(body.front());
  if (body.size() - 1 < length) {
    return std::string(field) + " of " + std::to_string(length) + " bytes runs past the end of the body (" +
           std::to_string(body.size() - 1) + " bytes left)";
  }
  out.assign(body.substr(1, length));
  body.remove_prefix(1 + length);
  return "";
}

template <class T>
Decoded<T> malformed(const char* opcode, std::string why) {
  Decoded<T> result;
  result.error = std::string("malformed ") + opcode + ": " + why;
  return result;
}

}  // namespace

Decoded<Info> decode_info(std::string_view body) {
  Info info;
  if (std::string why = take_short(body, "broker name", info.broker_name); !why.empty()) {
    return malformed<Info>("OP_INFO", std::move(why));
  }
  info.nonce.assign(body);
  return {std::move(info), {}};
}

Decoded<Publish> decode_publish(std::string_view body) {
  Publish publish;
  if (std::string why = take_short(body, "ident", publish.ident); !why.empty()) {
    return malformed<Publish>("OP_PUBLISH", std::move(why));
  }
  if (std::string why = take_short(body, "channel", publish.channel); !why.empty()) {
    return malformed<Publish>("OP_PUBLISH", std::move(why));
  }
  publish.payload.assign(body);
  return {std::move(publish), {}};
}

std::string decode_error(std::string_view body) { return std::string(body); }

}  // namespace hpfeeds
