// Reading the bodies of hpfeeds frames (frame.hpp) that a publisher receives or a test broker
// forwards: INFO, ERROR, PUBLISH. A body is untrusted bytes from the network: a len8 field that
// runs past the end of the body is an error in the result, never a read past it.
//
//   Decoded<Info> info = decode_info(frame.body);
//   if (!info) fail(info.error);   // "malformed OP_INFO: broker name of 7 bytes runs past ..."
//   else hash = auth_hash(info.value->nonce, secret);
#pragma once

#include <optional>
#include <string>
#include <string_view>

namespace hpfeeds {

// A decoder's answer: the value, or why the body is malformed.
template <class T>
struct Decoded {
  std::optional<T> value;
  std::string error;  // set exactly when value is empty

  explicit operator bool() const { return value.has_value(); }
};

struct Info {
  std::string broker_name;
  std::string nonce;  // the rest of the frame; the Python broker sends 4 random bytes
};

struct Publish {
  std::string ident;
  std::string channel;
  std::string payload;
};

Decoded<Info> decode_info(std::string_view body);
Decoded<Publish> decode_publish(std::string_view body);
// The broker's message: the whole body, as sent (UTF-8 by the protocol, unchecked here).
std::string decode_error(std::string_view body);

}  // namespace hpfeeds
