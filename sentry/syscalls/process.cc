// Process and system information syscalls: ids, exit, limits, uname,
// sysinfo, arch_prctl, affinity, getrandom.
#include <asm/prctl.h>
#include <sched.h>
#include <sys/random.h>
#include <sys/sysinfo.h>
#include <sys/utsname.h>

#include <optional>

#include "sentry/syscalls/handlers.h"
#include "sentry/syscalls/util.h"

namespace husk::syscalls {
namespace {

// pid 0 or the caller's own: the only process there is so far.
Result<void> CheckSelf(Task& t, int pid) {
  if (pid < 0) return Errno(EINVAL);
  if (pid != 0 && pid != t.pid()) return Errno(ESRCH);
  return Ok();
}

Result<void> SetRlimitChecked(Task& t, int resource, rlimit r) {
  if (r.rlim_cur > r.rlim_max) return Errno(EINVAL);
  // fs.nr_open bounds RLIMIT_NOFILE even for root.
  if (resource == RLIMIT_NOFILE && r.rlim_max > 1048576) return Errno(EPERM);
  t.thread_group().SetRlimit(resource, r);
  return Ok();
}

}  // namespace

Result<uint64_t> Getpid(Task& t, const SyscallArgs&) { return t.pid(); }
Result<uint64_t> Gettid(Task& t, const SyscallArgs&) { return t.tid(); }
Result<uint64_t> Getppid(Task& t, const SyscallArgs&) { return t.ppid(); }
Result<uint64_t> Getpgrp(Task& t, const SyscallArgs&) { return t.pid(); }
Result<uint64_t> Getuid(Task& t, const SyscallArgs&) { return t.creds().uid; }
Result<uint64_t> Geteuid(Task& t, const SyscallArgs&) { return t.creds().uid; }
Result<uint64_t> Getgid(Task& t, const SyscallArgs&) { return t.creds().gid; }
Result<uint64_t> Getegid(Task& t, const SyscallArgs&) { return t.creds().gid; }

Result<uint64_t> Getresuid(Task& t, const SyscallArgs& a) {
  for (int i = 0; i < 3; ++i) TRY(CopyOutStruct<uint32_t>(t, a.ptr(i), t.creds().uid));
  return 0;
}

Result<uint64_t> Getresgid(Task& t, const SyscallArgs& a) {
  for (int i = 0; i < 3; ++i) TRY(CopyOutStruct<uint32_t>(t, a.ptr(i), t.creds().gid));
  return 0;
}

Result<uint64_t> GetRobustList(Task& t, const SyscallArgs& a) {
  TRY(CheckSelf(t, a.i32(0)));
  TRY(CopyOutStruct<uint64_t>(t, a.ptr(1), t.robust_list()));
  TRY(CopyOutStruct<uint64_t>(t, a.ptr(2), t.robust_list_len()));
  return 0;
}

Result<uint64_t> Exit(Task& t, const SyscallArgs& a) {
  // PARTIAL(threads): with one thread, exit ends the process.
  t.Exit(kernel::ExitStatus{a.i32(0) & 0xff, 0, false});
  return 0;
}

Result<uint64_t> ExitGroup(Task& t, const SyscallArgs& a) {
  t.Exit(kernel::ExitStatus{a.i32(0) & 0xff, 0, false});
  return 0;
}

Result<uint64_t> SetTidAddress(Task& t, const SyscallArgs& a) {
  t.set_clear_child_tid(a.ptr(0));
  return t.tid();
}

Result<uint64_t> SetRobustList(Task& t, const SyscallArgs& a) {
  // sizeof(struct robust_list_head) on x86-64.
  if (a.size(1) != 24) return Errno(EINVAL);
  t.set_robust_list(a.ptr(0), a.size(1));
  return 0;
}

Result<uint64_t> ArchPrctl(Task& t, const SyscallArgs& a) {
  auto& gp = t.regs().gp;
  switch (a.i32(0)) {
    case ARCH_SET_FS:
      if (a.u64(1) >= mm::kTaskSize) return Errno(EPERM);
      gp.fs_base = a.u64(1);
      gp.fs = 0;
      return 0;
    case ARCH_SET_GS:
      if (a.u64(1) >= mm::kTaskSize) return Errno(EPERM);
      gp.gs_base = a.u64(1);
      gp.gs = 0;
      return 0;
    case ARCH_GET_FS:
      TRY(CopyOutStruct<uint64_t>(t, a.ptr(1), gp.fs_base));
      return 0;
    case ARCH_GET_GS:
      TRY(CopyOutStruct<uint64_t>(t, a.ptr(1), gp.gs_base));
      return 0;
  }
  // PARTIAL(arch_prctl): CPUID faulting, XSTATE permissions, shadow stacks.
  return Errno(EINVAL);
}

Result<uint64_t> Getrlimit(Task& t, const SyscallArgs& a) {
  const int resource = a.i32(0);
  if (resource < 0 || resource >= RLIM_NLIMITS) return Errno(EINVAL);
  TRY(CopyOutStruct(t, a.ptr(1), t.thread_group().GetRlimit(resource)));
  return 0;
}

Result<uint64_t> Setrlimit(Task& t, const SyscallArgs& a) {
  const int resource = a.i32(0);
  if (resource < 0 || resource >= RLIM_NLIMITS) return Errno(EINVAL);
  rlimit r = TRY(CopyInStruct<rlimit>(t, a.ptr(1)));
  TRY(SetRlimitChecked(t, resource, r));
  return 0;
}

Result<uint64_t> Prlimit64(Task& t, const SyscallArgs& a) {
  const int resource = a.i32(1);
  const uint64_t new_addr = a.ptr(2), old_addr = a.ptr(3);
  if (resource < 0 || resource >= RLIM_NLIMITS) return Errno(EINVAL);
  std::optional<rlimit> next;
  if (new_addr != 0) next = TRY(CopyInStruct<rlimit>(t, new_addr));
  TRY(CheckSelf(t, a.i32(0)));
  if (next && next->rlim_cur > next->rlim_max) return Errno(EINVAL);
  const rlimit old = t.thread_group().GetRlimit(resource);
  if (next) TRY(SetRlimitChecked(t, resource, *next));
  if (old_addr != 0) TRY(CopyOutStruct(t, old_addr, old));
  return 0;
}

Result<uint64_t> Uname(Task& t, const SyscallArgs& a) {
  // The sandbox reports the host kernel's identity, as a container does.
  utsname u;
  ::uname(&u);
  TRY(CopyOutStruct(t, a.ptr(0), u));
  return 0;
}

Result<uint64_t> Sysinfo(Task& t, const SyscallArgs& a) {
  struct sysinfo si;
  ::sysinfo(&si);
  si.procs = 1;  // the sandbox's tasks, not the host's
  TRY(CopyOutStruct(t, a.ptr(0), si));
  return 0;
}

Result<uint64_t> Getcpu(Task& t, const SyscallArgs& a) {
  unsigned cpu = 0, node = 0;
  if (::getcpu(&cpu, &node) != 0) return Errno(errno);
  if (a.ptr(0) != 0) TRY(CopyOutStruct(t, a.ptr(0), cpu));
  if (a.ptr(1) != 0) TRY(CopyOutStruct(t, a.ptr(1), node));
  return 0;
}

Result<uint64_t> SchedGetaffinity(Task& t, const SyscallArgs& a) {
  TRY(CheckSelf(t, a.i32(0)));
  const uint64_t len = a.size(1);
  if (len & (sizeof(long) - 1)) return Errno(EINVAL);
  // The sandbox runs on the CPUs the sentry may use.
  std::vector<uint8_t> mask(std::min<uint64_t>(len, 8192));
  long n = ::syscall(SYS_sched_getaffinity, 0, mask.size(), mask.data());
  if (n < 0) return Errno(errno);
  TRY(t.mm().CopyOut(a.ptr(2), std::span<const uint8_t>(mask.data(), static_cast<size_t>(n))));
  return static_cast<uint64_t>(n);
}

Result<uint64_t> SchedYield(Task&, const SyscallArgs&) {
  sched_yield();
  return 0;
}

Result<uint64_t> Getrandom(Task& t, const SyscallArgs& a) {
  const unsigned flags = a.u32(2);
  if (flags & ~(GRND_NONBLOCK | GRND_RANDOM | GRND_INSECURE)) return Errno(EINVAL);
  if ((flags & (GRND_RANDOM | GRND_INSECURE)) == (GRND_RANDOM | GRND_INSECURE)) return Errno(EINVAL);
  const uint64_t len = std::min<uint64_t>(a.size(1), kMaxRwCount);
  if (len == 0) return 0;
  vfs::IoVecs out = TRY(t.mm().OutBuffer(a.ptr(0), len));
  uint64_t total = 0;
  for (const auto& v : out) {
    ssize_t n = ::getrandom(v.iov_base, v.iov_len, GRND_NONBLOCK);
    if (n < 0) return total > 0 ? Result<uint64_t>(total) : Errno(errno);
    total += static_cast<uint64_t>(n);
  }
  return total;
}

}  // namespace husk::syscalls

namespace husk::syscalls {

// getgroups(2): the supplementary groups of the task.
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

}  // namespace husk::syscalls
