// pidfds: pidfd_open(2), pidfd_send_signal(2), pidfd_getfd(2), clone(2)
// and clone3(2) with CLONE_PIDFD, waitid(2) with P_PIDFD, and poll/select
// on a pidfd (readable once the process has exited).
//
// The calls are made raw: the constants newer than the installed headers
// (PIDFD_THREAD, PIDFD_SIGNAL_*) are spelled out here. Tests of what
// Linux 6.9 added skip on an older native kernel.

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <linux/sched.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <stdint.h>
#include <string.h>
#include <sys/select.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>

#include <gtest/gtest.h>

#include "test_util.h"

namespace {

constexpr pid_t kNoSuchPid = INT_MAX;
constexpr unsigned kPidfdNonblock = O_NONBLOCK;  // PIDFD_NONBLOCK
constexpr unsigned kPidfdThread = O_EXCL;        // PIDFD_THREAD (Linux 6.9)
constexpr unsigned kSignalThread = 1;            // PIDFD_SIGNAL_THREAD (6.9)
constexpr unsigned kSignalThreadGroup = 2;       // PIDFD_SIGNAL_THREAD_GROUP
constexpr unsigned kSignalProcessGroup = 4;      // PIDFD_SIGNAL_PROCESS_GROUP
#ifndef CLONE_PIDFD
#define CLONE_PIDFD 0x00001000
#endif
constexpr unsigned long kCloneDetached = 0x00400000;  // CLONE_DETACHED
#ifndef P_PIDFD
#define P_PIDFD 3
#endif

int PidfdOpen(pid_t pid, unsigned flags) { return static_cast<int>(syscall(SYS_pidfd_open, pid, flags)); }
long PidfdSendSignal(int fd, int sig, siginfo_t* info, unsigned flags) {
  return syscall(SYS_pidfd_send_signal, fd, sig, info, flags);
}
int PidfdGetfd(int pidfd, int fd, unsigned flags) {
  return static_cast<int>(syscall(SYS_pidfd_getfd, pidfd, fd, flags));
}
long WaitidRaw(int idtype, int id, siginfo_t* info, int options) {
  return syscall(SYS_waitid, idtype, id, info, options, nullptr);
}

// Skips the test when the native kernel has no pidfd_open.
#define SKIP_WITHOUT_PIDFD()                                                      \
  do {                                                                            \
    int _fd = PidfdOpen(getpid(), 0);                                             \
    if (_fd < 0 && errno == ENOSYS) GTEST_SKIP() << "no pidfd_open in this kernel"; \
    if (_fd >= 0) close(_fd);                                                     \
  } while (0)

// Skips the test on kernels before 6.9 (no PIDFD_THREAD, no
// pidfd_send_signal flags).
#define SKIP_WITHOUT_PIDFD_THREAD()                                                \
  do {                                                                             \
    SKIP_WITHOUT_PIDFD();                                                          \
    int _fd = PidfdOpen(getpid(), kPidfdThread);                                   \
    if (_fd < 0 && errno == EINVAL) GTEST_SKIP() << "no PIDFD_THREAD in this kernel"; \
    if (_fd >= 0) close(_fd);                                                      \
  } while (0)

using Child = husk_test::PausedChild;

// A child that exits at once with `code`, left a zombie (waited for with
// WNOWAIT, so it is surely one).
pid_t ZombieChild(int code) {
  pid_t pid = fork();
  if (pid == 0) _exit(code);
  siginfo_t info{};
  EXPECT_EQ(WaitidRaw(P_PID, pid, &info, WEXITED | WNOWAIT), 0) << strerror(errno);
  return pid;
}

short Revents(int fd, short events, int timeout_ms) {
  pollfd p{fd, events, 0};
  int n = poll(&p, 1, timeout_ms);
  EXPECT_GE(n, 0) << strerror(errno);
  return n > 0 ? p.revents : 0;
}

// ---- pidfd_open ----

TEST(PidfdOpen, OwnProcessIsCloseOnExecReadWrite) {
  SKIP_WITHOUT_PIDFD();
  int fd = PidfdOpen(getpid(), 0);
  ASSERT_GE(fd, 0) << strerror(errno);
  EXPECT_EQ(fcntl(fd, F_GETFD), FD_CLOEXEC);
  const int fl = fcntl(fd, F_GETFL);
  EXPECT_EQ(fl & O_ACCMODE, O_RDWR);
  EXPECT_EQ(fl & O_NONBLOCK, 0);
  close(fd);
}

TEST(PidfdOpen, NonblockIsAStatusFlag) {
  SKIP_WITHOUT_PIDFD();
  int fd = PidfdOpen(getpid(), kPidfdNonblock);
  ASSERT_GE(fd, 0) << strerror(errno);
  EXPECT_NE(fcntl(fd, F_GETFL) & O_NONBLOCK, 0);
  close(fd);
}

TEST(PidfdOpen, UnknownFlagsAreEinval) {
  SKIP_WITHOUT_PIDFD();
  EXPECT_FAILS_WITH(PidfdOpen(getpid(), 1), EINVAL);
  EXPECT_FAILS_WITH(PidfdOpen(getpid(), O_CLOEXEC), EINVAL);
  EXPECT_FAILS_WITH(PidfdOpen(getpid(), 0x80000000u), EINVAL);
}

TEST(PidfdOpen, NonPositivePidIsEinval) {
  SKIP_WITHOUT_PIDFD();
  EXPECT_FAILS_WITH(PidfdOpen(0, 0), EINVAL);
  EXPECT_FAILS_WITH(PidfdOpen(-1, 0), EINVAL);
  EXPECT_FAILS_WITH(PidfdOpen(INT_MIN, 0), EINVAL);
}

TEST(PidfdOpen, NoSuchProcessIsEsrch) {
  SKIP_WITHOUT_PIDFD();
  EXPECT_FAILS_WITH(PidfdOpen(kNoSuchPid, 0), ESRCH);
}

TEST(PidfdOpen, ReapedChildIsEsrch) {
  SKIP_WITHOUT_PIDFD();
  pid_t pid = fork();
  if (pid == 0) _exit(0);
  ASSERT_EQ(waitpid(pid, nullptr, 0), pid);
  EXPECT_FAILS_WITH(PidfdOpen(pid, 0), ESRCH);
}

TEST(PidfdOpen, ZombieChildCanBeOpened) {
  SKIP_WITHOUT_PIDFD();
  pid_t pid = ZombieChild(0);
  int fd = PidfdOpen(pid, 0);
  EXPECT_GE(fd, 0) << strerror(errno);
  close(fd);
  EXPECT_EQ(waitpid(pid, nullptr, 0), pid);
}

std::atomic<int> thread_tid{0};
std::atomic<bool> thread_stop{false};

int ThreadBody(void*) {
  thread_tid.store(static_cast<int>(syscall(SYS_gettid)));
  timespec ms{0, 1000000};
  while (!thread_stop.load()) syscall(SYS_nanosleep, &ms, nullptr);
  return 0;  // glibc's clone ends the thread with exit(2)
}

// A bare thread (clone with CLONE_THREAD, no pthread), ended by Stop.
class Thread {
 public:
  // `pidfd_out`: with CLONE_PIDFD, where its pidfd goes.
  explicit Thread(int* pidfd_out = nullptr) {
    thread_tid = 0;
    thread_stop = false;
    stack_ = static_cast<char*>(malloc(kStack));
    int flags = CLONE_VM | CLONE_FS | CLONE_FILES | CLONE_SIGHAND | CLONE_THREAD | CLONE_SYSVSEM;
    if (pidfd_out) flags |= CLONE_PIDFD;
    tid_ = clone(ThreadBody, stack_ + kStack, flags, nullptr, pidfd_out);
    error_ = errno;
    if (tid_ > 0) {
      while (thread_tid.load() == 0) sched_yield();
    }
  }
  ~Thread() { Stop(); }
  int tid() const { return tid_; }
  int error() const { return error_; }
  // Ends the thread and waits until its tid is gone.
  void Stop() {
    if (tid_ <= 0) return;
    thread_stop = true;
    while (syscall(SYS_tgkill, getpid(), tid_, 0) == 0) husk_test::SleepMs(1);
    tid_ = -1;
    // The stack stays allocated: the kernel may still be leaving it.
  }

 private:
  static constexpr size_t kStack = 256 * 1024;
  char* stack_ = nullptr;
  int tid_ = -1;
  int error_ = 0;
};

TEST(PidfdOpen, ThreadOtherThanLeaderIsRefused) {
  SKIP_WITHOUT_PIDFD();
  Thread th;
  ASSERT_GT(th.tid(), 0) << strerror(th.error());
  // Linux 6.x says ENOENT; older kernels EINVAL.
  errno = 0;
  EXPECT_EQ(PidfdOpen(th.tid(), 0), -1);
  EXPECT_TRUE(errno == ENOENT || errno == EINVAL) << strerror(errno);
}

TEST(PidfdOpen, ThreadFlagOpensAnyThread) {
  SKIP_WITHOUT_PIDFD_THREAD();
  Thread th;
  ASSERT_GT(th.tid(), 0) << strerror(th.error());
  int fd = PidfdOpen(th.tid(), kPidfdThread);
  ASSERT_GE(fd, 0) << strerror(errno);
  EXPECT_NE(fcntl(fd, F_GETFL) & O_EXCL, 0);  // PIDFD_THREAD shows in F_GETFL
  EXPECT_EQ(Revents(fd, POLLIN, 0), 0);
  EXPECT_EQ(PidfdSendSignal(fd, 0, nullptr, 0), 0);
  th.Stop();
  // The thread is gone: readable and hung up, and nothing to signal.
  EXPECT_EQ(Revents(fd, POLLIN, 5000), POLLIN | POLLHUP);
  EXPECT_FAILS_WITH(PidfdSendSignal(fd, 0, nullptr, 0), ESRCH);
  siginfo_t info{};
  EXPECT_FAILS_WITH(WaitidRaw(P_PIDFD, fd, &info, WEXITED | WNOHANG), ECHILD);
  close(fd);
  // The leader's own thread pidfd.
  int leader = PidfdOpen(getpid(), kPidfdThread);
  EXPECT_GE(leader, 0) << strerror(errno);
  close(leader);
}

TEST(PidfdOpen, FstatShowsAnAnonymousInode) {
  SKIP_WITHOUT_PIDFD();
  int a = PidfdOpen(getpid(), 0);
  int b = PidfdOpen(getpid(), kPidfdNonblock);
  ASSERT_GE(a, 0);
  ASSERT_GE(b, 0);
  struct stat sa, sb;
  ASSERT_EQ(fstat(a, &sa), 0) << strerror(errno);
  ASSERT_EQ(fstat(b, &sb), 0) << strerror(errno);
  EXPECT_EQ(sa.st_mode & S_IFMT, 0u);  // an anonymous inode has no file type
  EXPECT_EQ(sa.st_size, 0);
  EXPECT_EQ(sa.st_ino, sb.st_ino);  // one inode per process
  close(a);
  close(b);
}

TEST(PidfdOpen, ReadWriteAndSeekFail) {
  SKIP_WITHOUT_PIDFD();
  int fd = PidfdOpen(getpid(), 0);
  ASSERT_GE(fd, 0);
  char buf[8] = {};
  EXPECT_FAILS_WITH(read(fd, buf, sizeof(buf)), EINVAL);
  EXPECT_FAILS_WITH(write(fd, buf, sizeof(buf)), EINVAL);
  EXPECT_FAILS_WITH(lseek(fd, 0, SEEK_SET), ESPIPE);
  close(fd);
}

// ---- poll and select ----

TEST(PidfdPoll, RunningProcessIsNotReadable) {
  SKIP_WITHOUT_PIDFD();
  Child c;
  int fd = PidfdOpen(c.pid(), 0);
  ASSERT_GE(fd, 0);
  EXPECT_EQ(Revents(fd, POLLIN | POLLOUT | POLLPRI, 0), 0);
  close(fd);
}

TEST(PidfdPoll, ZombieIsReadableAndReapedIsHungUp) {
  SKIP_WITHOUT_PIDFD();
  pid_t pid = fork();
  if (pid == 0) _exit(0);
  int fd = PidfdOpen(pid, 0);
  ASSERT_GE(fd, 0) << strerror(errno);
  EXPECT_EQ(Revents(fd, POLLIN | POLLRDNORM, 5000), POLLIN | POLLRDNORM);
  ASSERT_EQ(waitpid(pid, nullptr, 0), pid);
  EXPECT_EQ(Revents(fd, POLLIN | POLLOUT, 0), POLLIN | POLLHUP);
  close(fd);
}

TEST(PidfdPoll, BlocksUntilTheProcessExits) {
  SKIP_WITHOUT_PIDFD();
  pid_t pid = fork();
  if (pid == 0) {
    husk_test::SleepMs(100);
    _exit(0);
  }
  int fd = PidfdOpen(pid, 0);
  ASSERT_GE(fd, 0);
  const long start = husk_test::NowMs();
  pollfd p{fd, POLLIN, 0};
  EXPECT_EQ(poll(&p, 1, 10000), 1);
  EXPECT_EQ(p.revents, POLLIN);
  EXPECT_GE(husk_test::NowMs() - start, 50);
  EXPECT_EQ(waitpid(pid, nullptr, 0), pid);
  close(fd);
}

TEST(PidfdPoll, KilledProcessWakesThePoll) {
  SKIP_WITHOUT_PIDFD();
  Child c;
  int fd = PidfdOpen(c.pid(), 0);
  ASSERT_GE(fd, 0);
  pid_t killer = fork();
  if (killer == 0) {
    husk_test::SleepMs(50);
    kill(c.pid(), SIGKILL);
    _exit(0);
  }
  EXPECT_EQ(Revents(fd, POLLIN, 10000), POLLIN);
  EXPECT_EQ(waitpid(killer, nullptr, 0), killer);
  close(fd);
}

TEST(PidfdPoll, SelectSeesAnExitedProcessReadable) {
  SKIP_WITHOUT_PIDFD();
  pid_t pid = fork();
  if (pid == 0) _exit(0);
  int fd = PidfdOpen(pid, 0);
  ASSERT_GE(fd, 0);
  fd_set rs;
  FD_ZERO(&rs);
  FD_SET(fd, &rs);
  timeval tv{5, 0};
  EXPECT_EQ(select(fd + 1, &rs, nullptr, nullptr, &tv), 1);
  EXPECT_TRUE(FD_ISSET(fd, &rs));
  fd_set ws;
  FD_ZERO(&ws);
  FD_SET(fd, &ws);
  tv = {0, 0};
  EXPECT_EQ(select(fd + 1, nullptr, &ws, nullptr, &tv), 0);  // never writable
  EXPECT_EQ(waitpid(pid, nullptr, 0), pid);
  close(fd);
}

// ---- pidfd_send_signal ----

// Blocks `sig` for the scope (so that it stays pending) and restores the mask.
class BlockSignal {
 public:
  explicit BlockSignal(int sig) : sig_(sig) {
    sigset_t set;
    sigemptyset(&set);
    sigaddset(&set, sig);
    sigprocmask(SIG_BLOCK, &set, &old_);
  }
  ~BlockSignal() {
    // Drop what is still pending before unblocking.
    sigset_t set;
    sigemptyset(&set);
    sigaddset(&set, sig_);
    timespec zero{0, 0};
    while (sigtimedwait(&set, nullptr, &zero) == sig_) {
    }
    sigprocmask(SIG_SETMASK, &old_, nullptr);
  }
  siginfo_t Take() {
    sigset_t set;
    sigemptyset(&set);
    sigaddset(&set, sig_);
    siginfo_t info{};
    timespec ts{5, 0};
    EXPECT_EQ(sigtimedwait(&set, &info, &ts), sig_) << strerror(errno);
    return info;
  }

 private:
  int sig_;
  sigset_t old_;
};

TEST(PidfdSendSignal, SignalZeroChecksTheProcess) {
  SKIP_WITHOUT_PIDFD();
  int fd = PidfdOpen(getpid(), 0);
  ASSERT_GE(fd, 0);
  EXPECT_EQ(PidfdSendSignal(fd, 0, nullptr, 0), 0) << strerror(errno);
  close(fd);
}

TEST(PidfdSendSignal, NullInfoIsLikeKill) {
  SKIP_WITHOUT_PIDFD();
  BlockSignal block(SIGUSR1);
  int fd = PidfdOpen(getpid(), 0);
  ASSERT_GE(fd, 0);
  ASSERT_EQ(PidfdSendSignal(fd, SIGUSR1, nullptr, 0), 0) << strerror(errno);
  siginfo_t info = block.Take();
  EXPECT_EQ(info.si_signo, SIGUSR1);
  EXPECT_EQ(info.si_code, SI_USER);
  EXPECT_EQ(info.si_pid, getpid());
  EXPECT_EQ(info.si_uid, getuid());
  close(fd);
}

TEST(PidfdSendSignal, QueuedInfoIsDelivered) {
  SKIP_WITHOUT_PIDFD();
  BlockSignal block(SIGUSR2);
  int fd = PidfdOpen(getpid(), 0);
  ASSERT_GE(fd, 0);
  siginfo_t si{};
  si.si_signo = SIGUSR2;
  si.si_code = SI_QUEUE;
  si.si_pid = 4242;
  si.si_value.sival_int = 77;
  ASSERT_EQ(PidfdSendSignal(fd, SIGUSR2, &si, 0), 0) << strerror(errno);
  siginfo_t info = block.Take();
  EXPECT_EQ(info.si_code, SI_QUEUE);
  EXPECT_EQ(info.si_pid, 4242);
  EXPECT_EQ(info.si_value.sival_int, 77);
  close(fd);
}

TEST(PidfdSendSignal, KernelCodeToSelfIsAllowed) {
  SKIP_WITHOUT_PIDFD();
  int fd = PidfdOpen(getpid(), 0);
  ASSERT_GE(fd, 0);
  siginfo_t si{};
  si.si_signo = 0;
  si.si_code = SI_USER;
  EXPECT_EQ(PidfdSendSignal(fd, 0, &si, 0), 0) << strerror(errno);
  close(fd);
}

TEST(PidfdSendSignal, KernelOrTkillCodeToAnotherProcessIsEperm) {
  SKIP_WITHOUT_PIDFD();
  Child c;
  int fd = PidfdOpen(c.pid(), 0);
  ASSERT_GE(fd, 0);
  siginfo_t si{};
  si.si_signo = SIGUSR1;
  si.si_code = SI_USER;
  EXPECT_FAILS_WITH(PidfdSendSignal(fd, SIGUSR1, &si, 0), EPERM);
  si.si_code = SI_KERNEL;
  EXPECT_FAILS_WITH(PidfdSendSignal(fd, SIGUSR1, &si, 0), EPERM);
  si.si_code = SI_TKILL;
  EXPECT_FAILS_WITH(PidfdSendSignal(fd, SIGUSR1, &si, 0), EPERM);
  si.si_signo = 0;
  si.si_code = SI_QUEUE;
  EXPECT_EQ(PidfdSendSignal(fd, 0, &si, 0), 0) << strerror(errno);
  close(fd);
}

TEST(PidfdSendSignal, InfoForAnotherSignalIsEinval) {
  SKIP_WITHOUT_PIDFD();
  int fd = PidfdOpen(getpid(), 0);
  ASSERT_GE(fd, 0);
  siginfo_t si{};
  si.si_signo = SIGUSR1;
  si.si_code = SI_QUEUE;
  EXPECT_FAILS_WITH(PidfdSendSignal(fd, SIGUSR2, &si, 0), EINVAL);
  close(fd);
}

TEST(PidfdSendSignal, BadInfoPointerIsEfault) {
  SKIP_WITHOUT_PIDFD();
  int fd = PidfdOpen(getpid(), 0);
  ASSERT_GE(fd, 0);
  EXPECT_FAILS_WITH(PidfdSendSignal(fd, 0, static_cast<siginfo_t*>(husk_test::BadPtr()), 0), EFAULT);
  close(fd);
}

TEST(PidfdSendSignal, BadFlagsAreEinval) {
  SKIP_WITHOUT_PIDFD();
  int fd = PidfdOpen(getpid(), 0);
  ASSERT_GE(fd, 0);
  EXPECT_FAILS_WITH(PidfdSendSignal(fd, 0, nullptr, 0x100), EINVAL);
  EXPECT_FAILS_WITH(PidfdSendSignal(fd, 0, nullptr, kSignalThread | kSignalThreadGroup), EINVAL);
  close(fd);
}

TEST(PidfdSendSignal, BadSignalIsEinval) {
  SKIP_WITHOUT_PIDFD();
  int fd = PidfdOpen(getpid(), 0);
  ASSERT_GE(fd, 0);
  EXPECT_FAILS_WITH(PidfdSendSignal(fd, 65, nullptr, 0), EINVAL);
  EXPECT_FAILS_WITH(PidfdSendSignal(fd, -1, nullptr, 0), EINVAL);
  close(fd);
}

TEST(PidfdSendSignal, NotAPidfdIsEbadf) {
  SKIP_WITHOUT_PIDFD();
  int p[2];
  ASSERT_EQ(pipe(p), 0);
  EXPECT_FAILS_WITH(PidfdSendSignal(p[0], 0, nullptr, 0), EBADF);
  EXPECT_FAILS_WITH(PidfdSendSignal(husk_test::ClosedFd(), 0, nullptr, 0), EBADF);
  EXPECT_FAILS_WITH(PidfdSendSignal(-1, 0, nullptr, 0), EBADF);
  close(p[0]);
  close(p[1]);
}

TEST(PidfdSendSignal, KillsAChild) {
  SKIP_WITHOUT_PIDFD();
  Child c;
  int fd = PidfdOpen(c.pid(), 0);
  ASSERT_GE(fd, 0);
  ASSERT_EQ(PidfdSendSignal(fd, SIGKILL, nullptr, 0), 0) << strerror(errno);
  int status = 0;
  ASSERT_EQ(waitpid(c.pid(), &status, 0), c.pid());
  c.Reaped();
  EXPECT_TRUE(WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL) << status;
  close(fd);
}

TEST(PidfdSendSignal, ZombieTakesTheSignalAndReapedIsEsrch) {
  SKIP_WITHOUT_PIDFD();
  pid_t pid = fork();
  if (pid == 0) _exit(0);
  int fd = PidfdOpen(pid, 0);
  ASSERT_GE(fd, 0);
  siginfo_t info{};
  ASSERT_EQ(WaitidRaw(P_PID, pid, &info, WEXITED | WNOWAIT), 0);
  EXPECT_EQ(PidfdSendSignal(fd, SIGKILL, nullptr, 0), 0) << strerror(errno);
  EXPECT_EQ(PidfdSendSignal(fd, 0, nullptr, 0), 0) << strerror(errno);
  ASSERT_EQ(waitpid(pid, nullptr, 0), pid);
  EXPECT_FAILS_WITH(PidfdSendSignal(fd, 0, nullptr, 0), ESRCH);
  EXPECT_FAILS_WITH(PidfdSendSignal(fd, SIGKILL, nullptr, 0), ESRCH);
  close(fd);
}

TEST(PidfdSendSignal, ThreadFlagSignalsTheLeaderThread) {
  SKIP_WITHOUT_PIDFD_THREAD();
  BlockSignal block(SIGUSR1);
  int fd = PidfdOpen(getpid(), 0);
  ASSERT_GE(fd, 0);
  ASSERT_EQ(PidfdSendSignal(fd, SIGUSR1, nullptr, kSignalThread), 0) << strerror(errno);
  siginfo_t info = block.Take();
  EXPECT_EQ(info.si_code, SI_USER);  // not SI_TKILL
  EXPECT_EQ(info.si_pid, getpid());
  ASSERT_EQ(PidfdSendSignal(fd, SIGUSR1, nullptr, kSignalThreadGroup), 0) << strerror(errno);
  info = block.Take();
  EXPECT_EQ(info.si_code, SI_USER);
  close(fd);
}

TEST(PidfdSendSignal, ProcessGroupFlagSignalsTheGroupThePidLeads) {
  SKIP_WITHOUT_PIDFD_THREAD();
  // A child in the caller's group leads none: ESRCH.
  Child member;
  int fd = PidfdOpen(member.pid(), 0);
  ASSERT_GE(fd, 0);
  EXPECT_FAILS_WITH(PidfdSendSignal(fd, 0, nullptr, kSignalProcessGroup), ESRCH);
  close(fd);
  // A group leader: its group gets the signal.
  Child leader([] { setpgid(0, 0); });
  setpgid(leader.pid(), leader.pid());
  fd = PidfdOpen(leader.pid(), 0);
  ASSERT_GE(fd, 0);
  ASSERT_EQ(PidfdSendSignal(fd, SIGKILL, nullptr, kSignalProcessGroup), 0) << strerror(errno);
  int status = 0;
  ASSERT_EQ(waitpid(leader.pid(), &status, 0), leader.pid());
  leader.Reaped();
  EXPECT_TRUE(WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL) << status;
  // Kernel codes may not go to a group, even one's own.
  siginfo_t si{};
  si.si_code = SI_USER;
  int self = PidfdOpen(getpid(), 0);
  EXPECT_FAILS_WITH(PidfdSendSignal(self, 0, &si, kSignalProcessGroup), EPERM);
  close(self);
  close(fd);
}

// ---- waitid(P_PIDFD) ----

TEST(WaitidPidfd, ReapsTheChild) {
  SKIP_WITHOUT_PIDFD();
  pid_t pid = fork();
  if (pid == 0) _exit(7);
  int fd = PidfdOpen(pid, 0);
  ASSERT_GE(fd, 0);
  siginfo_t info{};
  ASSERT_EQ(WaitidRaw(P_PIDFD, fd, &info, WEXITED), 0) << strerror(errno);
  EXPECT_EQ(info.si_signo, SIGCHLD);
  EXPECT_EQ(info.si_pid, pid);
  EXPECT_EQ(info.si_code, CLD_EXITED);
  EXPECT_EQ(info.si_status, 7);
  EXPECT_FAILS_WITH(WaitidRaw(P_PIDFD, fd, &info, WEXITED), ECHILD);
  EXPECT_FAILS_WITH(waitpid(pid, nullptr, WNOHANG), ECHILD);
  close(fd);
}

TEST(WaitidPidfd, WnowaitLeavesTheZombie) {
  SKIP_WITHOUT_PIDFD();
  pid_t pid = fork();
  if (pid == 0) _exit(3);
  int fd = PidfdOpen(pid, 0);
  ASSERT_GE(fd, 0);
  siginfo_t info{};
  ASSERT_EQ(WaitidRaw(P_PIDFD, fd, &info, WEXITED | WNOWAIT), 0) << strerror(errno);
  EXPECT_EQ(info.si_pid, pid);
  int status = 0;
  EXPECT_EQ(waitpid(pid, &status, 0), pid);
  EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 3);
  close(fd);
}

TEST(WaitidPidfd, WaitsOnlyForThatChild) {
  SKIP_WITHOUT_PIDFD();
  pid_t other = fork();
  if (other == 0) _exit(1);
  pid_t pid = fork();
  if (pid == 0) {
    husk_test::SleepMs(100);
    _exit(2);
  }
  int fd = PidfdOpen(pid, 0);
  ASSERT_GE(fd, 0);
  siginfo_t info{};
  ASSERT_EQ(WaitidRaw(P_PIDFD, fd, &info, WEXITED), 0) << strerror(errno);
  EXPECT_EQ(info.si_pid, pid);
  EXPECT_EQ(info.si_status, 2);
  EXPECT_EQ(waitpid(other, nullptr, 0), other);
  close(fd);
}

TEST(WaitidPidfd, ReportsAStop) {
  SKIP_WITHOUT_PIDFD();
  pid_t pid = fork();
  if (pid == 0) {
    raise(SIGSTOP);
    _exit(0);
  }
  int fd = PidfdOpen(pid, 0);
  ASSERT_GE(fd, 0);
  siginfo_t info{};
  ASSERT_EQ(WaitidRaw(P_PIDFD, fd, &info, WSTOPPED), 0) << strerror(errno);
  EXPECT_EQ(info.si_code, CLD_STOPPED);
  EXPECT_EQ(info.si_status, SIGSTOP);
  kill(pid, SIGKILL);
  EXPECT_EQ(waitpid(pid, nullptr, 0), pid);
  close(fd);
}

TEST(WaitidPidfd, NonblockingPidfdIsEagainWithoutWnohang) {
  SKIP_WITHOUT_PIDFD();
  Child c;
  int fd = PidfdOpen(c.pid(), kPidfdNonblock);
  ASSERT_GE(fd, 0);
  siginfo_t info{};
  EXPECT_FAILS_WITH(WaitidRaw(P_PIDFD, fd, &info, WEXITED), EAGAIN);
  memset(&info, 0xff, sizeof(info));
  EXPECT_EQ(WaitidRaw(P_PIDFD, fd, &info, WEXITED | WNOHANG), 0) << strerror(errno);
  EXPECT_EQ(info.si_pid, 0);
  // A blocking pidfd of the same child waits, with WNOHANG as asked.
  int blocking = PidfdOpen(c.pid(), 0);
  EXPECT_EQ(WaitidRaw(P_PIDFD, blocking, &info, WEXITED | WNOHANG), 0);
  close(blocking);
  close(fd);
}

TEST(WaitidPidfd, NotOurChildIsEchild) {
  SKIP_WITHOUT_PIDFD();
  int fd = PidfdOpen(getpid(), 0);
  ASSERT_GE(fd, 0);
  siginfo_t info{};
  EXPECT_FAILS_WITH(WaitidRaw(P_PIDFD, fd, &info, WEXITED | WNOHANG), ECHILD);
  EXPECT_FAILS_WITH(WaitidRaw(P_PIDFD, fd, &info, WEXITED), ECHILD);
  close(fd);
}

TEST(WaitidPidfd, NotAPidfdIsEbadfAndNegativeIsEinval) {
  SKIP_WITHOUT_PIDFD();
  int p[2];
  ASSERT_EQ(pipe(p), 0);
  siginfo_t info{};
  EXPECT_FAILS_WITH(WaitidRaw(P_PIDFD, p[0], &info, WEXITED | WNOHANG), EBADF);
  EXPECT_FAILS_WITH(WaitidRaw(P_PIDFD, husk_test::ClosedFd(), &info, WEXITED | WNOHANG), EBADF);
  EXPECT_FAILS_WITH(WaitidRaw(P_PIDFD, -1, &info, WEXITED | WNOHANG), EINVAL);
  close(p[0]);
  close(p[1]);
}

// ---- clone(2) and clone3(2) with CLONE_PIDFD ----

TEST(ClonePidfd, PidfdGoesWhereParentTidPoints) {
  SKIP_WITHOUT_PIDFD();
  int pidfd = -1;
  long pid = syscall(SYS_clone, CLONE_PIDFD | SIGCHLD, 0, &pidfd, nullptr, 0);
  if (pid == 0) _exit(5);
  ASSERT_GT(pid, 0) << strerror(errno);
  ASSERT_GE(pidfd, 0);
  EXPECT_EQ(fcntl(pidfd, F_GETFD), FD_CLOEXEC);
  siginfo_t info{};
  ASSERT_EQ(WaitidRaw(P_PIDFD, pidfd, &info, WEXITED), 0) << strerror(errno);
  EXPECT_EQ(info.si_pid, pid);
  EXPECT_EQ(info.si_status, 5);
  close(pidfd);
}

TEST(ClonePidfd, WithParentSettidOrDetachedIsEinval) {
  SKIP_WITHOUT_PIDFD();
  int pidfd = -1;
  EXPECT_FAILS_WITH(syscall(SYS_clone, CLONE_PIDFD | CLONE_PARENT_SETTID | SIGCHLD, 0, &pidfd, nullptr, 0),
                    EINVAL);
  EXPECT_FAILS_WITH(syscall(SYS_clone, CLONE_PIDFD | kCloneDetached | SIGCHLD, 0, &pidfd, nullptr, 0),
                    EINVAL);
  EXPECT_EQ(pidfd, -1);
  EXPECT_FAILS_WITH(waitpid(-1, nullptr, WNOHANG), ECHILD);
}

TEST(ClonePidfd, BadAddressIsEfaultAndMakesNoChild) {
  SKIP_WITHOUT_PIDFD();
  const int next = husk_test::ClosedFd();
  EXPECT_FAILS_WITH(syscall(SYS_clone, CLONE_PIDFD | SIGCHLD, 0, husk_test::BadPtr(), nullptr, 0), EFAULT);
  EXPECT_FAILS_WITH(waitpid(-1, nullptr, WNOHANG), ECHILD);
  // The fd it had taken is free again.
  EXPECT_EQ(husk_test::ClosedFd(), next);
}

TEST(ClonePidfd, Clone3WritesPidfdAndParentTid) {
  SKIP_WITHOUT_PIDFD();
  int pidfd = -1, ptid = -1;
  clone_args ca{};
  ca.flags = CLONE_PIDFD | CLONE_PARENT_SETTID;
  ca.pidfd = reinterpret_cast<uintptr_t>(&pidfd);
  ca.parent_tid = reinterpret_cast<uintptr_t>(&ptid);
  ca.exit_signal = SIGCHLD;
  long pid = syscall(SYS_clone3, &ca, sizeof(ca));
  if (pid == 0) _exit(6);
  ASSERT_GT(pid, 0) << strerror(errno);
  EXPECT_EQ(ptid, pid);
  ASSERT_GE(pidfd, 0);
  EXPECT_EQ(fcntl(pidfd, F_GETFD), FD_CLOEXEC);
  EXPECT_EQ(Revents(pidfd, POLLIN, 5000), POLLIN);
  siginfo_t info{};
  ASSERT_EQ(WaitidRaw(P_PIDFD, pidfd, &info, WEXITED), 0) << strerror(errno);
  EXPECT_EQ(info.si_status, 6);
  close(pidfd);
}

TEST(ClonePidfd, Clone3BadPidfdAddressIsEfault) {
  SKIP_WITHOUT_PIDFD();
  clone_args ca{};
  ca.flags = CLONE_PIDFD;
  ca.pidfd = reinterpret_cast<uintptr_t>(husk_test::BadPtr());
  ca.exit_signal = SIGCHLD;
  EXPECT_FAILS_WITH(syscall(SYS_clone3, &ca, sizeof(ca)), EFAULT);
  EXPECT_FAILS_WITH(waitpid(-1, nullptr, WNOHANG), ECHILD);
}

TEST(ClonePidfd, ThreadGetsAThreadPidfd) {
  SKIP_WITHOUT_PIDFD_THREAD();
  int pidfd = -1;
  Thread th(&pidfd);
  ASSERT_GT(th.tid(), 0) << strerror(th.error());
  ASSERT_GE(pidfd, 0);
  EXPECT_NE(fcntl(pidfd, F_GETFL) & O_EXCL, 0);
  EXPECT_EQ(Revents(pidfd, POLLIN, 0), 0);
  th.Stop();
  EXPECT_EQ(Revents(pidfd, POLLIN, 5000), POLLIN | POLLHUP);
  close(pidfd);
}

// ---- pidfd_getfd ----

TEST(PidfdGetfd, DuplicatesAnotherProcessFile) {
  SKIP_WITHOUT_PIDFD();
  int data[2], sync[2];
  ASSERT_EQ(pipe(data), 0);
  ASSERT_EQ(pipe(sync), 0);
  constexpr int kChildFd = 100;
  pid_t pid = fork();
  if (pid == 0) {
    // Only the child has the write end, at kChildFd.
    dup2(data[1], kChildFd);
    close(data[1]);
    char c = 1;
    if (write(sync[1], &c, 1) != 1) _exit(1);
    for (;;) pause();
  }
  close(data[1]);
  char c;
  ASSERT_EQ(read(sync[0], &c, 1), 1);
  int pidfd = PidfdOpen(pid, 0);
  ASSERT_GE(pidfd, 0);
  int fd = PidfdGetfd(pidfd, kChildFd, 0);
  ASSERT_GE(fd, 0) << strerror(errno);
  EXPECT_EQ(fcntl(fd, F_GETFD), FD_CLOEXEC);
  ASSERT_EQ(write(fd, "x", 1), 1);
  ASSERT_EQ(read(data[0], &c, 1), 1);
  EXPECT_EQ(c, 'x');
  EXPECT_FAILS_WITH(PidfdGetfd(pidfd, 101, 0), EBADF);
  kill(pid, SIGKILL);
  waitpid(pid, nullptr, 0);
  // The process is gone: ESRCH.
  EXPECT_FAILS_WITH(PidfdGetfd(pidfd, kChildFd, 0), ESRCH);
  close(fd);
  close(pidfd);
  close(data[0]);
  close(sync[0]);
  close(sync[1]);
}

TEST(PidfdGetfd, OwnProcessFileIsTheSameFile) {
  SKIP_WITHOUT_PIDFD();
  int pidfd = PidfdOpen(getpid(), 0);
  ASSERT_GE(pidfd, 0);
  int fd = PidfdGetfd(pidfd, pidfd, 0);
  ASSERT_GE(fd, 0) << strerror(errno);
  struct stat a, b;
  ASSERT_EQ(fstat(pidfd, &a), 0);
  ASSERT_EQ(fstat(fd, &b), 0);
  EXPECT_EQ(a.st_ino, b.st_ino);
  EXPECT_EQ(PidfdSendSignal(fd, 0, nullptr, 0), 0);  // it is a pidfd too
  close(fd);
  close(pidfd);
}

TEST(PidfdGetfd, ErrorsOfTheArguments) {
  SKIP_WITHOUT_PIDFD();
  int pidfd = PidfdOpen(getpid(), 0);
  ASSERT_GE(pidfd, 0);
  EXPECT_FAILS_WITH(PidfdGetfd(pidfd, 0, 1), EINVAL);
  EXPECT_FAILS_WITH(PidfdGetfd(pidfd, husk_test::ClosedFd(), 0), EBADF);
  EXPECT_FAILS_WITH(PidfdGetfd(pidfd, -1, 0), EBADF);
  int p[2];
  ASSERT_EQ(pipe(p), 0);
  EXPECT_FAILS_WITH(PidfdGetfd(p[0], 0, 0), EBADF);
  EXPECT_FAILS_WITH(PidfdGetfd(husk_test::ClosedFd(), 0, 0), EBADF);
  close(p[0]);
  close(p[1]);
  close(pidfd);
}

TEST(PidfdGetfd, ZombieIsEsrch) {
  SKIP_WITHOUT_PIDFD();
  pid_t pid = ZombieChild(0);
  int pidfd = PidfdOpen(pid, 0);
  ASSERT_GE(pidfd, 0);
  EXPECT_FAILS_WITH(PidfdGetfd(pidfd, 0, 0), ESRCH);
  EXPECT_EQ(waitpid(pid, nullptr, 0), pid);
  close(pidfd);
}

TEST(PidfdGetfd, AnotherUsersProcessIsEperm) {
  SKIP_WITHOUT_PIDFD();
  if (geteuid() != 0) GTEST_SKIP() << "needs root to change ids";
  const pid_t parent = getpid();
  husk_test::RunInChild([parent] {
    int pidfd = PidfdOpen(parent, 0);
    ASSERT_GE(pidfd, 0);
    ASSERT_EQ(setresgid(47311, 47311, 47311), 0);
    ASSERT_EQ(setresuid(47311, 47311, 47311), 0);
    EXPECT_FAILS_WITH(PidfdGetfd(pidfd, pidfd, 0), EPERM);
    // Its own files it may still take.
    int self = PidfdOpen(getpid(), 0);
    ASSERT_GE(self, 0);
    int fd = PidfdGetfd(self, self, 0);
    EXPECT_GE(fd, 0) << strerror(errno);
  });
}

}  // namespace
