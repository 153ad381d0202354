// Feeds smtp_client::ReplyReader arbitrary upstream bytes in pieces and checks what it hands
// back, whatever a hostile or broken server sends: well-formed replies within the limits, the
// same replies and the same verdict however the bytes were cut, and a failure that stays.
//
// Input: the first byte is the piece size (0: the whole input at once); the rest is what the
// server sends. The same bytes are also read one by one and at once, and must give the same.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>
#include <vector>

#include "server/smtp_client/reply_reader.hpp"

namespace {

using smtp_client::ReplyReader;

// Small limits, so the fuzzer reaches them.
constexpr std::size_t kMaxLine = 64;
constexpr std::size_t kMaxLines = 8;

void check(bool invariant) {
  if (!invariant) std::abort();
}

struct Read {
  std::vector<smtp::Reply> replies;
  bool failed = false;
  bool pending = false;
};

void check_reply(const smtp::Reply& reply) {
  check(reply.code >= 200 && reply.code <= 559 && reply.code % 100 <= 59);
  check(!reply.lines.empty() && reply.lines.size() <= kMaxLines);
  for (const std::string& line : reply.lines) {
    check(line.size() < kMaxLine);
    check(line.find('\n') == std::string::npos);
  }
  if (!reply.enhanced.empty()) {
    check(reply.enhanced.size() >= 5 && reply.enhanced.size() <= 9);
    check(reply.enhanced[0] == static_cast<char>('0' + reply.code / 100) && reply.enhanced[1] == '.');
  }
  const std::string one_line = reply.one_line();
  check(one_line.size() <= 1000);
  for (const char c : one_line) check(static_cast<unsigned char>(c) >= 0x20 && c != 0x7f);
}

Read read_in_pieces(std::string_view server, std::size_t piece) {
  ReplyReader reader(kMaxLine, kMaxLines);
  Read read;
  for (std::size_t pos = 0; pos < server.size(); pos += piece) {
    reader.feed(server.substr(pos, piece));
    while (auto reply = reader.next()) {
      check(!reader.failed());
      check_reply(*reply);
      read.replies.push_back(std::move(*reply));
    }
    if (reader.failed()) {
      check(!reader.error().empty() && reader.error().find('\n') == std::string::npos);
      check(!reader.has_pending());
      reader.feed("250 ok\r\n");  // a failure stays: nothing more is read
      check(!reader.next() && reader.failed());
      read.failed = true;
      return read;
    }
  }
  read.pending = reader.has_pending();
  return read;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size == 0) return 0;
  const std::size_t piece = data[0] == 0 ? size : data[0];
  const std::string_view server(reinterpret_cast<const char*>(data + 1), size - 1);
  const Read pieces = read_in_pieces(server, piece);
  const Read bytes = read_in_pieces(server, 1);
  const Read whole = read_in_pieces(server, server.size() + 1);
  // How the bytes were cut changes nothing, except that a line over the limit can be noticed
  // before its end arrives: then the replies before it are the same, and it fails either way.
  check(pieces.failed == bytes.failed && bytes.failed == whole.failed);
  check(pieces.replies == bytes.replies && bytes.replies == whole.replies);
  if (!whole.failed) check(pieces.pending == whole.pending && bytes.pending == whole.pending);
  return 0;
}
