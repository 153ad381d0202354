// Entry point of the integration tests: GoogleTest, then the private cluster (if this process
// started one) is stopped.
#include "support/pg_cluster.hpp"

#include <gtest/gtest.h>

int main(int argc, char** argv) {
  testing::InitGoogleTest(&argc, argv);
  int status = RUN_ALL_TESTS();
  postern::test::PgCluster::instance().shutdown();
  return status;
}
