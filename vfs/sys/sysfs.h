// sysfs: the little of /sys that programs read to learn about the
// machine: /sys/devices/system/cpu/{online,possible,present,cpuN}, as the
// sandbox's CPUs are, and an empty /sys/fs/cgroup. PARTIAL(sysfs): no
// devices, buses, classes or kernel objects.
#pragma once

#include <cstdint>
#include <memory>
#include <vector>

#include "vfs/inode.h"

namespace husk::vfs {

// `cpus`: the sandbox's CPUs, a kernel cpumask (sched_getaffinity's).
std::shared_ptr<Mount> NewSysMount(const std::vector<uint8_t>& cpus);

}  // namespace husk::vfs
