// The spool between DATA and the queue: small messages in memory, large ones in a file that has
// no name, read back byte for byte; and how intake splits a spooled message at its header.
#include "server/queue/message_spool.hpp"
#include "server/queue/spooled_message.hpp"

#include <gtest/gtest.h>
#include <unistd.h>

#include <cerrno>
#include <filesystem>
#include <random>
#include <string>

namespace postern::queue {
namespace {

namespace fs = std::filesystem;

// A fresh directory for one test, removed with everything in it.
class TempDirectory {
 public:
  TempDirectory() {
    const auto* test = ::testing::UnitTest::GetInstance()->current_test_info();
    path_ = fs::temp_directory_path() / ("postern-spool-test-" + std::to_string(::getpid()) + "-" + test->name());
    fs::create_directories(path_);
  }
  ~TempDirectory() { fs::remove_all(path_); }
  TempDirectory(const TempDirectory&) = delete;
  TempDirectory& operator=(const TempDirectory&) = delete;
  std::string path() const { return path_.string(); }
  bool empty() const { return fs::is_empty(path_); }

 private:
  fs::path path_;
};

// `size` random bytes of every value: the spool is byte-transparent.
std::string random_bytes(std::size_t size, unsigned seed) {
  std::mt19937 random(seed);
  std::string bytes(size, '\0');
  for (char& c : bytes) c = static_cast<char>(random() & 0xff);
  return bytes;
}

// Everything left to read, `read_size` bytes at a time.
std::string read_rest(MessageSpool& spool, std::size_t read_size) {
  std::string out;
  std::string buffer(read_size, '\0');
  while (const std::size_t n = spool.read(buffer.data(), buffer.size())) out.append(buffer, 0, n);
  return out;
}

std::string read_rest(const schema::ChunkSource& source, std::size_t read_size) {
  std::string out;
  std::string buffer(read_size, '\0');
  while (const std::size_t n = source(buffer.data(), buffer.size())) out.append(buffer, 0, n);
  return out;
}

// What the file descriptor points at, as the kernel names it.
std::string file_name_of(int fd) {
  std::error_code ignored;
  return fs::read_symlink("/proc/self/fd/" + std::to_string(fd), ignored).string();
}

MessageSpool spool_of(const std::string& content, const std::string& directory, std::size_t memory_limit = 64) {
  MessageSpool spool{SpoolSettings{directory, memory_limit}};
  for (std::size_t at = 0; at < content.size(); at += 7) spool.append(std::string_view(content).substr(at, 7));
  return spool;
}

TEST(MessageSpool, SmallMessageStaysInMemory) {
  TempDirectory directory;
  MessageSpool spool{SpoolSettings{directory.path()}};
  const std::string content = random_bytes(1000, 1);
  spool.append(content.substr(0, 300));
  spool.append(content.substr(300));
  EXPECT_FALSE(spool.in_file());
  EXPECT_EQ(spool.size(), 1000u);
  EXPECT_EQ(read_rest(spool, 64), content);
  EXPECT_EQ(spool.read(nullptr, 0), 0u);
}

void expect_large_message_in_a_nameless_file(bool use_o_tmpfile) {
  TempDirectory directory;
  MessageSpool spool{SpoolSettings{directory.path(), kSpoolMemoryLimit, use_o_tmpfile}};
  const std::string content = random_bytes(3 * 1024 * 1024 + 17, 2);
  for (std::size_t at = 0; at < content.size(); at += 65536) spool.append(std::string_view(content).substr(at, 65536));
  ASSERT_TRUE(spool.in_file());
  EXPECT_EQ(spool.size(), content.size());
  EXPECT_TRUE(directory.empty());  // nothing anyone could open by name
  EXPECT_TRUE(file_name_of(spool.file_descriptor()).ends_with("(deleted)")) << file_name_of(spool.file_descriptor());
  EXPECT_TRUE(read_rest(spool, 100000) == content);  // not EXPECT_EQ: no 3 MiB diff on failure
}

TEST(MessageSpool, LargeMessageMovesToAFileWhoseNameNoLongerExists) {
  expect_large_message_in_a_nameless_file(true);
}

TEST(MessageSpool, WithoutOTmpfileTheFileIsUnlinkedAtOnce) {
  expect_large_message_in_a_nameless_file(false);
}

TEST(MessageSpool, MovesToTheFileJustPastTheMemoryLimit) {
  TempDirectory directory;
  MessageSpool spool{SpoolSettings{directory.path(), 100}};
  spool.append(std::string(100, 'a'));
  EXPECT_FALSE(spool.in_file());
  spool.append("b");
  EXPECT_TRUE(spool.in_file());
  EXPECT_EQ(read_rest(spool, 33), std::string(100, 'a') + "b");
}

TEST(MessageSpool, MovedSpoolKeepsItsFile) {
  TempDirectory directory;
  MessageSpool spool = spool_of("0123456789abcdef", directory.path(), 8);
  ASSERT_TRUE(spool.in_file());
  MessageSpool moved = std::move(spool);
  EXPECT_FALSE(spool.in_file());
  EXPECT_EQ(read_rest(moved, 5), "0123456789abcdef");
}

TEST(MessageSpool, MissingDirectoryIsAClearError) {
  const SpoolSettings settings{"/nonexistent/postern-spool", 4};
  MessageSpool spool{settings};
  spool.append("1234");
  try {
    spool.append("5");
    FAIL() << "no error";
  } catch (const SpoolError& e) {
    EXPECT_EQ(e.code(), std::errc::no_such_file_or_directory);
    EXPECT_EQ(std::string(e.what()),
              "cannot create a temporary file in /nonexistent/postern-spool: No such file or directory");
  }
  EXPECT_THROW(check_spool_directory(settings), SpoolError);
  TempDirectory directory;
  EXPECT_NO_THROW(check_spool_directory(SpoolSettings{directory.path()}));
  EXPECT_TRUE(directory.empty());
}

// ---- The header section, for intake ----

TEST(SpooledMessage, HeaderSectionEndsWithItsEmptyLine) {
  TempDirectory directory;
  MessageSpool spool = spool_of("Subject: hi\r\nFrom: a@b.example\r\n\r\nbody\r\n\r\nmore\r\n", directory.path());
  const auto head = read_header_section(spool, kMaxHeaderSection);
  ASSERT_TRUE(head);
  EXPECT_EQ(head->header_section, "Subject: hi\r\nFrom: a@b.example\r\n\r\n");
  EXPECT_EQ(head->body_start + read_rest(spool, 3), "body\r\n\r\nmore\r\n");
}

TEST(SpooledMessage, MessageStartingWithAnEmptyLineHasAnEmptyHeaderSection) {
  TempDirectory directory;
  MessageSpool spool = spool_of("\r\nbody\r\n", directory.path());
  const auto head = read_header_section(spool, kMaxHeaderSection);
  ASSERT_TRUE(head);
  EXPECT_EQ(head->header_section, "\r\n");
  EXPECT_EQ(head->body_start, "body\r\n");
}

TEST(SpooledMessage, MessageWithoutEmptyLineIsAllHeaderSection) {
  TempDirectory directory;
  MessageSpool spool = spool_of("Subject: only\r\nX: y\r\n", directory.path());
  const auto head = read_header_section(spool, kMaxHeaderSection);
  ASSERT_TRUE(head);
  EXPECT_EQ(head->header_section, "Subject: only\r\nX: y\r\n");
  EXPECT_EQ(head->body_start, "");
}

TEST(SpooledMessage, EmptyLineAcrossReadsIsFound) {
  TempDirectory directory;
  for (const std::size_t header_size : {16381u, 16382u, 16383u, 16384u, 40000u}) {
    std::string header = "X-Long: " + std::string(header_size - 10, 'h') + "\r\n";
    const std::string body = random_bytes(100000, 3);
    MessageSpool spool = spool_of(header + "\r\n" + body, directory.path(), 1024);
    const auto head = read_header_section(spool, kMaxHeaderSection);
    ASSERT_TRUE(head);
    EXPECT_EQ(head->header_section, header + "\r\n");
    EXPECT_TRUE(head->body_start + read_rest(spool, 4096) == body);
  }
}

TEST(SpooledMessage, HeaderSectionOverTheLimitIsRefused) {
  TempDirectory directory;
  const std::string header = "X-Long: " + std::string(990, 'h') + "\r\n";
  std::string fits;
  while (fits.size() + header.size() + 2 <= 4000) fits += header;
  MessageSpool fitting = spool_of(fits + "\r\nbody\r\n", directory.path());
  EXPECT_TRUE(read_header_section(fitting, fits.size() + 2));
  MessageSpool over = spool_of(fits + "\r\nbody\r\n", directory.path());
  EXPECT_FALSE(read_header_section(over, fits.size() + 1));
  MessageSpool endless = spool_of(std::string(300000, 'x'), directory.path());  // no empty line at all
  EXPECT_FALSE(read_header_section(endless, 200000));
}

TEST(SpooledMessage, QueuedContentIsTheNewHeadThenTheRestOfTheSpool) {
  TempDirectory directory;
  const std::string body = random_bytes(2 * 1024 * 1024, 4);
  MessageSpool spool = spool_of("Subject: x\r\n\r\n" + body, directory.path(), kSpoolMemoryLimit);
  auto head = read_header_section(spool, kMaxHeaderSection);
  ASSERT_TRUE(head);
  const schema::ChunkSource source =
      queued_content("Received: by relay\r\n" + head->header_section + head->body_start,
                     std::make_shared<MessageSpool>(std::move(spool)));
  EXPECT_TRUE(read_rest(source, schema::kChunkSize) == "Received: by relay\r\nSubject: x\r\n\r\n" + body);
}

}  // namespace
}  // namespace postern::queue
