// What the config tests share: a minimal valid file, parsing with an environment of the test's
// choosing, the one-line error a text gives, and files in a temporary directory for the secrets
// and configurations read from disk.
//
//   EXPECT_EQ(error_of(kMinimal + "x: 1\n"), "postern.yaml:3: unknown key \"x\"");
#pragma once

#include "server/config/config.hpp"

#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <map>
#include <optional>
#include <sstream>
#include <string>

namespace postern::config::test_support {

inline const std::string kMinimal = "database:\n  url: postgresql://postern@db/postern\n";

inline Environment environment(std::map<std::string, std::string> variables = {}) {
  return [variables](const std::string& name) -> std::optional<std::string> {
    const auto it = variables.find(name);
    if (it == variables.end()) return std::nullopt;
    return it->second;
  };
}

inline Config parse(const std::string& text, const Environment& env = environment()) {
  return parse_config(text, "postern.yaml", env);
}

// The message of the ConfigError that parsing `text` throws, or "" when it parses.
inline std::string error_of(const std::string& text, const Environment& env = environment()) {
  try {
    parse(text, env);
  } catch (const ConfigError& e) {
    return e.what();
  }
  return "";
}

inline std::string read_text(const std::filesystem::path& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream text;
  text << in.rdbuf();
  return text.str();
}

// A file in a fresh temporary directory, removed with it.
class TempFile {
 public:
  explicit TempFile(const std::string& contents) {
    const auto* test = ::testing::UnitTest::GetInstance()->current_test_info();
    dir_ = std::filesystem::temp_directory_path() /
           ("postern-config-test-" + std::to_string(::getpid()) + "-" + test->name());
    std::filesystem::create_directories(dir_);
    path_ = dir_ / "file";
    std::ofstream(path_, std::ios::binary) << contents;
  }
  ~TempFile() { std::filesystem::remove_all(dir_); }
  TempFile(const TempFile&) = delete;
  TempFile& operator=(const TempFile&) = delete;
  std::string path() const { return path_.string(); }

 private:
  std::filesystem::path dir_;
  std::filesystem::path path_;
};

}  // namespace postern::config::test_support
