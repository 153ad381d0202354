// postern-combine: restores messages that Postern split into share mails, in either share format.
// Reads share mails from files, maildirs, mboxes and IMAP mailboxes (--imap), groups them (by
// share-group id in the postern format, by UID in the privmail format), combines every complete
// group, checks it (the postern format's SHA-256; the privmail format's blocks against each
// other), and writes each message as <name>.eml (--out) or into a maildir (--out-maildir).
// Incomplete groups and bad shares are reported on stderr, one line each; nothing partial or
// unverified is ever written.
//
// Exit codes: 0 every group was restored and no share was bad; 1 something was incomplete or
// bad, or could not be read or written (the good groups are still written); 2 usage errors.
#include "combine/group_combination.hpp"
#include "combine/imap_mailbox_reader.hpp"
#include "combine/imap_password.hpp"
#include "combine/imap_url.hpp"
#include "combine/mail_sources.hpp"
#include "combine/message_output.hpp"
#include "combine/privmail_group_combination.hpp"
#include "combine/share_collection.hpp"

#include <CLI/CLI.hpp>

#include <cstdlib>
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
  std::vector<std::string> imap_urls;
  std::vector<std::string> imap_password_files;
  std::string imap_ca_file;
  std::string out;
  std::string out_maildir;
  std::vector<ImapAccount> imap_accounts;  // from the three above, once parsed
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
  for (const ImapAccount& account : options.imap_accounts) read([&] { read_imap_mailbox(account, add); });
  return all_read;
}

int run(const Options& options) {
  ShareCollection shares;
  bool clean = collect(options, shares);
  for (const BadShareMail& bad : shares.bad_mails()) {
    report(bad.origin + ": bad share: " + bad.reason);
    clean = false;
  }
  if (shares.groups().empty() && shares.privmail_groups().empty()) {
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

  const auto deliver = [&](const std::string& label, const std::string& name, const GroupOutcome& outcome) {
    for (const std::string& problem : outcome.problems) {
      report(label + ": " + problem);
      clean = false;
    }
    if (!outcome.message) return;
    try {
      const WriteResult written = output->write(name, *outcome.message);
      std::cout << (written.already_there ? "already there " : "wrote ") << written.path.string() << "\n";
    } catch (const OutputError& error) {
      report(label + ": " + error.what());
      clean = false;
    }
  };
  for (const auto& [id, group] : shares.groups()) deliver("group " + id.hex(), id.hex(), combine_group(group));
  for (const auto& [uid, group] : shares.privmail_groups()) {
    deliver("privmail group " + uid, privmail_output_name(uid), combine_privmail_group(group));
  }
  return clean ? kOk : kProblems;
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app("Restores messages that Postern split into share mails (postern or privmail format).\n"
               "Reads share mails from files, maildirs (cur/ and new/), mboxes and IMAP mailboxes,\n"
               "combines every complete share group, checks it and writes the message.",
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
  app.add_option("--imap", options.imap_urls,
                 "An IMAP mailbox to read, imaps://user@host[:port][/MAILBOX] (INBOX by default; "
                 "repeatable). Its messages are marked seen.")
      ->allow_extra_args(false)
      ->check([](const std::string& url) { return parse_imap_url(url).error; });
  app.add_option("--imap-password-file", options.imap_password_files,
                 "A file whose first line is the IMAP password: one for every --imap, or one per "
                 "--imap in order. Without it, the environment variable POSTERN_IMAP_PASSWORD.")
      ->allow_extra_args(false)
      ->check(CLI::ExistingFile);
  app.add_option("--imap-cafile", options.imap_ca_file,
                 "Trust only the certificate authorities in this PEM file for IMAP (default: the "
                 "system's)")
      ->check(CLI::ExistingFile);
  CLI::Option_group* where = app.add_option_group("output", "Where restored messages go (one of)");
  where->add_option("--out", options.out, "Write each message as <name>.eml into this folder");
  where->add_option("--out-maildir", options.out_maildir, "Deliver each message into this maildir's new/");
  where->require_option(1);
  try {
    app.parse(argc, argv);
    if (options.inputs.empty() && options.mboxes.empty() && options.imap_urls.empty()) {
      throw CLI::ValidationError("no input: give share mail files, maildirs, --mbox FILE, --imap URL, or - for stdin");
    }
    if (!options.imap_urls.empty()) {
      try {
        const ImapPasswords passwords = imap_passwords(options.imap_password_files, std::getenv("POSTERN_IMAP_PASSWORD"),
                                                       options.imap_urls.size());
        for (std::size_t i = 0; i < options.imap_urls.size(); ++i) {
          options.imap_accounts.push_back(
              ImapAccount{*parse_imap_url(options.imap_urls[i]).url, passwords.for_mailbox(i), options.imap_ca_file});
        }
      } catch (const ImapPasswordError& error) {
        throw CLI::ValidationError(error.what());
      }
    } else if (!options.imap_password_files.empty() || !options.imap_ca_file.empty()) {
      throw CLI::ValidationError("--imap-password-file and --imap-cafile go with --imap");
    }
  } catch (const CLI::ParseError& error) {
    const int printed = app.exit(error);
    return printed == 0 ? kOk : kUsage;
  }
  return run(options);
}
