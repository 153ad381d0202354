// The command tree and handlers. See commands.hpp.
#include "commands.hpp"

#include "exit_codes.hpp"
#include "limit_words.hpp"
#include "output.hpp"
#include "password_input.hpp"
#include "secret_file.hpp"
#include "share_commands.hpp"

#include "postern/schema/admin_operations.hpp"
#include "postern/schema/store.hpp"
#include "postern/schema/errors.hpp"
#include "postern/schema/migrations.hpp"
#include "postern/schema/queue_admin.hpp"
#include "postern/schema/dkim_keys.hpp"
#include "postern/schema/webhook_outbox.hpp"
#include "postern/schema/queue_seal.hpp"
#include "postern/schema/seal.hpp"
#include "postern/schema/relay_role.hpp"
#include "postern/schema/sender_rule.hpp"
#include "postern/schema/sending_limits.hpp"

#include <CLI/CLI.hpp>
#include <pqxx/pqxx>

#include <charconv>
#include <cstdint>
#include <cstdlib>
#include <functional>
#include <iostream>
#include <pwd.h>
#include <unistd.h>

namespace postern::mailadmin {

namespace schema = postern::schema;

const char* help_text() {
  return R"(Usage: mailadmin [OPTIONS] COMMAND ARGS...
       mailadmin [OPTIONS]              interactive: one command per line, `exit` to leave

Commands:
  add user USER [--password-stdin]      create a user (password asked twice on a terminal,
                                        else read as one line from standard input)
  add address ADDRESS                   create an address (its domain need not exist)
  add domain DOMAIN                     create a domain
  grant address ADDRESS to USER         let USER send as ADDRESS
  grant domain DOMAIN to USER           let USER send as any address @DOMAIN
  revoke address ADDRESS from USER      take an address grant away
  revoke domain DOMAIN from USER        take a domain grant away
  list users|addresses|domains          list, sorted
  show user|address|domain NAME         a user's grants, sending limits and what it sent in the
                                        current windows, or who holds an address or domain
  del user|address|domain NAME          delete, with every grant that names it
  passwd USER [--password-stdin]        set a new password
  disable USER / enable USER            refuse or allow the user's logins
  limit USER [messages LIMIT...] [recipients LIMIT...]
                                        set the user's own sending limits (only those named),
                                        each LIMIT one of N/hour, N/day, unlimited/hour|day or
                                        default/hour|day (default: the relay's postern.yaml)
  limit USER default                    all four limits back to the relay's postern.yaml
  limit USER                            the user's limits
  check USER ADDRESS                    may USER send as ADDRESS, and through which grant
        [--subaddress-delimiter D] [--case-sensitive]   (the relay's sender policy; default +)
  audit [--since TIMESTAMP]             every change made with mailadmin (times in UTC)
  migrate [--status]                    apply pending schema migrations, or show them
  migrate --contract                    also apply the contract steps, which drop what only older
                                        releases used: run it once every replica is upgraded
  migrate ... --relay-role NAME         the role postern connects as (default postern_relay):
                                        after the migrations it is created when missing (if this
                                        user may create roles) and granted what the relay needs;
                                        with --status, whether it is ready
  migrate ... --relay-password-file F   sets that role's password from file F (default
                                        $POSTERN_RELAY_PASSWORD_FILE); only its SCRAM secret is sent
  queue list                            the mail queue (all replicas'), oldest first, a line each:
                                        ID  age 2h13m  from SENDER  to N recipients (P pending)
                                        attempts N  STATE  [last error: REPLY], where STATE is
                                        next in 4m10s | due now | overdue 5m02s (no relay took
                                        it) | held | delivering
  queue show ID                         envelope, recipients with their status and last reply,
                                        state, and the header section (never the body)
  queue show ID --body                  the message exactly as queued (headers and body), raw
                                        (a sealed one opened with the seal keys, see below)
  queue reseal                          seal every queued message under the first seal key: the
                                        ones queued in clear, and those under an older key (which
                                        can then be retired); a message being delivered right
                                        now is left for the next run
  queue retry ID | queue retry --all    make due now and wake the workers (--all: every message
                                        not held; a held message stays held)
  queue hold ID / queue release ID      keep a message from delivery / let it go, due now
  queue delete ID                       drop a message: no delivery and no bounce
  add share RECIPIENT                   a share map: mail to RECIPIENT is split into secret
                                        shares, one per destination (usable from two on)
  share RECIPIENT to MAILBOX via UPSTREAM
                                        add a destination; its share goes through UPSTREAM (a
                                        name in the relay's postern.yaml, not checked here: the
                                        relay refuses mail to RECIPIENT while it does not know
                                        one), each destination through an upstream of its own
  unshare RECIPIENT to MAILBOX          remove a destination (later ones move up an index)
  set share RECIPIENT threshold K|all   any K of the n shares combine (2..n), or all of them
  set share RECIPIENT format postern|privmail
                                        the share format (privmail: PrivMail's, n of n only)
  set share RECIPIENT envelope-from ADDRESS|none via UPSTREAM
                                        the envelope sender of the shares UPSTREAM carries, for
                                        a provider that requires its own account (none: the
                                        message's own)
  list shares                           every share map, and whether it is usable
  show share RECIPIENT                  destinations with their share index, threshold, format,
                                        envelope senders, and why it is not usable
  del share RECIPIENT                   delete a share map
  dkim add DOMAIN --selector S [--algorithm rsa2048|ed25519]
                                        make a DKIM signing key for mail from DOMAIN (default
                                        rsa2048), sealed with the seal keys when given, and print
                                        the DNS TXT record to publish
  dkim list                             every DKIM key: domain, selector, algorithm, created
  dkim show DOMAIN [--selector S]       the DNS TXT record of each of DOMAIN's keys
  dkim del DOMAIN --selector S          delete a key: mail from DOMAIN is no longer signed by it
  webhooks status                       webhook events not acknowledged yet, per endpoint: how
                                        many, how many failed, the oldest's age, the last error
  webhooks retry [ENDPOINT]             make ENDPOINT's waiting events (every endpoint's) due now
  help                                  this text

Options (anywhere on the line):
  --db URL            PostgreSQL connection URL (default $DATABASE_URL, else libpq's PG* variables)
  --actor NAME        name recorded in the audit log (default: the OS user)
  --json              machine-readable output for list, show, limit, check, audit, migrate and
                      queue (queue retry/hold/release/delete: {"retried": N}, {"held": N}, ...)
  -v, --verbose       confirm each change (changes print nothing by default)
  --seal-key-file F   a seal key file (the relay's queue.seal_key_files), repeatable, the first
                      seals (default: $POSTERN_SEAL_KEY_FILES, comma-separated)
  -h, --help          this text

Exit codes: 0 ok, 1 other failure, 2 usage, 3 not found, 4 already exists, 5 invalid input,
  6 database unreachable, 7 schema not migrated or changed, or the relay role missing or not
  set up (migrate), 10 check: may not send.
  (limit: 2 for a malformed LIMIT, 3 unknown user.)
  (queue commands: 3 when no queued message has that ID.)
  (webhooks retry: {"retried": N} with --json.)
  (dkim commands: 3 unknown domain or selector, 4 selector already there, 5 malformed domain,
  selector or algorithm.)
  (share commands: 3 unknown map or destination, 4 map, mailbox or upstream already there,
  5 malformed address, upstream, threshold or format, or a threshold the map cannot take.)
)";
}

namespace {

constexpr const char* kMigrateUsage =
    "migrate [--status] [--contract] [--relay-role NAME] [--relay-password-file FILE]";

// ---- settings -------------------------------------------------------------------------------

std::string default_actor() {
  if (const passwd* pw = getpwuid(geteuid()); pw != nullptr && pw->pw_name && *pw->pw_name) {
    return pw->pw_name;
  }
  if (const char* user = std::getenv("USER"); user != nullptr && *user) return user;
  return "uid " + std::to_string(geteuid());
}

void env_number(const char* name, std::uint32_t& target) {
  const char* text = std::getenv(name);
  if (text == nullptr || *text == '\0') return;
  std::uint32_t value = 0;
  const char* end = text + std::char_traits<char>::length(text);
  auto [ptr, ec] = std::from_chars(text, end, value);
  if (ec != std::errc{} || ptr != end || value == 0) {
    throw UsageError(std::string(name) + " must be a positive integer");
  }
  target = value;
}

std::string database_url(const Settings& settings) {
  if (settings.db_url_given) return settings.db_url;
  if (const char* url = std::getenv("DATABASE_URL")) return url;
  return "";  // libpq falls back to PGHOST, PGPORT, PGDATABASE, PGUSER, PGPASSWORD...
}

// ---- the command tree -----------------------------------------------------------------------

class CommandLine {
 public:
  CommandLine(Session& session, Settings settings) : session_(session), s_(std::move(settings)) {
    build();
  }

  LineResult run(const std::vector<std::string>& words);

 private:
  struct Node {
    CLI::App* app;
    std::string usage;            // shown for any wrong use of this command
    std::function<int()> action;  // empty for a group such as `add`
    std::vector<Node*> children;
  };

  void build();
  Node* node(Node* parent, const std::string& name, const std::string& usage,
             std::function<int()> action = {});
  CLI::Option* positional(Node* n, const std::string& name, std::string& target);
  Node* deepest_parsed();

  schema::Store& store() { return session_.store(database_url(s_)); }
  // Read from the files when first needed; none given: empty.
  const schema::SealKeys& seal_keys() {
    if (!seal_keys_) seal_keys_ = schema::load_seal_keys(s_.seal_key_files);
    return *seal_keys_;
  }
  Format format() const { return s_.json ? Format::Json : Format::Human; }
  void confirm(const std::string& what) const {
    if (s_.verbose) std::cout << what << '\n';
  }
  std::string password(const std::string& user, bool must_exist);
  void build_share_commands(Node* add, Node* list, Node* show, Node* del);
  ShareCommandContext share_context() {
    return {[this]() -> pqxx::connection_base& { return store().connection(); }, s_.actor, format(),
            s_.verbose};
  }

  int add_user();
  int passwd();
  int set_enabled(bool enabled);
  int limit();
  int check();
  int audit();
  int migrate();
  int queue_retry();
  int queue_show_body();
  // Mutating queue commands: JSON {"key": count}, or with -v the human confirmation.
  int queue_changed(const char* key, std::size_t count, const std::string& confirmation) const;

  Session& session_;
  Settings s_;
  CLI::App app_{"Postern administration", "mailadmin"};
  std::vector<std::unique_ptr<Node>> nodes_;
  Node* root_ = nullptr;
  CLI::Option* db_option_ = nullptr;

  // Arguments: each line runs one command, so commands share these.
  std::string a1_, a2_, a3_, a4_, a5_;  // positionals in order
  std::vector<std::string> limit_words_;
  std::string since_;
  std::string subaddress_delimiter_ = "+";  // the relay's default policy
  bool password_stdin_ = false, status_ = false, case_sensitive_ = false, all_ = false, body_ = false;
  bool contract_ = false;
  std::string relay_role_ = schema::kDefaultRelayRole;
  std::string relay_password_file_;
  std::string selector_;
  std::string algorithm_ = "rsa2048";
  std::optional<schema::SealKeys> seal_keys_;
};

CommandLine::Node* CommandLine::node(Node* parent, const std::string& name,
                                     const std::string& usage, std::function<int()> action) {
  auto owned = std::make_unique<Node>();
  owned->app = parent ? parent->app->add_subcommand(name) : &app_;
  owned->usage = usage;
  owned->action = std::move(action);
  Node* n = owned.get();
  nodes_.push_back(std::move(owned));
  if (parent) parent->children.push_back(n);
  return n;
}

CLI::Option* CommandLine::positional(Node* n, const std::string& name, std::string& target) {
  return n->app->add_option(name, target)->required();
}

void CommandLine::build() {
  app_.set_help_flag("-h,--help", "show help");
  app_.fallthrough();   // global options are valid after the command words too
  app_.allow_extras();  // unknown words are reported by run(), as one line
  app_.add_flag("--json", s_.json, "JSON output");
  app_.add_flag("-v,--verbose", s_.verbose, "confirm changes");
  db_option_ = app_.add_option("--db", s_.db_url, "PostgreSQL URL");
  app_.add_option("--actor", s_.actor, "audit actor");
  app_.add_option("--seal-key-file", s_.seal_key_files, "seal key file");
  // Advanced, for tests and small machines: weaker Argon2id costs. Not in help_text().
  app_.add_option("--argon2-memory-kib", s_.argon2.memory_kib)->group("Advanced");
  app_.add_option("--argon2-iterations", s_.argon2.iterations)->group("Advanced");

  root_ = node(nullptr, "", "mailadmin COMMAND ARGS... (try mailadmin help)");

  // add
  Node* add = node(root_, "add",
                   "add user USER | add address ADDRESS | add domain DOMAIN | add share RECIPIENT");
  Node* n = node(add, "user", "add user USER [--password-stdin]", [this] { return add_user(); });
  positional(n, "USER", a1_);
  n->app->add_flag("--password-stdin", password_stdin_);
  n = node(add, "address", "add address ADDRESS", [this] {
    const std::string address = schema::add_address(store(), a1_, s_.actor);
    confirm("address " + address + " added");
    return 0;
  });
  positional(n, "ADDRESS", a1_);
  n = node(add, "domain", "add domain DOMAIN", [this] {
    const std::string domain = schema::add_domain(store(), schema::new_domain_name(a1_), s_.actor);
    confirm("domain " + domain + " added");
    return 0;
  });
  positional(n, "DOMAIN", a1_);

  // grant / revoke
  for (const bool granting : {true, false}) {
    const std::string verb = granting ? "grant" : "revoke";
    const std::string word = granting ? "to" : "from";
    Node* group = node(root_, verb,
                       verb + " address ADDRESS " + word + " USER | " + verb + " domain DOMAIN " +
                           word + " USER");
    for (const bool is_address : {true, false}) {
      const std::string kind = is_address ? "address" : "domain";
      const std::string usage = verb + " " + kind + " " + (is_address ? "ADDRESS" : "DOMAIN") +
                                " " + word + " USER";
      n = node(group, kind, usage, [this, granting, is_address, word, usage, kind] {
        if (a2_ != word) throw UsageError("usage: " + usage);
        const auto target = is_address ? schema::GrantTarget::Address : schema::GrantTarget::Domain;
        const schema::GrantChange change = granting ? schema::grant(store(), target, a1_, a3_, s_.actor)
                                                    : schema::revoke(store(), target, a1_, a3_, s_.actor);
        confirm(granting ? "granted " + kind + " " + change.target + " to " + change.user
                         : "revoked " + kind + " " + change.target + " from " + change.user);
        return 0;
      });
      positional(n, is_address ? "ADDRESS" : "DOMAIN", a1_);
      positional(n, word, a2_);
      positional(n, "USER", a3_);
    }
  }

  // list
  Node* list = node(root_, "list", "list users|addresses|domains|shares");
  node(list, "users", "list users", [this] {
    print_users(std::cout, store().list_users(), format());
    return 0;
  });
  node(list, "addresses", "list addresses", [this] {
    print_addresses(std::cout, store().list_addresses(), format());
    return 0;
  });
  node(list, "domains", "list domains", [this] {
    print_domains(std::cout, store().list_domains(), format());
    return 0;
  });

  // show
  Node* show = node(root_, "show",
                    "show user USER | show address ADDRESS | show domain DOMAIN | show share RECIPIENT");
  n = node(show, "user", "show user USER", [this] {
    const schema::UserReport report = schema::user_report(store(), a1_);
    print_user(std::cout, report, format());
    return 0;
  });
  positional(n, "USER", a1_);
  n = node(show, "address", "show address ADDRESS", [this] {
    schema::GrantHolders address = schema::address_holders(store(), a1_);
    print_address_users(std::cout, address.name, std::move(address.users), format());
    return 0;
  });
  positional(n, "ADDRESS", a1_);
  n = node(show, "domain", "show domain DOMAIN", [this] {
    schema::GrantHolders domain = schema::domain_holders(store(), a1_);
    print_domain_users(std::cout, domain.name, std::move(domain.users), format());
    return 0;
  });
  positional(n, "DOMAIN", a1_);

  // del
  Node* del = node(root_, "del",
                   "del user USER | del address ADDRESS | del domain DOMAIN | del share RECIPIENT");
  n = node(del, "user", "del user USER", [this] {
    confirm("user " + schema::delete_user(store(), a1_, s_.actor) + " deleted");
    return 0;
  });
  positional(n, "USER", a1_);
  n = node(del, "address", "del address ADDRESS", [this] {
    confirm("address " + schema::delete_address(store(), a1_, s_.actor) + " deleted");
    return 0;
  });
  positional(n, "ADDRESS", a1_);
  n = node(del, "domain", "del domain DOMAIN", [this] {
    confirm("domain " + schema::delete_domain(store(), a1_, s_.actor) + " deleted");
    return 0;
  });
  positional(n, "DOMAIN", a1_);

  build_share_commands(add, list, show, del);

  // single-word commands
  n = node(root_, "passwd", "passwd USER [--password-stdin]", [this] { return passwd(); });
  positional(n, "USER", a1_);
  n->app->add_flag("--password-stdin", password_stdin_);
  n = node(root_, "disable", "disable USER", [this] { return set_enabled(false); });
  positional(n, "USER", a1_);
  n = node(root_, "enable", "enable USER", [this] { return set_enabled(true); });
  positional(n, "USER", a1_);
  n = node(root_, "limit", kLimitUsage, [this] { return limit(); });
  positional(n, "USER", a1_);
  n->app->add_option("LIMIT", limit_words_);
  n = node(root_, "check",
           "check USER ADDRESS [--subaddress-delimiter D] [--case-sensitive]",
           [this] { return check(); });
  positional(n, "USER", a1_);
  positional(n, "ADDRESS", a2_);
  n->app->add_option("--subaddress-delimiter", subaddress_delimiter_);
  n->app->add_flag("--case-sensitive", case_sensitive_);
  n = node(root_, "audit", "audit [--since TIMESTAMP]", [this] { return audit(); });
  n->app->add_option("--since", since_);
  n = node(root_, "migrate", kMigrateUsage, [this] { return migrate(); });
  n->app->add_flag("--status", status_);
  n->app->add_flag("--contract", contract_);
  n->app->add_option("--relay-role", relay_role_);
  n->app->add_option("--relay-password-file", relay_password_file_);

  // queue
  Node* queue = node(root_, "queue",
                     "queue list | queue show ID | queue retry ID|--all | queue hold ID | "
                     "queue release ID | queue delete ID");
  node(queue, "list", "queue list", [this] {
    print_queue(std::cout, schema::list_queue(store().connection()), format());
    return 0;
  });
  n = node(queue, "show", "queue show ID [--body]", [this] {
    if (body_) return queue_show_body();
    print_queued_message(std::cout, schema::queued_message(store(), a1_, seal_keys()), format());
    return 0;
  });
  positional(n, "ID", a1_);
  n->app->add_flag("--body", body_);
  node(queue, "reseal", "queue reseal [--seal-key-file F]...", [this] {
    const schema::SealKeys& keys = seal_keys();
    if (keys.empty()) throw UsageError("queue reseal needs the seal keys: --seal-key-file or POSTERN_SEAL_KEY_FILES");
    const schema::ResealOutcome outcome = schema::reseal_queue(store().connection(), keys, s_.actor);
    print_resealed(std::cout, keys.sealing().id, outcome, format());
    return outcome.unopenable.empty() ? 0 : 1;
  });
  n = node(queue, "retry", "queue retry ID | queue retry --all", [this] { return queue_retry(); });
  n->app->add_option("ID", a1_);
  n->app->add_flag("--all", all_);
  n = node(queue, "hold", "queue hold ID", [this] {
    const bool changed = schema::hold(store().connection(), a1_, s_.actor);
    return queue_changed("held", changed ? 1 : 0,
                         "message " + a1_ + (changed ? " held" : " was held already"));
  });
  positional(n, "ID", a1_);
  n = node(queue, "release", "queue release ID", [this] {
    const bool changed = schema::release(store().connection(), a1_, s_.actor);
    return queue_changed("released", changed ? 1 : 0,
                         "message " + a1_ + (changed ? " released, due now" : " was not held"));
  });
  positional(n, "ID", a1_);
  n = node(queue, "delete", "queue delete ID", [this] {
    schema::delete_queued(store().connection(), a1_, s_.actor);
    return queue_changed("deleted", 1, "message " + a1_ + " deleted");
  });
  positional(n, "ID", a1_);

  // dkim
  Node* dkim = node(root_, "dkim",
                    "dkim add DOMAIN --selector S [--algorithm rsa2048|ed25519] | dkim list | "
                    "dkim show DOMAIN [--selector S] | dkim del DOMAIN --selector S");
  n = node(dkim, "add", "dkim add DOMAIN --selector S [--algorithm rsa2048|ed25519]", [this] {
    const schema::DkimKey key =
        schema::add_dkim_key(store().connection(), a1_, selector_, algorithm_, seal_keys(), s_.actor);
    print_dkim_records(std::cout, {key}, format());
    return 0;
  });
  positional(n, "DOMAIN", a1_);
  n->app->add_option("--selector", selector_)->required();
  n->app->add_option("--algorithm", algorithm_);
  node(dkim, "list", "dkim list", [this] {
    print_dkim_keys(std::cout, schema::dkim_keys(store().connection()), format());
    return 0;
  });
  n = node(dkim, "show", "dkim show DOMAIN [--selector S]", [this] {
    std::vector<schema::DkimKey> keys = schema::dkim_keys_of(store().connection(), a1_);
    if (!selector_.empty()) {
      std::erase_if(keys, [&](const schema::DkimKey& k) { return k.selector != selector_; });
      if (keys.empty()) throw schema::NotFound("DKIM key " + selector_ + " of " + a1_ + " does not exist");
    }
    print_dkim_records(std::cout, keys, format());
    return 0;
  });
  positional(n, "DOMAIN", a1_);
  n->app->add_option("--selector", selector_);
  n = node(dkim, "del", "dkim del DOMAIN --selector S", [this] {
    schema::delete_dkim_key(store().connection(), a1_, selector_, s_.actor);
    confirm("DKIM key " + selector_ + " of " + a1_ + " deleted");
    return 0;
  });
  positional(n, "DOMAIN", a1_);
  n->app->add_option("--selector", selector_)->required();

  // webhooks
  Node* webhooks = node(root_, "webhooks", "webhooks status | webhooks retry [ENDPOINT]");
  node(webhooks, "status", "webhooks status", [this] {
    print_webhook_backlog(std::cout, schema::webhook_backlog(store().connection()), format());
    return 0;
  });
  n = node(webhooks, "retry", "webhooks retry [ENDPOINT]", [this] {
    const long long count = schema::retry_webhook_events_now(store().connection(), a1_, s_.actor);
    return queue_changed("retried", static_cast<std::size_t>(count),
                         std::to_string(count) + (count == 1 ? " event" : " events") +
                             (a1_.empty() ? "" : " of " + a1_) + " due now");
  });
  n->app->add_option("ENDPOINT", a1_);

  node(root_, "help", "help", [] {
    std::cout << help_text();
    return 0;
  });
}

// Share maps (share_commands.hpp). `set share RECIPIENT` is a node of its own whose settings are
// words below it, so every word after a setting is a required positional: an upstream named like
// a command (`via list`) is never taken for one.
void CommandLine::build_share_commands(Node* add, Node* list, Node* show, Node* del) {
  Node* n = node(add, "share", kAddShareUsage, [this] { return add_share(share_context(), a1_); });
  positional(n, "RECIPIENT", a1_);
  node(list, "shares", kListSharesUsage, [this] { return list_shares(share_context()); });
  n = node(show, "share", kShowShareUsage, [this] { return show_share(share_context(), a1_); });
  positional(n, "RECIPIENT", a1_);
  n = node(del, "share", kDelShareUsage, [this] { return del_share(share_context(), a1_); });
  positional(n, "RECIPIENT", a1_);

  n = node(root_, "share", kShareUsage,
           [this] { return share_to(share_context(), a1_, a2_, a3_, a4_, a5_); });
  for (auto [name, target] : {std::pair{"RECIPIENT", &a1_}, {"to", &a2_}, {"MAILBOX", &a3_},
                              {"via", &a4_}, {"UPSTREAM", &a5_}}) {
    positional(n, name, *target);
  }
  n = node(root_, "unshare", kUnshareUsage, [this] { return unshare(share_context(), a1_, a2_, a3_); });
  for (auto [name, target] : {std::pair{"RECIPIENT", &a1_}, {"to", &a2_}, {"MAILBOX", &a3_}}) {
    positional(n, name, *target);
  }

  Node* set = node(root_, "set", kSetShareUsage);
  Node* share = node(set, "share", kSetShareUsage);
  positional(share, "RECIPIENT", a1_);
  n = node(share, "threshold", kSetShareThresholdUsage,
           [this] { return set_share_threshold(share_context(), a1_, a2_); });
  positional(n, "K", a2_);
  n = node(share, "format", kSetShareFormatUsage,
           [this] { return set_share_format(share_context(), a1_, a2_); });
  positional(n, "FORMAT", a2_);
  n = node(share, "envelope-from", kSetShareEnvelopeFromUsage,
           [this] { return set_share_envelope_from(share_context(), a1_, a2_, a3_, a4_); });
  for (auto [name, target] : {std::pair{"ADDRESS", &a2_}, {"via", &a3_}, {"UPSTREAM", &a4_}}) {
    positional(n, name, *target);
  }
}

CommandLine::Node* CommandLine::deepest_parsed() {
  Node* current = root_;
  for (;;) {
    Node* next = nullptr;
    for (Node* child : current->children) {
      if (child->app->parsed()) next = child;
    }
    if (next == nullptr) return current;
    current = next;
  }
}

// Reads the new password before anything else can fail, so that in a piped REPL the password
// line is always consumed (never run as a command); on a terminal, checks first whether the
// user exists so nobody types a password for nothing.
std::string CommandLine::password(const std::string& user, bool must_exist) {
  if (!password_stdin_ && isatty(STDIN_FILENO)) {
    const schema::ExistingName name = schema::existing_user(user);
    if (!must_exist && !name.error.empty()) throw schema::InvalidInput(name.error);
    const bool exists = store().find_user(name.key).has_value();
    if (exists && !must_exist) throw schema::AlreadyExists("user " + name.key + " already exists");
    if (!exists && must_exist) name.not_found("user");
  }
  std::string pw = read_new_password(password_stdin_);
  session_.password_read = true;
  return pw;
}

int CommandLine::add_user() {
  const std::string pw = password(a1_, false);
  const std::string name = schema::new_user_name(a1_);
  schema::add_user(store(), name, pw, s_.argon2, s_.actor);
  confirm("user " + name + " added");
  return 0;
}

int CommandLine::passwd() {
  const std::string pw = password(a1_, true);
  const std::string user = schema::set_user_password(store(), a1_, pw, s_.argon2, s_.actor);
  confirm("password of " + user + " changed");
  return 0;
}

int CommandLine::set_enabled(bool enabled) {
  const std::string user = schema::set_user_enabled(store(), a1_, enabled, s_.actor);
  confirm("user " + user + (enabled ? " enabled" : " disabled"));
  return 0;
}

int CommandLine::limit() {
  const LimitChanges changes = parse_limit_words(limit_words_);
  if (changes.empty()) {
    const schema::LimitOverrides limits = schema::user_limits(store(), a1_);
    print_user_limits(std::cout, schema::existing_user(a1_).key, limits, format());
    return 0;
  }
  const schema::LimitOverrides limits = schema::change_user_limits(store(), a1_, changes, s_.actor);
  const std::string user = schema::existing_user(a1_).key;
  confirm(changes.reset ? "limits of " + user + " back to the defaults (postern.yaml)"
                        : "limits of " + user + ": " + describe_limits(limits));
  return 0;
}

int CommandLine::check() {
  schema::SenderPolicy policy;
  policy.local_part_case_sensitive = case_sensitive_;
  policy.subaddress_delimiter = subaddress_delimiter_;
  const CheckResult result = schema::check_sender(store(), a1_, a2_, policy);
  print_check(std::cout, result, format());
  return result.allowed() ? kOk : kCheckDenied;
}

int CommandLine::audit() {
  std::vector<schema::AuditEntry> entries;
  try {
    entries = store().audit(since_);
  } catch (const schema::InvalidInput&) {
    throw schema::InvalidInput("invalid timestamp \"" + since_ + "\" for --since");
  }
  print_audit(std::cout, entries, format());
  return 0;
}

int CommandLine::migrate() {
  if (status_ && (contract_ || !relay_password_file_.empty())) {
    throw UsageError(std::string("usage: ") + kMigrateUsage);
  }
  schema::check_relay_role_name(relay_role_);
  // Read first: a missing or empty file changes nothing in the database.
  schema::RelayRoleRequest relay{relay_role_, std::nullopt};
  if (!status_) {
    const char* env_file = std::getenv("POSTERN_RELAY_PASSWORD_FILE");
    const std::string file = !relay_password_file_.empty() ? relay_password_file_ : env_file ? env_file : "";
    if (!file.empty()) relay.password = read_secret_file(file);
  }
  // Its own connection: the Store expects a migrated schema, this command makes one.
  session_.forget_store();
  const std::string url = database_url(s_);
  pqxx::connection db{schema::with_connection_defaults(url)};
  if (status_) {
    const auto role = schema::relay_role_status(db, relay_role_);
    print_migration_status(std::cout, schema::migration_status(db), role, format());
    return 0;
  }
  const auto applied = schema::migrate(db, contract_ ? schema::Contract::Apply : schema::Contract::Leave);
  // The migrations are committed whatever happens to the role: they are reported either way.
  schema::RelayRoleOutcome role;
  try {
    role = schema::set_up_relay_role(db, url, relay);
  } catch (...) {
    print_migrated(std::cout, applied, nullptr, format());
    throw;
  }
  print_migrated(std::cout, applied, &role, format());
  return 0;
}

// The message as queued, raw: for a file or a pipe, so never JSON.
int CommandLine::queue_show_body() {
  if (s_.json) throw UsageError("queue show --body writes the message as queued, not JSON: leave out --json");
  schema::write_queued_message(store().connection(), a1_, std::cout, seal_keys());
  std::cout.flush();
  return 0;
}

int CommandLine::queue_retry() {
  if (all_ == !a1_.empty()) throw UsageError("usage: queue retry ID | queue retry --all");
  if (all_) {
    const std::size_t n = schema::retry_all(store().connection(), s_.actor);
    return queue_changed("retried", n,
                         std::to_string(n) + (n == 1 ? " message" : " messages") + " due now");
  }
  const std::size_t n = schema::retry(store().connection(), a1_, s_.actor);
  return queue_changed("retried", n, "message " + a1_ + " due now");
}

int CommandLine::queue_changed(const char* key, std::size_t count,
                               const std::string& confirmation) const {
  if (s_.json) {
    print_queue_change(std::cout, key, count);
  } else {
    confirm(confirmation);
  }
  return 0;
}

LineResult CommandLine::run(const std::vector<std::string>& words) {
  std::vector<std::string> args(words.rbegin(), words.rend());  // CLI11 takes them reversed
  try {
    app_.parse(args);
  } catch (const CLI::CallForHelp&) {
    std::cout << help_text();
    return {true, 0, s_};
  } catch (const CLI::RequiredError&) {
    throw UsageError("usage: " + deepest_parsed()->usage);
  } catch (const CLI::ArgumentMismatch& e) {  // an option without its value
    const Node* n = deepest_parsed();
    throw UsageError(n == root_ ? one_line(e.what())
                                : one_line(e.what()) + " (usage: " + n->usage + ")");
  } catch (const CLI::ParseError& e) {
    throw UsageError(one_line(e.what()));
  }
  s_.db_url_given = s_.db_url_given || db_option_->count() > 0;
  if (s_.argon2.memory_kib == 0 || s_.argon2.iterations == 0) {
    throw UsageError("--argon2-memory-kib and --argon2-iterations must be positive");
  }

  Node* n = deepest_parsed();
  for (const auto& extra : app_.remaining(true)) {
    if (!extra.empty() && extra.front() == '-') {
      throw UsageError("unknown option " + extra + (n == root_ ? "" : " (usage: " + n->usage + ")"));
    }
  }
  const auto extras = app_.remaining(true);
  if (n == root_) {
    if (extras.empty()) return {false, 0, s_};
    throw UsageError("unknown command \"" + extras.front() + "\" (try mailadmin help)");
  }
  if (!n->action) {  // a group word without (or with an unknown) second word
    if (!extras.empty()) {
      throw UsageError("unknown command \"" + n->app->get_name() + " " + extras.front() +
                       "\" (usage: " + n->usage + ")");
    }
    throw UsageError("usage: " + n->usage);
  }
  if (!extras.empty()) throw UsageError("usage: " + n->usage);
  return {true, n->action(), s_};
}

}  // namespace

Settings default_settings() {
  Settings s;
  s.actor = default_actor();
  env_number("POSTERN_ARGON2_MEMORY_KIB", s.argon2.memory_kib);
  env_number("POSTERN_ARGON2_ITERATIONS", s.argon2.iterations);
  if (const char* files = std::getenv("POSTERN_SEAL_KEY_FILES"); files != nullptr) {
    std::string_view rest = files;
    while (!rest.empty()) {
      const std::size_t comma = std::min(rest.find(','), rest.size());
      if (comma > 0) s.seal_key_files.emplace_back(rest.substr(0, comma));
      rest.remove_prefix(std::min(comma + 1, rest.size()));
    }
  }
  return s;
}

Session::Session(Settings defaults) : defaults_(std::move(defaults)) {}
Session::~Session() = default;

schema::Store& Session::store(const std::string& url) {
  if (store_ && (url != store_url_ || !store_->is_open())) forget_store();
  if (!store_) {
    auto fresh = std::make_unique<schema::Store>(url);
    {
      // --since and every printed time are UTC, whatever the server's or PGTZ's zone.
      pqxx::nontransaction tx{fresh->connection()};
      tx.exec("SET TIME ZONE 'UTC'");
    }
    const auto plan = schema::migration_status(fresh->connection());
    if (!plan.problems.empty()) throw schema::SchemaError(plan.problems.front());
    if (!plan.pending.empty()) {
      throw schema::SchemaError("database schema is not migrated; run mailadmin migrate");
    }
    store_ = std::move(fresh);
    store_url_ = url;
  }
  return *store_;
}

void Session::forget_store() {
  store_.reset();
  store_url_.clear();
}

LineResult run_command_line(const std::vector<std::string>& words, Session& session) {
  session.password_read = false;
  CommandLine line{session, session.defaults()};
  return line.run(words);
}

}  // namespace postern::mailadmin
