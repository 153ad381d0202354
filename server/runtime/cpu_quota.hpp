// How many CPUs this process may keep busy: in a pod that is its cgroup's CPU quota, not the
// node's core count that std::thread::hardware_concurrency() reports. Sizes the Argon2 pool and
// the I/O threads.
//
//   unsigned threads = usable_cpus();  // at least 1
//
// The quota is read from cgroup v2 (cpu.max) or v1 (cpu.cfs_quota_us / cpu.cfs_period_us) at
// the process's own cgroup and every ancestor (the smallest wins), and is rounded up; the
// result is never more than the CPUs the process may run on (sched_getaffinity). The parsers are
// separate so that they are unit-tested on sample file contents.
#pragma once

#include <optional>
#include <string_view>

namespace postern {

// At least 1.
unsigned usable_cpus();

// The contents of a cgroup v2 cpu.max ("150000 100000"): 1.5 CPUs; "max 100000" or anything
// unreadable: no limit.
std::optional<double> cgroup2_cpu_limit(std::string_view cpu_max);

// cgroup v1 cpu.cfs_quota_us and cpu.cfs_period_us contents: quota / period; a quota of -1 (or
// anything unreadable): no limit.
std::optional<double> cgroup1_cpu_limit(std::string_view quota_us, std::string_view period_us);

// The cgroup path of a controller in /proc/self/cgroup's contents: for "" the v2 line
// ("0::/kubepods/pod1"), else the v1 line whose controller list names it ("4:cpu,cpuacct:/x").
std::optional<std::string_view> cgroup_path(std::string_view proc_self_cgroup, std::string_view controller);

}  // namespace postern
