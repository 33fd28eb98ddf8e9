// What procfs's files share (procfs.cc: the root and the system files;
// pid.cc: /proc/[pid]).
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "vfs/proc/source.h"
#include "vfs/proc/synth.h"
#include "vfs/vfs.h"

namespace husk::vfs::proc {

inline constexpr long kProcSuperMagic = 0x9fa0;
inline constexpr int64_t kNsPerTick = 10000000;  // USER_HZ = 100 (AT_CLKTCK)

struct ProcFs {
  SynthFs fs;
  const Vfs& vfs;
  std::shared_ptr<ProcSource> src;
  // The mount itself, for the paths a magic link to a pipe jumps to.
  std::weak_ptr<Mount> mount;
};
using ProcFsRef = std::shared_ptr<const ProcFs>;

// /proc/[pid] (tid 0) or /proc/[pid]/task/[tid]; `start_ns` is the
// process's, which with the pid names it for good.
std::shared_ptr<SynthInode> NewPidDir(ProcFsRef fs, int pid, int tid, int64_t start_ns);

// The text of /proc/[pid]/mounts and mountinfo as `root` sees the tree.
std::string MountsText(const Vfs& vfs, const Path& root);
std::string MountInfoText(const Vfs& vfs, const Path& root);
// A mount's id in mountinfo and fdinfo.
int MountId(const Vfs& vfs, const Mount* m);

// A kernel cpumask as "0-3,6" (Cpus_allowed_list, /sys/.../online) and as
// hex words ("ff,ffffffff": Cpus_allowed), `bits` wide.
std::string CpuList(const std::vector<uint8_t>& mask);
std::string CpuMaskHex(const std::vector<uint8_t>& mask, int bits);
int CpuCount(const std::vector<uint8_t>& mask);
// One past the highest CPU of the mask (nr_cpu_ids as the sandbox has it).
int CpuIds(const std::vector<uint8_t>& mask);

// Linux's ptrace_may_access(PTRACE_MODE_READ_FSCREDS) for `caller` on a
// process owned by `target` (its credentials, dumpable): its own process,
// CAP_SYS_PTRACE, or the same ids and no capabilities more; EACCES if not.
Result<void> MayAccess(const Caller& caller, int pid, const Credentials& target, int dumpable);

}  // namespace husk::vfs::proc
