#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "server/delivery/journal_publish.hpp"
#include "server/smtp/base64.hpp"

namespace postern::delivery {
namespace {

// echo -n 'Subject: hi\r\n\r\nhello\r\n' | sha256sum
constexpr const char* kMessage = "Subject: hi\r\n\r\nhello\r\n";

TEST(JournalPayload, RawIsTheMessageItself) {
  const std::string bytes("a\0b\xff\r\n", 6);
  EXPECT_EQ(journal_payload(bytes, JournalFormat::Raw), bytes);
}

TEST(JournalPayload, JsonIsTheSeedCollectorsObject) {
  const std::string payload = journal_payload(kMessage, JournalFormat::Json);
  const auto object = nlohmann::json::parse(payload);
  EXPECT_EQ(object.size(), 2u);
  EXPECT_EQ(object.at("msg"), kMessage);
  EXPECT_EQ(object.at("sha256"), "152f17ac7a38f5d25376dd86328a96a17551fa061a49aa32649ee50c07d9c7c2");
}

TEST(JournalPayload, JsonIsCompactWithKeysInOrder) {
  EXPECT_EQ(journal_payload("x\"\\\n\x01", JournalFormat::Json).substr(0, 25), R"({"msg":"x\"\\\n\u0001","s)");
}

TEST(JournalPayload, ValidUtf8StaysAsItIs) {
  const std::string text = "Subject: gr\xc3\xbc\xc3\x9f" "e \xf0\x9f\x98\x80\r\n";
  const auto object = nlohmann::json::parse(journal_payload(text, JournalFormat::Json));
  EXPECT_EQ(object.at("msg"), text);
  EXPECT_FALSE(object.contains("msg_base64"));
}

TEST(JournalPayload, InvalidUtf8IsReplacedAndKeptWhole) {
  const std::string text = "Subject: caf\xe9\r\n\r\n\xff\xfe ok \xc3\r\n";  // Latin-1, stray bytes, a cut sequence
  const std::string payload = journal_payload(text, JournalFormat::Json);
  const auto object = nlohmann::json::parse(payload);
  const std::string msg = object.at("msg");
  EXPECT_NE(msg.find("caf\xef\xbf\xbd\r\n"), std::string::npos);  // U+FFFD
  EXPECT_NE(msg.find(" ok "), std::string::npos);
  EXPECT_EQ(smtp::base64_decode(object.at("msg_base64").get<std::string>()), text);
  EXPECT_EQ(object.at("sha256").get<std::string>().size(), 64u);
  // The digest is of the raw bytes, not of the replaced text.
  EXPECT_NE(object.at("sha256"), nlohmann::json::parse(journal_payload(msg, JournalFormat::Json)).at("sha256"));
}

}  // namespace
}  // namespace postern::delivery
