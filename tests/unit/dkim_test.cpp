// DKIM's pure parts: canonicalization (RFC 6376 §3.4.5), the body hash over any chunking,
// the signed header list, the RFC 8463 Appendix A test vector, the DNS record text.
#include "dkim/canonical.hpp"
#include "dkim/crypto.hpp"
#include "dkim/signature.hpp"

#include <gtest/gtest.h>

#include <string>

namespace postern::dkim {
namespace {

std::string body_hash_of(std::string_view body) {
  BodyHasher hasher;
  hasher.update(body);
  return hasher.finish();
}

std::string sha256_base64(std::string_view bytes) {
  Sha256 sha;
  sha.update(bytes);
  return base64(sha.finish());
}

TEST(DkimCanonical, Rfc6376ExampleHeaders) {
  EXPECT_EQ(relaxed_header("A: X\r\n"), "a:X\r\n");
  EXPECT_EQ(relaxed_header("B : Y\t\r\n\tZ  \r\n"), "b:Y Z\r\n");
}

TEST(DkimCanonical, Rfc6376ExampleBody) {
  const std::string body = " C \r\nD \t E\r\n\r\n\r\n";
  EXPECT_EQ(relaxed_body(body), " C\r\nD E\r\n");
  EXPECT_EQ(body_hash_of(body), sha256_base64(" C\r\nD E\r\n"));
}

TEST(DkimCanonical, EmptyBodyHashesNothing) {
  EXPECT_EQ(body_hash_of(""), "47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU=");
  EXPECT_EQ(body_hash_of("\r\n\r\n  \r\n"), "47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU=");
}

TEST(DkimCanonical, LastLineWithoutCrlfGetsOne) {
  EXPECT_EQ(relaxed_body("a  b \t"), "a b\r\n");
  EXPECT_EQ(body_hash_of("a  b \t"), sha256_base64("a b\r\n"));
}

TEST(DkimCanonical, EmptyLinesInsideTheBodyStay) {
  EXPECT_EQ(relaxed_body("a\r\n\r\n \r\nb\r\n\r\n"), "a\r\n\r\n\r\nb\r\n");
  EXPECT_EQ(body_hash_of("a\r\n\r\n \r\nb\r\n\r\n"), sha256_base64("a\r\n\r\n\r\nb\r\n"));
}

TEST(DkimCanonical, EightBitBytesAreContent) {
  const std::string body = "gr\xc3\xbc\xc3\x9f \xe2\x82\xac  \r\n";
  EXPECT_EQ(body_hash_of(body), sha256_base64("gr\xc3\xbc\xc3\x9f \xe2\x82\xac\r\n"));
}

// Every split of a body full of edge cases into two pieces, and byte by byte, hashes the same.
TEST(DkimCanonical, BodyHashIsTheSameOverAnyChunkBoundary) {
  const std::string body = " lead \t\r\nx  y\r\n\r\n \t \r\n\r\nz\r\r\nend \r\n \r\n\r\n";
  const std::string expected = sha256_base64(relaxed_body(body));
  EXPECT_EQ(body_hash_of(body), expected);
  for (std::size_t split = 0; split <= body.size(); ++split) {
    BodyHasher hasher;
    hasher.update(std::string_view(body).substr(0, split));
    hasher.update(std::string_view(body).substr(split));
    EXPECT_EQ(hasher.finish(), expected) << "split at " << split;
  }
  BodyHasher bytewise;
  for (char c : body) bytewise.update(std::string_view(&c, 1));
  EXPECT_EQ(bytewise.finish(), expected);
}

TEST(DkimCanonical, LargeBodyInChunks) {
  std::string body;
  for (int i = 0; i < 20000; ++i) body += "line " + std::to_string(i) + "  with\ttabs \r\n";
  const std::string expected = sha256_base64(relaxed_body(body));
  BodyHasher hasher;
  for (std::size_t at = 0; at < body.size(); at += 4093) hasher.update(std::string_view(body).substr(at, 4093));
  EXPECT_EQ(hasher.finish(), expected);
}

TEST(DkimHeaders, FieldsKeepTheirFolding) {
  const auto fields = header_fields("From: a@b\r\nSubject: one\r\n two\r\nTo: c@d\r\n\r\n");
  ASSERT_EQ(fields.size(), 3u);
  EXPECT_EQ(fields[1], "Subject: one\r\n two\r\n");
}

TEST(DkimHeaders, NamesCountInstancesAndOversignFrom) {
  const auto fields = header_fields("Received: x\r\nFrom: a@b\r\nTo: c@d\r\nTo: e@f\r\nSubject: s\r\n");
  const auto names = names_to_sign(fields, default_signed_headers());
  EXPECT_EQ(names, (std::vector<std::string>{"From", "From", "To", "To", "Subject"}));
}

TEST(DkimHeaders, SignedDataTakesInstancesBottomUp) {
  const auto fields = header_fields("To: first\r\nFrom: a@b\r\nTo: second\r\n");
  const std::string data = signed_data(fields, {"From", "From", "To", "To"}, "DKIM-Signature: b=");
  EXPECT_EQ(data, "from:a@b\r\nto:second\r\nto:first\r\ndkim-signature:b=");
}

TEST(DkimHeaders, HeaderFromDomain) {
  EXPECT_EQ(header_from_domain("To: x@y\r\nFrom: \"A, B\" <a@Example.COM>\r\n"), "example.com");
  EXPECT_EQ(header_from_domain("From: a@sub.example.org\r\n"), "sub.example.org");
  EXPECT_EQ(header_from_domain("To: x@y\r\n"), "");
}

// RFC 8463 Appendix A: the Ed25519 key and the signed message, reproduced byte for byte
// (Ed25519 signatures are deterministic).
TEST(DkimRfc8463, TestVector) {
  const std::string header_section =
      "From: Joe SixPack <joe@football.example.com>\r\n"
      "To: Suzie Q <suzie@shopping.example.net>\r\n"
      "Subject: Is dinner ready?\r\n"
      "Date: Fri, 11 Jul 2003 21:00:37 -0700 (PDT)\r\n"
      "Message-ID: <20030712040037.46341.5F8J@football.example.com>\r\n";
  const std::string body = "Hi.\r\n\r\nWe lost the game.  Are you hungry yet?\r\n\r\nJoe.\r\n";
  EXPECT_EQ(body_hash_of(body), "2jUSOH9NhtVGCQWNr9BrIAPreKQjO6Sn7XIkfJVOzv8=");
  const std::string unsigned_field =
      "DKIM-Signature: v=1; a=ed25519-sha256; c=relaxed/relaxed;\r\n"
      " d=football.example.com; i=@football.example.com;\r\n"
      " q=dns/txt; s=brisbane; t=1528637909; h=from : to :\r\n"
      " subject : date : message-id : from : subject : date;\r\n"
      " bh=2jUSOH9NhtVGCQWNr9BrIAPreKQjO6Sn7XIkfJVOzv8=;\r\n"
      " b=";
  const auto fields = header_fields(header_section);
  const std::string data =
      signed_data(fields, {"from", "to", "subject", "date", "message-id", "from", "subject", "date"}, unsigned_field);
  const SigningKey key = SigningKey::ed25519_from_raw(base64_decode("nWGxne/9WmC6hEr0kuwsxERJxWl7MmkZcDusAxyuf2A="));
  EXPECT_EQ(base64(key.sign(data)),
            "/gCrinpcQOoIfuHNQIbq4pgh9kyIK3AQUdt9OdqQehSwhEIug4D11BusFa3bT3FY5OsU7ZbnKELq+eXdp1Q1Dw==");
}

TEST(DkimKeys, GeneratedKeysSign) {
  for (Algorithm algorithm : {Algorithm::Ed25519, Algorithm::Rsa2048}) {
    const GeneratedKey made = generate_key(algorithm);
    const SigningKey key = SigningKey::from_pem(algorithm, made.private_pem);
    EXPECT_EQ(key.sign("data").size(), algorithm == Algorithm::Ed25519 ? 64u : 256u);
    if (algorithm == Algorithm::Ed25519) {
      EXPECT_EQ(base64_decode(made.public_key).size(), 32u);
    }
  }
  EXPECT_THROW(SigningKey::from_pem(Algorithm::Rsa2048, generate_key(Algorithm::Ed25519).private_pem),
               std::runtime_error);
}

TEST(DkimSignature, FieldNamesEverything) {
  const SigningKey key = SigningKey::ed25519_from_raw(base64_decode("nWGxne/9WmC6hEr0kuwsxERJxWl7MmkZcDusAxyuf2A="));
  const std::string field = signature_field("From: a@example.com\r\nSubject: s\r\n", "BH=", Signer{"example.com", "sel", key},
                                            default_signed_headers(), 1700000000);
  EXPECT_TRUE(field.starts_with("DKIM-Signature: v=1; a=ed25519-sha256; c=relaxed/relaxed; d=example.com; s=sel;"));
  EXPECT_NE(field.find("t=1700000000; h=From:From:Subject;"), std::string::npos);
  EXPECT_NE(field.find("bh=BH=;"), std::string::npos);
  EXPECT_TRUE(field.ends_with("\r\n"));
}

TEST(DkimDnsRecord, Ed25519IsOneString) {
  EXPECT_EQ(dns_txt_record("football.example.com", "brisbane", Algorithm::Ed25519,
                           "11qYAYKxCrfVS/7TyWQHOg7hcvPapiMlrwIaaPcHURo="),
            "brisbane._domainkey.football.example.com. IN TXT "
            "\"v=DKIM1; k=ed25519; p=11qYAYKxCrfVS/7TyWQHOg7hcvPapiMlrwIaaPcHURo=\"");
}

TEST(DkimDnsRecord, RsaIsSplitInto255CharacterStrings) {
  const std::string key(392, 'A');  // a 2048-bit key's base64 length
  const std::string record = dns_txt_record("example.com", "s1", Algorithm::Rsa2048, key);
  const std::string text = "v=DKIM1; k=rsa; p=" + key;
  EXPECT_EQ(record, "s1._domainkey.example.com. IN TXT \"" + text.substr(0, 255) + "\" \"" + text.substr(255) + "\"");
}

}  // namespace
}  // namespace postern::dkim
