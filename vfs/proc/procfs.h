// procfs: the sandbox's /proc (man 5 proc). Every process and thread of
// the sandbox, as its own pids number them, and nothing of the host's:
// /proc/[pid]/{stat,status,maps,fd/ ...}, /proc/self, and the system-wide
// files (meminfo, stat, uptime, cpuinfo, mounts, sys/ ...).
//
// PARTIAL(procfs): no /proc/net, /proc/[pid]/{ns,attr,auxv,sched,net};
// /proc/sys is read-only; the load average, io counters, context
// switches and page-fault counts are 0; smaps' clean/dirty split and
// VmRSS are estimates from what the memory manager has populated.
#pragma once

#include <memory>

#include "vfs/proc/source.h"
#include "vfs/vfs.h"

namespace husk::vfs {

// A procfs mount answering from `source`; `vfs` is the mount tree it
// describes (mounts, mountinfo) and names paths in.
std::shared_ptr<Mount> NewProcMount(const Vfs& vfs, std::shared_ptr<proc::ProcSource> source);

}  // namespace husk::vfs
