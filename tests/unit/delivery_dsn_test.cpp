#include <gtest/gtest.h>

#include <algorithm>
#include <map>
#include <stdexcept>
#include <string>
#include <vector>

#include "server/delivery/dsn.hpp"
#include "server/filters/header_block.hpp"

namespace postern::delivery {
namespace {

const std::string kOriginalHeaders =
    "Received: from client.example ([203.0.113.5])\r\n\tby relay.example.com (Postern)\r\n"
    "From: Alice <alice@example.com>\r\nTo: bob@example.org, carol@example.net\r\n"
    "Subject: Quarterly report\r\nMessage-ID: <abc@relay.example.com>\r\n";
const std::string kOriginalBody = "SECRET BODY TEXT\r\n";

DsnInput input() {
  DsnInput in;
  in.reporting_host = "relay.example.com";
  in.original_sender = "alice@example.com";
  in.original_queue_id = "01J9Z3QX7M2K8R4T6V0W";
  in.original_header_section = kOriginalHeaders + "\r\n" + kOriginalBody;
  in.arrival_time = 1700000000;  // Tue, 14 Nov 2023 22:13:20 +0000
  in.now = 1700003600;
  in.failed = {{"bob@example.org", "5.1.1", "smtp; 550 5.1.1 <bob@example.org>: no such user",
                "smtp.provider.example"}};
  in.boundary_seed = "01J9Z3QX7M2K8R4T6V0X";
  return in;
}

// The human-readable text with its wrapped lines joined again.
std::string unwrapped(std::string text) {
  for (auto at = text.find("\r\n    "); at != std::string::npos; at = text.find("\r\n    ")) {
    text.replace(at, 6, " ");
  }
  return text;
}

// A MIME entity: its header fields (unfolded, by lowercase name) and its body.
struct Entity {
  std::multimap<std::string, std::string> fields;
  std::string body;
  std::string field(const std::string& name) const {
    EXPECT_EQ(fields.count(name), 1u) << name;
    const auto it = fields.find(name);
    return it == fields.end() ? "" : it->second;
  }
};

Entity entity(const std::string& text) {
  Entity e;
  const filters::HeaderBlock block = filters::parse_header_block(text);
  for (const auto& f : block.fields) {
    std::string name(f.name);
    std::transform(name.begin(), name.end(), name.begin(), ::tolower);
    std::string value = filters::unfold(f.value);
    value.erase(0, value.find_first_not_of(' '));
    if (value.ends_with("\r\n")) value.resize(value.size() - 2);
    e.fields.emplace(name, value);
  }
  e.body = text.substr(block.body_begin);
  return e;
}

struct Report {
  Entity message;
  std::vector<Entity> parts;
};

// Splits a multipart message at its boundary (RFC 2046 §5.1.1).
Report parse_report(const std::string& dsn) {
  Report r{entity(dsn), {}};
  const std::string type = r.message.field("content-type");
  const auto at = type.find("boundary=\"");
  EXPECT_NE(at, std::string::npos);
  const std::string boundary = type.substr(at + 10, type.find('"', at + 10) - at - 10);
  const std::string delimiter = "\r\n--" + boundary;
  const std::string& body = r.message.body;
  std::size_t pos = body.find(delimiter);
  EXPECT_NE(pos, std::string::npos);
  while (pos != std::string::npos) {
    const std::size_t start = pos + delimiter.size();
    if (body.compare(start, 4, "--\r\n") == 0) {
      EXPECT_EQ(start + 4, body.size()) << "text after the close delimiter";
      break;
    }
    EXPECT_EQ(body.compare(start, 2, "\r\n"), 0);
    const std::size_t next = body.find(delimiter, start);
    EXPECT_NE(next, std::string::npos) << "no close delimiter";
    r.parts.push_back(entity(body.substr(start + 2, next - start - 2)));
    pos = next;
  }
  return r;
}

// The groups of a message/delivery-status body, as entities without bodies.
std::vector<Entity> status_groups(const std::string& body) {
  std::vector<Entity> groups;
  std::size_t start = 0;
  while (start < body.size()) {
    const std::size_t end = std::min(body.find("\r\n\r\n", start), body.size());
    groups.push_back(entity(body.substr(start, end + 2 - start)));
    start = end + 4;
  }
  return groups;
}

TEST(DeliveryDsn, TopLevelFields) {
  const Entity m = entity(build_dsn(input()));
  EXPECT_EQ(m.field("from"), "Mail Delivery System <MAILER-DAEMON@relay.example.com>");
  EXPECT_EQ(m.field("to"), "<alice@example.com>");
  EXPECT_EQ(m.field("subject"), "Undelivered Mail Returned to Sender");
  EXPECT_EQ(m.field("date"), "Tue, 14 Nov 2023 23:13:20 +0000");
  EXPECT_EQ(m.field("message-id"), "<01J9Z3QX7M2K8R4T6V0X.dsn@relay.example.com>");
  EXPECT_EQ(m.field("mime-version"), "1.0");
  EXPECT_EQ(m.field("auto-submitted"), "auto-replied");
  EXPECT_EQ(m.field("content-type"),
            "multipart/report; report-type=delivery-status; "
            "boundary=\"postern-dsn-01J9Z3QX7M2K8R4T6V0X\"");
  EXPECT_EQ(m.fields.count("content-transfer-encoding"), 0u);
}

TEST(DeliveryDsn, ThreePartsForOneRecipient) {
  const Report r = parse_report(build_dsn(input()));
  ASSERT_EQ(r.parts.size(), 3u);
  EXPECT_EQ(r.parts[0].field("content-type"), "text/plain; charset=us-ascii");
  EXPECT_NE(unwrapped(r.parts[0].body)
                .find("<bob@example.org>: smtp.provider.example said: 550 5.1.1 "
                      "<bob@example.org>: no such user"),
            std::string::npos)
      << r.parts[0].body;
  EXPECT_NE(unwrapped(r.parts[0].body).find("01J9Z3QX7M2K8R4T6V0W"), std::string::npos);
  EXPECT_EQ(r.parts[1].field("content-type"), "message/delivery-status");
  EXPECT_EQ(r.parts[2].field("content-type"), "text/rfc822-headers");

  const std::vector<Entity> groups = status_groups(r.parts[1].body);
  ASSERT_EQ(groups.size(), 2u);
  EXPECT_EQ(groups[0].field("reporting-mta"), "dns; relay.example.com");
  EXPECT_EQ(groups[0].field("x-postern-queue-id"), "01J9Z3QX7M2K8R4T6V0W");
  EXPECT_EQ(groups[0].field("arrival-date"), "Tue, 14 Nov 2023 22:13:20 +0000");
  EXPECT_EQ(groups[1].field("final-recipient"), "rfc822; bob@example.org");
  EXPECT_EQ(groups[1].field("action"), "failed");
  EXPECT_EQ(groups[1].field("status"), "5.1.1");
  EXPECT_EQ(groups[1].field("remote-mta"), "dns; smtp.provider.example");
  EXPECT_EQ(groups[1].field("diagnostic-code"), "smtp; 550 5.1.1 <bob@example.org>: no such user");
  EXPECT_EQ(groups[1].field("last-attempt-date"), "Tue, 14 Nov 2023 23:13:20 +0000");
}

// A message whose headers cannot be read (sealed under a key that is gone): the report alone.
TEST(DeliveryDsn, TwoPartsWhenTheOriginalHeadersAreUnknown) {
  DsnInput in = input();
  in.original_header_section.clear();
  const Report r = parse_report(build_dsn(in));
  ASSERT_EQ(r.parts.size(), 2u);
  EXPECT_EQ(r.parts[1].field("content-type"), "message/delivery-status");
  EXPECT_EQ(unwrapped(r.parts[0].body).find("headers of your message are attached"), std::string::npos);
  EXPECT_NE(unwrapped(r.parts[0].body).find("01J9Z3QX7M2K8R4T6V0W"), std::string::npos);
}

TEST(DeliveryDsn, SeveralRecipientsInOrder) {
  DsnInput in = input();
  in.failed.push_back(
      {"carol@example.net", "5.0.0", "smtp; 554 Transaction failed", "smtp.provider.example"});
  in.failed.push_back(
      {"dave@example.net", "5.2.2", "552 5.2.2 mailbox full", "smtp.provider.example"});
  const Report r = parse_report(build_dsn(in));
  ASSERT_EQ(r.parts.size(), 3u);
  const std::vector<Entity> groups = status_groups(r.parts[1].body);
  ASSERT_EQ(groups.size(), 4u);
  EXPECT_EQ(groups[1].field("final-recipient"), "rfc822; bob@example.org");
  EXPECT_EQ(groups[2].field("final-recipient"), "rfc822; carol@example.net");
  EXPECT_EQ(groups[2].field("status"), "5.0.0");
  EXPECT_EQ(groups[3].field("final-recipient"), "rfc822; dave@example.net");
  EXPECT_EQ(groups[3].field("diagnostic-code"), "smtp; 552 5.2.2 mailbox full");
  for (const std::string address :
       {"<bob@example.org>", "<carol@example.net>", "<dave@example.net>"}) {
    EXPECT_NE(unwrapped(r.parts[0].body).find(address + ": smtp.provider.example said: "),
              std::string::npos)
        << address;
  }
}

TEST(DeliveryDsn, ExpiredLifetimeIs447WithoutRemoteMta) {
  DsnInput in = input();
  in.failed = {{"bob@example.org", "4.4.7",
                "x-postern; delivery time expired; last reply: 451 4.4.1 try later", ""}};
  const Report r = parse_report(build_dsn(in));
  const std::vector<Entity> groups = status_groups(r.parts.at(1).body);
  ASSERT_EQ(groups.size(), 2u);
  EXPECT_EQ(groups[1].field("action"), "failed");
  EXPECT_EQ(groups[1].field("status"), "4.4.7");
  EXPECT_EQ(groups[1].fields.count("remote-mta"), 0u);
  EXPECT_EQ(groups[1].field("diagnostic-code"),
            "x-postern; delivery time expired; last reply: 451 4.4.1 try later");
  EXPECT_NE(unwrapped(r.parts[0].body).find("<bob@example.org>: delivery time expired"),
            std::string::npos);
}

TEST(DeliveryDsn, DiagnosticWithoutTypeIsTyped) {
  DsnInput in = input();
  in.failed = {{"a@example.org", "5.1.1", "550 5.1.1 no such user", "mx.example.org"},
               {"b@example.org", "5.0.0", "maildir: No space left on device", ""}};
  const std::vector<Entity> groups = status_groups(parse_report(build_dsn(in)).parts.at(1).body);
  ASSERT_EQ(groups.size(), 3u);
  EXPECT_EQ(groups[1].field("diagnostic-code"), "smtp; 550 5.1.1 no such user");
  EXPECT_EQ(groups[2].field("diagnostic-code"), "X-Postern; maildir: No space left on device");
}

TEST(DeliveryDsn, MalformedStatusBecomes500) {
  for (const std::string status : {"", "5.1", "6.1.1", "5.1.1\r\nX: y", "5.1234.1", "5..1"}) {
    DsnInput in = input();
    in.failed[0].status = status;
    const auto groups = status_groups(parse_report(build_dsn(in)).parts.at(1).body);
    EXPECT_EQ(groups.at(1).field("status"), "5.0.0") << status;
  }
}

TEST(DeliveryDsn, OriginalHeadersIncludedBodyExcluded) {
  const std::string dsn = build_dsn(input());
  const Report r = parse_report(dsn);
  EXPECT_EQ(r.parts.at(2).body, kOriginalHeaders);
  EXPECT_EQ(dsn.find("SECRET BODY TEXT"), std::string::npos);
}

TEST(DeliveryDsn, MessageWithoutBodyOrFinalCrlf) {
  DsnInput in = input();
  in.original_header_section = "Subject: only headers";
  EXPECT_EQ(parse_report(build_dsn(in)).parts.at(2).body, "Subject: only headers\r\n");
}

TEST(DeliveryDsn, CrlfOnlyAndShortLines) {
  DsnInput in = input();
  std::string long_reply = "smtp; 550 5.7.1";
  for (int i = 0; i < 300; ++i) long_reply += " word" + std::to_string(i);
  long_reply += " " + std::string(1500, 'x') + "\r\nsecond line\nthird";
  in.failed[0].diagnostic = long_reply;
  in.original_header_section = "Subject: bare\nTo: lf@example.org\r\nX-Cr: a\rb\r\n\r\nbody\n";
  const std::string dsn = build_dsn(in);
  for (std::size_t i = 0; i < dsn.size(); ++i) {
    if (dsn[i] == '\n') {
      ASSERT_TRUE(i > 0 && dsn[i - 1] == '\r') << "bare LF at " << i;
    }
    if (dsn[i] == '\r') {
      ASSERT_TRUE(i + 1 < dsn.size() && dsn[i + 1] == '\n') << "bare CR at " << i;
    }
  }
  std::size_t start = 0;
  while (start < dsn.size()) {
    const std::size_t end = dsn.find("\r\n", start);
    ASSERT_NE(end, std::string::npos);
    EXPECT_LT(end - start, 998u);
    start = end + 2;
  }
  const Report r = parse_report(dsn);
  EXPECT_EQ(r.parts.at(2).body, "Subject: bare\r\nTo: lf@example.org\r\nX-Cr: a\r\nb\r\n");
  const std::string code = status_groups(r.parts.at(1).body).at(1).field("diagnostic-code");
  EXPECT_TRUE(code.starts_with("smtp; 550 5.7.1 word0 word1")) << code;
  EXPECT_NE(code.find("word299 xxxx"), std::string::npos);
  EXPECT_NE(code.find(" second line third"), std::string::npos);
}

TEST(DeliveryDsn, NonAsciiIsEscapedOutsideTheOriginalHeaders) {
  DsnInput in = input();
  in.failed = {{"j\xc3\xb6rg+tag@example.org", "5.1.1",
                "smtp; 550 5.1.1 unknown user j\xc3\xb6rg \xff", "mx.example.org"}};
  const std::string dsn = build_dsn(in);
  EXPECT_TRUE(std::all_of(dsn.begin(), dsn.end(),
                          [](char c) { return static_cast<unsigned char>(c) < 0x80; }));
  const Report r = parse_report(dsn);
  const auto groups = status_groups(r.parts.at(1).body);
  EXPECT_EQ(groups.at(1).field("final-recipient"), "utf-8; j\\x{F6}rg\\x{2B}tag@example.org");
  EXPECT_EQ(groups.at(1).field("diagnostic-code"),
            "smtp; 550 5.1.1 unknown user j\\x{F6}rg \\x{FFFD}");
  EXPECT_NE(unwrapped(r.parts[0].body).find("<j\\x{F6}rg+tag@example.org>"), std::string::npos);
}

TEST(DeliveryDsn, EightBitOriginalHeadersAreLabelled) {
  DsnInput in = input();
  in.original_header_section =
      "Subject: Gr\xc3\xbc\xc3\x9f"
      "e\r\n\r\nbody\r\n";
  const std::string dsn = build_dsn(in);
  const Report r = parse_report(dsn);
  EXPECT_EQ(r.message.field("content-transfer-encoding"), "8bit");
  EXPECT_EQ(r.parts.at(2).field("content-transfer-encoding"), "8bit");
  EXPECT_EQ(r.parts[2].body,
            "Subject: Gr\xc3\xbc\xc3\x9f"
            "e\r\n");
  EXPECT_EQ(r.parts[0].fields.count("content-transfer-encoding"), 0u);
}

TEST(DeliveryDsn, DeterministicAndBoundaryNeverInsideAPart) {
  EXPECT_EQ(build_dsn(input()), build_dsn(input()));
  DsnInput in = input();
  in.boundary_seed = "seed-1";  // only letters and digits are used
  in.original_header_section = "X-Trap: --postern-dsn-seed1\r\n\r\n";
  const std::string dsn = build_dsn(in);
  const Report r = parse_report(dsn);
  EXPECT_EQ(r.message.field("content-type"),
            "multipart/report; report-type=delivery-status; boundary=\"postern-dsn-seed1-x\"");
  ASSERT_EQ(r.parts.size(), 3u);
  EXPECT_EQ(r.parts[2].body, "X-Trap: --postern-dsn-seed1\r\n");
}

TEST(DeliveryDsn, RequiredInputs) {
  for (auto clear :
       {+[](DsnInput& in) { in.original_sender.clear(); }, +[](DsnInput& in) { in.failed.clear(); },
        +[](DsnInput& in) { in.reporting_host.clear(); },
        +[](DsnInput& in) { in.boundary_seed = "--"; }}) {
    DsnInput in = input();
    clear(in);
    EXPECT_THROW(build_dsn(in), std::invalid_argument);
  }
}

}  // namespace
}  // namespace postern::delivery
