// mailadmin's share map commands: `add share`, `share ... to ... via ...`, `unshare ... to ...`,
// `set share ... threshold|format|envelope-from`, `list shares`, `show share`, `del share`. The
// command tree (commands.cpp) parses the words into these calls; each checks and normalises its
// arguments before it connects, changes the maps through schema/share_maps.hpp (audited there)
// and prints. Failures throw, as every command's do (exit_codes.hpp): UsageError for a wrong
// keyword, InvalidInput, NotFound, AlreadyExists from the schema.
#pragma once

#include "output.hpp"

#include <functional>
#include <string>

namespace pqxx { class connection_base; }

namespace postern::mailadmin {

// The usage of each command, shown for any wrong use of it.
inline constexpr const char* kAddShareUsage = "add share RECIPIENT";
inline constexpr const char* kDelShareUsage = "del share RECIPIENT";
inline constexpr const char* kListSharesUsage = "list shares";
inline constexpr const char* kShowShareUsage = "show share RECIPIENT";
inline constexpr const char* kShareUsage = "share RECIPIENT to MAILBOX via UPSTREAM";
inline constexpr const char* kUnshareUsage = "unshare RECIPIENT to MAILBOX";
inline constexpr const char* kSetShareUsage =
    "set share RECIPIENT threshold K|all | set share RECIPIENT format postern|privmail | "
    "set share RECIPIENT envelope-from ADDRESS|none via UPSTREAM";
inline constexpr const char* kSetShareThresholdUsage = "set share RECIPIENT threshold K|all";
inline constexpr const char* kSetShareFormatUsage = "set share RECIPIENT format postern|privmail";
inline constexpr const char* kSetShareEnvelopeFromUsage =
    "set share RECIPIENT envelope-from ADDRESS|none via UPSTREAM";

// What a share command needs from its command line.
struct ShareCommandContext {
  std::function<pqxx::connection_base&()> db;  // connects (and checks the schema) on first call
  std::string actor;
  Format format = Format::Human;
  bool verbose = false;  // confirm the change on stdout
};

int add_share(const ShareCommandContext& context, const std::string& recipient);
int del_share(const ShareCommandContext& context, const std::string& recipient);
int list_shares(const ShareCommandContext& context);
int show_share(const ShareCommandContext& context, const std::string& recipient);
// `to` and `via` are the keywords as typed: anything else is a usage error.
int share_to(const ShareCommandContext& context, const std::string& recipient, const std::string& to,
             const std::string& mailbox, const std::string& via, const std::string& upstream);
int unshare(const ShareCommandContext& context, const std::string& recipient, const std::string& to,
            const std::string& mailbox);
// `value`: a number, or "all" for n of n.
int set_share_threshold(const ShareCommandContext& context, const std::string& recipient,
                        const std::string& value);
int set_share_format(const ShareCommandContext& context, const std::string& recipient,
                     const std::string& value);
// `address`: an address, or "none" to clear.
int set_share_envelope_from(const ShareCommandContext& context, const std::string& recipient,
                            const std::string& address, const std::string& via,
                            const std::string& upstream);

}  // namespace postern::mailadmin
