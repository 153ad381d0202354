// The test suite's PostgreSQL: the cluster that scripts/test.sh started (POSTERN_TEST_PG_URL),
// or, when a test binary runs alone, a private one started here with scripts/pg-cluster.sh and
// stopped at exit. Each test takes a fresh database from it.
#pragma once

#include <string>

namespace postern::test {

class PgCluster {
 public:
  static PgCluster& instance();

  // URL of a new, empty database named after `prefix` (plus a counter).
  std::string fresh_database(const std::string& prefix);
  // URL of the maintenance database, for CREATE DATABASE and friends.
  const std::string& admin_url() const { return admin_url_; }

  void shutdown();

 private:
  PgCluster();
  std::string admin_url_;
  std::string own_dir_;  // set when this process started the cluster
  int counter_ = 0;
};

}  // namespace postern::test
