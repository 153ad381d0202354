// Migration bookkeeping: what is pending, applied, changed or unknown.
#include "postern/schema/migrations.hpp"

#include <gtest/gtest.h>

using namespace postern::schema;

namespace {
const std::vector<MigrationFile> kFiles = {{1, "one", "CREATE TABLE a ();"},
                                           {2, "two", "CREATE TABLE b ();"},
                                           {3, "three", "CREATE TABLE c ();"}};
AppliedMigration applied(int version, const std::string& sql) {
  return {version, "x", migration_checksum(sql), "2026-01-01 00:00:00"};
}
}  // namespace

TEST(MigrationPlan, EmptyDatabaseHasEverythingPending) {
  auto plan = plan_migrations(kFiles, {});
  ASSERT_EQ(plan.pending.size(), 3u);
  EXPECT_EQ(plan.pending[0]->version, 1);
  EXPECT_TRUE(plan.problems.empty());
}

TEST(MigrationPlan, AppliedOnesAreSkipped) {
  auto plan = plan_migrations(kFiles, {applied(1, kFiles[0].sql), applied(2, kFiles[1].sql)});
  ASSERT_EQ(plan.pending.size(), 1u);
  EXPECT_EQ(plan.pending[0]->version, 3);
  EXPECT_EQ(plan.status[0].state, MigrationState::Applied);
  EXPECT_EQ(plan.status[2].state, MigrationState::Pending);
}

TEST(MigrationPlan, ChangedChecksumIsAProblem) {
  auto plan = plan_migrations(kFiles, {applied(1, "something else")});
  ASSERT_EQ(plan.problems.size(), 1u);
  EXPECT_NE(plan.problems[0].find("migration 1 (one) was changed"), std::string::npos);
  EXPECT_EQ(plan.status[0].state, MigrationState::Changed);
}

TEST(MigrationPlan, NewerVersionsAreReportedNotFatal) {
  auto plan = plan_migrations(kFiles, {applied(1, kFiles[0].sql), applied(2, kFiles[1].sql),
                                       applied(3, kFiles[2].sql), applied(9, "future")});
  EXPECT_TRUE(plan.pending.empty());
  EXPECT_TRUE(plan.problems.empty());
  ASSERT_EQ(plan.status.size(), 4u);
  EXPECT_EQ(plan.status[3].state, MigrationState::Unknown);
}

TEST(MigrationPlan, ChecksumIsSha256Hex) {
  EXPECT_EQ(migration_checksum(""), "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
}

TEST(MigrationPlan, EmbeddedMigrationsAreNumberedInOrder) {
  const auto& files = embedded_migrations();
  ASSERT_FALSE(files.empty());
  for (std::size_t i = 0; i < files.size(); ++i) EXPECT_EQ(files[i].version, static_cast<int>(i + 1));
}

TEST(MigrationPlan, ContractMigrationsWaitApartAndNeverBlockTheOthers) {
  const std::vector<MigrationFile> files = {{1, "one", "A"}, {2, "contract_drop_a", "B"}, {3, "three", "C"}};
  EXPECT_TRUE(files[1].is_contract());
  EXPECT_FALSE(files[2].is_contract());
  auto plan = plan_migrations(files, {applied(1, "A")});
  ASSERT_EQ(plan.pending.size(), 1u);
  EXPECT_EQ(plan.pending[0]->version, 3);
  ASSERT_EQ(plan.pending_contract.size(), 1u);
  EXPECT_EQ(plan.pending_contract[0]->version, 2);
  EXPECT_EQ(plan.status[1].state, MigrationState::PendingContract);
  plan = plan_migrations(files, {applied(1, "A"), applied(2, "B"), applied(3, "C")});
  EXPECT_TRUE(plan.pending_contract.empty());
  EXPECT_EQ(plan.status[1].state, MigrationState::Applied);
}
