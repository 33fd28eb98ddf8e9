#include "gofer/protocol/spawn.h"

#include <fcntl.h>
#include <linux/close_range.h>
#include <sched.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <memory>

#include "base/raw_syscall.h"

namespace husk::gofer {

// What the child needs, built before it starts and kept (Spawned::launch)
// until its exec is over: it reads these from our memory.
struct Launch {
  std::vector<std::string> args;
  std::vector<char*> argv;
  int sock = -1;
  int status_fd = -1;
  pid_t parent = 0;
  std::unique_ptr<char[]> stack;
};

namespace {

std::vector<std::string> GoferArgs(const std::string& binary, const std::vector<Export>& exports) {
  std::vector<std::string> args = {binary, "--fd=" + std::to_string(kGoferSocketFd)};
  for (const Export& e : exports) {
    args.push_back("--export=" + e.host_path + (e.writable ? ":rw" : ":ro"));
  }
  return args;
}

constexpr size_t kChildStack = 64 * 1024;

// Reports `err` to the parent on the status pipe and exits.
[[noreturn]] void ChildFailed(int status_fd, long err) {
  const int code = static_cast<int>(-err);
  RawSyscall(SYS_write, status_fd, reinterpret_cast<long>(&code), sizeof(code));
  RawSyscall(SYS_exit_group, 127);
  __builtin_unreachable();
}

// The child: a process of its own that shares our memory until its execve
// (clone with CLONE_VM), while our threads go on running. So it makes raw
// syscalls only: no libc call, which could take a lock one of our threads
// holds or write errno in our main thread's TLS, and no write to our
// memory but its own stack. A failure's errno goes to the parent on the
// status pipe (close-on-exec, so a successful exec reports nothing).
int ExecGofer(void* arg) {
  const Launch& l = *static_cast<const Launch*>(arg);
  // Move the status pipe out of the way before fd 3 is taken.
  const long status = RawSyscall(SYS_fcntl, l.status_fd, F_DUPFD_CLOEXEC, kGoferSocketFd + 1);
  if (status < 0) ChildFailed(l.status_fd, status);
  const int st = static_cast<int>(status);
  // The gofer must not outlive the sentry it serves. If the parent already
  // died before the death signal was armed, nobody will ever talk to us.
  if (long r = RawSyscall(SYS_prctl, PR_SET_PDEATHSIG, SIGKILL); r < 0) ChildFailed(st, r);
  if (RawSyscall(SYS_getppid) != l.parent) RawSyscall(SYS_exit_group, 127);
  // dup2 onto itself would keep close-on-exec, hence the fcntl.
  const long placed = l.sock == kGoferSocketFd ? RawSyscall(SYS_fcntl, l.sock, F_SETFD, 0)
                                               : RawSyscall(SYS_dup2, l.sock, kGoferSocketFd);
  if (placed < 0) ChildFailed(st, placed);
  // Whatever else the parent has open (possibly without O_CLOEXEC) must not
  // reach the gofer.
  RawSyscall(SYS_close_range, kGoferSocketFd + 1, ~0U, CLOSE_RANGE_CLOEXEC);
  const uint64_t none = 0;
  RawSyscall(SYS_rt_sigprocmask, SIG_SETMASK, reinterpret_cast<long>(&none), 0, sizeof(none));
  const long r = RawSyscall(SYS_execve, reinterpret_cast<long>(l.argv[0]),
                            reinterpret_cast<long>(l.argv.data()), reinterpret_cast<long>(environ));
  ChildFailed(st, r);
}

// Waits for the child's exec report: EOF means the exec succeeded.
Result<void> AwaitExec(int status_fd, pid_t pid) {
  int err = 0;
  ssize_t n;
  do {
    n = ::read(status_fd, &err, sizeof(err));
  } while (n < 0 && errno == EINTR);
  if (n == 0) return Ok();
  ::waitpid(pid, nullptr, 0);
  return Errno(n == sizeof(err) && err > 0 ? err : ECHILD);
}

}  // namespace

Result<Spawned> SpawnGofer(const std::string& gofer_binary, const std::vector<Export>& exports) {
  Spawned s = TRY(StartGofer(gofer_binary, exports));
  TRY(AwaitGofer(s));
  return s;
}

Result<void> AwaitGofer(Spawned& s) {
  if (!s.exec_status.valid()) return Ok();
  auto r = AwaitExec(s.exec_status.get(), s.pid);
  s.exec_status.Reset();
  // The child has exec'd (or died): it no longer reads our memory.
  s.launch.reset();
  return r;
}

Result<Spawned> StartGofer(const std::string& gofer_binary, const std::vector<Export>& exports) {
  int pair[2];
  if (::socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, pair) != 0) return Errno(errno);
  ScopedFd sentry_end(pair[0]), gofer_end(pair[1]);
  int pipe_fds[2];
  if (::pipe2(pipe_fds, O_CLOEXEC) != 0) return Errno(errno);
  ScopedFd status_read(pipe_fds[0]), status_write(pipe_fds[1]);

  auto launch = std::make_shared<Launch>();
  launch->args = GoferArgs(gofer_binary, exports);
  for (std::string& a : launch->args) launch->argv.push_back(a.data());
  launch->argv.push_back(nullptr);
  launch->sock = gofer_end.get();
  launch->status_fd = status_write.get();
  launch->parent = ::getpid();
  launch->stack = std::make_unique<char[]>(kChildStack);

  // Not vfork: the caller goes on (making the platform, the kernel) while
  // the gofer execs, which takes milliseconds. PR_SET_PDEATHSIG ties the
  // gofer to this thread, as before.
  pid_t pid = ::clone(ExecGofer, launch->stack.get() + kChildStack, CLONE_VM | SIGCHLD, launch.get());
  if (pid < 0) return Errno(errno);

  // Our copies of the child's ends close now; its own stay open until its
  // exec (they are not shared: no CLONE_FILES).
  gofer_end.Reset();
  status_write.Reset();
  return Spawned{pid, std::move(sentry_end), std::move(status_read), std::move(launch)};
}

}  // namespace husk::gofer
