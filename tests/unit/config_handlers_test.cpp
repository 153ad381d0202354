// The handlers of postern.yaml: `handlers:` and `handler_commands:`.
#include "tests/unit/config_test_support.hpp"

#include <gtest/gtest.h>

#include <string>

namespace postern::config {
namespace {

using namespace test_support;
using namespace postern::handlers;

const std::string kUpstream = "upstreams:\n  - { name: provider, host: smtp.provider.example }\ndefault_upstream: provider\n";

TEST(ConfigHandlers, NoneByDefault) {
  const Config c = parse(kMinimal);
  EXPECT_TRUE(c.handlers.handlers.empty());
  EXPECT_EQ(c.handlers.command_workers, 4u);
  EXPECT_EQ(c.handlers.command_queue, 100u);
}

TEST(ConfigHandlers, BuiltInActionsAndConditions) {
  const Config c = parse(kMinimal + kUpstream +
                         "handlers:\n"
                         "  - name: tag\n"
                         "    when:\n"
                         "      sender_domain: EXAMPLE.org\n"
                         "      user: Alice\n"
                         "      recipient: bob@example.net\n"
                         "      header: { name: Subject, matches: '(?i)^voice' }\n"
                         "      size_above: 10\n"
                         "      size_below: 1000\n"
                         "    add_header: { name: X-Tag, value: 'a b' }\n"
                         "  - { name: strip, remove_header: { name: X-Mailer } }\n"
                         "  - { name: to, set_recipient: { address: archive@example.org } }\n"
                         "  - { name: from, set_sender: { address: noreply@example.org, display_name: Robot, any_user: true } }\n"
                         "  - { name: drop, discard: {} }\n"
                         "  - { name: no, reject: {} }\n"
                         "  - { name: no2, reject: { code: 554, enhanced: 5.7.0, text: Go away } }\n"
                         "  - { name: later, defer: { text: Busy } }\n"
                         "  - { name: via, route: { upstream: provider } }\n"
                         "handler_commands: { workers: 2, queue: 10 }\n");
  const auto& h = c.handlers.handlers;
  ASSERT_EQ(h.size(), 9u);
  EXPECT_EQ(h[0].name, "tag");
  EXPECT_EQ(h[0].when.sender_domain, "example.org");
  EXPECT_EQ(h[0].when.user, "alice");
  EXPECT_EQ(h[0].when.recipient, "bob@example.net");
  ASSERT_TRUE(h[0].when.header);
  EXPECT_EQ(h[0].when.header->name, "Subject");
  EXPECT_TRUE(h[0].when.header->pattern.search("Voice message"));
  EXPECT_EQ(h[0].when.size_above, 10u);
  EXPECT_EQ(h[0].when.size_below, 1000u);
  EXPECT_EQ(std::get<AddHeader>(h[0].action).value, "a b");
  EXPECT_EQ(std::get<RemoveHeader>(h[1].action).name, "X-Mailer");
  EXPECT_EQ(std::get<SetRecipient>(h[2].action).address, "archive@example.org");
  const auto& from = std::get<SetSender>(h[3].action);
  EXPECT_EQ(from.address, "noreply@example.org");
  EXPECT_EQ(from.display_name, "Robot");
  EXPECT_TRUE(from.any_user);
  EXPECT_TRUE(std::holds_alternative<Discard>(h[4].action));
  EXPECT_EQ(std::get<Reject>(h[5].action).reply, smtp::Reply::line(550, "5.7.1", "Message rejected"));
  EXPECT_EQ(std::get<Reject>(h[6].action).reply, smtp::Reply::line(554, "5.7.0", "Go away"));
  EXPECT_EQ(std::get<Defer>(h[7].action).reply, smtp::Reply::line(451, "4.7.1", "Busy"));
  EXPECT_EQ(std::get<Route>(h[8].action).upstream, "provider");
  EXPECT_EQ(c.handlers.command_workers, 2u);
  EXPECT_EQ(c.handlers.command_queue, 10u);
}

TEST(ConfigHandlers, Commands) {
  const Config c = parse(kMinimal + "limits: { max_message_size: 5000 }\n"
                                    "handlers:\n"
                                    "  - name: check\n"
                                    "    command: { argv: [/bin/sh, -c, 'exit 0'] }\n"
                                    "  - name: rewrite\n"
                                    "    command:\n"
                                    "      argv: [/bin/cat]\n"
                                    "      mode: rewrite\n"
                                    "      timeout_seconds: 5\n"
                                    "      working_directory: /tmp\n"
                                    "      discard_status: 99\n"
                                    "      environment: [A=1, B_2=x=y]\n"
                                    "  - { name: bounded, command: { argv: [/bin/cat], mode: rewrite, max_output_bytes: 100 } }\n");
  const auto& check = std::get<Command>(c.handlers.handlers[0].action);
  EXPECT_EQ(check.argv, (std::vector<std::string>{"/bin/sh", "-c", "exit 0"}));
  EXPECT_EQ(check.mode, Command::Mode::Check);
  EXPECT_EQ(check.timeout_seconds, 30u);
  EXPECT_EQ(check.max_output, 64u * 1024);
  EXPECT_EQ(check.working_directory, "/");
  EXPECT_FALSE(check.discard_status);
  const auto& rewrite = std::get<Command>(c.handlers.handlers[1].action);
  EXPECT_EQ(rewrite.mode, Command::Mode::Rewrite);
  EXPECT_EQ(rewrite.max_output, 5000u);  // the message size limit
  EXPECT_EQ(rewrite.timeout_seconds, 5u);
  EXPECT_EQ(rewrite.working_directory, "/tmp");
  EXPECT_EQ(rewrite.discard_status, 99);
  EXPECT_EQ(rewrite.environment, (std::vector<std::pair<std::string, std::string>>{{"A", "1"}, {"B_2", "x=y"}}));
  EXPECT_EQ(std::get<Command>(c.handlers.handlers[2].action).max_output, 100u);
}

TEST(ConfigHandlers, ErrorsNameTheLineAndKey) {
  const std::string h = kMinimal + "handlers:\n";
  EXPECT_EQ(error_of(h + "  - { discard: {} }\n"),
            "postern.yaml:4: handlers[0].name: required: it names the handler in logs and metrics");
  EXPECT_EQ(error_of(h + "  - { name: a }\n"),
            "postern.yaml:4: handlers[0]: expected one action: set_recipient, set_sender, add_header, "
            "remove_header, discard, reject, defer, route or command");
  EXPECT_EQ(error_of(h + "  - { name: a, discard: {}, defer: {} }\n"),
            "postern.yaml:4: handlers[0].defer: a handler has one action (it has discard already)");
  EXPECT_EQ(error_of(h + "  - { name: a, discard: {} }\n  - { name: a, discard: {} }\n"),
            "postern.yaml:5: handlers[1].name: duplicate handler name \"a\"");
  EXPECT_EQ(error_of(h + "  - { name: 'a b', discard: {} }\n"),
            "postern.yaml:4: handlers[0].name: expected letters, digits, '.', '_' or '-', got \"a b\"");
  EXPECT_EQ(error_of(h + "  - { name: a, dicsard: {} }\n"),
            "postern.yaml:4: handlers[0]: expected one action: set_recipient, set_sender, add_header, "
            "remove_header, discard, reject, defer, route or command");
  EXPECT_EQ(error_of(h + "  - { name: a, when: { sender: nobody }, discard: {} }\n"),
            "postern.yaml:4: handlers[0].when.sender: invalid address \"nobody\": missing @");
  EXPECT_EQ(error_of(h + "  - { name: a, when: { sender: a@b.example, sender_domain: b.example }, discard: {} }\n"),
            "postern.yaml:4: handlers[0].when.sender_domain: cannot be combined with sender");
  EXPECT_EQ(error_of(h + "  - { name: a, when: { size_above: 10, size_below: 11 }, discard: {} }\n"),
            "postern.yaml:4: handlers[0].when.size_below: no size is above 10 and below 11");
  EXPECT_EQ(error_of(h + "  - { name: a, when: { header: { name: Subject, matches: '(' } }, discard: {} }\n")
                .find("postern.yaml:4: handlers[0].when.header.matches: not a valid regular expression: "),
            0u);
  EXPECT_EQ(error_of(h + "  - { name: a, when: { header: { name: 'Sub ject', matches: x } }, discard: {} }\n"),
            "postern.yaml:4: handlers[0].when.header.name: expected a header field name (printable ASCII, no "
            "colon or space), got \"Sub ject\"");
  EXPECT_EQ(error_of(h + "  - { name: a, add_header: { name: X-A, value: \"a\\nb\" } }\n"),
            "postern.yaml:4: handlers[0].add_header.value: must be one line, without control characters");
  EXPECT_EQ(error_of(h + "  - { name: a, reject: { code: 451 } }\n"),
            "postern.yaml:4: handlers[0].reject.code: expected an integer from 500 to 599, got \"451\"");
  EXPECT_EQ(error_of(h + "  - { name: a, defer: { enhanced: 5.7.1 } }\n"),
            "postern.yaml:4: handlers[0].defer.enhanced: expected an enhanced status code 4.x.y, got \"5.7.1\"");
  EXPECT_EQ(error_of(h + "  - { name: a, route: { upstream: nowhere } }\n"),
            "postern.yaml:4: handlers[0]: route.upstream: no upstream named \"nowhere\"");
}

TEST(ConfigHandlers, CommandErrors) {
  const std::string h = kMinimal + "handlers:\n";
  EXPECT_EQ(error_of(h + "  - { name: a, command: {} }\n"),
            "postern.yaml:4: handlers[0].command.argv: required: the program and its arguments");
  EXPECT_EQ(error_of(h + "  - { name: a, command: { argv: [] } }\n"),
            "postern.yaml:4: handlers[0].command.argv: must not be empty");
  EXPECT_EQ(error_of(h + "  - { name: a, command: { argv: [sh] } }\n"),
            "postern.yaml:4: handlers[0].command.argv: the program must be an absolute path (no shell, no PATH "
            "search), got \"sh\"");
  EXPECT_EQ(error_of(h + "  - { name: a, command: { argv: [/nonexistent/prog] } }\n"),
            "postern.yaml:4: handlers[0]: command.argv: cannot run \"/nonexistent/prog\": No such file or directory");
  EXPECT_EQ(error_of(h + "  - { name: a, command: { argv: [/etc] } }\n"),
            "postern.yaml:4: handlers[0]: command.argv: \"/etc\" is not an executable file");
  EXPECT_EQ(error_of(h + "  - { name: a, command: { argv: [/bin/cat], working_directory: /nonexistent } }\n"),
            "postern.yaml:4: handlers[0]: command.working_directory: \"/nonexistent\" is not a directory");
  EXPECT_EQ(error_of(h + "  - { name: a, command: { argv: [/bin/cat], discard_status: 75 } }\n"),
            "postern.yaml:4: handlers[0].command.discard_status: 75 (EX_TEMPFAIL) defers and 77 (EX_NOPERM) "
            "rejects: choose another");
  EXPECT_EQ(error_of(h + "  - { name: a, command: { argv: [/bin/cat], environment: [POSTERN_USER=x] } }\n"),
            "postern.yaml:4: handlers[0].command.environment: POSTERN_USER: POSTERN_* variables are set by the "
            "relay for each message");
  EXPECT_EQ(error_of(h + "  - { name: a, command: { argv: [/bin/cat], environment: [novalue] } }\n"),
            "postern.yaml:4: handlers[0].command.environment: expected NAME=value entries, got \"novalue\"");
  EXPECT_EQ(error_of(h + "  - { name: a, command: { argv: [/bin/cat], mode: replace } }\n"),
            "postern.yaml:4: handlers[0].command.mode: expected one of check, rewrite, got \"replace\"");
  EXPECT_EQ(error_of(kMinimal + "handler_commands: { workers: 0 }\n"),
            "postern.yaml:3: handler_commands.workers: expected an integer from 1 to 256, got \"0\"");
}

}  // namespace
}  // namespace postern::config
