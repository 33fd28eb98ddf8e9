// Credentials and prctl(2): the uid/gid family, supplementary groups,
// capget/capset and the prctl options that act on the task. The rules for
// changing credentials are in sentry/kernel/credentials.cc.
#include <limits.h>
#include <linux/capability.h>
#include <linux/securebits.h>
#include <sys/prctl.h>

#include <cstring>
#include <vector>

#include "sentry/kernel/credentials.h"
#include "sentry/syscalls/handlers.h"
#include "sentry/syscalls/util.h"

namespace husk::syscalls {
namespace {

using vfs::Credentials;

// capget(2)/capset(2)'s header and one 32-bit word of each set.
struct CapHeader {
  uint32_t version;
  int32_t pid;
};
struct CapData {
  uint32_t effective;
  uint32_t permitted;
  uint32_t inheritable;
};
static_assert(sizeof(CapHeader) == sizeof(__user_cap_header_struct));
static_assert(sizeof(CapData) == sizeof(__user_cap_data_struct));

// The number of 32-bit words of each set the header's version carries. An
// unknown version is EINVAL, and the header gets the preferred version
// (how a program asks for it).
Result<int> CapWords(Task& t, uint64_t header) {
  const uint32_t version = TRY(CopyInStruct<uint32_t>(t, header));
  switch (version) {
    case _LINUX_CAPABILITY_VERSION_1: return _LINUX_CAPABILITY_U32S_1;
    case _LINUX_CAPABILITY_VERSION_2: return _LINUX_CAPABILITY_U32S_2;
    case _LINUX_CAPABILITY_VERSION_3: return _LINUX_CAPABILITY_U32S_3;
  }
  TRY(CopyOutStruct<uint32_t>(t, header, _LINUX_CAPABILITY_VERSION_3));
  return Errno(EINVAL);
}

Result<uint64_t> CopyOutIds(Task& t, const SyscallArgs& a, std::array<uint32_t, 3> ids) {
  for (int i = 0; i < 3; ++i) TRY(CopyOutStruct<uint32_t>(t, a.ptr(i), ids[i]));
  return 0;
}

Result<uint64_t> Commit(Task& t, Credentials c) {
  kernel::CommitCredentials(t, std::move(c));
  return 0;
}

// PR_SET_NAME: up to kTaskNameMax bytes, the rest ignored (strncpy_from_user).
Result<uint64_t> SetName(Task& t, uint64_t addr) {
  char buf[kernel::kTaskNameMax];
  const size_t n = t.mm().CopyInPartial(addr, std::span<uint8_t>(reinterpret_cast<uint8_t*>(buf), sizeof(buf)));
  const void* nul = memchr(buf, 0, n);
  if (nul == nullptr && n < sizeof(buf)) return Errno(EFAULT);
  std::string name(buf, nul ? static_cast<const char*>(nul) - buf : n);
  absl::MutexLock lock(&t.kernel().mu());
  t.name = std::move(name);
  return 0;
}

Result<uint64_t> GetName(Task& t, uint64_t addr) {
  std::array<char, kernel::kTaskNameMax + 1> buf{};
  {
    absl::MutexLock lock(&t.kernel().mu());
    t.name.copy(buf.data(), kernel::kTaskNameMax);
  }
  TRY(CopyOutStruct(t, addr, buf));
  return 0;
}

// prctl PR_CAP_AMBIENT.
Result<uint64_t> CapAmbient(Task& t, const SyscallArgs& a) {
  const uint64_t op = a.u64(1), cap = a.u64(2);
  if (op == PR_CAP_AMBIENT_CLEAR_ALL) {
    if (a.u64(2) | a.u64(3) | a.u64(4)) return Errno(EINVAL);
  } else if (cap > static_cast<uint64_t>(kernel::kCapLastCap) || a.u64(3) || a.u64(4)) {
    return Errno(EINVAL);
  }
  if (op == PR_CAP_AMBIENT_IS_SET) return (t.creds().cap_ambient & kernel::CapBit(static_cast<int>(cap))) != 0;
  return Commit(t, TRY(kernel::SetAmbient(t.creds(), op, cap)));
}

}  // namespace

// getuid(2), geteuid(2), getgid(2), getegid(2), getresuid(2), getresgid(2):
// the calling thread's ids.
Result<uint64_t> Getuid(Task& t, const SyscallArgs&) { return t.creds().uid; }
Result<uint64_t> Geteuid(Task& t, const SyscallArgs&) { return t.creds().euid; }
Result<uint64_t> Getgid(Task& t, const SyscallArgs&) { return t.creds().gid; }
Result<uint64_t> Getegid(Task& t, const SyscallArgs&) { return t.creds().egid; }

Result<uint64_t> Getresuid(Task& t, const SyscallArgs& a) {
  const Credentials& c = t.creds();
  return CopyOutIds(t, a, {c.uid, c.euid, c.suid});
}

Result<uint64_t> Getresgid(Task& t, const SyscallArgs& a) {
  const Credentials& c = t.creds();
  return CopyOutIds(t, a, {c.gid, c.egid, c.sgid});
}

// Implements setuid(2).
Result<uint64_t> Setuid(Task& t, const SyscallArgs& a) {
  return Commit(t, TRY(kernel::SetUid(t.creds(), a.u32(0))));
}

// Implements setgid(2).
Result<uint64_t> Setgid(Task& t, const SyscallArgs& a) {
  return Commit(t, TRY(kernel::SetGid(t.creds(), a.u32(0))));
}

// Implements setreuid(2).
Result<uint64_t> Setreuid(Task& t, const SyscallArgs& a) {
  return Commit(t, TRY(kernel::SetReUid(t.creds(), a.u32(0), a.u32(1))));
}

// Implements setregid(2).
Result<uint64_t> Setregid(Task& t, const SyscallArgs& a) {
  return Commit(t, TRY(kernel::SetReGid(t.creds(), a.u32(0), a.u32(1))));
}

// Implements setresuid(2).
Result<uint64_t> Setresuid(Task& t, const SyscallArgs& a) {
  return Commit(t, TRY(kernel::SetResUid(t.creds(), a.u32(0), a.u32(1), a.u32(2))));
}

// Implements setresgid(2).
Result<uint64_t> Setresgid(Task& t, const SyscallArgs& a) {
  return Commit(t, TRY(kernel::SetResGid(t.creds(), a.u32(0), a.u32(1), a.u32(2))));
}

// Implements setfsuid(2): returns the previous fsuid, changed or not.
Result<uint64_t> Setfsuid(Task& t, const SyscallArgs& a) {
  const uint32_t old = t.creds().fsuid;
  TRY(Commit(t, kernel::SetFsUid(t.creds(), a.u32(0))));
  return old;
}

// Implements setfsgid(2).
Result<uint64_t> Setfsgid(Task& t, const SyscallArgs& a) {
  const uint32_t old = t.creds().fsgid;
  TRY(Commit(t, kernel::SetFsGid(t.creds(), a.u32(0))));
  return old;
}

// Implements getgroups(2).
Result<uint64_t> Getgroups(Task& t, const SyscallArgs& a) {
  const int size = a.i32(0);
  const auto& groups = t.creds().groups;
  if (size < 0) return Errno(EINVAL);
  if (size == 0) return groups.size();
  if (static_cast<size_t>(size) < groups.size()) return Errno(EINVAL);
  TRY(t.mm().CopyOut(a.ptr(1), std::span<const uint8_t>(reinterpret_cast<const uint8_t*>(groups.data()),
                                                           groups.size() * sizeof(uint32_t))));
  return groups.size();
}

// Implements setgroups(2).
Result<uint64_t> Setgroups(Task& t, const SyscallArgs& a) {
  if (!t.creds().HasCapability(CAP_SETGID)) return Errno(EPERM);
  const uint32_t size = a.u32(0);
  if (size > NGROUPS_MAX) return Errno(EINVAL);
  std::vector<uint32_t> groups(size);
  TRY(t.mm().CopyIn(a.ptr(1), std::span<uint8_t>(reinterpret_cast<uint8_t*>(groups.data()),
                                                 groups.size() * sizeof(uint32_t))));
  return Commit(t, TRY(kernel::SetGroups(t.creds(), std::move(groups))));
}

// Implements capget(2), of any task.
Result<uint64_t> Capget(Task& t, const SyscallArgs& a) {
  const uint64_t header = a.ptr(0), data = a.ptr(1);
  Result<int> words = CapWords(t, header);
  // A null data pointer only asks for the version: an unknown one is not
  // an error then (the header now holds the preferred one).
  if (data == 0 && (words || words.error() == Errno(EINVAL))) return 0;
  TRY(words);
  const int32_t pid = TRY(CopyInStruct<int32_t>(t, header + offsetof(CapHeader, pid)));
  if (pid < 0) return Errno(EINVAL);
  Credentials c;
  if (pid == 0 || pid == t.tid()) {
    c = t.creds();
  } else {
    auto other = t.kernel().TaskCredentials(pid);
    if (!other) return Errno(ESRCH);
    c = std::move(*other);
  }
  std::array<CapData, 2> out{};
  for (int i = 0; i < 2; ++i) {
    out[i].effective = static_cast<uint32_t>(c.cap_effective >> (32 * i));
    out[i].permitted = static_cast<uint32_t>(c.cap_permitted >> (32 * i));
    out[i].inheritable = static_cast<uint32_t>(c.cap_inheritable >> (32 * i));
  }
  TRY(t.mm().CopyOut(data, std::span<const uint8_t>(reinterpret_cast<const uint8_t*>(out.data()),
                                                      *words * sizeof(CapData))));
  return 0;
}

// Implements capset(2): only the caller's own sets can change.
Result<uint64_t> Capset(Task& t, const SyscallArgs& a) {
  const uint64_t header = a.ptr(0);
  const int words = TRY(CapWords(t, header));
  const int32_t pid = TRY(CopyInStruct<int32_t>(t, header + offsetof(CapHeader, pid)));
  if (pid != 0 && pid != t.tid()) return Errno(EPERM);
  std::array<CapData, 2> in{};
  TRY(t.mm().CopyIn(a.ptr(1), std::span<uint8_t>(reinterpret_cast<uint8_t*>(in.data()),
                                                 words * sizeof(CapData))));
  auto join = [&](uint32_t CapData::*set) {
    return static_cast<uint64_t>(in[0].*set) | static_cast<uint64_t>(in[1].*set) << 32;
  };
  return Commit(t, TRY(kernel::SetCapabilities(t.creds(), join(&CapData::effective),
                                               join(&CapData::permitted), join(&CapData::inheritable))));
}

// Implements prctl(2): the options that act on the task's name, signals,
// dumpability, privileges and capabilities.
Result<uint64_t> Prctl(Task& t, const SyscallArgs& a) {
  const uint64_t arg2 = a.u64(1);
  kernel::Kernel& k = t.kernel();
  switch (a.i32(0)) {
    case PR_SET_NAME:
      return SetName(t, arg2);
    case PR_GET_NAME:
      return GetName(t, arg2);
    case PR_SET_PDEATHSIG: {
      if (arg2 > static_cast<uint64_t>(kernel::kNumSignals)) return Errno(EINVAL);
      absl::MutexLock lock(&k.mu());
      t.pdeath_signal = static_cast<int>(arg2);
      return 0;
    }
    case PR_GET_PDEATHSIG: {
      int32_t sig;
      {
        absl::MutexLock lock(&k.mu());
        sig = t.pdeath_signal;
      }
      TRY(CopyOutStruct<int32_t>(t, arg2, sig));
      return 0;
    }
    case PR_SET_DUMPABLE: {
      if (arg2 != 0 && arg2 != 1) return Errno(EINVAL);
      absl::MutexLock lock(&k.mu());
      t.thread_group().dumpable = static_cast<int>(arg2);
      return 0;
    }
    case PR_GET_DUMPABLE: {
      absl::MutexLock lock(&k.mu());
      return t.thread_group().dumpable;
    }
    case PR_SET_CHILD_SUBREAPER: {
      absl::MutexLock lock(&k.mu());
      t.thread_group().subreaper = arg2 != 0;
      return 0;
    }
    case PR_GET_CHILD_SUBREAPER: {
      int32_t on;
      {
        absl::MutexLock lock(&k.mu());
        on = t.thread_group().subreaper;
      }
      TRY(CopyOutStruct<int32_t>(t, arg2, on));
      return 0;
    }
    case PR_SET_NO_NEW_PRIVS: {
      if (arg2 != 1 || a.u64(2) || a.u64(3) || a.u64(4)) return Errno(EINVAL);
      absl::MutexLock lock(&k.mu());
      t.no_new_privs = true;
      return 0;
    }
    case PR_GET_NO_NEW_PRIVS: {
      if (arg2 || a.u64(2) || a.u64(3) || a.u64(4)) return Errno(EINVAL);
      absl::MutexLock lock(&k.mu());
      return t.no_new_privs;
    }
    case PR_SET_KEEPCAPS: {
      if (arg2 > 1) return Errno(EINVAL);
      Credentials c = t.creds();
      c.keep_caps = arg2 != 0;
      return Commit(t, std::move(c));
    }
    case PR_GET_KEEPCAPS:
      return t.creds().keep_caps;
    case PR_GET_SECUREBITS:
      return t.creds().keep_caps ? SECBIT_KEEP_CAPS : 0;
    case PR_SET_SECUREBITS: {
      if (!t.creds().HasCapability(CAP_SETPCAP)) return Errno(EPERM);
      // PARTIAL(securebits): only SECBIT_KEEP_CAPS exists here.
      if (arg2 & ~static_cast<uint64_t>(SECBIT_KEEP_CAPS)) return Errno(EINVAL);
      Credentials c = t.creds();
      c.keep_caps = arg2 != 0;
      return Commit(t, std::move(c));
    }
    case PR_CAPBSET_READ:
      if (arg2 > static_cast<uint64_t>(kernel::kCapLastCap)) return Errno(EINVAL);
      return (t.creds().cap_bounding & kernel::CapBit(static_cast<int>(arg2))) != 0;
    case PR_CAPBSET_DROP:
      return Commit(t, TRY(kernel::DropBoundingCapability(t.creds(), arg2)));
    case PR_CAP_AMBIENT:
      return CapAmbient(t, a);
    case PR_GET_SECCOMP:
      return 0;  // no seccomp filter can be installed
    case PR_SET_SECCOMP:
      // PARTIAL(seccomp): as a kernel built without CONFIG_SECCOMP.
      return Errno(EINVAL);
  }
  // PARTIAL(prctl): other options are refused as unknown.
  return Errno(EINVAL);
}

}  // namespace husk::syscalls
