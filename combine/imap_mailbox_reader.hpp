// Reads every message of an IMAP mailbox, over TLS (imaps), with libcurl: lists the mailbox's
// message UIDs (UID SEARCH ALL), then fetches each message whole (UID FETCH n BODY[]) and hands
// it to the callback like any other mail source, named "imaps://user@host:port/MAILBOX;UID=n".
// Fetching marks the messages \Seen, as any mail reader does; nothing else changes on the server.
//
//   ImapAccount account{parse_imap_url(text).url.value(), password, /*ca_file=*/""};
//   read_imap_mailbox(account, [&](SourcedMail mail) { shares.add(std::move(mail)); });
//
// The server's certificate is verified against the system's certificate authorities, or only
// against those in `ca_file` when it is given; its name must match the host. Failures (connect,
// TLS, login, a missing mailbox) throw InputError naming the mailbox and libcurl's reason.
#pragma once

#include "combine/imap_url.hpp"
#include "combine/mail_sources.hpp"

#include <string>

namespace postern::combine {

struct ImapAccount {
  ImapMailboxUrl url;
  std::string password;
  std::string ca_file;  // empty: the system's certificate authorities
};

void read_imap_mailbox(const ImapAccount& account, const MailCallback& callback);

}  // namespace postern::combine
