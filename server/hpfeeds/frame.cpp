// See frame.hpp.
#include "server/hpfeeds/frame.hpp"

namespace hpfeeds {

std::size_t FrameLimits::limit_for(Opcode opcode) const {
  switch (opcode) {
    case Opcode::Info:
    case Opcode::Auth:
    case Opcode::Subscribe:
    case Opcode::Unsubscribe:
      return small_frame;
    case Opcode::Error:
    case Opcode::Publish:
      break;
  }
  return large_frame;
}

std::string opcode_name(Opcode opcode) {
  switch (opcode) {
    case Opcode::Error: return "OP_ERROR";
    case Opcode::Info: return "OP_INFO";
    case Opcode::Auth: return "OP_AUTH";
    case Opcode::Publish: return "OP_PUBLISH";
    case Opcode::Subscribe: return "OP_SUBSCRIBE";
    case Opcode::Unsubscribe: return "OP_UNSUBSCRIBE";
  }
  return "opcode " + std::to_string(static_cast<unsigned>(opcode));
}

}  // namespace hpfeeds
