// The handlers of postern.yaml (`handlers:`): an ordered list of actions that run on each
// message at the end of DATA, before it is queued, so that whatever they decide (a rejection, a
// deferral, a discard) is decided before the client hears 250. Each handler has a name, an
// optional `when` (conditions.hpp) and one action: a built-in one (edits.hpp applies those that
// change the message) or an external `command`. Plain data: the config loader fills it, intake's
// handler chain (server/queue/handler_chain.hpp) runs it.
#pragma once

#include "server/handlers/header_pattern.hpp"
#include "server/smtp/reply.hpp"

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <utility>
#include <variant>
#include <vector>

namespace postern::handlers {

// A header field whose (unfolded, decoded) value matches a pattern.
struct HeaderMatch {
  std::string name;
  HeaderPattern pattern;

  friend bool operator==(const HeaderMatch&, const HeaderMatch&) = default;
};

// `when`: every condition that is set must hold; none set: every message. Addresses and domains
// are normalised as the config holds them and compared like routes (schema::address_matches).
struct Conditions {
  std::string sender;            // the envelope sender is this mailbox
  std::string sender_domain;     // ... or in this domain
  std::string user;              // the authenticated user (normalised name)
  std::string recipient;         // some envelope recipient is this mailbox
  std::string recipient_domain;  // ... or in this domain
  std::optional<HeaderMatch> header;
  std::optional<std::uint64_t> size_above;  // the message is larger than this many octets
  std::optional<std::uint64_t> size_below;  // ... smaller than this

  friend bool operator==(const Conditions&, const Conditions&) = default;
};

// smtpproxy's setTo: the envelope's recipients become this one address, and To: says so.
struct SetRecipient {
  std::string address;

  friend bool operator==(const SetRecipient&, const SetRecipient&) = default;
};

// smtpproxy's setFrom/forcefrom: the envelope sender and From: become this address. Only an
// address the user may send as, unless `any_user` (the operator vouches for it: the header From
// policy then accepts this address too).
struct SetSender {
  std::string address;
  std::string display_name;  // From: "name <address>"; empty: the bare address
  bool any_user = false;

  friend bool operator==(const SetSender&, const SetSender&) = default;
};

struct AddHeader {
  std::string name;
  std::string value;

  friend bool operator==(const AddHeader&, const AddHeader&) = default;
};

struct RemoveHeader {
  std::string name;

  friend bool operator==(const RemoveHeader&, const RemoveHeader&) = default;
};

// Accepted (250), logged and counted, never queued nor delivered.
struct Discard {
  friend bool operator==(const Discard&, const Discard&) = default;
};

// A configured reply: 5xx for reject, 4xx for defer.
struct Reject {
  smtp::Reply reply = smtp::Reply::line(550, "5.7.1", "Message rejected");

  friend bool operator==(const Reject&, const Reject&) = default;
};
struct Defer {
  smtp::Reply reply = smtp::Reply::line(451, "4.7.1", "Message deferred, try again later");

  friend bool operator==(const Defer&, const Defer&) = default;
};

// The upstream for the message's recipients that have no share map, recorded in the queue at
// intake; it takes precedence over `routes:`.
struct Route {
  std::string upstream;

  friend bool operator==(const Route&, const Route&) = default;
};

// An external program (argv, never a shell) with the message on stdin; its exit status decides
// (command_verdict.hpp in server/queue).
struct Command {
  enum class Mode {
    Check,    // exit 0: the message goes on unchanged
    Rewrite,  // exit 0: its stdout is the new message
  };
  std::vector<std::string> argv;  // argv[0]: an absolute path
  Mode mode = Mode::Check;
  unsigned timeout_seconds = 30;
  std::size_t max_output = 64 * 1024;  // stdout; with mode: rewrite, the message size limit
  std::string working_directory = "/";
  std::optional<int> discard_status;  // this exit status discards the message
  std::vector<std::pair<std::string, std::string>> environment;  // added to the clean one

  friend bool operator==(const Command&, const Command&) = default;
};

using Action = std::variant<SetRecipient, SetSender, AddHeader, RemoveHeader, Discard, Reject, Defer, Route, Command>;

struct Handler {
  std::string name;
  Conditions when;
  Action action;

  friend bool operator==(const Handler&, const Handler&) = default;
};

// The handlers, and the pool their commands run on (never on the I/O threads).
struct HandlerSettings {
  std::vector<Handler> handlers;
  unsigned command_workers = 4;    // commands running at once, per replica
  unsigned command_queue = 100;    // commands waiting for a worker; more: 451 at once

  friend bool operator==(const HandlerSettings&, const HandlerSettings&) = default;
};

// The action's key in postern.yaml, for logs and metrics: "set_recipient", "command", ...
const char* action_name(const Action& action);

}  // namespace postern::handlers
