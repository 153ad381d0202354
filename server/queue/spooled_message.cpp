// See spooled_message.hpp.
#include "server/queue/spooled_message.hpp"

#include <string_view>
#include <utility>

namespace postern::queue {
namespace {

constexpr std::size_t kReadSize = 16 * 1024;

// Where the header section ends (just past its empty line) within `head`, looking from
// `from` on; npos when the empty line has not been read yet. The protocol let only CRLF line
// endings through, so the empty line is a CRLF at the very start or right after another.
std::size_t header_section_end(std::string_view head, std::size_t from) {
  if (head.starts_with("\r\n")) return 2;
  const std::size_t blank = head.find("\r\n\r\n", from);
  return blank == std::string_view::npos ? blank : blank + 4;
}

}  // namespace

std::optional<HeaderSection> read_header_section(MessageSpool& spool, std::size_t limit) {
  std::string head;
  std::size_t searched = 0;  // the empty line is not before this offset
  for (;;) {
    const std::size_t end = header_section_end(head, searched);
    if (end != std::string::npos) {
      if (end > limit) return std::nullopt;
      HeaderSection section{head.substr(0, end), head.substr(end)};
      return section;
    }
    if (head.size() > limit) return std::nullopt;
    searched = head.size() < 3 ? 0 : head.size() - 3;  // an empty line may straddle two reads
    const std::size_t had = head.size();
    head.resize(had + kReadSize);
    const std::size_t n = spool.read(head.data() + had, kReadSize);
    head.resize(had + n);
    if (n == 0) return HeaderSection{std::move(head), {}};  // all header section
  }
}

schema::ChunkSource queued_content(std::string head, std::shared_ptr<MessageSpool> spool) {
  return [head = std::move(head), offset = std::size_t{0}, spool = std::move(spool)](char* data, std::size_t size) mutable {
    if (offset < head.size()) {
      const std::size_t n = head.copy(data, size, offset);
      offset += n;
      return n;
    }
    return spool->read(data, size);
  };
}

}  // namespace postern::queue
