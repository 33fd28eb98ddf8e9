// The kernel's side of procfs (vfs/proc/source.h): snapshots of the
// sandbox's processes for /proc, and the figures /proc and sysinfo(2)
// share so that they agree.
#pragma once

#include <cstdint>
#include <memory>
#include <vector>

#include "vfs/proc/source.h"

namespace husk::kernel {

class Kernel;

// The sandbox's memory, in bytes: the host's RAM as the total, less what
// the sandbox's memory file holds. PARTIAL(memory accounting): the
// sentry's own heap (tmpfs files outside the memory file, page tables) is
// not counted.
struct SandboxMemory {
  uint64_t total = 0;
  uint64_t free = 0;
  uint64_t shared = 0;
  uint64_t swap_total = 0;
  uint64_t swap_free = 0;
};
SandboxMemory SandboxMemoryUsage(Kernel& k);
// Nanoseconds since the sandbox booted (sysinfo's uptime, /proc/uptime).
int64_t SandboxUptimeNs(Kernel& k);
// The CPUs the sandbox may use: the sentry's own affinity, as a kernel
// cpumask (sched_getaffinity(2)).
const std::vector<uint8_t>& SandboxCpus();

// The host's /proc/cpuinfo, the sandbox's CPUs only. It takes the host a
// millisecond or so: `sentry run` reads it on a thread of its own while it
// starts, before the gofer is up and before the sentry confines itself.
std::string HostCpuInfo();

// procfs's view of `k`, showing `cpuinfo` as /proc/cpuinfo.
std::shared_ptr<vfs::proc::ProcSource> NewProcSource(Kernel& k, std::string cpuinfo);

}  // namespace husk::kernel
