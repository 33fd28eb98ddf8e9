#include "gofer/protocol/spawn.h"

#include <fcntl.h>
#include <linux/close_range.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>

namespace husk::gofer {
namespace {

std::vector<std::string> GoferArgs(const std::string& binary, const std::vector<Export>& exports) {
  std::vector<std::string> args = {binary, "--fd=" + std::to_string(kGoferSocketFd)};
  for (const Export& e : exports) {
    args.push_back("--export=" + e.host_path + (e.writable ? ":rw" : ":ro"));
  }
  return args;
}

// Reports errno to the parent on the status pipe and exits.
[[noreturn]] void ChildFailed(int status_fd) {
  int err = errno;
  (void)!::write(status_fd, &err, sizeof(err));
  ::_exit(127);
}

// Runs in the vforked child of a possibly multi-threaded parent, on its
// stack and in its memory, so it makes only async-signal-safe calls and
// writes no memory of the parent's. Reports a failure's errno on `status_fd`
// (close-on-exec, so a successful exec reports nothing).
[[noreturn]] void ExecGofer(int sock, int status_fd, pid_t parent, char* const argv[]) {
  // Move the status pipe out of the way before fd 3 is taken.
  int status = ::fcntl(status_fd, F_DUPFD_CLOEXEC, kGoferSocketFd + 1);
  if (status < 0) ChildFailed(status_fd);
  // The gofer must not outlive the sentry it serves. If the parent already
  // died before the death signal was armed, nobody will ever talk to us.
  if (::prctl(PR_SET_PDEATHSIG, SIGKILL) != 0) ChildFailed(status);
  if (::getppid() != parent) ::_exit(127);
  // dup2 onto itself would keep close-on-exec, hence the fcntl.
  int placed = sock == kGoferSocketFd ? ::fcntl(sock, F_SETFD, 0) : ::dup2(sock, kGoferSocketFd);
  if (placed < 0) ChildFailed(status);
  // Whatever else the parent has open (possibly without O_CLOEXEC) must not
  // reach the gofer.
  ::syscall(SYS_close_range, kGoferSocketFd + 1, ~0U, CLOSE_RANGE_CLOEXEC);
  sigset_t none;
  sigemptyset(&none);
  ::sigprocmask(SIG_SETMASK, &none, nullptr);
  ::execve(argv[0], argv, environ);
  ChildFailed(status);
}

// vfork: the child borrows our memory until its execve, which spares
// copying the page tables (a fork cost ~0.6 ms of start-up). A function of
// its own, so that no caller's variable lives across the vfork.
[[gnu::noinline]] pid_t VforkGofer(int sock, int status_fd, pid_t parent, char* const argv[]) {
  pid_t pid = ::vfork();
  if (pid == 0) ExecGofer(sock, status_fd, parent, argv);
  return pid;
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
  return r;
}

Result<Spawned> StartGofer(const std::string& gofer_binary, const std::vector<Export>& exports) {
  int pair[2];
  if (::socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, pair) != 0) return Errno(errno);
  ScopedFd sentry_end(pair[0]), gofer_end(pair[1]);
  int pipe_fds[2];
  if (::pipe2(pipe_fds, O_CLOEXEC) != 0) return Errno(errno);
  ScopedFd status_read(pipe_fds[0]), status_write(pipe_fds[1]);

  // Everything the child needs is built before fork: it may not allocate.
  std::vector<std::string> args = GoferArgs(gofer_binary, exports);
  std::vector<char*> argv;
  for (std::string& a : args) argv.push_back(a.data());
  argv.push_back(nullptr);

  pid_t pid = VforkGofer(gofer_end.get(), status_write.get(), ::getpid(), argv.data());
  if (pid < 0) return Errno(errno);

  gofer_end.Reset();
  status_write.Reset();
  return Spawned{pid, std::move(sentry_end), std::move(status_read)};
}

}  // namespace husk::gofer
