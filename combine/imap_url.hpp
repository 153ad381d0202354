// The IMAP mailboxes postern-combine reads, as the user names them:
//
//   imaps://user@host[:port][/MAILBOX]        MAILBOX defaults to INBOX; port to 993
//
// Only imaps (TLS from the first byte): the password never crosses the network in clear. The
// user name and mailbox are percent-decoded ("bob%40mail-a.example@imap.mail-a.example" is the
// user bob@mail-a.example). A password in the URL is refused: it would show in the process list
// and the shell's history; it comes from a file or the environment (imap_password.hpp).
//
//   ImapUrlParse parsed = parse_imap_url("imaps://bob@imap.example/Shares");
//   if (!parsed.url) usage_error(parsed.error);
//   curl_easy_setopt(curl, CURLOPT_URL, parsed.url->curl_url().c_str());
#pragma once

#include <optional>
#include <string>
#include <string_view>

namespace postern::combine {

struct ImapMailboxUrl {
  std::string user;
  std::string host;  // a name, an IPv4 address or an IPv6 address in brackets
  unsigned port = 993;
  std::string mailbox = "INBOX";

  // "imaps://user@host:port/MAILBOX", percent-encoded where needed: for reports.
  std::string display() const;
  // "imaps://host:port/MAILBOX", without the user, for libcurl (the user goes separately).
  std::string curl_url() const;
};

struct ImapUrlParse {
  std::optional<ImapMailboxUrl> url;
  std::string error;  // why not, when url is nullopt
};

ImapUrlParse parse_imap_url(std::string_view text);

}  // namespace postern::combine
