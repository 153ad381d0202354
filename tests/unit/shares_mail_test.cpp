// The `postern` share mail: its exact layout, base64 across piece boundaries, a size known in
// advance, the metadata header, and a parser that reads it back after the changes mail transport
// makes (LF line ends, folding, other base64 line lengths, added header fields) and refuses with
// a reason what it cannot use.
#include "shares/base64_lines.hpp"
#include "shares/share_mail.hpp"
#include "shares/share_mail_parser.hpp"
#include "shares/share_metadata.hpp"

#include <gtest/gtest.h>

#include <string>

namespace {

using namespace postern::shares;
using Status = ParsedShareMail::Status;

ShareGroupId test_id() { return *parse_share_group_id("00112233445566778899aabbccddeeff"); }

ShareMailFields test_fields(unsigned index = 2, SharingParams params = {Scheme::Shamir, 2, 3}) {
  return ShareMailFields{"alice@example.com", "bob@mail-a.example", "Tue, 02 Jan 2024 10:00:00 +0000",
                         "<share-1@relay.example>", ShareMetadata{test_id(), index, params}};
}

std::string share_bytes(std::size_t size) {
  std::string bytes(size, '\0');
  for (std::size_t i = 0; i < size; ++i) bytes[i] = static_cast<char>((i * 131 + 3) & 0xFF);
  return bytes;
}

std::string encode_mail(const ShareMailFields& fields, std::string_view share, std::size_t piece) {
  ShareMailEncoder encoder(fields);
  std::string mail;
  for (std::size_t pos = 0; pos < share.size(); pos += piece) mail += encoder.encode(share.substr(pos, piece));
  mail += encoder.finish();
  EXPECT_EQ(mail.size(), encoder.mail_size(share.size()));
  return mail;
}

std::string replace_all(std::string text, const std::string& from, const std::string& to) {
  for (std::size_t pos = text.find(from); pos != std::string::npos; pos = text.find(from, pos + to.size())) {
    text.replace(pos, from.size(), to);
  }
  return text;
}

TEST(SharesBase64, EncodesTheRfc4648VectorsAndDecodesThemBack) {
  const std::pair<std::string, std::string> vectors[] = {
      {"", ""}, {"f", "Zg==\r\n"}, {"fo", "Zm8=\r\n"}, {"foo", "Zm9v\r\n"}, {"foob", "Zm9vYg==\r\n"},
      {"fooba", "Zm9vYmE=\r\n"}, {"foobar", "Zm9vYmFy\r\n"}};
  for (const auto& [plain, encoded] : vectors) {
    Base64LineEncoder encoder;
    std::string out = encoder.encode(plain);
    out += encoder.finish();
    EXPECT_EQ(out, encoded);
    EXPECT_EQ(decode_base64_lines(encoded), plain);
    EXPECT_EQ(Base64LineEncoder::encoded_size(plain.size()), encoded.size());
  }
}

TEST(SharesBase64, LinesAre76CharactersWhateverThePieces) {
  const std::string bytes = share_bytes(1000);
  Base64LineEncoder whole;
  std::string expected = whole.encode(bytes);
  expected += whole.finish();
  for (const std::size_t piece : {1u, 2u, 7u, 56u, 57u, 58u, 999u}) {
    Base64LineEncoder encoder;
    std::string out;
    for (std::size_t pos = 0; pos < bytes.size(); pos += piece) out += encoder.encode(std::string_view(bytes).substr(pos, piece));
    out += encoder.finish();
    EXPECT_EQ(out, expected) << piece;
  }
  for (std::size_t pos = 0; pos < expected.size();) {
    const std::size_t end = expected.find("\r\n", pos);
    ASSERT_NE(end, std::string::npos);
    EXPECT_LE(end - pos, 76u);
    if (end + 2 < expected.size()) {
      EXPECT_EQ(end - pos, 76u);
    }
    pos = end + 2;
  }
  EXPECT_EQ(decode_base64_lines(expected), bytes);
  EXPECT_EQ(Base64LineEncoder::encoded_size(bytes.size()), expected.size());
}

TEST(SharesBase64, DecodingSkipsLineBreaksAndRefusesTheRest) {
  EXPECT_EQ(decode_base64_lines("Zm9v\nYmFy\n"), "foobar");
  EXPECT_EQ(decode_base64_lines(" Zm 9v\tYm\r\nFy "), "foobar");
  EXPECT_EQ(decode_base64_lines("Zm9vYg=\n=\n"), "foob");
  EXPECT_FALSE(decode_base64_lines("Zm9vY"));
  EXPECT_FALSE(decode_base64_lines("Zm9v!mFy"));
  EXPECT_FALSE(decode_base64_lines("Zg==Zm9v"));
  EXPECT_FALSE(decode_base64_lines("Z==="));
  EXPECT_FALSE(decode_base64_lines("Zh=="));  // non-zero padding bits
  EXPECT_FALSE(decode_base64_lines("Zm9="));
  EXPECT_FALSE(decode_base64_lines("Zm8=="));
}

TEST(SharesMetadata, FormatsAndParsesTheHeaderValue) {
  const ShareMetadata metadata{test_id(), 2, {Scheme::Shamir, 2, 3}};
  EXPECT_EQ(format_share_metadata(metadata), "v=1; scheme=shamir; id=00112233445566778899aabbccddeeff; index=2; k=2; n=3");
  EXPECT_EQ(parse_share_metadata(format_share_metadata(metadata)).metadata, metadata);
  const ShareMetadataParse relaxed =
      parse_share_metadata(" N=3 ;K=3;  index = 3; later=yes; scheme=XOR; id=00112233445566778899AABBCCDDEEFF; v=1;");
  EXPECT_EQ(relaxed.error, "");
  EXPECT_EQ(relaxed.metadata, (ShareMetadata{test_id(), 3, {Scheme::Xor, 3, 3}}));
}

TEST(SharesMetadata, RefusesWhatItCannotUse) {
  const auto error = [](std::string_view value) { return parse_share_metadata(value).error; };
  const std::string id = "id=00112233445566778899aabbccddeeff";
  EXPECT_EQ(error("v=2; scheme=xor; " + id + "; index=1; k=2; n=2"), "share format version 2 is not supported (this reads 1)");
  EXPECT_EQ(error("v=1; scheme=xor; " + id + "; index=1; k=2"), "parameter n is missing");
  EXPECT_EQ(error("v=1; scheme=xor; " + id + "; index=1; k=2; n=2; n=2"), "parameter n is given twice");
  EXPECT_EQ(error("v=1; scheme=rot13; " + id + "; index=1; k=2; n=2"), "unknown scheme \"rot13\"");
  EXPECT_EQ(error("v=1; scheme=xor; id=0011; index=1; k=2; n=2"), "id \"0011\" is not 32 hex digits");
  EXPECT_EQ(error("v=1; scheme=xor; " + id + "; index=-1; k=2; n=2"), "index, k and n must be small decimal numbers");
  EXPECT_EQ(error("v=1; scheme=shamir; " + id + "; index=4; k=2; n=3"), "index 4 is outside 1..3");
  EXPECT_EQ(error("v=1; scheme=shamir; " + id + "; index=1; k=4; n=3"), "threshold 4 is above the share count 3");
  EXPECT_EQ(error("v=1; scheme=xor; " + id + "; index=1; k=2; n=3"),
            "XOR sharing needs all shares: threshold 2 differs from the share count 3");
  EXPECT_EQ(error("v=1; scheme"), "parameter \"scheme\" has no value");
}

TEST(SharesMail, HasTheDocumentedLayout) {
  const std::string mail = encode_mail(test_fields(), share_bytes(4096), 4096);
  const std::string head =
      "From: alice@example.com\r\n"
      "To: bob@mail-a.example\r\n"
      "Date: Tue, 02 Jan 2024 10:00:00 +0000\r\n"
      "Message-ID: <share-1@relay.example>\r\n"
      "Subject: Encrypted message share\r\n"
      "MIME-Version: 1.0\r\n"
      "X-Postern-Share: v=1; scheme=shamir; id=00112233445566778899aabbccddeeff;\r\n"
      " index=2; k=2; n=3\r\n"
      "Content-Type: multipart/mixed;\r\n"
      " boundary=\"=_postern_share_00112233445566778899aabbccddeeff\"\r\n"
      "\r\n"
      "--=_postern_share_00112233445566778899aabbccddeeff\r\n"
      "Content-Type: text/plain; charset=us-ascii\r\n";
  EXPECT_EQ(mail.substr(0, head.size()), head);
  EXPECT_NE(mail.find("Content-Type: application/octet-stream;\r\n"
                      " name=\"postern-share-00112233445566778899aabbccddeeff-2.bin\"\r\n"
                      "Content-Transfer-Encoding: base64\r\n"
                      "Content-Disposition: attachment;\r\n"
                      " filename=\"postern-share-00112233445566778899aabbccddeeff-2.bin\"\r\n\r\n"),
            std::string::npos);
  EXPECT_TRUE(mail.ends_with("\r\n--=_postern_share_00112233445566778899aabbccddeeff--\r\n"));
  // CRLF only, no line over 78 characters (RFC 5322 §2.1.1).
  EXPECT_EQ(replace_all(mail, "\r\n", "").find_first_of("\r\n"), std::string::npos);
  for (std::size_t pos = 0; pos < mail.size();) {
    const std::size_t end = mail.find("\r\n", pos);
    EXPECT_LE(end - pos, 78u) << mail.substr(pos, end - pos);
    pos = end + 2;
  }
}

TEST(SharesMail, StreamsTheSameMailWhateverThePieces) {
  const std::string share = share_bytes(8192);
  const std::string whole = encode_mail(test_fields(), share, share.size());
  for (const std::size_t piece : {1u, 7u, 4096u}) EXPECT_EQ(encode_mail(test_fields(), share, piece), whole) << piece;
}

TEST(SharesMail, RoundTripsThroughTheParser) {
  const std::string share = share_bytes(8192);
  for (const SharingParams params : {SharingParams{Scheme::Shamir, 2, 3}, SharingParams{Scheme::Xor, 4, 4}}) {
    const ParsedShareMail parsed = parse_share_mail(encode_mail(test_fields(3, params), share, 1000));
    ASSERT_EQ(parsed.status, Status::Share) << parsed.error;
    EXPECT_EQ(parsed.share, (ShareMetadata{test_id(), 3, params}));
    EXPECT_EQ(parsed.bytes, share);
  }
}

TEST(SharesMail, RefusesHeaderFieldsThatWouldInjectLines) {
  ShareMailFields fields = test_fields();
  fields.to = "bob@mail-a.example\r\nBcc: eve@example.com";
  EXPECT_THROW(ShareMailEncoder{fields}, std::invalid_argument);
  fields = test_fields();
  fields.message_id = "";
  EXPECT_THROW(ShareMailEncoder{fields}, std::invalid_argument);
  EXPECT_THROW(ShareMailEncoder{test_fields(4)}, std::invalid_argument);
}

TEST(SharesMailParser, ReadsMailChangedInTransport) {
  const std::string share = share_bytes(4096);
  const std::string mail = encode_mail(test_fields(), share, 4096);

  // LF line ends, as a maildir or an mbox keeps them.
  const std::string lf = replace_all(mail, "\r\n", "\n");
  // Added trace fields, an mbox From line, a folded share header.
  const std::string delivered =
      "From alice@example.com Tue Jan  2 10:00:01 2024\n"
      "Return-Path: <alice@example.com>\n"
      "Received: from relay.example by mx.mail-a.example; Tue, 02 Jan 2024 10:00:01 +0000\n" +
      replace_all(replace_all(lf, "X-Postern-Share: v=1; scheme=shamir;", "x-postern-share: v=1;\n\tscheme=shamir;"),
                  "\n index=2", " index=2");
  // Base64 re-wrapped at 64 characters, and in one long line.
  const std::size_t body = mail.find("\r\n\r\n", mail.find("application/octet-stream")) + 4;
  const std::size_t close = mail.find("\r\n--=_postern_share_", body);
  const std::string base64 = replace_all(mail.substr(body, close - body), "\r\n", "");
  std::string rewrapped;
  for (std::size_t pos = 0; pos < base64.size(); pos += 64) rewrapped += base64.substr(pos, 64) + "\r\n";
  const std::string wrapped_64 = mail.substr(0, body) + rewrapped + mail.substr(close + 2);
  const std::string one_line = mail.substr(0, body) + base64 + mail.substr(close);

  for (const std::string& variant : {lf, delivered, wrapped_64, one_line}) {
    const ParsedShareMail parsed = parse_share_mail(variant);
    ASSERT_EQ(parsed.status, Status::Share) << parsed.error << "\n" << variant.substr(0, 600);
    EXPECT_EQ(parsed.bytes, share);
    EXPECT_EQ(parsed.share.index, 2u);
  }
}

TEST(SharesMailParser, ReadsASinglePartShareMail) {
  const std::string base64 = [] {
    Base64LineEncoder encoder;
    std::string out = encoder.encode(share_bytes(4096));
    return out + encoder.finish();
  }();
  const std::string mail = "X-Postern-Share: v=1; scheme=xor; id=00112233445566778899aabbccddeeff; index=1; k=2; n=2\n"
                           "Content-Type: Application/Octet-Stream\nContent-Transfer-Encoding: BASE64\n\n" + base64;
  const ParsedShareMail parsed = parse_share_mail(mail);
  ASSERT_EQ(parsed.status, Status::Share) << parsed.error;
  EXPECT_EQ(parsed.bytes, share_bytes(4096));
}

TEST(SharesMailParser, OrdinaryMailIsNotAShare) {
  EXPECT_EQ(parse_share_mail("From: a@b\r\nSubject: hello\r\n\r\nX-Postern-Share: in the body\r\n").status, Status::NotAShare);
  EXPECT_EQ(parse_share_mail("").status, Status::NotAShare);
}

TEST(SharesMailParser, RefusesBrokenShareMailsWithAReason) {
  const std::string mail = encode_mail(test_fields(), share_bytes(4096), 4096);
  const auto error = [](const std::string& text) {
    const ParsedShareMail parsed = parse_share_mail(text);
    EXPECT_EQ(parsed.status, Status::Bad);
    return parsed.error;
  };
  const std::string header = "X-Postern-Share: v=1; scheme=shamir; id=00112233445566778899aabbccddeeff; index=2; k=2; n=3\r\n";
  EXPECT_EQ(error(header + header + "\r\n"), "the mail has more than one X-Postern-Share header field");
  EXPECT_EQ(error(replace_all(mail, "index=2", "index=9")), "X-Postern-Share: index 9 is outside 1..3");
  EXPECT_EQ(error(replace_all(mail, "application/octet-stream", "text/plain")),
            "the share mail has no application/octet-stream part");
  EXPECT_EQ(error(replace_all(mail, "Content-Transfer-Encoding: base64", "Content-Transfer-Encoding: 8bit")),
            "the share part is not base64-encoded");
  EXPECT_EQ(error(replace_all(mail, " boundary=\"=_postern_share_00112233445566778899aabbccddeeff\"", " charset=x")),
            "the share mail's multipart Content-Type has no boundary");
  EXPECT_EQ(error(header + "Content-Type: text/html\r\n\r\n<p>"),
            "the share mail's Content-Type is \"text/html\", not multipart or application/octet-stream");

  const std::size_t body = mail.find("\r\n\r\n", mail.find("application/octet-stream")) + 4;
  std::string bad_base64 = mail;
  bad_base64[body + 10] = '*';
  EXPECT_EQ(error(bad_base64), "the share part is not valid base64");
  // One line (57 bytes) fewer: the share is no longer a whole number of 4 KiB.
  std::string truncated = mail;
  truncated.erase(body, 78);
  EXPECT_EQ(error(truncated), "the share has 4039 bytes, not a positive multiple of 4096: it is truncated or damaged");
  // Cut short in the middle of the base64: no closing delimiter either.
  EXPECT_EQ(error(mail.substr(0, body + 78 * 10)),
            "the share has 570 bytes, not a positive multiple of 4096: it is truncated or damaged");
  // The share part twice.
  const std::string delimiter = "--=_postern_share_00112233445566778899aabbccddeeff";
  const std::size_t share_part = mail.find(delimiter + "\r\nContent-Type: application/octet-stream");
  const std::size_t closing = mail.find(delimiter + "--");
  const std::string twice = mail.substr(0, closing) + mail.substr(share_part, closing - share_part) + mail.substr(closing);
  EXPECT_EQ(error(twice), "the share mail has more than one application/octet-stream part");
}

}  // namespace
