// postern-combine: restores messages that Postern split into share mails. Reads share mails from
// files, maildirs and mboxes, groups them by share-group id, combines every complete group,
// verifies it, and writes each original as <id>.eml (--out) or into a maildir (--out-maildir).
// Incomplete groups and bad shares are reported on stderr, one line each; nothing partial or
// unverified is ever written.
//
// Exit codes: 0 every group was restored and no share was bad; 1 something was incomplete or
// bad, or could not be read or written (the good groups are still written); 2 usage errors.
#include "combine/group_combination.hpp"
#include "combine/mail_sources.hpp"
#include "combine/message_output.hpp"
#include "combine/share_collection.hpp"

#include <CLI/CLI.hpp>

#include <iostream>
#include <optional>
#include <string>
#include <vector>

namespace {

using namespace postern::combine;

constexpr int kOk = 0;
constexpr int kProblems = 1;
constexpr int kUsage = 2;

struct Options {
  std::vector<std::string> inputs;
  std::vector<std::string> mboxes;
  std::string out;
  std::string out_maildir;
};

void report(const std::string& line) { std::cerr << "postern-combine: " << line << "\n"; }

// Reads every input into `shares`; false when one could not be read.
bool collect(const Options& options, ShareCollection& shares) {
  const MailCallback add = [&](SourcedMail mail) { shares.add(std::move(mail)); };
  bool all_read = true;
  const auto read = [&](auto&& reader) {
    try {
      reader();
    } catch (const InputError& error) {
      report(error.what());
      all_read = false;
    }
  };
  for (const std::string& input : options.inputs) {
    read([&] { input == "-" ? read_mbox_stream(std::cin, "stdin", add) : read_input(input, add); });
  }
  for (const std::string& mbox : options.mboxes) {
    read([&] { mbox == "-" ? read_mbox_stream(std::cin, "stdin", add) : read_input(mbox, add); });
  }
  return all_read;
}

int run(const Options& options) {
  ShareCollection shares;
  bool clean = collect(options, shares);
  for (const BadShareMail& bad : shares.bad_mails()) {
    report(bad.origin + ": bad share: " + bad.reason);
    clean = false;
  }
  if (shares.groups().empty()) {
    report("no share mails found");
    return clean ? kOk : kProblems;
  }

  std::optional<MessageOutput> output;
  try {
    output.emplace(options.out.empty() ? MessageOutput::Kind::Maildir : MessageOutput::Kind::Folder,
                   options.out.empty() ? options.out_maildir : options.out);
  } catch (const OutputError& error) {
    report(error.what());
    return kProblems;
  }

  for (const auto& [id, group] : shares.groups()) {
    const GroupOutcome outcome = combine_group(group);
    for (const std::string& problem : outcome.problems) {
      report("group " + id.hex() + ": " + problem);
      clean = false;
    }
    if (!outcome.message) continue;
    try {
      const WriteResult written = output->write(id, *outcome.message);
      std::cout << (written.already_there ? "already there " : "wrote ") << written.path.string() << "\n";
    } catch (const OutputError& error) {
      report("group " + id.hex() + ": " + error.what());
      clean = false;
    }
  }
  return clean ? kOk : kProblems;
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app("Restores messages that Postern split into share mails.\n"
               "Reads share mails from files, maildirs (cur/ and new/) and mboxes, combines every\n"
               "complete share group, verifies it and writes the original message.",
               "postern-combine");
  app.set_version_flag("--version", POSTERN_VERSION);
  Options options;
  app.add_option("inputs", options.inputs,
                 "Share mail files, maildirs, mbox files (they start with \"From \"), or - for an "
                 "mbox on standard input")
      ->check([](const std::string& input) { return input == "-" ? std::string() : input_problem(input); });
  app.add_option("--mbox", options.mboxes, "An mbox file, or - for standard input (repeatable)")
      ->allow_extra_args(false)
      ->check([](const std::string& input) { return input == "-" ? std::string() : input_problem(input); });
  CLI::Option_group* where = app.add_option_group("output", "Where restored messages go (one of)");
  where->add_option("--out", options.out, "Write each message as <id>.eml into this folder");
  where->add_option("--out-maildir", options.out_maildir, "Deliver each message into this maildir's new/");
  where->require_option(1);
  try {
    app.parse(argc, argv);
    if (options.inputs.empty() && options.mboxes.empty()) {
      throw CLI::ValidationError("no input: give share mail files, maildirs, --mbox FILE, or - for stdin");
    }
  } catch (const CLI::ParseError& error) {
    const int printed = app.exit(error);
    return printed == 0 ? kOk : kUsage;
  }
  return run(options);
}
