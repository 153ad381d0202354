// See pg_cluster.hpp.
#include "support/pg_cluster.hpp"

#include <pqxx/pqxx>

#include <array>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <stdexcept>
#include <sys/stat.h>
#include <unistd.h>

namespace postern::test {
namespace {

std::string run(const std::string& command) {
  std::array<char, 512> buffer{};
  std::string out;
  FILE* pipe = popen(command.c_str(), "r");
  if (!pipe) throw std::runtime_error("cannot run " + command);
  while (fgets(buffer.data(), buffer.size(), pipe)) out += buffer.data();
  if (pclose(pipe) != 0) throw std::runtime_error("failed: " + command);
  while (!out.empty() && (out.back() == '\n' || out.back() == '\r')) out.pop_back();
  return out;
}

std::string with_database(const std::string& url, const std::string& name) {
  auto slash = url.rfind('/');
  return url.substr(0, slash + 1) + name;
}

}  // namespace

PgCluster& PgCluster::instance() {
  static PgCluster cluster;
  return cluster;
}

PgCluster::PgCluster() {
  if (const char* url = std::getenv("POSTERN_TEST_PG_URL"); url && *url) {
    admin_url_ = with_database(url, "postgres");
    return;
  }
  char tmpl[] = "/tmp/postern-test-XXXXXX";
  if (!mkdtemp(tmpl)) throw std::runtime_error("mkdtemp failed");
  own_dir_ = tmpl;
  chmod(own_dir_.c_str(), 0755);  // the postgres user must reach the cluster folder
  admin_url_ = with_database(
      run(std::string(POSTERN_SOURCE_DIR) + "/scripts/pg-cluster.sh start " + own_dir_ +
          "/pg --fsync off"),
      "postgres");
}

std::string PgCluster::fresh_database(const std::string& prefix) {
  std::string name = prefix + "_" + std::to_string(getpid()) + "_" + std::to_string(++counter_);
  pqxx::connection admin{admin_url_};
  pqxx::nontransaction tx{admin};
  tx.exec("CREATE DATABASE " + tx.quote_name(name));
  return with_database(admin_url_, name);
}

void PgCluster::shutdown() {
  if (own_dir_.empty()) return;
  run(std::string(POSTERN_SOURCE_DIR) + "/scripts/pg-cluster.sh stop " + own_dir_ + "/pg");
  std::filesystem::remove_all(own_dir_);
  own_dir_.clear();
}

}  // namespace postern::test
