// Changing credentials: the rules of setuid(2) and its family, setgroups(2),
// capset(2), prctl(2)'s capability options and execve(2), after Linux's
// kernel/sys.c, kernel/capability.c and security/commoncap.c (capabilities(7)).
// Each rule takes the old credentials and returns the new ones or the
// errno; CommitCredentials installs them. Securebits other than keep-caps
// do not exist here: every rule acts as with securebits 0.
#pragma once

#include <cstdint>
#include <string_view>
#include <vector>

#include "base/result.h"
#include "vfs/inode.h"

namespace husk::kernel {

class Task;
using vfs::CapBit;

// The highest capability number (/proc/sys/kernel/cap_last_cap) and every
// capability up to it.
inline constexpr int kCapLastCap = CAP_LAST_CAP;
inline constexpr uint64_t kAllCaps = (CapBit(kCapLastCap) << 1) - 1;

// The id that means "no change" (and is never a valid id).
inline constexpr uint32_t kNoId = static_cast<uint32_t>(-1);

Result<vfs::Credentials> SetUid(const vfs::Credentials& old, uint32_t uid);
Result<vfs::Credentials> SetReUid(const vfs::Credentials& old, uint32_t ruid, uint32_t euid);
Result<vfs::Credentials> SetResUid(const vfs::Credentials& old, uint32_t ruid, uint32_t euid,
                                   uint32_t suid);
Result<vfs::Credentials> SetGid(const vfs::Credentials& old, uint32_t gid);
Result<vfs::Credentials> SetReGid(const vfs::Credentials& old, uint32_t rgid, uint32_t egid);
Result<vfs::Credentials> SetResGid(const vfs::Credentials& old, uint32_t rgid, uint32_t egid,
                                   uint32_t sgid);
// setfsuid(2)/setfsgid(2) never fail: a refused id leaves `old` as it is.
vfs::Credentials SetFsUid(const vfs::Credentials& old, uint32_t fsuid);
vfs::Credentials SetFsGid(const vfs::Credentials& old, uint32_t fsgid);
Result<vfs::Credentials> SetGroups(const vfs::Credentials& old, std::vector<uint32_t> groups);

// capset(2) of the caller's own sets. Bits above kCapLastCap are dropped.
Result<vfs::Credentials> SetCapabilities(const vfs::Credentials& old, uint64_t effective,
                                         uint64_t permitted, uint64_t inheritable);
// prctl PR_CAPBSET_DROP.
Result<vfs::Credentials> DropBoundingCapability(const vfs::Credentials& old, uint64_t cap);
// prctl PR_CAP_AMBIENT with PR_CAP_AMBIENT_RAISE / _LOWER / _CLEAR_ALL.
Result<vfs::Credentials> SetAmbient(const vfs::Credentials& old, uint64_t op, uint64_t cap);

// Installs `creds` as t's credentials (commit_creds): a change of the
// effective or filesystem ids, or a gain of permitted capabilities, makes
// the process non-dumpable and clears its parent-death signal.
void CommitCredentials(Task& t, vfs::Credentials creds);

// What execve(2) of `filename` does to t's credentials and prctl state,
// past the point of no return: saved ids become the effective ones,
// capabilities are recomputed (capabilities(7), root's special case; no
// file capabilities and no set-user-ID bits), keep-caps is cleared, the
// process is dumpable again and the thread is named after the file.
void ExecTaskState(Task& t, std::string_view filename);

}  // namespace husk::kernel
