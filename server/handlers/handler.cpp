// See handler.hpp.
#include "server/handlers/handler.hpp"

namespace postern::handlers {

const char* action_name(const Action& action) {
  struct Names {
    const char* operator()(const SetRecipient&) const { return "set_recipient"; }
    const char* operator()(const SetSender&) const { return "set_sender"; }
    const char* operator()(const AddHeader&) const { return "add_header"; }
    const char* operator()(const RemoveHeader&) const { return "remove_header"; }
    const char* operator()(const Discard&) const { return "discard"; }
    const char* operator()(const Reject&) const { return "reject"; }
    const char* operator()(const Defer&) const { return "defer"; }
    const char* operator()(const Route&) const { return "route"; }
    const char* operator()(const Command&) const { return "command"; }
  };
  return std::visit(Names{}, action);
}

}  // namespace postern::handlers
