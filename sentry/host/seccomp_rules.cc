// The rules of the sentry's own seccomp filter, compiled with libseccomp.
// Only the build runs this (sentry_filter_gen); the sentry installs the
// program it produced.
#include "sentry/host/seccomp.h"

#include <fcntl.h>
#include <linux/seccomp.h>
#include <seccomp.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <termios.h>
#include <unistd.h>

#include <memory>

#include "base/scoped_fd.h"

namespace husk::host {
namespace {

// Syscalls allowed with any arguments.
constexpr int kAllowed[] = {
    // I/O on fds the sentry already holds (stdio, donated gofer fds, the
    // memory file, the gofer socket, the log).
    SCMP_SYS(read), SCMP_SYS(write), SCMP_SYS(readv), SCMP_SYS(writev), SCMP_SYS(pread64),
    SCMP_SYS(pwrite64), SCMP_SYS(preadv), SCMP_SYS(pwritev), SCMP_SYS(lseek), SCMP_SYS(close),
    SCMP_SYS(fstat), SCMP_SYS(fallocate), SCMP_SYS(sendmsg), SCMP_SYS(recvmsg),
    SCMP_SYS(fsync), SCMP_SYS(fdatasync),
    // Waiting on host stdio interruptibly: a task's ppoll over the host fds
    // and its wake-up eventfd.
    SCMP_SYS(poll), SCMP_SYS(ppoll), SCMP_SYS(eventfd2),
    // Memory: the sentry's heap and the memory file, and the mmap/munmap/
    // mprotect the platform runs inside stubs (which inherit this filter).
    SCMP_SYS(mmap), SCMP_SYS(munmap), SCMP_SYS(mprotect), SCMP_SYS(madvise), SCMP_SYS(mremap),
    SCMP_SYS(brk),
    // The ptrace platform: new stubs (clone), tracing them, and what a new
    // stub does to itself before it stops.
    SCMP_SYS(clone), SCMP_SYS(ptrace), SCMP_SYS(wait4), SCMP_SYS(waitid), SCMP_SYS(kill),
    SCMP_SYS(tgkill), SCMP_SYS(prctl), SCMP_SYS(dup2), SCMP_SYS(close_range), SCMP_SYS(rseq),
    SCMP_SYS(seccomp),
    // Threads, locks, time, identity.
    SCMP_SYS(futex), SCMP_SYS(sched_yield), SCMP_SYS(sched_getaffinity),
    SCMP_SYS(sched_setaffinity), SCMP_SYS(getcpu), SCMP_SYS(sched_getparam),
    SCMP_SYS(sched_getscheduler),
    SCMP_SYS(clock_gettime), SCMP_SYS(clock_getres), SCMP_SYS(clock_nanosleep),
    SCMP_SYS(nanosleep), SCMP_SYS(gettimeofday), SCMP_SYS(time), SCMP_SYS(getrandom),
    SCMP_SYS(getpid), SCMP_SYS(gettid), SCMP_SYS(getuid), SCMP_SYS(getgid), SCMP_SYS(geteuid),
    SCMP_SYS(getegid), SCMP_SYS(uname), SCMP_SYS(sysinfo), SCMP_SYS(set_robust_list),
    SCMP_SYS(set_tid_address),
    // Signals and exit.
    SCMP_SYS(rt_sigaction), SCMP_SYS(rt_sigprocmask), SCMP_SYS(rt_sigreturn),
    SCMP_SYS(rt_sigtimedwait),  // the signal forwarder (host/signals.h)
    SCMP_SYS(sigaltstack), SCMP_SYS(pause), SCMP_SYS(restart_syscall), SCMP_SYS(exit),
    SCMP_SYS(exit_group),
};

// Terminal ioctls on the user's tty (vfs/host).
constexpr unsigned long kAllowedIoctls[] = {TCGETS,     TCSETS,   TCSETSW,  TCSETSF, TIOCGWINSZ,
                                             TIOCSWINSZ, FIONREAD, TIOCOUTQ, TCFLSH,  TCXONC,
                                             TCSBRK};

}  // namespace

Result<SentryFilter> BuildSentryFilter() {
  // Anything else fails with EPERM: it does not happen, and the sentry
  // reports the error instead of dying.
  std::unique_ptr<void, void (*)(scmp_filter_ctx)> ctx(seccomp_init(SCMP_ACT_ERRNO(EPERM)),
                                                        seccomp_release);
  if (!ctx) return Errno(ENOMEM);
  for (int nr : kAllowed) {
    if (int r = seccomp_rule_add(ctx.get(), SCMP_ACT_ALLOW, nr, 0); r < 0) return Errno(-r);
  }
  // glibc creates threads with clone3 and falls back to clone on ENOSYS;
  // clone's flags can be checked, clone3's (in memory) cannot.
  if (int r = seccomp_rule_add(ctx.get(), SCMP_ACT_ERRNO(ENOSYS), SCMP_SYS(clone3), 0); r < 0) {
    return Errno(-r);
  }
  // fstat of an fd only (glibc's fstat is newfstatat(fd, "", AT_EMPTY_PATH)).
  if (int r = seccomp_rule_add(ctx.get(), SCMP_ACT_ALLOW, SCMP_SYS(newfstatat), 1,
                               SCMP_A3(SCMP_CMP_MASKED_EQ, AT_EMPTY_PATH, AT_EMPTY_PATH));
      r < 0) {
    return Errno(-r);
  }
  for (unsigned long cmd : kAllowedIoctls) {
    if (int r = seccomp_rule_add(ctx.get(), SCMP_ACT_ALLOW, SCMP_SYS(ioctl), 1,
                                 SCMP_A1(SCMP_CMP_EQ, cmd));
        r < 0) {
      return Errno(-r);
    }
  }
  // F_DUPFD_CLOEXEC: a host stdio file reopened through /proc/self/fd (vfs/host).
  for (int cmd : {F_GETFL, F_SETFL, F_GETFD, F_SETFD, F_DUPFD_CLOEXEC}) {
    if (int r = seccomp_rule_add(ctx.get(), SCMP_ACT_ALLOW, SCMP_SYS(fcntl), 1,
                                 SCMP_A1(SCMP_CMP_EQ, static_cast<scmp_datum_t>(cmd)));
        r < 0) {
      return Errno(-r);
    }
  }
  // libseccomp (2.5) exports the compiled program only to an fd.
  ScopedFd out(memfd_create("husk-seccomp", MFD_CLOEXEC));
  if (!out.valid()) return Errno(errno);
  if (int r = seccomp_export_bpf(ctx.get(), out.get()); r < 0) return Errno(-r);
  const off_t size = lseek(out.get(), 0, SEEK_END);
  if (size <= 0 || size % sizeof(sock_filter) != 0) return Errno(EINVAL);
  SentryFilter filter(size / sizeof(sock_filter));
  if (pread(out.get(), filter.data(), size, 0) != size) return Errno(EIO);
  return filter;
}

}  // namespace husk::host
