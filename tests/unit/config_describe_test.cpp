// What the start-up log shows of the configuration: describe() gives one line with every
// setting, and redact_database_url() hides every password a database URL may hold.
#include "tests/unit/config_test_support.hpp"

#include <gtest/gtest.h>

#include <string>

namespace postern::config {
namespace {

using namespace test_support;

TEST(ConfigRedact, UriPasswordIsHidden) {
  EXPECT_EQ(redact_database_url("postgresql://postern:s3cret@db:5432/postern"),
            "postgresql://postern:***@db:5432/postern");
  EXPECT_EQ(redact_database_url("postgres://u:pw@h1,h2/db?sslmode=require"),
            "postgres://u:***@h1,h2/db?sslmode=require");
  EXPECT_EQ(redact_database_url("postgresql://:pw@db/p"), "postgresql://:***@db/p");
}

TEST(ConfigRedact, UriWithoutPasswordIsUnchanged) {
  for (const std::string url : {"postgresql://postern@db/postern", "postgresql://db/postern",
                                "postgresql:///postern?host=/run/postgresql", "postgresql://"}) {
    EXPECT_EQ(redact_database_url(url), url);
  }
}

TEST(ConfigRedact, UriPasswordWithRawSpecialCharactersDoesNotLeak) {
  EXPECT_EQ(redact_database_url("postgresql://u:p@ss/w?rd@db/p"), "postgresql://u:***@db/p");
}

TEST(ConfigRedact, UriQueryPasswordsAreHidden) {
  EXPECT_EQ(redact_database_url("postgresql://db/p?user=u&password=s3cret&sslmode=require"),
            "postgresql://db/p?user=u&password=***&sslmode=require");
  EXPECT_EQ(redact_database_url("postgresql://u@db/p?sslpassword=k3y"),
            "postgresql://u@db/p?sslpassword=***");
}

TEST(ConfigRedact, ConninfoPasswordIsHidden) {
  EXPECT_EQ(redact_database_url("host=db user=postern password=s3cret dbname=postern"),
            "host=db user=postern password=*** dbname=postern");
  EXPECT_EQ(redact_database_url("host=db password = 's3 cr\\'et' dbname=p"),
            "host=db password = *** dbname=p");
  EXPECT_EQ(redact_database_url("password=s3\\ cret"), "password=***");
  EXPECT_EQ(redact_database_url("host=db sslpassword=k3y"), "host=db sslpassword=***");
  EXPECT_EQ(redact_database_url("host=db dbname=postern"), "host=db dbname=postern");
}

TEST(ConfigRedact, MalformedConninfoHidesTheRest) {
  EXPECT_EQ(redact_database_url("host=db password s3cret"), "host=db password ***");
  EXPECT_EQ(redact_database_url("host=db password='s3cret"), "host=db password=***");
}

TEST(ConfigDescribe, OneLineWithEverySettingAndNoSecret) {
  const Config c = parse(R"(
hostname: relay.example.com
database: { url: "host=db user=postern password=s3cret dbname=postern" }
tls: { certificate: /etc/postern/tls.crt, key: /etc/postern/tls.key }
listeners:
  - { port: 9000, allow_plaintext_auth_on_loopback: true }
  - { address: "::", port: 9465, tls: implicit }
)");
  const std::string line = describe(c);
  EXPECT_EQ(line.find('\n'), std::string::npos);
  EXPECT_EQ(line.find("s3cret"), std::string::npos);
  EXPECT_EQ(line,
            "hostname=relay.example.com "
            "database.url=\"host=db user=postern password=*** dbname=postern\" "
            "database.pool_size=8 database.timeout_seconds=5 database.wait_timeout_seconds=30 "
            "listeners=0.0.0.0:9000/starttls+plaintext-auth-on-loopback,[::]:9465/implicit "
            "tls.certificate=/etc/postern/tls.crt tls.key=/etc/postern/tls.key "
            "http=0.0.0.0:9100 http.database_check_seconds=5 "
            "limits.max_message_size=26214400 limits.max_recipients=100 limits.max_errors=5 "
            "limits.max_idle_commands=30 "
            "limits.max_connections=1000 limits.max_connections_per_ip=50 "
            "limits.command_timeout_seconds=300 limits.data_timeout_seconds=600 "
            "limits.auth_timeout_seconds=60 limits.session_timeout_seconds=3600 "
            "auth.argon2_memory_kib=19456 auth.argon2_iterations=2 auth.hash_threads=0 "
            "auth.hash_queue=0 auth.failure_window_seconds=900 auth.failures_per_network=30 "
            "auth.failures_per_user_network=5 auth.failure_delay_ms=1000 auth.user_delay_ms=1000 "
            "auth.checks_per_user=2 auth.known_network_days=30 auth.cache_seconds=300 auth.cache_entries=100000 "
            "sending_limits.messages_per_hour=0 sending_limits.messages_per_day=0 "
            "sending_limits.recipients_per_hour=0 sending_limits.recipients_per_day=0 "
            "sending_limits.hour_seconds=3600 sending_limits.day_seconds=86400 "
            "sending_limits.sync_milliseconds=1000 policy.local_part_case_sensitive=false "
            "policy.subaddress_delimiter=+ policy.check_header_from=true "
            "policy.address_like_display_names=refuse "
            "submission.add_message_id=true submission.add_date=true "
            "submission.add_received=true submission.add_x_peer=false "
            "submission.received_shows_user=false logging.level=info "
            "shutdown_grace_seconds=30 threads.io=0 queue.spool_directory=/tmp queue.seal_keys=none handlers=none handler_commands.workers=4 handler_commands.queue=100 "
            "delivery.workers=16 "
            "delivery.lease_seconds=30 delivery.lifetime_seconds=432000 "
            "delivery.first_retry_seconds=60 delivery.max_retry_seconds=3600 "
            "delivery.poll_seconds=30 dkim.enabled=true "
            "dkim.headers=From,To,Cc,Subject,Date,Message-ID,Reply-To,MIME-Version,Content-Type,"
            "Content-Transfer-Encoding "
            "webhooks.endpoints=none webhooks.timeout_seconds=10 webhooks.concurrency=4 webhooks.batch=100 "
            "webhooks.poll_milliseconds=1000 webhooks.first_retry_seconds=10 webhooks.max_retry_seconds=3600 "
            "webhooks.give_up_hours=72 upstreams=none");
}

TEST(ConfigDescribe, UriPasswordHiddenAndNoTls) {
  const std::string line = describe(parse("database:\n  url: postgresql://u:s3cret@db/p\n"));
  EXPECT_NE(line.find(" database.url=postgresql://u:***@db/p "), std::string::npos) << line;
  EXPECT_NE(line.find(" tls=none "), std::string::npos) << line;
}

TEST(ConfigDescribe, UpstreamsAndRoutesWithoutPasswords) {
  const TempFile secret("s3cret");
  const Config c = parse(kMinimal + R"(
upstreams:
  - { name: provider, host: smtp.provider.example, username: relay@example.com,
      password_file: )" + secret.path() + R"(, rewrite: { reply_to: support@example.com } }
  - { name: v6, host: "2001:db8::25", security: tls, verify_certificate: false }
  - { name: local, kind: maildir, path: /var/lib/postern/maildir }
routes:
  - { sender_domain: example.com, upstream: provider }
  - { sender: alerts@example.org, upstream: local }
default_upstream: v6
)");
  const std::string line = describe(c);
  EXPECT_EQ(line.find("s3cret"), std::string::npos);
  const std::string expected =
      " upstreams=provider=smtp.provider.example:587/starttls+auth=relay@example.com"
      "+reply-to=support@example.com,v6=[2001:db8::25]:465/tls+no-verify,"
      "local=maildir:/var/lib/postern/maildir "
      "routes=example.com>provider,alerts@example.org>local default_upstream=v6";
  EXPECT_TRUE(line.ends_with(expected)) << line;
}

TEST(ConfigDescribe, JournalsListenersAndFanOutWithoutSecrets) {
  const TempFile secret("s3cret-hpf");
  const Config c = parse(kMinimal + R"(
listeners:
  - { port: 587 }
  - { role: inbound, accept_domains: [trap.example, trap2.example] }
  - { kind: lmtp, path: /run/postern/lmtp.sock, accept_domains: [trap.example], dsn: true }
upstreams:
  - { name: feed, kind: hpfeeds, host: 127.0.0.1, security: none, ident: collector,
      secret_file: )" + secret.path() + R"(, channels: [spam.mails, spam.raw] }
  - { name: rabbit, kind: amqp, host: 127.0.0.1, security: none, username: u, password_file: )" +
                         secret.path() + R"( }
routes:
  - { recipient_domain: trap.example, upstreams: [feed, rabbit] }
default_upstream: rabbit
)");
  const std::string line = describe(c);
  EXPECT_EQ(line.find("s3cret"), std::string::npos);
  EXPECT_NE(line.find(" listeners=0.0.0.0:587/starttls,0.0.0.0:25/starttls/inbound(trap.example+trap2.example),"
                      "unix:/run/postern/lmtp.sock/lmtp(trap.example)+dsn "),
            std::string::npos)
      << line;
  const std::string expected =
      " upstreams=feed=hpfeeds:127.0.0.1:10000/none+ident=collector+channels=spam.mails|spam.raw+json,"
      "rabbit=amqp:127.0.0.1:5672/none+auth=u+vhost=/+exchange=spam(topic)+routing_key=spam.mails+raw "
      "routes=to:trap.example>feed+rabbit default_upstream=rabbit";
  EXPECT_TRUE(line.ends_with(expected)) << line;
}

TEST(ConfigDescribe, PopBeforeSmtpWithoutItsPassword) {
  const Config c = parse(kMinimal + R"(
upstreams:
  - name: provider
    host: smtp.provider.example
    pop_before_smtp: { host: pop.provider.example, username: relay@example.com, password_env: POP_PW }
  - name: old
    host: mx.example.net
    pop_before_smtp: { host: pop.example.net, security: starttls, verify_certificate: false, username: u,
                       password_env: POP_PW, interval_seconds: 600, wait_seconds: 0 }
default_upstream: provider
)", environment({{"POP_PW", "p0p-s3cret"}}));
  const std::string line = describe(c);
  EXPECT_EQ(line.find("p0p-s3cret"), std::string::npos);
  EXPECT_NE(line.find(" upstreams=provider=smtp.provider.example:587/starttls"
                      "+pop=pop.provider.example:995/tls/user=relay@example.com/interval=60/wait=1,"
                      "old=mx.example.net:587/starttls+pop=pop.example.net:110/starttls/no-verify/user=u/interval=600/wait=0 "),
            std::string::npos)
      << line;
}

}  // namespace
}  // namespace postern::config
