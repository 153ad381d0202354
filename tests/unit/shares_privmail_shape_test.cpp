// Which messages the `privmail` format can carry, and what of them: the Subject and text as
// Python's email package reads them for PrivMail, and a clear, reply-safe reason for every
// message of another shape (non-ASCII is refused, not turned into '?').
#include "shares/privmail_message_shape.hpp"

#include <gtest/gtest.h>

#include <string>
#include <vector>

namespace {

using namespace postern::shares;
using namespace std::string_literals;

constexpr std::string_view kCarries =
    "the privmail share format carries only a Subject and a single text/plain body, in 7-bit ASCII";

std::string message(const std::string& header, const std::string& body = "Hello Bob.\r\n") {
  return "From: Alice <alice@example.com>\r\nTo: bob@proxy.example\r\n" + header + "\r\n" + body;
}

std::string refusal(const std::string& text) {
  const PrivmailShape shape = check_privmail_shape(text);
  EXPECT_FALSE(shape.content) << text;
  return shape.problem;
}

TEST(PrivmailShape, CarriesSubjectTextAndTheCopiedFields) {
  const PrivmailShape shape = check_privmail_shape(
      "From: Alice <alice@example.com>\r\nTo: bob@proxy.example,\r\n carol@proxy.example\r\nCc: dave@example.org\r\n"
      "Subject:   Quarterly\r\n plans  \r\nDate: Tue, 02 Jan 2024 10:00:00 +0000\r\nMessage-ID: <1@example.com>\r\n"
      "Content-Type: text/plain; charset=utf-8\r\n\r\nHello Bob.\r\n\r\nSee you.\r\n");
  ASSERT_TRUE(shape.content) << shape.problem;
  EXPECT_EQ(shape.content->subject, "Quarterly plans  ");  // unfolded, leading blanks gone, as Python reads it
  EXPECT_EQ(shape.content->text, "Hello Bob.\r\n\r\nSee you.\r\n");
  EXPECT_EQ(shape.content->from, "Alice <alice@example.com>");
  EXPECT_EQ(shape.content->to, "bob@proxy.example,\r\n carol@proxy.example");
  EXPECT_EQ(shape.content->cc, "dave@example.org");
}

TEST(PrivmailShape, UndoesTransferEncodingsAndDecodesEncodedWords) {
  const PrivmailShape qp = check_privmail_shape(message(
      "Subject: =?utf-8?q?Caf=65_plans?= =?us-ascii?b?IG5vdw==?=\r\nContent-Transfer-Encoding: quoted-printable\r\n",
      "long line =\r\ncontinued=2E\r\n"));
  ASSERT_TRUE(qp.content) << qp.problem;
  EXPECT_EQ(qp.content->subject, "Cafe plans now");
  EXPECT_EQ(qp.content->text, "long line continued.\r\n");

  const PrivmailShape base64 = check_privmail_shape(message("Subject: x\r\nContent-Transfer-Encoding: BASE64\r\n",
                                                            "SGVsbG8K\r\n"));
  ASSERT_TRUE(base64.content) << base64.problem;
  EXPECT_EQ(base64.content->text, "Hello\n");
}

TEST(PrivmailShape, AMessageWithoutSubjectOrBodyIsCarriedEmpty) {
  const PrivmailShape shape = check_privmail_shape("From: a@example.com\r\n");
  ASSERT_TRUE(shape.content) << shape.problem;
  EXPECT_EQ(shape.content->subject, "");
  EXPECT_EQ(shape.content->text, "");
  EXPECT_EQ(shape.content->to, std::nullopt);
}

TEST(PrivmailShape, RefusesWhatItCannotCarryWithAReason) {
  EXPECT_EQ(refusal(message("Subject: x\r\nContent-Type: multipart/mixed; boundary=b\r\n", "--b\r\n\r\nx\r\n--b--\r\n")),
            "the message is \"multipart/mixed\"; " + std::string(kCarries));
  EXPECT_EQ(refusal(message("Content-Type: text/html\r\n")), "the body is \"text/html\"; " + std::string(kCarries));
  EXPECT_EQ(refusal(message("Content-Disposition: attachment; filename=a.txt\r\n")),
            "the body is an attachment; " + std::string(kCarries));
  EXPECT_EQ(refusal(message("Content-Type: text/plain; charset=utf-16\r\n")),
            "the body's charset is \"utf-16\"; " + std::string(kCarries));
  EXPECT_EQ(refusal(message("Content-Transfer-Encoding: x-uuencode\r\n")),
            "the body's Content-Transfer-Encoding is \"x-uuencode\"; " + std::string(kCarries));
  EXPECT_EQ(refusal(message("Content-Transfer-Encoding: base64\r\n", "not base64!\r\n")), "the body is not valid base64");
  EXPECT_EQ(refusal(message("Subject: x\r\nSubject: y\r\n")), "the message has 2 Subject fields");
  EXPECT_EQ(refusal("From: a@example.com\r\nnot a field\r\n\r\nx"), "the header section has a line that is no header field");
}

TEST(PrivmailShape, RefusesNonAsciiRatherThanTurningItIntoQuestionMarks) {
  const std::string non_ascii_body = "the body has non-ASCII characters (PrivMail would turn each into '?'); " + std::string(kCarries);
  EXPECT_EQ(refusal(message("Content-Type: text/plain; charset=utf-8\r\n", "Gr\xC3\xBC\xC3\x9F" "e\r\n")), non_ascii_body);
  EXPECT_EQ(refusal(message("Content-Transfer-Encoding: quoted-printable\r\n", "Gr=C3=BC=C3=9Fe\r\n")), non_ascii_body);
  EXPECT_EQ(refusal(message("Subject: K\xC3\xB6ln\r\n")), "the Subject has non-ASCII characters; " + std::string(kCarries));
  EXPECT_EQ(refusal(message("Subject: =?utf-8?q?K=C3=B6ln?=\r\n")),
            "the Subject has non-ASCII characters (PrivMail would turn each into '?'); " + std::string(kCarries));
  EXPECT_EQ(refusal(message("Subject: =?utf-16?b?AGE=?=\r\n")),
            "the Subject is encoded in charset \"utf-16\"; " + std::string(kCarries));
  EXPECT_EQ(refusal("From: J\xC3\xB6rg <j@example.com>\r\n\r\nx"),
            "the From field has non-ASCII characters (it travels in clear in each 7-bit share mail)");
  EXPECT_EQ(refusal(message("Subject: =?utf-8?q?a=0D=0Ab?=\r\n")), "the Subject holds a line break or NUL");
  EXPECT_EQ(refusal("To: b\0b@example.com\r\n\r\nx"s),
            "the To field holds a NUL (it travels in clear in each 7-bit share mail)");
}

TEST(PrivmailShape, BoundsTheMessageAndTheSubject) {
  EXPECT_EQ(privmail_size_problem(kPrivmailMaxMessageSize), "");
  EXPECT_EQ(privmail_size_problem(kPrivmailMaxMessageSize + 1),
            "the message has 1048577 bytes; the privmail share format carries at most 1048576");
  const std::string big = message("Subject: x\r\n", std::string(kPrivmailMaxMessageSize, 'a'));
  EXPECT_EQ(refusal(big), privmail_size_problem(big.size()));

  EXPECT_TRUE(check_privmail_shape(message("Subject: " + std::string(735, 's') + "\r\n")).content);
  EXPECT_EQ(refusal(message("Subject: " + std::string(736, 's') + "\r\n")),
            "the Subject has 736 characters; the privmail share format carries at most 735");
}

TEST(PrivmailShape, EveryProblemFitsAnSmtpReply) {
  const std::vector<std::string> refused = {
      message("Content-Type: multipart/\xC3\xA9\x01; b=1\r\n"), message("Content-Type: text/plain; charset=\"\r\n x\x7F\"\r\n"),
      message("Content-Transfer-Encoding: " + std::string(300, 'x') + "\r\n"), message("Subject: =?\xFF?q?a?=\r\n")};
  for (const std::string& text : refused) {
    const std::string problem = refusal(text);
    EXPECT_FALSE(problem.empty());
    EXPECT_LT(problem.size(), 300u) << problem;
    for (const char c : problem) EXPECT_TRUE(c >= ' ' && c <= '~') << problem;
  }
}

}  // namespace
