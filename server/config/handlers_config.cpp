// See handlers_config.hpp.
#include "server/config/handlers_config.hpp"

#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <cerrno>
#include <cstring>
#include <stdexcept>

#include "postern/schema/address.hpp"

namespace postern::config::detail {
namespace {

using namespace postern::handlers;

constexpr std::array<std::string_view, 9> kActions = {"set_recipient", "set_sender", "add_header",
                                                      "remove_header", "discard",    "reject",
                                                      "defer",         "route",      "command"};

// RFC 5322 §3.6.8: printable ASCII but the colon.
bool is_field_name(const std::string& name) {
  return !name.empty() &&
         std::all_of(name.begin(), name.end(), [](char c) { return c > 32 && c < 127 && c != ':'; });
}

// One line of text: no control characters but tabs (a CR or LF would start a new header field,
// or a new SMTP reply line).
bool is_one_line(const std::string& text) {
  return std::none_of(text.begin(), text.end(), [](char c) {
    const auto u = static_cast<unsigned char>(c);
    return (u < 32 && c != '\t') || u == 127;
  });
}

std::string read_field_name(Section& s, std::string_view key) {
  std::string name;
  if (s.read(key, name) && !is_field_name(name)) {
    s.fail_at(key, "expected a header field name (printable ASCII, no colon or space), got " + quote(name));
  }
  return name;
}

std::string read_line(Section& s, std::string_view key) {
  std::string text;
  if (s.read(key, text) && !is_one_line(text)) s.fail_at(key, "must be one line, without control characters");
  return text;
}

void read_when(Section& s, Conditions& when) {
  s.section("when", [&](Section& w) {
    when.sender = read_address(w, "sender");
    when.sender_domain = read_domain(w, "sender_domain");
    if (!when.sender.empty() && !when.sender_domain.empty()) {
      w.fail_at("sender_domain", "cannot be combined with sender");
    }
    if (w.read("user", when.user)) {
      const auto user = schema::normalize_user_name(when.user);
      if (!user) w.fail_at("user", user.error);
      when.user = *user;
    }
    when.recipient = read_address(w, "recipient");
    when.recipient_domain = read_domain(w, "recipient_domain");
    if (!when.recipient.empty() && !when.recipient_domain.empty()) {
      w.fail_at("recipient_domain", "cannot be combined with recipient");
    }
    std::uint64_t size = 0;
    if (w.read("size_above", size, 0)) when.size_above = size;
    if (w.read("size_below", size, 1)) when.size_below = size;
    if (when.size_above && when.size_below && *when.size_below <= *when.size_above + 1) {
      w.fail_at("size_below", "no size is above " + std::to_string(*when.size_above) + " and below " +
                                  std::to_string(*when.size_below));
    }
    if (w.has("header")) {
      std::string name;
      std::string pattern;
      w.section("header", [&](Section& h) {
        name = read_field_name(h, "name");
        if (name.empty()) h.fail_at("name", "required");
        if (!h.read("matches", pattern, Empty::Allowed)) h.fail_at("matches", "required");
        try {
          when.header = HeaderMatch{name, HeaderPattern(pattern)};
        } catch (const std::invalid_argument& e) {
          h.fail_at("matches", std::string("not a valid regular expression: ") + e.what());
        }
      });
    }
  });
}

// A reply of the given class (4 or 5): the code, the enhanced code and the text, each optional.
smtp::Reply read_reply(Section& s, std::string_view key, smtp::Reply reply) {
  s.section(key, [&](Section& r) {
    const int digit = reply.code / 100;
    unsigned code = static_cast<unsigned>(reply.code);
    r.read("code", code, digit * 100, digit * 100 + 99);
    std::string enhanced = reply.enhanced;
    if (r.read("enhanced", enhanced)) {
      const bool valid = enhanced.size() >= 5 && enhanced[0] == static_cast<char>('0' + digit) && enhanced[1] == '.' &&
                         std::all_of(enhanced.begin() + 2, enhanced.end(), [](char c) { return c == '.' || (c >= '0' && c <= '9'); }) &&
                         std::count(enhanced.begin(), enhanced.end(), '.') == 2;
      if (!valid) {
        r.fail_at("enhanced", "expected an enhanced status code " + std::to_string(digit) + ".x.y, got " + quote(enhanced));
      }
    }
    std::string text = read_line(r, "text");
    if (text.empty()) text = reply.lines.front();
    if (text.size() > 400) r.fail_at("text", "longer than 400 characters");
    reply = smtp::Reply::line(static_cast<int>(code), enhanced, text);
  });
  return reply;
}

// `output_limit_given`: whether max_output_bytes was set (a rewrite's default is the message size
// limit, known once the whole file has been read).
Command read_command(Section& s, bool& output_limit_given) {
  Command command;
  s.section("command", [&](Section& c) {
    if (!c.read("argv", command.argv)) c.fail_at("argv", "required: the program and its arguments");
    if (!command.argv.front().starts_with('/')) {
      c.fail_at("argv", "the program must be an absolute path (no shell, no PATH search), got " +
                            quote(command.argv.front()));
    }
    c.read("mode", command.mode, {{"check", Command::Mode::Check}, {"rewrite", Command::Mode::Rewrite}});
    c.read("timeout_seconds", command.timeout_seconds, 1, 3600);
    output_limit_given = c.read("max_output_bytes", command.max_output);
    if (c.read("working_directory", command.working_directory) && !command.working_directory.starts_with('/')) {
      c.fail_at("working_directory", "expected an absolute path, got " + quote(command.working_directory));
    }
    unsigned status = 0;
    if (c.read("discard_status", status, 1, 255)) {
      if (status == 75 || status == 77) {
        c.fail_at("discard_status", "75 (EX_TEMPFAIL) defers and 77 (EX_NOPERM) rejects: choose another");
      }
      command.discard_status = static_cast<int>(status);
    }
    std::vector<std::string> environment;
    if (c.read("environment", environment)) {
      for (const std::string& entry : environment) {
        const auto equals = entry.find('=');
        const std::string name = entry.substr(0, equals);
        const bool valid = equals != std::string::npos && equals > 0 &&
                           std::all_of(name.begin(), name.end(), [](char ch) {
                             return ch == '_' || (ch >= 'A' && ch <= 'Z') || (ch >= 'a' && ch <= 'z') ||
                                    (ch >= '0' && ch <= '9');
                           });
        if (!valid) c.fail_at("environment", "expected NAME=value entries, got " + quote(entry));
        if (name.starts_with("POSTERN_")) {
          c.fail_at("environment", name + ": POSTERN_* variables are set by the relay for each message");
        }
        command.environment.emplace_back(name, entry.substr(equals + 1));
      }
    }
  });
  return command;
}

// What the command needs on this machine, checked at start-up so that a typo stops the daemon
// instead of deferring every message (a program removed later defers with 451 and a log line).
void check_command(const Section& s, const Command& command) {
  const std::string& program = command.argv.front();
  struct stat info {};
  if (::stat(program.c_str(), &info) != 0) {
    s.fail_here("command.argv: cannot run " + quote(program) + ": " + std::strerror(errno));
  }
  if (!S_ISREG(info.st_mode) || ::access(program.c_str(), X_OK) != 0) {
    s.fail_here("command.argv: " + quote(program) + " is not an executable file");
  }
  if (::stat(command.working_directory.c_str(), &info) != 0 || !S_ISDIR(info.st_mode)) {
    s.fail_here("command.working_directory: " + quote(command.working_directory) + " is not a directory");
  }
}

Action read_action(Section& s, bool& output_limit_given) {
  std::vector<std::string_view> present;
  for (const std::string_view key : kActions) {
    if (s.has(key)) present.push_back(key);
  }
  if (present.empty()) {
    s.fail_here("expected one action: set_recipient, set_sender, add_header, remove_header, discard, reject, "
                "defer, route or command");
  }
  if (present.size() > 1) {
    s.fail_at(present[1], "a handler has one action (it has " + std::string(present[0]) + " already)");
  }
  const std::string_view key = present.front();
  Action action;
  if (key == "set_recipient") {
    SetRecipient a;
    s.section(key, [&](Section& x) {
      a.address = read_address(x, "address");
      if (a.address.empty()) x.fail_at("address", "required");
    });
    action = a;
  } else if (key == "set_sender") {
    SetSender a;
    s.section(key, [&](Section& x) {
      a.address = read_address(x, "address");
      if (a.address.empty()) x.fail_at("address", "required");
      a.display_name = read_line(x, "display_name");
      x.read("any_user", a.any_user);
    });
    action = a;
  } else if (key == "add_header") {
    AddHeader a;
    s.section(key, [&](Section& x) {
      a.name = read_field_name(x, "name");
      if (a.name.empty()) x.fail_at("name", "required");
      if (!x.read("value", a.value, Empty::Allowed)) x.fail_at("value", "required");
      if (!is_one_line(a.value)) x.fail_at("value", "must be one line, without control characters");
      if (a.name.size() + a.value.size() + 2 > 998) x.fail_at("value", "the field is longer than 998 characters");
    });
    action = a;
  } else if (key == "remove_header") {
    RemoveHeader a;
    s.section(key, [&](Section& x) {
      a.name = read_field_name(x, "name");
      if (a.name.empty()) x.fail_at("name", "required");
    });
    action = a;
  } else if (key == "discard") {
    s.section(key, [](Section&) {});
    action = Discard{};
  } else if (key == "reject") {
    action = Reject{read_reply(s, key, Reject{}.reply)};
  } else if (key == "defer") {
    action = Defer{read_reply(s, key, Defer{}.reply)};
  } else if (key == "route") {
    Route a;
    s.section(key, [&](Section& x) {
      if (!x.read("upstream", a.upstream)) x.fail_at("upstream", "required");
    });
    action = a;
  } else {
    action = read_command(s, output_limit_given);
  }
  return action;
}

}  // namespace

void read_handlers(Section& root, Config& cfg, Checks& checks) {
  HandlerSettings& settings = cfg.handlers;
  root.list("handlers", [&](Section& s) {
    Handler handler;
    if (!s.read("name", handler.name)) s.fail_at("name", "required: it names the handler in logs and metrics");
    if (!is_plain_name(handler.name)) {
      s.fail_at("name", "expected letters, digits, '.', '_' or '-', got " + quote(handler.name));
    }
    for (const Handler& earlier : settings.handlers) {
      if (earlier.name == handler.name) s.fail_at("name", "duplicate handler name " + quote(handler.name));
    }
    read_when(s, handler.when);
    bool output_limit_given = false;
    handler.action = read_action(s, output_limit_given);
    const std::size_t index = settings.handlers.size();
    settings.handlers.push_back(std::move(handler));
    checks.push_back([s, index, &cfg, output_limit_given] {
      Handler& h = cfg.handlers.handlers[index];
      if (const auto* route = std::get_if<Route>(&h.action)) {
        const auto& upstreams = cfg.delivery.upstreams;
        const bool known = std::any_of(upstreams.begin(), upstreams.end(),
                                       [&](const auto& u) { return u.name == route->upstream; });
        if (!known) s.fail_here("route.upstream: no upstream named " + quote(route->upstream));
      }
      if (auto* command = std::get_if<Command>(&h.action)) {
        if (command->mode == Command::Mode::Rewrite && !output_limit_given) {
          command->max_output = cfg.max_message_size;
        }
        check_command(s, *command);
      }
    });
  });
  root.section("handler_commands", [&](Section& s) {
    s.read("workers", settings.command_workers, 1, 256);
    s.read("queue", settings.command_queue, 0);
  });
}

}  // namespace postern::config::detail
