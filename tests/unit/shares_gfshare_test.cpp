// Debian's libgfshare-bin is an independent implementation of Shamir sharing over GF(2^8) with
// the same field polynomial (0x11D): Postern's shares must combine with its gfcombine, and its
// gfsplit's shares with Postern's combiner. gfsplit picks random x-coordinates and both tools
// name share files <stem>.NNN after their x-coordinate (gfsplit(1), gfcombine(1)).
//
// The tools are a test dependency (scripts/install-deps.sh installs libgfshare-bin); without
// them these tests fail, they do not skip.
#include "shares/secret_framing.hpp"
#include "shares/share_combiner.hpp"
#include "shares/share_splitter.hpp"

#include <gtest/gtest.h>

#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <map>
#include <string>
#include <vector>

namespace {

namespace fs = std::filesystem;
using namespace postern::shares;

std::string read_file(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  return std::string((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
}

void write_file(const fs::path& path, std::string_view bytes) {
  std::ofstream out(path, std::ios::binary);
  out.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
  ASSERT_TRUE(out.good()) << path;
}

std::string quoted(const fs::path& path) { return "'" + path.string() + "'"; }

std::string share_file_name(unsigned x) {
  char suffix[8];
  std::snprintf(suffix, sizeof suffix, ".%03u", x);
  return std::string("share") + suffix;
}

class SharesGfshare : public ::testing::Test {
 protected:
  fs::path dir_;

  void SetUp() override {
    for (const char* tool : {"gfsplit", "gfcombine"}) {
      ASSERT_EQ(std::system((std::string("command -v ") + tool + " >/dev/null 2>&1").c_str()), 0)
          << tool << " is missing: install Debian's libgfshare-bin (scripts/install-deps.sh does)";
    }
    std::string pattern = (fs::temp_directory_path() / "postern-gfshare-XXXXXX").string();
    ASSERT_NE(::mkdtemp(pattern.data()), nullptr);
    dir_ = pattern;
  }

  void TearDown() override {
    std::error_code ignored;
    if (!dir_.empty()) fs::remove_all(dir_, ignored);
  }

  // A framed message: what Postern actually shares.
  static std::string test_secret() {
    std::string message;
    for (int i = 0; i < 10000; ++i) message += static_cast<char>((i * 73 + i / 256) & 0xFF);
    SecretFramer framer(message.size());
    std::string secret(framer.frame(message));
    secret += framer.finish();
    return secret;
  }
};

TEST_F(SharesGfshare, PosternSharesCombineWithGfcombine) {
  const std::string secret = test_secret();
  Seed seed{};
  seed.fill(0x5A);
  for (const SharingParams params : {SharingParams{Scheme::Shamir, 2, 3}, SharingParams{Scheme::Shamir, 3, 5},
                                     SharingParams{Scheme::Shamir, 5, 5}}) {
    for (unsigned index = 1; index <= params.count; ++index) {
      write_file(dir_ / share_file_name(index), ShareSplitter(params, index, seed).split(secret));
    }
    // The last k shares, and the first k.
    for (const unsigned first : {params.count - params.threshold + 1, 1u}) {
      std::string command = "gfcombine -o " + quoted(dir_ / "combined");
      for (unsigned index = first; index < first + params.threshold; ++index) command += " " + quoted(dir_ / share_file_name(index));
      ASSERT_EQ(std::system(command.c_str()), 0) << command;
      EXPECT_EQ(read_file(dir_ / "combined"), secret) << params.threshold << " of " << params.count << " from " << first;
    }
    fs::remove_all(dir_);
    fs::create_directory(dir_);
  }
}

TEST_F(SharesGfshare, GfsplitSharesCombineWithPosternCode) {
  const std::string secret = test_secret();
  write_file(dir_ / "secret", secret);
  const std::string command = "gfsplit -n 3 -m 5 " + quoted(dir_ / "secret") + " " + quoted(dir_ / "share");
  ASSERT_EQ(std::system(command.c_str()), 0) << command;

  std::map<std::uint8_t, std::string> shares;  // x-coordinate -> bytes
  for (const fs::directory_entry& entry : fs::directory_iterator(dir_)) {
    const std::string name = entry.path().filename().string();
    if (!name.starts_with("share.")) continue;
    shares[static_cast<std::uint8_t>(std::stoul(name.substr(6)))] = read_file(entry.path());
  }
  ASSERT_EQ(shares.size(), 5u);
  // Every 3 of the 5.
  std::vector<std::pair<std::uint8_t, std::string>> all(shares.begin(), shares.end());
  int combined = 0;
  for (std::size_t a = 0; a < 5; ++a) {
    for (std::size_t b = a + 1; b < 5; ++b) {
      for (std::size_t c = b + 1; c < 5; ++c) {
        const std::vector<std::string_view> ys = {all[a].second, all[b].second, all[c].second};
        EXPECT_EQ(LagrangeInterpolator({all[a].first, all[b].first, all[c].first}).interpolate(ys), secret);
        ++combined;
      }
    }
  }
  EXPECT_EQ(combined, 10);
}

}  // namespace
