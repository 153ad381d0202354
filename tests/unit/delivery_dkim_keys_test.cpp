// Which keys sign a message at delivery: the header From domain's, else the nearest parent
// domain's that has keys (never a top-level domain's), each key of the domain once.
#include "server/delivery/dkim_key_cache.hpp"

#include "dkim/crypto.hpp"

#include <gtest/gtest.h>

#include <map>
#include <string>
#include <vector>

namespace postern::delivery {
namespace {

dkim::Signer signer(const std::string& domain, const std::string& selector, dkim::Algorithm algorithm) {
  return {domain, selector, dkim::SigningKey::from_pem(algorithm, dkim::generate_key(algorithm).private_pem)};
}

DkimKeys keys() {
  std::map<std::string, std::vector<dkim::Signer>> by_domain;
  by_domain["example.com"] = {signer("example.com", "rsa", dkim::Algorithm::Rsa2048),
                              signer("example.com", "ed", dkim::Algorithm::Ed25519)};
  by_domain["com"] = {signer("com", "tld", dkim::Algorithm::Ed25519)};
  return DkimKeys(std::move(by_domain));
}

TEST(DkimKeys, TheFromDomainOrItsNearestParentWithKeys) {
  const DkimKeys k = keys();
  ASSERT_NE(k.signers_for("example.com"), nullptr);
  EXPECT_EQ(k.signers_for("example.com")->size(), 2u);
  EXPECT_EQ(k.signers_for("relay.mail.example.com"), k.signers_for("example.com"));
  EXPECT_EQ(k.signers_for("other.com"), nullptr);  // never a top-level domain's key
  EXPECT_EQ(k.signers_for("example.org"), nullptr);
  EXPECT_EQ(k.signers_for(""), nullptr);
}

TEST(DkimKeys, OneFieldPerKeyOfTheDomainOrNone) {
  const DkimKeys k = keys();
  const std::string fields =
      k.signature_fields("From: A <a@Sub.Example.com>\r\nSubject: s\r\n", "BH=", dkim::default_signed_headers());
  EXPECT_TRUE(fields.starts_with("DKIM-Signature: v=1; a=rsa-sha256; c=relaxed/relaxed; d=example.com; s=rsa;"));
  EXPECT_NE(fields.find("\r\nDKIM-Signature: v=1; a=ed25519-sha256; c=relaxed/relaxed; d=example.com; s=ed;"),
            std::string::npos);
  EXPECT_EQ(k.signature_fields("From: b@example.org\r\n", "BH=", dkim::default_signed_headers()), "");
  EXPECT_EQ(k.signature_fields("Subject: no from\r\n", "BH=", dkim::default_signed_headers()), "");
}

}  // namespace
}  // namespace postern::delivery
