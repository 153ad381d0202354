// The CPUs a process may use, from cgroup file contents: what sizes the Argon2 pool in a pod.
#include "server/runtime/cpu_quota.hpp"

#include <gtest/gtest.h>

using postern::cgroup1_cpu_limit;
using postern::cgroup2_cpu_limit;
using postern::cgroup_path;

TEST(CpuQuota, CgroupV2CpuMax) {
  EXPECT_EQ(cgroup2_cpu_limit("150000 100000\n"), 1.5);
  EXPECT_EQ(cgroup2_cpu_limit("200000 100000"), 2.0);
  EXPECT_EQ(cgroup2_cpu_limit("50000 100000\n"), 0.5);
  EXPECT_EQ(cgroup2_cpu_limit("max 100000\n"), std::nullopt);
  EXPECT_EQ(cgroup2_cpu_limit(""), std::nullopt);
  EXPECT_EQ(cgroup2_cpu_limit("garbage"), std::nullopt);
  EXPECT_EQ(cgroup2_cpu_limit("100000 0"), std::nullopt);
}

TEST(CpuQuota, CgroupV1QuotaAndPeriod) {
  EXPECT_EQ(cgroup1_cpu_limit("300000\n", "100000\n"), 3.0);
  EXPECT_EQ(cgroup1_cpu_limit("-1\n", "100000\n"), std::nullopt);
  EXPECT_EQ(cgroup1_cpu_limit("x", "100000"), std::nullopt);
}

TEST(CpuQuota, OwnCgroupPathFromProcSelfCgroup) {
  const char* v2 = "0::/kubepods/burstable/pod1/abc\n";
  EXPECT_EQ(cgroup_path(v2, ""), "/kubepods/burstable/pod1/abc");
  EXPECT_EQ(cgroup_path(v2, "cpu"), std::nullopt);
  const char* v1 = "12:memory:/docker/x\n4:cpu,cpuacct:/docker/abc\n1:name=systemd:/docker/abc\n";
  EXPECT_EQ(cgroup_path(v1, "cpu"), "/docker/abc");
  EXPECT_EQ(cgroup_path(v1, "cpuacct"), "/docker/abc");
  EXPECT_EQ(cgroup_path(v1, ""), std::nullopt);
  const char* hybrid = "1:cpu:/\n0::/user.slice\n";
  EXPECT_EQ(cgroup_path(hybrid, ""), "/user.slice");
  EXPECT_EQ(cgroup_path(hybrid, "cpu"), "/");
}

TEST(CpuQuota, UsableCpusIsAtLeastOne) { EXPECT_GE(postern::usable_cpus(), 1u); }
