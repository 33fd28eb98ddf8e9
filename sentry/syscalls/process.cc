// Process and system information syscalls: ids, exit, limits, uname,
// sysinfo, arch_prctl, affinity, getrandom.
#include <asm/prctl.h>
#include <linux/capability.h>
#include <sched.h>
#include <sys/random.h>
#include <sys/sysinfo.h>
#include <sys/utsname.h>
#include <sys/wait.h>

#include <optional>

#include <absl/strings/str_cat.h>

#include "sentry/kernel/proc_source.h"
#include "sentry/syscalls/handlers.h"
#include "sentry/syscalls/util.h"

namespace husk::syscalls {
namespace {

// pid 0 or the caller's own. PARTIAL(other processes): limits and
// affinity of other processes are not reachable yet.
Result<void> CheckSelf(Task& t, int pid) {
  if (pid < 0) return Errno(EINVAL);
  if (pid != 0 && pid != t.pid() && pid != t.tid()) {
    int tgid;
    return t.kernel().FindTask(pid, &tgid) ? Errno(EPERM) : Errno(ESRCH);
  }
  return Ok();
}

// Strings of an argv/envp array, NULL-terminated (copy_strings).
Result<std::vector<std::string>> CopyInStrings(Task& t, uint64_t addr) {
  std::vector<std::string> out;
  if (addr == 0) return out;
  constexpr size_t kMaxArgStrlen = 32 * 4096;  // MAX_ARG_STRLEN
  constexpr size_t kMaxStrings = 0x7fffffff;   // MAX_ARG_STRINGS
  uint64_t total = 0;
  for (size_t i = 0;; ++i) {
    if (i >= kMaxStrings) return Errno(E2BIG);
    uint64_t p = TRY(CopyInStruct<uint64_t>(t, addr + i * 8));
    if (p == 0) break;
    auto s = t.mm().CopyInString(p, kMaxArgStrlen);
    if (!s) return s.error() == Errno(ENAMETOOLONG) ? Errno(E2BIG) : s.error();
    total += s->size() + 1 + 8;
    // A quarter of the stack limit, as Linux bounds argv + envp.
    if (total > std::max<uint64_t>(t.thread_group().GetRlimit(RLIMIT_STACK).rlim_cur / 4, 128 * 1024)) {
      return Errno(E2BIG);
    }
    out.push_back(std::move(*s));
  }
  return out;
}

Result<uint64_t> DoClone(Task& t, kernel::CloneArgs args) {
  return static_cast<uint64_t>(TRY(t.kernel().Clone(t, args)));
}

Result<uint64_t> DoExec(Task& t, int dirfd, uint64_t path_addr, uint64_t argv_addr,
                        uint64_t envp_addr, int flags) {
  if (flags & ~(AT_EMPTY_PATH | AT_SYMLINK_NOFOLLOW)) return Errno(EINVAL);
  std::string path = TRY(CopyInPath(t, path_addr));
  std::vector<std::string> argv = TRY(CopyInStrings(t, argv_addr));
  std::vector<std::string> envp = TRY(CopyInStrings(t, envp_addr));
  if (path.empty() && !(flags & AT_EMPTY_PATH)) return Errno(ENOENT);
  kernel::ExecFile file;
  if (path.empty()) {
    file.path = TRY(EmptyPathTarget(t, dirfd));
  } else {
    vfs::Path start = TRY(StartPath(t, dirfd, path));
    const bool follow = !(flags & AT_SYMLINK_NOFOLLOW);
    file.path = TRY(t.kernel().vfs().Resolve(t.Lookup(), start, path, follow));
    if (!follow && file.path.dentry->inode()->IsSymlink()) return Errno(ELOOP);
  }
  // The name the new image sees (AT_EXECFN, a script's argv): the path, or
  // a /dev/fd one for a file found through dirfd.
  if (dirfd == AT_FDCWD || path[0] == '/') {
    file.filename = path;
  } else {
    file.filename = path.empty() ? absl::StrCat("/dev/fd/", dirfd)
                                 : absl::StrCat("/dev/fd/", dirfd, "/", path);
    file.path_unreachable = TRY(t.fds().GetCloexec(dirfd));
  }
  TRY(t.kernel().Exec(t, std::move(file), std::move(argv), std::move(envp)));
  // The new image: caught signals reset, no alternate stack, and a vfork
  // parent goes on.
  t.thread_group().ResetCaughtSignals();
  t.altstack() = stack_t{nullptr, SS_DISABLE, 0};
  {
    absl::MutexLock lock(&t.kernel().mu());
    t.vfork_done = true;
  }
  t.vfork_wait.NotifyAll();
  return 0;
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
Result<uint64_t> Getpgrp(Task& t, const SyscallArgs&) {
  return static_cast<uint64_t>(TRY(t.kernel().GetPgid(t, 0)));
}
// Implements get_robust_list(2): the caller's or thread `pid`'s head, if
// the caller may read it as ptrace(2)'s PTRACE_MODE_READ_REALCREDS allows.
Result<uint64_t> GetRobustList(Task& t, const SyscallArgs& a) {
  const int pid = a.i32(0);
  uint64_t head = t.robust_list();
  if (pid != 0) {
    absl::MutexLock lock(&t.kernel().mu());
    Task* p = pid > 0 ? t.kernel().LookupTaskLocked(pid) : nullptr;
    if (p == nullptr) return Errno(ESRCH);
    if (&p->thread_group() != &t.thread_group() && !t.creds().HasCapability(CAP_SYS_PTRACE)) {
      // The caller's real ids must be all of the target's; the target
      // must be dumpable.
      const vfs::Credentials& me = t.creds();
      const vfs::Credentials& it = p->creds();
      const bool same = me.uid == it.uid && me.uid == it.euid && me.uid == it.suid &&
                        me.gid == it.gid && me.gid == it.egid && me.gid == it.sgid;
      if (!same || p->thread_group().dumpable != 1) return Errno(EPERM);
    }
    head = p->robust_list();
  }
  // The length first, as Linux: sizeof(struct robust_list_head).
  TRY(CopyOutStruct<uint64_t>(t, a.ptr(2), 24));
  TRY(CopyOutStruct<uint64_t>(t, a.ptr(1), head));
  return 0;
}

Result<uint64_t> Exit(Task& t, const SyscallArgs& a) {
  t.ExitThread(a.i32(0));
  return 0;
}

Result<uint64_t> ExitGroup(Task& t, const SyscallArgs& a) {
  t.ExitGroup(kernel::ExitStatus{a.i32(0) & 0xff, 0, false});
  return 0;
}

Result<uint64_t> Clone(Task& t, const SyscallArgs& a) {
  // x86-64 order: flags, newsp, parent_tid, child_tid, tls.
  kernel::CloneArgs c;
  c.flags = a.u64(0) & ~0xffULL;
  c.exit_signal = static_cast<int>(a.u64(0) & 0xff);
  if (c.exit_signal > kernel::kNumSignals) return Errno(EINVAL);
  c.stack = a.u64(1);
  c.parent_tid = a.ptr(2);
  c.child_tid = a.ptr(3);
  c.tls = a.u64(4);
  if (c.flags & CLONE_THREAD) c.exit_signal = 0;
  // CLONE_PIDFD: the pidfd goes where parent_tid points.
  if (c.flags & CLONE_PIDFD) return CloneWithPidfd(t, c, c.parent_tid);
  return DoClone(t, c);
}

Result<uint64_t> Clone3(Task& t, const SyscallArgs& a) {
  struct CloneArgs3 {
    uint64_t flags, pidfd, child_tid, parent_tid, exit_signal, stack, stack_size, tls, set_tid,
        set_tid_size, cgroup;
  };
  const uint64_t size = a.size(1);
  if (size < 64 || size > 4096) return Errno(EINVAL);  // CLONE_ARGS_SIZE_VER0
  CloneArgs3 raw{};
  TRY(t.mm().CopyIn(a.ptr(0), std::span<uint8_t>(reinterpret_cast<uint8_t*>(&raw),
                                                  std::min<uint64_t>(size, sizeof(raw)))));
  if (raw.exit_signal > static_cast<uint64_t>(kernel::kNumSignals)) return Errno(EINVAL);
  if ((raw.flags & CLONE_THREAD) && raw.exit_signal != 0) return Errno(EINVAL);
  if ((raw.stack == 0) != (raw.stack_size == 0)) return Errno(EINVAL);
  if (raw.set_tid_size != 0 || (raw.flags & 0x200000000ULL /* CLONE_INTO_CGROUP */)) {
    return Errno(EINVAL);  // PARTIAL(clone3): set_tid, cgroups
  }
  kernel::CloneArgs c;
  c.flags = raw.flags;
  c.exit_signal = static_cast<int>(raw.exit_signal);
  c.stack = raw.stack ? raw.stack + raw.stack_size : 0;
  c.parent_tid = raw.parent_tid;
  c.child_tid = raw.child_tid;
  c.tls = raw.tls;
  if (c.flags & CLONE_PIDFD) return CloneWithPidfd(t, c, raw.pidfd);
  return DoClone(t, c);
}

Result<uint64_t> Fork(Task& t, const SyscallArgs&) {
  kernel::CloneArgs c;
  c.exit_signal = SIGCHLD;
  return DoClone(t, c);
}

Result<uint64_t> Vfork(Task& t, const SyscallArgs&) {
  kernel::CloneArgs c;
  c.flags = CLONE_VM | CLONE_VFORK;
  c.exit_signal = SIGCHLD;
  return DoClone(t, c);
}

Result<uint64_t> Execve(Task& t, const SyscallArgs& a) {
  return DoExec(t, AT_FDCWD, a.ptr(0), a.ptr(1), a.ptr(2), 0);
}

Result<uint64_t> Execveat(Task& t, const SyscallArgs& a) {
  return DoExec(t, a.i32(0), a.ptr(1), a.ptr(2), a.ptr(3), a.i32(4));
}

namespace {

Result<kernel::WaitRequest> WaitTarget(int pid, int options, Task& t) {
  kernel::WaitRequest req;
  req.options = options;
  if (pid > 0) {
    req.which = kernel::WaitRequest::Which::kPid;
    req.id = pid;
  } else if (pid == 0) {
    req.which = kernel::WaitRequest::Which::kPgid;
    req.id = TRY(t.kernel().GetPgid(t, 0));
  } else if (pid < -1) {
    req.which = kernel::WaitRequest::Which::kPgid;
    req.id = -pid;
  }
  return req;
}

// The child's usage and its reaped children's (getrusage(RUSAGE_BOTH)).
// PARTIAL(rusage): only the CPU times; a stopped or continued child's
// report carries zeros.
struct rusage WaitRusage(const kernel::WaitResult& r) {
  struct rusage ru{};
  if (r.kind != kernel::WaitResult::Kind::kExited) return ru;
  ru.ru_utime = timeval{r.usage.user_ns / kernel::kNsPerSec, (r.usage.user_ns % kernel::kNsPerSec) / 1000};
  ru.ru_stime = timeval{r.usage.sys_ns / kernel::kNsPerSec, (r.usage.sys_ns % kernel::kNsPerSec) / 1000};
  return ru;
}

}  // namespace

Result<uint64_t> Wait4(Task& t, const SyscallArgs& a) {
  const int pid = a.i32(0);
  const int options = a.i32(2);
  if (options & ~(WNOHANG | WUNTRACED | WCONTINUED | __WNOTHREAD | __WCLONE | __WALL)) {
    return Errno(EINVAL);
  }
  if (pid == INT32_MIN) return Errno(ESRCH);
  kernel::WaitRequest req = TRY(WaitTarget(pid, options | WEXITED, t));
  kernel::WaitResult r = TRY(t.kernel().Wait(t, req));
  if (r.pid != 0 && a.ptr(1) != 0) TRY(CopyOutStruct<int32_t>(t, a.ptr(1), r.WaitStatus()));
  if (r.pid != 0 && a.ptr(3) != 0) TRY(CopyOutStruct(t, a.ptr(3), WaitRusage(r)));
  return static_cast<uint64_t>(r.pid);
}

Result<uint64_t> Waitid(Task& t, const SyscallArgs& a) {
  const int idtype = a.i32(0);
  const int id = a.i32(1);
  const int options = a.i32(3);
  if (options & ~(WNOHANG | WEXITED | WSTOPPED | WCONTINUED | WNOWAIT | __WNOTHREAD | __WCLONE | __WALL)) {
    return Errno(EINVAL);
  }
  if (!(options & (WEXITED | WSTOPPED | WCONTINUED))) return Errno(EINVAL);
  kernel::WaitRequest req;
  req.options = options;
  PidfdWait pidfd;  // P_PIDFD: holds the process while waiting
  switch (idtype) {
    case P_ALL: break;
    case P_PID:
      if (id <= 0) return Errno(EINVAL);
      req.which = kernel::WaitRequest::Which::kPid;
      req.id = id;
      break;
    case P_PGID:
      if (id < 0) return Errno(EINVAL);
      req.which = kernel::WaitRequest::Which::kPgid;
      req.id = id == 0 ? TRY(t.kernel().GetPgid(t, 0)) : id;
      break;
    case P_PIDFD:
      if (id < 0) return Errno(EINVAL);
      pidfd = TRY(PidfdWaitTarget(t, id));
      req.which = kernel::WaitRequest::Which::kGroup;
      req.group = pidfd.group.get();
      // A nonblocking pidfd waits as with WNOHANG, but reports "nothing
      // yet" as EAGAIN unless WNOHANG was asked (pidfd_open(2)).
      if (pidfd.nonblock) req.options |= WNOHANG;
      break;
    default:
      return Errno(EINVAL);
  }
  kernel::WaitResult r = TRY(t.kernel().Wait(t, req));
  const bool again = r.pid == 0 && pidfd.nonblock && !(options & WNOHANG);
  if (a.ptr(2) != 0) {
    siginfo_t si{};
    if (r.pid != 0) {
      si.si_signo = SIGCHLD;
      si.si_pid = r.pid;
      si.si_uid = static_cast<uid_t>(r.uid);
      switch (r.kind) {
        case kernel::WaitResult::Kind::kExited:
          si.si_code = r.status.signal ? (r.status.core ? CLD_DUMPED : CLD_KILLED) : CLD_EXITED;
          si.si_status = r.status.signal ? r.status.signal : r.status.code;
          break;
        case kernel::WaitResult::Kind::kStopped:
          si.si_code = CLD_STOPPED;
          si.si_status = r.stop_signal;
          break;
        case kernel::WaitResult::Kind::kContinued:
          si.si_code = CLD_CONTINUED;
          si.si_status = SIGCONT;
          break;
      }
    }
    TRY(CopyOutStruct(t, a.ptr(2), si));
  }
  // As Linux, the rusage is written only when a child is reported.
  if (r.pid != 0 && a.ptr(4) != 0) TRY(CopyOutStruct(t, a.ptr(4), WaitRusage(r)));
  if (again) return Errno(EAGAIN);
  return 0;
}

Result<uint64_t> Getpgid(Task& t, const SyscallArgs& a) {
  if (a.i32(0) < 0) return Errno(ESRCH);
  return static_cast<uint64_t>(TRY(t.kernel().GetPgid(t, a.i32(0))));
}

Result<uint64_t> Getsid(Task& t, const SyscallArgs& a) {
  if (a.i32(0) < 0) return Errno(ESRCH);
  return static_cast<uint64_t>(TRY(t.kernel().GetSid(t, a.i32(0))));
}

Result<uint64_t> Setpgid(Task& t, const SyscallArgs& a) {
  if (a.i32(0) < 0) return Errno(EINVAL);
  TRY(t.kernel().SetPgid(t, a.i32(0), a.i32(1)));
  return 0;
}

Result<uint64_t> Setsid(Task& t, const SyscallArgs&) {
  return static_cast<uint64_t>(TRY(t.kernel().SetSid(t)));
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

// The sandbox's figures, as /proc/meminfo and /proc/uptime give them: its
// uptime, its memory use, its tasks. PARTIAL(load average): 0.
Result<uint64_t> Sysinfo(Task& t, const SyscallArgs& a) {
  struct sysinfo si {};
  const kernel::SandboxMemory m = kernel::SandboxMemoryUsage(t.kernel());
  // Whole seconds, rounded up as Linux does.
  si.uptime = (kernel::SandboxUptimeNs(t.kernel()) + 999999999) / 1000000000;
  si.totalram = m.total;
  si.freeram = m.free;
  si.sharedram = m.shared;
  si.totalswap = m.swap_total;
  si.freeswap = m.swap_free;
  si.procs = static_cast<uint16_t>(t.kernel().TaskCount());  // the sandbox's tasks, not the host's
  si.mem_unit = 1;
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
