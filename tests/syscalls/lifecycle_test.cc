// Process lifecycle: fork/vfork/_exit/wait4/waitid, pipes shared across fork,
// execve, signal delivery (handlers, masks, alternate stacks, restart,
// sigsuspend), threads and futexes, process groups and sessions.
//
// Anything that changes signal dispositions, masks or the process group runs
// in a forked child (RunInChild), so a signal the kernel fails to deliver, or
// delivers late, cannot hit the test binary itself. A child always leaves
// with _exit: 0 when it recorded no new gtest failure, 1 otherwise.

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <linux/futex.h>
#include <pthread.h>
#include <setjmp.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <atomic>
#include <string>

#include <gtest/gtest.h>

#include "test_util.h"

namespace {

using husk_test::BadPtr;
using husk_test::FailureCount;
using husk_test::NowMs;
using husk_test::SleepMs;

// A pid that cannot exist (above PID_MAX_LIMIT).
constexpr pid_t kNoSuchPid = INT_MAX;

// ---------------------------------------------------------------- helpers

// Forks. The child runs fn (which may use EXPECT_*/ASSERT_*) and _exits with
// 0 when fn added no failure, 1 otherwise; it never returns into gtest.
template <typename F>
pid_t Spawn(F&& fn) {
  fflush(stdout);
  fflush(stderr);
  int before = FailureCount();
  pid_t pid = fork();
  if (pid == 0) {
    fn();
    fflush(stdout);
    _exit(FailureCount() > before ? 1 : 0);
  }
  return pid;
}

std::string Describe(int status) {
  if (WIFEXITED(status)) return "exited " + std::to_string(WEXITSTATUS(status));
  if (WIFSIGNALED(status))
    return "killed by signal " + std::to_string(WTERMSIG(status));
  if (WIFSTOPPED(status)) return "stopped by " + std::to_string(WSTOPSIG(status));
  return "status " + std::to_string(status);
}

// Reaps pid and returns its status, or -1 on error. A child still running
// after timeout_ms is killed and reported as a failure, so a kernel bug that
// leaves it blocked cannot hang the whole suite.
int Wait(pid_t pid, int timeout_ms = 5000) {
  long deadline = NowMs() + timeout_ms;
  for (;;) {
    int status = 0;
    pid_t r = waitpid(pid, &status, WNOHANG);
    if (r == pid) return status;
    if (r < 0 && errno != EINTR) {
      ADD_FAILURE() << "waitpid(" << pid << "): " << strerror(errno);
      return -1;
    }
    if (NowMs() > deadline) {
      ADD_FAILURE() << "child " << pid << " still running after " << timeout_ms
                    << " ms; killed";
      kill(pid, SIGKILL);
      waitpid(pid, &status, 0);
      return -1;
    }
    SleepMs(1);
  }
}

// Forks a child that runs fn (which should not return) and expects it to
// exit with `code`.
template <typename F>
void ExpectChildExits(int code, F&& fn) {
  fflush(stdout);
  fflush(stderr);
  pid_t pid = fork();
  if (pid == 0) {
    fn();
    _exit(125);
  }
  ASSERT_GT(pid, 0);
  int status = Wait(pid);
  EXPECT_TRUE(WIFEXITED(status)) << Describe(status);
  EXPECT_EQ(WEXITSTATUS(status), code);
}

// In a child: starts a thread running fn, or exits 126.
void StartThread(void* (*fn)(void*)) {
  pthread_t t;
  if (pthread_create(&t, nullptr, fn, nullptr) != 0) _exit(126);
}

// Runs fn in a forked child and expects it to exit 0.
template <typename F>
void RunInChild(F&& fn) {
  pid_t pid = Spawn(fn);
  ASSERT_GT(pid, 0) << strerror(errno);
  int status = Wait(pid);
  EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0)
      << "child " << Describe(status);
}

// A forked process that sends `sig` to `target` every 5 ms until Stop().
// Used where one signal could arrive before the target blocks.
class Signaller {
 public:
  Signaller(pid_t target, int sig, int first_delay_ms = 5) {
    int p[2];
    if (pipe2(p, O_CLOEXEC) != 0) abort();
    fflush(stdout);
    fflush(stderr);
    pid_ = fork();
    if (pid_ == 0) {
      close(p[1]);
      fcntl(p[0], F_SETFL, O_NONBLOCK);
      SleepMs(first_delay_ms);
      for (int i = 0; i < 2000; i++) {
        kill(target, sig);
        SleepMs(5);
        char c;
        if (read(p[0], &c, 1) == 0) break;  // the target called Stop()
      }
      _exit(0);
    }
    close(p[0]);
    stop_fd_ = p[1];
  }
  void Stop() {
    if (pid_ <= 0) return;
    close(stop_fd_);
    int status = Wait(pid_);
    EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0)
        << "signaller " << Describe(status);
    pid_ = -1;
  }
  ~Signaller() { Stop(); }

 private:
  pid_t pid_ = -1;
  int stop_fd_ = -1;
};

uint64_t Bit(int sig) { return uint64_t{1} << (sig - 1); }

uint64_t CurrentMask() {
  uint64_t m = 0;
  if (syscall(SYS_rt_sigprocmask, SIG_BLOCK, nullptr, &m, 8) != 0) abort();
  return m;
}

uint64_t PendingSet() {
  uint64_t m = 0;
  if (syscall(SYS_rt_sigpending, &m, 8) != 0) abort();
  return m;
}

void BlockSignal(int sig) {
  uint64_t m = Bit(sig);
  ASSERT_EQ(syscall(SYS_rt_sigprocmask, SIG_BLOCK, &m, nullptr, 8), 0);
}

void UnblockSignal(int sig) {
  uint64_t m = Bit(sig);
  ASSERT_EQ(syscall(SYS_rt_sigprocmask, SIG_UNBLOCK, &m, nullptr, 8), 0);
}

void Install(int sig, void (*h)(int), int flags = 0,
             std::initializer_list<int> mask = {}) {
  struct sigaction sa;
  memset(&sa, 0, sizeof(sa));
  sa.sa_handler = h;
  sa.sa_flags = flags;
  sigemptyset(&sa.sa_mask);
  for (int s : mask) sigaddset(&sa.sa_mask, s);
  ASSERT_EQ(sigaction(sig, &sa, nullptr), 0) << strerror(errno);
}

void InstallInfo(int sig, void (*h)(int, siginfo_t*, void*), int flags = 0) {
  struct sigaction sa;
  memset(&sa, 0, sizeof(sa));
  sa.sa_sigaction = h;
  sa.sa_flags = flags | SA_SIGINFO;
  sigemptyset(&sa.sa_mask);
  ASSERT_EQ(sigaction(sig, &sa, nullptr), 0) << strerror(errno);
}

volatile sig_atomic_t g_hits;
volatile sig_atomic_t g_hits2;
siginfo_t g_info;
uint64_t g_mask_in_handler;

void CountHandler(int) { g_hits = g_hits + 1; }
void CountHandler2(int) { g_hits2 = g_hits2 + 1; }
void InfoHandler(int, siginfo_t* si, void*) {
  g_info = *si;
  g_hits = g_hits + 1;
}
void MaskHandler(int) {
  g_mask_in_handler = CurrentMask();
  g_hits = g_hits + 1;
}

long Futex(int* uaddr, int op, int val, const struct timespec* ts = nullptr) {
  return syscall(SYS_futex, uaddr, op, val, ts, nullptr, 0);
}

// ================================================================ fork/wait

TEST(Fork, ExitStatusReachesWaitpid) {
  pid_t pid = fork();
  if (pid == 0) _exit(42);
  ASSERT_GT(pid, 0) << strerror(errno);
  int status = 0;
  ASSERT_EQ(waitpid(pid, &status, 0), pid);
  EXPECT_TRUE(WIFEXITED(status)) << Describe(status);
  EXPECT_FALSE(WIFSIGNALED(status));
  EXPECT_EQ(WEXITSTATUS(status), 42);
}

TEST(Fork, ExitStatusIsTruncatedToEightBits) {
  pid_t pid = fork();
  if (pid == 0) syscall(SYS_exit_group, 300);
  ASSERT_GT(pid, 0);
  int status = Wait(pid);
  EXPECT_TRUE(WIFEXITED(status)) << Describe(status);
  EXPECT_EQ(WEXITSTATUS(status), 300 & 0xff);
}

TEST(Fork, Wait4ReturnsPidAndRusage) {
  pid_t pid = fork();
  if (pid == 0) _exit(3);
  ASSERT_GT(pid, 0);
  int status = 0;
  struct rusage ru;
  memset(&ru, 0xff, sizeof(ru));
  ASSERT_EQ(syscall(SYS_wait4, pid, &status, 0, &ru), pid);
  EXPECT_TRUE(WIFEXITED(status));
  EXPECT_EQ(WEXITSTATUS(status), 3);
  EXPECT_GE(ru.ru_utime.tv_sec, 0);
  EXPECT_GE(ru.ru_utime.tv_usec, 0);
  EXPECT_LT(ru.ru_utime.tv_usec, 1000000);
  EXPECT_GE(ru.ru_stime.tv_usec, 0);
  EXPECT_LT(ru.ru_stime.tv_usec, 1000000);
}

TEST(Fork, ChildSeesZeroParentSeesChildPid) {
  int p[2];
  ASSERT_EQ(pipe(p), 0);
  pid_t pid = Spawn([&] {
    close(p[0]);
    pid_t me = getpid();
    ASSERT_EQ(write(p[1], &me, sizeof(me)), (ssize_t)sizeof(me));
    EXPECT_EQ(syscall(SYS_gettid), me);
  });
  ASSERT_GT(pid, 0);
  close(p[1]);
  pid_t reported = 0;
  EXPECT_EQ(read(p[0], &reported, sizeof(reported)), (ssize_t)sizeof(reported));
  EXPECT_EQ(reported, pid);
  EXPECT_NE(pid, getpid());
  close(p[0]);
  int status = Wait(pid);
  EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0) << Describe(status);
}

TEST(Fork, GetppidInChildIsParentPid) {
  pid_t parent = getpid();
  RunInChild([&] {
    EXPECT_EQ(getppid(), parent);
    EXPECT_EQ(syscall(SYS_getppid), parent);
  });
}

int g_global = 1;

TEST(Fork, MemoryIsIsolated) {
  g_global = 1;
  int* heap = new int(10);
  int p[2], q[2];
  ASSERT_EQ(pipe(p), 0);
  ASSERT_EQ(pipe(q), 0);
  pid_t pid = Spawn([&] {
    close(p[0]);
    close(q[1]);
    g_global = 2;
    *heap = 20;
    EXPECT_EQ(g_global, 2);
    ASSERT_EQ(write(p[1], "w", 1), 1);
    // Wait until the parent has modified its own copy.
    char c;
    ASSERT_EQ(read(q[0], &c, 1), 1);
    EXPECT_EQ(g_global, 2);
    EXPECT_EQ(*heap, 20);
  });
  ASSERT_GT(pid, 0);
  close(p[1]);
  close(q[0]);
  char c;
  ASSERT_EQ(read(p[0], &c, 1), 1);
  EXPECT_EQ(g_global, 1);
  EXPECT_EQ(*heap, 10);
  g_global = 3;
  *heap = 30;
  ASSERT_EQ(write(q[1], "p", 1), 1);
  int status = Wait(pid);
  EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0) << Describe(status);
  EXPECT_EQ(g_global, 3);
  EXPECT_EQ(*heap, 30);
  delete heap;
  close(p[0]);
  close(q[1]);
  g_global = 1;
}

TEST(Fork, SharedAnonymousMappingIsShared) {
  void* m = mmap(nullptr, 4096, PROT_READ | PROT_WRITE,
                 MAP_SHARED | MAP_ANONYMOUS, -1, 0);
  ASSERT_NE(m, MAP_FAILED);
  void* priv = mmap(nullptr, 4096, PROT_READ | PROT_WRITE,
                    MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  ASSERT_NE(priv, MAP_FAILED);
  int* shared = static_cast<int*>(m);
  int* pv = static_cast<int*>(priv);
  *shared = 1;
  *pv = 1;
  RunInChild([&] {
    *shared = 77;
    *pv = 77;
  });
  EXPECT_EQ(*shared, 77);
  EXPECT_EQ(*pv, 1);
  munmap(m, 4096);
  munmap(priv, 4096);
}

TEST(Fork, FdTableIsCopiedButOffsetIsShared) {
  char tmpl[] = "/tmp/husk_lifecycle_XXXXXX";
  int fd = mkstemp(tmpl);
  ASSERT_GE(fd, 0) << strerror(errno);
  unlink(tmpl);
  ASSERT_EQ(write(fd, "abcdef", 6), 6);
  ASSERT_EQ(lseek(fd, 0, SEEK_SET), 0);
  int extra = dup(fd);
  ASSERT_GE(extra, 0);
  RunInChild([&] {
    char buf[3];
    EXPECT_EQ(read(fd, buf, 3), 3);
    EXPECT_EQ(memcmp(buf, "abc", 3), 0);
    EXPECT_EQ(close(extra), 0);
  });
  // The child's close did not close the parent's descriptor...
  EXPECT_GE(fcntl(extra, F_GETFD), 0) << strerror(errno);
  // ...but the child's read moved the shared file offset.
  char buf[8] = {};
  EXPECT_EQ(read(fd, buf, sizeof(buf)), 3);
  EXPECT_STREQ(buf, "def");
  close(extra);
  close(fd);
}

TEST(Fork, PipeSharedAcrossFork) {
  int p[2];
  ASSERT_EQ(pipe(p), 0);
  const std::string msg(10000, 'z');
  pid_t pid = Spawn([&] {
    close(p[0]);
    size_t off = 0;
    while (off < msg.size()) {
      ssize_t n = write(p[1], msg.data() + off, msg.size() - off);
      ASSERT_GT(n, 0) << strerror(errno);
      off += n;
    }
  });
  ASSERT_GT(pid, 0);
  close(p[1]);
  std::string got;
  char buf[4096];
  for (;;) {
    ssize_t n = read(p[0], buf, sizeof(buf));
    ASSERT_GE(n, 0) << strerror(errno);
    if (n == 0) break;  // EOF: the child exited and its write end closed
    got.append(buf, n);
  }
  EXPECT_EQ(got, msg);
  close(p[0]);
  int status = Wait(pid);
  EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0) << Describe(status);
}

TEST(Vfork, ChildExitStatus) {
  pid_t pid = vfork();
  if (pid == 0) _exit(5);
  ASSERT_GT(pid, 0) << strerror(errno);
  int status = 0;
  ASSERT_EQ(waitpid(pid, &status, 0), pid);
  EXPECT_TRUE(WIFEXITED(status)) << Describe(status);
  EXPECT_EQ(WEXITSTATUS(status), 5);
}

volatile int g_vfork_word;

TEST(Vfork, SharesMemoryAndSuspendsParentUntilExit) {
  g_vfork_word = 0;
  pid_t parent = getpid();
  pid_t pid = vfork();
  if (pid == 0) {
    // Only async-signal-safe steps: store to memory, then _exit.
    g_vfork_word = (syscall(SYS_getppid) == parent) ? 1 : 2;
    _exit(0);
  }
  ASSERT_GT(pid, 0) << strerror(errno);
  // The parent resumes only after the child exited, and sees its store.
  EXPECT_EQ(g_vfork_word, 1);
  int status = Wait(pid);
  EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0) << Describe(status);
}

TEST(Vfork, ExecveInChild) {
  char* const argv[] = {const_cast<char*>("sh"), const_cast<char*>("-c"),
                        const_cast<char*>("exit 6"), nullptr};
  char* const envp[] = {nullptr};
  pid_t pid = vfork();
  if (pid == 0) {
    execve("/bin/sh", argv, envp);
    dprintf(2, "execve(/bin/sh): %s\n", strerror(errno));
    _exit(127);
  }
  ASSERT_GT(pid, 0);
  int status = Wait(pid);
  EXPECT_TRUE(WIFEXITED(status)) << Describe(status);
  EXPECT_EQ(WEXITSTATUS(status), 6);
}

TEST(Wait, KilledBySigkill) {
  pid_t pid = fork();
  if (pid == 0) {
    for (;;) pause();
  }
  ASSERT_GT(pid, 0);
  ASSERT_EQ(kill(pid, SIGKILL), 0);
  int status = Wait(pid);
  EXPECT_TRUE(WIFSIGNALED(status)) << Describe(status);
  EXPECT_EQ(WTERMSIG(status), SIGKILL);
  EXPECT_FALSE(WIFEXITED(status));
}

TEST(Wait, ChildRaisingSigsegvIsSignaled) {
  pid_t pid = fork();
  if (pid == 0) {
    signal(SIGSEGV, SIG_DFL);
    raise(SIGSEGV);
    _exit(99);
  }
  ASSERT_GT(pid, 0);
  int status = Wait(pid);
  // WCOREDUMP depends on RLIMIT_CORE and core_pattern: not checked.
  EXPECT_TRUE(WIFSIGNALED(status)) << Describe(status);
  EXPECT_EQ(WTERMSIG(status), SIGSEGV);
}

TEST(Wait, ChildFaultingIsKilledBySigsegv) {
  void* bad = BadPtr();
  pid_t pid = fork();
  if (pid == 0) {
    signal(SIGSEGV, SIG_DFL);
    *static_cast<volatile int*>(bad) = 1;
    _exit(99);
  }
  ASSERT_GT(pid, 0);
  int status = Wait(pid);
  EXPECT_TRUE(WIFSIGNALED(status)) << Describe(status);
  EXPECT_EQ(WTERMSIG(status), SIGSEGV);
}

TEST(Wait, WnohangReturnsZeroForRunningChild) {
  int p[2];
  ASSERT_EQ(pipe(p), 0);
  pid_t pid = Spawn([&] {
    close(p[1]);
    char c;
    EXPECT_EQ(read(p[0], &c, 1), 0);  // blocks until the parent closes
  });
  ASSERT_GT(pid, 0);
  close(p[0]);
  int status = 12345;
  EXPECT_EQ(waitpid(pid, &status, WNOHANG), 0);
  EXPECT_EQ(syscall(SYS_wait4, -1, &status, WNOHANG, nullptr), 0);
  close(p[1]);
  status = Wait(pid);
  EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0) << Describe(status);
}

TEST(Wait, NoChildrenIsEchild) {
  int status;
  EXPECT_FAILS_WITH(syscall(SYS_wait4, -1, &status, 0, nullptr), ECHILD);
  EXPECT_FAILS_WITH(syscall(SYS_wait4, -1, &status, WNOHANG, nullptr), ECHILD);
  EXPECT_FAILS_WITH(syscall(SYS_wait4, 0, &status, 0, nullptr), ECHILD);
  // A process that exists but is not our child.
  EXPECT_FAILS_WITH(syscall(SYS_wait4, getpid(), &status, 0, nullptr), ECHILD);
  EXPECT_FAILS_WITH(syscall(SYS_wait4, kNoSuchPid, &status, 0, nullptr), ECHILD);
  siginfo_t info;
  EXPECT_FAILS_WITH(syscall(SYS_waitid, P_ALL, 0, &info, WEXITED, nullptr),
                    ECHILD);
}

TEST(Wait, ReapedChildIsGone) {
  pid_t pid = fork();
  if (pid == 0) _exit(0);
  ASSERT_GT(pid, 0);
  Wait(pid);
  int status;
  EXPECT_FAILS_WITH(syscall(SYS_wait4, pid, &status, 0, nullptr), ECHILD);
  EXPECT_FAILS_WITH(kill(pid, 0), ESRCH);
}

TEST(Wait, SpecificPidReapsOnlyThatChild) {
  pid_t a = fork();
  if (a == 0) _exit(1);
  pid_t b = fork();
  if (b == 0) _exit(2);
  ASSERT_GT(a, 0);
  ASSERT_GT(b, 0);
  int status = 0;
  ASSERT_EQ(waitpid(b, &status, 0), b);
  EXPECT_EQ(WEXITSTATUS(status), 2);
  ASSERT_EQ(waitpid(-1, &status, 0), a);
  EXPECT_EQ(WEXITSTATUS(status), 1);
}

TEST(Wait, ZombieKeepsStatusUntilReaped) {
  pid_t pid = fork();
  if (pid == 0) _exit(9);
  ASSERT_GT(pid, 0);
  SleepMs(20);  // long enough to be a zombie
  // A zombie still exists for kill(pid, 0).
  EXPECT_EQ(kill(pid, 0), 0);
  int status = Wait(pid);
  EXPECT_EQ(WEXITSTATUS(status), 9);
}

TEST(Wait4, InvalidOptionIsEinval) {
  int status;
  EXPECT_FAILS_WITH(syscall(SYS_wait4, -1, &status, 0x10000, nullptr), EINVAL);
  // WEXITED and WNOWAIT are waitid-only options.
  EXPECT_FAILS_WITH(syscall(SYS_wait4, -1, &status, WEXITED, nullptr), EINVAL);
  EXPECT_FAILS_WITH(syscall(SYS_wait4, -1, &status, WNOWAIT, nullptr), EINVAL);
}

TEST(Wait4, InvalidOptionBeatsEchild) {
  // The option check comes first even with a child to wait for.
  pid_t pid = fork();
  if (pid == 0) _exit(0);
  ASSERT_GT(pid, 0);
  int status;
  EXPECT_FAILS_WITH(syscall(SYS_wait4, pid, &status, 0x10000, nullptr), EINVAL);
  Wait(pid);
}

TEST(Wait4, BadStatusPointerIsEfaultAndChildIsReaped) {
  pid_t pid = fork();
  if (pid == 0) _exit(0);
  ASSERT_GT(pid, 0);
  EXPECT_FAILS_WITH(syscall(SYS_wait4, pid, BadPtr(), 0, nullptr), EFAULT);
  int status;
  EXPECT_FAILS_WITH(syscall(SYS_wait4, pid, &status, 0, nullptr), ECHILD);
}

TEST(Waitid, PidWexitedFillsSiginfo) {
  pid_t pid = fork();
  if (pid == 0) _exit(7);
  ASSERT_GT(pid, 0);
  siginfo_t info;
  memset(&info, 0x5a, sizeof(info));
  ASSERT_EQ(syscall(SYS_waitid, P_PID, pid, &info, WEXITED, nullptr), 0)
      << strerror(errno);
  EXPECT_EQ(info.si_signo, SIGCHLD);
  EXPECT_EQ(info.si_errno, 0);
  EXPECT_EQ(info.si_code, CLD_EXITED);
  EXPECT_EQ(info.si_pid, pid);
  EXPECT_EQ(info.si_uid, getuid());
  EXPECT_EQ(info.si_status, 7);
  // Reaped.
  EXPECT_FAILS_WITH(syscall(SYS_waitid, P_PID, pid, &info, WEXITED, nullptr),
                    ECHILD);
}

TEST(Waitid, KilledChildReportsCldKilled) {
  pid_t pid = fork();
  if (pid == 0) {
    for (;;) pause();
  }
  ASSERT_GT(pid, 0);
  ASSERT_EQ(kill(pid, SIGKILL), 0);
  siginfo_t info;
  memset(&info, 0, sizeof(info));
  ASSERT_EQ(syscall(SYS_waitid, P_PID, pid, &info, WEXITED, nullptr), 0);
  EXPECT_EQ(info.si_signo, SIGCHLD);
  EXPECT_EQ(info.si_code, CLD_KILLED);
  EXPECT_EQ(info.si_pid, pid);
  EXPECT_EQ(info.si_status, SIGKILL);
}

TEST(Waitid, PallReturnsAnyChild) {
  pid_t pid = fork();
  if (pid == 0) _exit(4);
  ASSERT_GT(pid, 0);
  siginfo_t info;
  memset(&info, 0, sizeof(info));
  ASSERT_EQ(syscall(SYS_waitid, P_ALL, 0, &info, WEXITED, nullptr), 0);
  EXPECT_EQ(info.si_pid, pid);
  EXPECT_EQ(info.si_status, 4);
}

TEST(Waitid, NoStateFlagIsEinval) {
  siginfo_t info;
  EXPECT_FAILS_WITH(syscall(SYS_waitid, P_ALL, 0, &info, 0, nullptr), EINVAL);
  EXPECT_FAILS_WITH(syscall(SYS_waitid, P_ALL, 0, &info, WNOHANG, nullptr),
                    EINVAL);
  EXPECT_FAILS_WITH(syscall(SYS_waitid, P_ALL, 0, &info, WNOWAIT, nullptr),
                    EINVAL);
}

TEST(Waitid, BadIdtypeOrOptionIsEinval) {
  siginfo_t info;
  EXPECT_FAILS_WITH(syscall(SYS_waitid, 42, 0, &info, WEXITED, nullptr), EINVAL);
  EXPECT_FAILS_WITH(
      syscall(SYS_waitid, P_ALL, 0, &info, WEXITED | 0x10000, nullptr), EINVAL);
  // A P_PID id must be positive (for P_PGID, 0 means the caller's group).
  EXPECT_FAILS_WITH(syscall(SYS_waitid, P_PID, 0, &info, WEXITED, nullptr),
                    EINVAL);
  EXPECT_FAILS_WITH(syscall(SYS_waitid, P_PID, -1, &info, WEXITED, nullptr),
                    EINVAL);
}

TEST(Waitid, WnohangWithRunningChildZeroesSiginfo) {
  int p[2];
  ASSERT_EQ(pipe(p), 0);
  pid_t pid = Spawn([&] {
    close(p[1]);
    char c;
    read(p[0], &c, 1);
  });
  ASSERT_GT(pid, 0);
  close(p[0]);
  siginfo_t info;
  memset(&info, 0x5a, sizeof(info));
  EXPECT_EQ(syscall(SYS_waitid, P_PID, pid, &info, WEXITED | WNOHANG, nullptr),
            0);
  EXPECT_EQ(info.si_pid, 0);
  EXPECT_EQ(info.si_signo, 0);
  close(p[1]);
  int status = Wait(pid);
  EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0) << Describe(status);
}

TEST(Waitid, PgidSelectsByProcessGroup) {
  int p[2];
  ASSERT_EQ(pipe(p), 0);
  // A child in a process group of its own.
  pid_t pid = Spawn([&] {
    close(p[1]);
    setpgid(0, 0);
    char c;
    read(p[0], &c, 1);
  });
  ASSERT_GT(pid, 0);
  close(p[0]);
  // Both sides call setpgid so neither order races.
  int r = setpgid(pid, pid);
  EXPECT_TRUE(r == 0 || errno == EACCES) << strerror(errno);
  EXPECT_EQ(getpgid(pid), pid);
  close(p[1]);  // let it exit
  siginfo_t info;
  // Our own process group holds no child.
  EXPECT_FAILS_WITH(
      syscall(SYS_waitid, P_PGID, getpgrp(), &info, WEXITED | WNOHANG, nullptr),
      ECHILD);
  memset(&info, 0, sizeof(info));
  ASSERT_EQ(syscall(SYS_waitid, P_PGID, pid, &info, WEXITED, nullptr), 0)
      << strerror(errno);
  EXPECT_EQ(info.si_pid, pid);
  EXPECT_EQ(info.si_code, CLD_EXITED);
  EXPECT_EQ(info.si_status, 0);
}

TEST(Waitid, PgidOfOwnGroup) {
  pid_t pid = fork();
  if (pid == 0) _exit(8);
  ASSERT_GT(pid, 0);
  siginfo_t info;
  memset(&info, 0, sizeof(info));
  ASSERT_EQ(syscall(SYS_waitid, P_PGID, getpgrp(), &info, WEXITED, nullptr), 0)
      << strerror(errno);
  EXPECT_EQ(info.si_pid, pid);
  EXPECT_EQ(info.si_status, 8);
}

TEST(Waitid, WnowaitLeavesZombie) {
  pid_t pid = fork();
  if (pid == 0) _exit(11);
  ASSERT_GT(pid, 0);
  siginfo_t info;
  memset(&info, 0, sizeof(info));
  ASSERT_EQ(
      syscall(SYS_waitid, P_PID, pid, &info, WEXITED | WNOWAIT, nullptr), 0);
  EXPECT_EQ(info.si_pid, pid);
  EXPECT_EQ(info.si_code, CLD_EXITED);
  EXPECT_EQ(info.si_status, 11);
  // Still waitable, again with WNOWAIT, then for real.
  memset(&info, 0, sizeof(info));
  ASSERT_EQ(
      syscall(SYS_waitid, P_PID, pid, &info, WEXITED | WNOWAIT, nullptr), 0);
  EXPECT_EQ(info.si_pid, pid);
  int status = 0;
  ASSERT_EQ(waitpid(pid, &status, 0), pid);
  EXPECT_TRUE(WIFEXITED(status));
  EXPECT_EQ(WEXITSTATUS(status), 11);
  EXPECT_FAILS_WITH(waitpid(pid, &status, WNOHANG), ECHILD);
}

TEST(Waitid, BadInfopIsEfault) {
  pid_t pid = fork();
  if (pid == 0) _exit(0);
  ASSERT_GT(pid, 0);
  EXPECT_FAILS_WITH(
      syscall(SYS_waitid, P_PID, pid, BadPtr(), WEXITED | WNOWAIT, nullptr),
      EFAULT);
  Wait(pid);
}

// Polls waitid(P_PID, pid, options | WNOHANG) for up to timeout_ms; returns
// true once it reports a state change (in *info).
bool PollWaitid(pid_t pid, int options, siginfo_t* info, int timeout_ms) {
  long deadline = NowMs() + timeout_ms;
  do {
    memset(info, 0, sizeof(*info));
    if (syscall(SYS_waitid, P_PID, pid, info, options | WNOHANG, nullptr) != 0)
      return false;
    if (info->si_pid != 0) return true;
    SleepMs(1);
  } while (NowMs() < deadline);
  return false;
}

TEST(Wait, StoppedAndContinuedChild) {
  pid_t pid = fork();
  if (pid == 0) {
    for (;;) pause();
  }
  ASSERT_GT(pid, 0);
  ASSERT_EQ(kill(pid, SIGSTOP), 0);
  int status = 0;
  pid_t r = 0;
  for (long deadline = NowMs() + 2000; r == 0 && NowMs() < deadline;) {
    r = waitpid(pid, &status, WUNTRACED | WNOHANG);
    if (r == 0) SleepMs(1);
  }
  if (r == 0) kill(pid, SIGKILL);
  ASSERT_EQ(r, pid) << "SIGSTOP did not stop the child: " << strerror(errno);
  EXPECT_TRUE(WIFSTOPPED(status)) << Describe(status);
  EXPECT_EQ(WSTOPSIG(status), SIGSTOP);
  ASSERT_EQ(kill(pid, SIGCONT), 0);
  siginfo_t info;
  EXPECT_TRUE(PollWaitid(pid, WCONTINUED, &info, 2000))
      << "no CLD_CONTINUED report";
  EXPECT_EQ(info.si_code, CLD_CONTINUED);
  EXPECT_EQ(info.si_pid, pid);
  EXPECT_EQ(info.si_status, SIGCONT);
  kill(pid, SIGKILL);
  status = Wait(pid);
  EXPECT_TRUE(WIFSIGNALED(status)) << Describe(status);
}

// ================================================================ pipe2

TEST(Pipe2, NoFlags) {
  int p[2] = {-1, -1};
  ASSERT_EQ(syscall(SYS_pipe2, p, 0), 0);
  EXPECT_NE(p[0], p[1]);
  EXPECT_EQ(fcntl(p[0], F_GETFD), 0);
  EXPECT_EQ(fcntl(p[1], F_GETFD), 0);
  EXPECT_EQ(fcntl(p[0], F_GETFL) & (O_ACCMODE | O_NONBLOCK), O_RDONLY);
  EXPECT_EQ(fcntl(p[1], F_GETFL) & (O_ACCMODE | O_NONBLOCK), O_WRONLY);
  close(p[0]);
  close(p[1]);
}

TEST(Pipe2, CloexecAndNonblockShowInFcntl) {
  int p[2];
  ASSERT_EQ(syscall(SYS_pipe2, p, O_CLOEXEC | O_NONBLOCK), 0);
  for (int fd : p) {
    EXPECT_EQ(fcntl(fd, F_GETFD), FD_CLOEXEC) << fd;
    EXPECT_TRUE(fcntl(fd, F_GETFL) & O_NONBLOCK) << fd;
  }
  close(p[0]);
  close(p[1]);
  ASSERT_EQ(syscall(SYS_pipe2, p, O_CLOEXEC), 0);
  EXPECT_EQ(fcntl(p[0], F_GETFD), FD_CLOEXEC);
  EXPECT_FALSE(fcntl(p[0], F_GETFL) & O_NONBLOCK);
  close(p[0]);
  close(p[1]);
  ASSERT_EQ(syscall(SYS_pipe2, p, O_NONBLOCK), 0);
  EXPECT_EQ(fcntl(p[1], F_GETFD), 0);
  EXPECT_TRUE(fcntl(p[1], F_GETFL) & O_NONBLOCK);
  close(p[0]);
  close(p[1]);
}

TEST(Pipe2, InvalidFlagsIsEinval) {
  int p[2];
  EXPECT_FAILS_WITH(syscall(SYS_pipe2, p, O_APPEND), EINVAL);
  EXPECT_FAILS_WITH(syscall(SYS_pipe2, p, O_RDWR), EINVAL);
  EXPECT_FAILS_WITH(syscall(SYS_pipe2, p, O_CLOEXEC | O_TRUNC), EINVAL);
  EXPECT_FAILS_WITH(syscall(SYS_pipe2, p, 0x80000000), EINVAL);
}

TEST(Pipe2, BadPointerIsEfaultAndLeaksNoFd) {
  int lowest = husk_test::ClosedFd();
  EXPECT_FAILS_WITH(syscall(SYS_pipe2, BadPtr(), 0), EFAULT);
  EXPECT_FAILS_WITH(syscall(SYS_pipe2, nullptr, O_CLOEXEC), EFAULT);
  EXPECT_FAILS_WITH(syscall(SYS_pipe, nullptr), EFAULT);
  // The descriptors installed before the copy-out failed were released.
  int fd = open("/dev/null", O_RDONLY);
  EXPECT_EQ(fd, lowest);
  close(fd);
}

TEST(Pipe, ReadEmptyNonblockingIsEagain) {
  int p[2];
  ASSERT_EQ(pipe2(p, O_NONBLOCK), 0);
  char c;
  EXPECT_FAILS_WITH(read(p[0], &c, 1), EAGAIN);
  ASSERT_EQ(write(p[1], "q", 1), 1);
  EXPECT_EQ(read(p[0], &c, 1), 1);
  EXPECT_EQ(c, 'q');
  EXPECT_FAILS_WITH(read(p[0], &c, 1), EAGAIN);
  // With the writer gone, an empty pipe reads EOF instead.
  close(p[1]);
  EXPECT_EQ(read(p[0], &c, 1), 0);
  close(p[0]);
}

TEST(Pipe, NonblockingWriteToFullPipeIsEagain) {
  int p[2];
  ASSERT_EQ(pipe2(p, O_NONBLOCK), 0);
  char buf[4096];
  memset(buf, 'f', sizeof(buf));
  size_t total = 0;
  ssize_t n;
  while ((n = write(p[1], buf, sizeof(buf))) > 0 && total < (16u << 20))
    total += n;
  EXPECT_EQ(n, -1);
  EXPECT_EQ(errno, EAGAIN) << strerror(errno);
  EXPECT_GE(total, 4096u);
  EXPECT_LT(total, 16u << 20);
  int avail = -1;
  ASSERT_EQ(ioctl(p[0], FIONREAD, &avail), 0);
  EXPECT_EQ(static_cast<size_t>(avail), total);
  close(p[0]);
  close(p[1]);
}

TEST(Pipe, WriteWithNoReaderIsEpipeWhenSigpipeIgnored) {
  RunInChild([] {
    ASSERT_NE(signal(SIGPIPE, SIG_IGN), SIG_ERR);
    int p[2];
    ASSERT_EQ(pipe(p), 0);
    close(p[0]);
    EXPECT_FAILS_WITH(write(p[1], "x", 1), EPIPE);
    close(p[1]);
  });
}

TEST(Pipe, WriteWithNoReaderRaisesSigpipe) {
  fflush(stdout);
  pid_t pid = fork();
  if (pid == 0) {
    // The pipe is the child's own, so no other process holds its read end.
    signal(SIGPIPE, SIG_DFL);
    int p[2];
    if (pipe(p) != 0) _exit(2);
    close(p[0]);
    write(p[1], "x", 1);
    _exit(0);
  }
  ASSERT_GT(pid, 0);
  int status = Wait(pid);
  EXPECT_TRUE(WIFSIGNALED(status)) << Describe(status);
  EXPECT_EQ(WTERMSIG(status), SIGPIPE);
}

TEST(Pipe, SigpipeHandlerRunsAndWriteIsEpipe) {
  RunInChild([] {
    g_hits = 0;
    InstallInfo(SIGPIPE, InfoHandler);
    int p[2];
    ASSERT_EQ(pipe(p), 0);
    close(p[0]);
    EXPECT_FAILS_WITH(write(p[1], "x", 1), EPIPE);
    EXPECT_EQ(g_hits, 1);
    EXPECT_EQ(g_info.si_signo, SIGPIPE);
    close(p[1]);
  });
}

TEST(Pipe, FstatIsFifo) {
  int p[2];
  ASSERT_EQ(pipe(p), 0);
  struct stat a, b;
  ASSERT_EQ(fstat(p[0], &a), 0);
  ASSERT_EQ(fstat(p[1], &b), 0);
  EXPECT_TRUE(S_ISFIFO(a.st_mode)) << std::oct << a.st_mode;
  EXPECT_TRUE(S_ISFIFO(b.st_mode)) << std::oct << b.st_mode;
  // Both ends are the same pipe inode.
  EXPECT_EQ(a.st_ino, b.st_ino);
  EXPECT_EQ(a.st_dev, b.st_dev);
  close(p[0]);
  close(p[1]);
}

TEST(Pipe, FionreadCountsUnreadBytes) {
  int p[2];
  ASSERT_EQ(pipe(p), 0);
  int n = -1;
  ASSERT_EQ(ioctl(p[0], FIONREAD, &n), 0);
  EXPECT_EQ(n, 0);
  ASSERT_EQ(write(p[1], "hello", 5), 5);
  ASSERT_EQ(ioctl(p[0], FIONREAD, &n), 0);
  EXPECT_EQ(n, 5);
  char buf[2];
  ASSERT_EQ(read(p[0], buf, 2), 2);
  ASSERT_EQ(ioctl(p[0], FIONREAD, &n), 0);
  EXPECT_EQ(n, 3);
  close(p[0]);
  close(p[1]);
}

TEST(Pipe, WrongDirectionIsEbadf) {
  int p[2];
  ASSERT_EQ(pipe(p), 0);
  char c = 'x';
  EXPECT_FAILS_WITH(write(p[0], &c, 1), EBADF);
  EXPECT_FAILS_WITH(read(p[1], &c, 1), EBADF);
  close(p[0]);
  close(p[1]);
}

TEST(Pipe, BlockingReadWakesOnWriteFromChild) {
  int p[2];
  ASSERT_EQ(pipe(p), 0);
  pid_t pid = fork();
  if (pid == 0) {
    close(p[0]);
    SleepMs(20);
    write(p[1], "late", 4);
    _exit(0);
  }
  ASSERT_GT(pid, 0);
  close(p[1]);
  char buf[8] = {};
  EXPECT_EQ(read(p[0], buf, sizeof(buf)), 4);
  EXPECT_STREQ(buf, "late");
  close(p[0]);
  Wait(pid);
}

// ================================================================ execve

char* const kEmptyEnv[] = {nullptr};

int SpawnExec(const char* path, char* const argv[], char* const envp[]) {
  fflush(stdout);
  fflush(stderr);
  pid_t pid = fork();
  if (pid == 0) {
    execve(path, argv, envp);
    dprintf(2, "execve(%s): %s\n", path, strerror(errno));
    _exit(127);
  }
  if (pid < 0) return -1;
  return Wait(pid);
}

TEST(Execve, BinTrueExitsZero) {
  char* const argv[] = {const_cast<char*>("true"), nullptr};
  int status = SpawnExec("/bin/true", argv, kEmptyEnv);
  EXPECT_TRUE(WIFEXITED(status)) << Describe(status);
  EXPECT_EQ(WEXITSTATUS(status), 0);
}

TEST(Execve, ShellExitCode) {
  char* const argv[] = {const_cast<char*>("sh"), const_cast<char*>("-c"),
                        const_cast<char*>("exit 7"), nullptr};
  int status = SpawnExec("/bin/sh", argv, kEmptyEnv);
  EXPECT_TRUE(WIFEXITED(status)) << Describe(status);
  EXPECT_EQ(WEXITSTATUS(status), 7);
}

TEST(Execve, ArgvIsPassed) {
  char* const argv[] = {const_cast<char*>("sh"), const_cast<char*>("-c"),
                        const_cast<char*>("exit $(($1 + $#))"),
                        const_cast<char*>("argv0"), const_cast<char*>("20"),
                        const_cast<char*>("b"), nullptr};
  int status = SpawnExec("/bin/sh", argv, kEmptyEnv);
  EXPECT_TRUE(WIFEXITED(status)) << Describe(status);
  EXPECT_EQ(WEXITSTATUS(status), 22);
}

TEST(Execve, EnvironmentIsPassed) {
  char* const argv[] = {
      const_cast<char*>("sh"), const_cast<char*>("-c"),
      const_cast<char*>("[ \"$HUSK_A\" = hello ] && [ \"$HUSK_B\" = 'x y' ] && "
                        "exit 3; exit 1"),
      nullptr};
  char* const envp[] = {const_cast<char*>("HUSK_A=hello"),
                        const_cast<char*>("HUSK_B=x y"), nullptr};
  int status = SpawnExec("/bin/sh", argv, envp);
  EXPECT_TRUE(WIFEXITED(status)) << Describe(status);
  EXPECT_EQ(WEXITSTATUS(status), 3);
}

TEST(Execve, MissingPathIsEnoentInChild) {
  RunInChild([] {
    char* const argv[] = {const_cast<char*>("x"), nullptr};
    EXPECT_FAILS_WITH(execve("/nonexistent/husk/binary", argv, kEmptyEnv),
                      ENOENT);
    EXPECT_FAILS_WITH(execve("/bin/true/x", argv, kEmptyEnv), ENOTDIR);
  });
}

TEST(Execve, NonExecutableFileIsEacces) {
  RunInChild([] {
    std::string path = "/tmp/husk_noexec_" + std::to_string(getpid());
    char* tmpl = &path[0];
    int fd = open(tmpl, O_CREAT | O_EXCL | O_WRONLY | O_CLOEXEC, 0644);
    ASSERT_GE(fd, 0) << strerror(errno);
    ASSERT_EQ(write(fd, "#!/bin/sh\nexit 0\n", 17), 17);
    close(fd);
    char* const argv[] = {tmpl, nullptr};
    EXPECT_FAILS_WITH(execve(tmpl, argv, kEmptyEnv), EACCES);
    // A directory is not executable either.
    EXPECT_FAILS_WITH(execve("/tmp", argv, kEmptyEnv), EACCES);
    unlink(tmpl);
  });
}

TEST(Execve, BadPointersAreEfault) {
  RunInChild([] {
    char* const argv[] = {const_cast<char*>("true"), nullptr};
    EXPECT_FAILS_WITH(
        execve(static_cast<const char*>(BadPtr()), argv, kEmptyEnv), EFAULT);
    EXPECT_FAILS_WITH(
        execve("/bin/true", static_cast<char* const*>(BadPtr()), kEmptyEnv),
        EFAULT);
    char* const bad_argv[] = {static_cast<char*>(BadPtr()), nullptr};
    EXPECT_FAILS_WITH(execve("/bin/true", bad_argv, kEmptyEnv), EFAULT);
  });
}

TEST(Execve, ShebangScript) {
  std::string path = "/tmp/husk_script_" + std::to_string(getpid());
  char* tmpl = &path[0];
  unlink(tmpl);
  int fd = open(tmpl, O_CREAT | O_EXCL | O_WRONLY | O_CLOEXEC, 0755);
  ASSERT_GE(fd, 0) << strerror(errno);
  const char script[] = "#!/bin/sh\nexit 13\n";
  ASSERT_EQ(write(fd, script, sizeof(script) - 1), (ssize_t)sizeof(script) - 1);
  close(fd);
  char* const argv[] = {tmpl, nullptr};
  int status = SpawnExec(tmpl, argv, kEmptyEnv);
  EXPECT_TRUE(WIFEXITED(status)) << Describe(status);
  EXPECT_EQ(WEXITSTATUS(status), 13);
  unlink(tmpl);
}

// Child: put the pipe's write end at fd 5 (close-on-exec or not) and exec a
// shell that writes to fd 5. Returns the exit status; `out` gets what arrived.
int ExecWithFd5(bool cloexec, std::string* out) {
  int p[2];
  if (pipe(p) != 0) return -1;
  fflush(stdout);
  fflush(stderr);
  pid_t pid = fork();
  if (pid == 0) {
    close(p[0]);
    // Move the write end out of the way first: p[1] may itself be fd 5.
    int w = fcntl(p[1], F_DUPFD, 10);
    if (w < 0) _exit(126);
    close(p[1]);
    if (dup3(w, 5, cloexec ? O_CLOEXEC : 0) != 5) _exit(126);
    close(w);
    int devnull = open("/dev/null", O_WRONLY);
    dup2(devnull, 2);
    char* const argv[] = {const_cast<char*>("sh"), const_cast<char*>("-c"),
                          const_cast<char*>("echo x >&5 && exit 0; exit 9"),
                          nullptr};
    execve("/bin/sh", argv, kEmptyEnv);
    dprintf(2, "execve(/bin/sh): %s\n", strerror(errno));
    _exit(127);
  }
  close(p[1]);
  char buf[16];
  ssize_t n;
  while ((n = read(p[0], buf, sizeof(buf))) > 0) out->append(buf, n);
  close(p[0]);
  return Wait(pid);
}

TEST(Execve, CloexecFdIsClosedOthersInherited) {
  std::string out;
  int status = ExecWithFd5(false, &out);
  EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0) << Describe(status);
  EXPECT_EQ(out, "x\n");
  out.clear();
  status = ExecWithFd5(true, &out);
  EXPECT_TRUE(WIFEXITED(status)) << Describe(status);
  EXPECT_EQ(WEXITSTATUS(status), 9);
  EXPECT_EQ(out, "");
}

TEST(Execve, IgnoredSignalStaysIgnoredHandledIsReset) {
  char* const argv[] = {const_cast<char*>("sh"), const_cast<char*>("-c"),
                        const_cast<char*>("kill -USR1 $$; exit 3"), nullptr};
  // SIG_IGN survives execve.
  fflush(stdout);
  pid_t pid = fork();
  if (pid == 0) {
    signal(SIGUSR1, SIG_IGN);
    execve("/bin/sh", argv, kEmptyEnv);
    dprintf(2, "execve(/bin/sh): %s\n", strerror(errno));
    _exit(127);
  }
  ASSERT_GT(pid, 0);
  int status = Wait(pid);
  EXPECT_TRUE(WIFEXITED(status)) << Describe(status);
  EXPECT_EQ(WEXITSTATUS(status), 3);
  // A handler is reset to SIG_DFL, which terminates.
  pid = fork();
  if (pid == 0) {
    signal(SIGUSR1, CountHandler);
    execve("/bin/sh", argv, kEmptyEnv);
    dprintf(2, "execve(/bin/sh): %s\n", strerror(errno));
    _exit(127);
  }
  ASSERT_GT(pid, 0);
  status = Wait(pid);
  EXPECT_TRUE(WIFSIGNALED(status)) << Describe(status);
  EXPECT_EQ(WTERMSIG(status), SIGUSR1);
}

void* SleepForever(void*) {
  for (;;) pause();
  return nullptr;
}

TEST(Execve, FromMultithreadedProcess) {
  ExpectChildExits(4, [] {
    StartThread(SleepForever);
    char* const argv[] = {const_cast<char*>("sh"), const_cast<char*>("-c"),
                          const_cast<char*>("exit 4"), nullptr};
    execve("/bin/sh", argv, kEmptyEnv);
    dprintf(2, "execve(/bin/sh): %s\n", strerror(errno));
    _exit(127);
  });
}

void* ExecFromThread(void*) {
  char* const argv[] = {const_cast<char*>("sh"), const_cast<char*>("-c"),
                        const_cast<char*>("exit 5"), nullptr};
  execve("/bin/sh", argv, kEmptyEnv);
  dprintf(2, "execve(/bin/sh) from a thread: %s\n", strerror(errno));
  _exit(127);
}

TEST(Execve, FromNonLeaderThreadKeepsPid) {
  // The exec'ing thread takes over the thread group's pid, which Wait reaps.
  ExpectChildExits(5, [] {
    StartThread(ExecFromThread);
    for (;;) pause();
  });
}

void* ExecCheckingPidFromThread(void* arg) {
  // The new image's $$ (getpid) must still be the process's pid.
  std::string script = "test $$ = " + std::to_string(*static_cast<pid_t*>(arg)) + " && exit 6";
  char* const argv[] = {const_cast<char*>("sh"), const_cast<char*>("-c"), script.data(), nullptr};
  execve("/bin/sh", argv, kEmptyEnv);
  _exit(127);
}

TEST(Execve, FromNonLeaderThreadNewImageHasThePid) {
  ExpectChildExits(6, [] {
    static pid_t pid = getpid();
    pthread_t t;
    if (pthread_create(&t, nullptr, ExecCheckingPidFromThread, &pid) != 0) _exit(126);
    for (;;) pause();
  });
}

void* SpinForever(void*) {
  for (;;) {
  }
  return nullptr;
}

TEST(Execve, EndsBusyAndBlockedThreads) {
  // Threads in application code, in a blocking read and in a futex wait
  // all end; the exec goes on.
  ExpectChildExits(7, [] {
    StartThread(SpinForever);
    StartThread(SleepForever);
    static int p[2];
    if (pipe(p) != 0) _exit(125);
    StartThread([](void*) -> void* {
      char c;
      read(p[0], &c, 1);
      return nullptr;
    });
    SleepMs(5);
    char* const argv[] = {const_cast<char*>("sh"), const_cast<char*>("-c"),
                          const_cast<char*>("exit 7"), nullptr};
    execve("/bin/sh", argv, kEmptyEnv);
    _exit(127);
  });
}

// ================================================================ execveat

class Execveat : public husk_test::TempDirTest {
 protected:
  // Writes an executable file `name` in the test directory.
  std::string MakeFile(const char* name, const std::string& text) {
    std::string path = dir_ + "/" + name;
    int fd = open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0755);
    EXPECT_GE(fd, 0) << strerror(errno);
    EXPECT_EQ(write(fd, text.data(), text.size()), static_cast<ssize_t>(text.size()));
    close(fd);
    return path;
  }
};

// execveat in a child; returns its exit status (127 + errno as 100+errno
// when the call fails).
template <typename F>
int ExecveatStatus(F&& call) {
  fflush(stdout);
  pid_t pid = fork();
  if (pid == 0) {
    call();
    _exit(100 + errno);
  }
  int status = Wait(pid);
  return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

char* const kExit3[] = {const_cast<char*>("sh"), const_cast<char*>("-c"),
                        const_cast<char*>("exit 3"), nullptr};

TEST_F(Execveat, RelativeToDirfd) {
  int dir = open("/bin", O_RDONLY | O_DIRECTORY);
  ASSERT_GE(dir, 0);
  EXPECT_EQ(ExecveatStatus([&] { syscall(SYS_execveat, dir, "sh", kExit3, kEmptyEnv, 0); }), 3);
  close(dir);
}

TEST_F(Execveat, EmptyPathRunsTheFd) {
  int fd = open("/bin/sh", O_RDONLY | O_CLOEXEC);
  ASSERT_GE(fd, 0);
  EXPECT_EQ(ExecveatStatus([&] { syscall(SYS_execveat, fd, "", kExit3, kEmptyEnv, AT_EMPTY_PATH); }),
            3);
  close(fd);
}

TEST_F(Execveat, ScriptThroughCloexecFdIsEnoent) {
  std::string script = MakeFile("s.sh", "#!/bin/sh\nexit 9\n");
  int fd = open(script.c_str(), O_RDONLY);
  ASSERT_GE(fd, 0);
  // Without O_CLOEXEC the interpreter opens /dev/fd/N: not tested, as
  // that needs /dev/fd. With it, the kernel refuses up front.
  ASSERT_EQ(fcntl(fd, F_SETFD, FD_CLOEXEC), 0);
  EXPECT_EQ(ExecveatStatus([&] { syscall(SYS_execveat, fd, "", kExit3, kEmptyEnv, AT_EMPTY_PATH); }),
            100 + ENOENT);
  close(fd);
  // The same script by its path runs.
  EXPECT_EQ(ExecveatStatus([&] {
              syscall(SYS_execveat, AT_FDCWD, script.c_str(), kExit3, kEmptyEnv, 0);
            }),
            9);
}

TEST_F(Execveat, SymlinkNofollowIsEloop) {
  std::string link = dir_ + "/link";
  ASSERT_EQ(symlink("/bin/sh", link.c_str()), 0);
  EXPECT_EQ(ExecveatStatus([&] {
              syscall(SYS_execveat, AT_FDCWD, link.c_str(), kExit3, kEmptyEnv, AT_SYMLINK_NOFOLLOW);
            }),
            100 + ELOOP);
  EXPECT_EQ(ExecveatStatus([&] {
              syscall(SYS_execveat, AT_FDCWD, link.c_str(), kExit3, kEmptyEnv, 0);
            }),
            3);
}

TEST_F(Execveat, Errors) {
  int file = open("/bin/sh", O_RDONLY);
  ASSERT_GE(file, 0);
  EXPECT_EQ(ExecveatStatus([&] { syscall(SYS_execveat, AT_FDCWD, "/bin/sh", kExit3, kEmptyEnv, 0x1); }),
            100 + EINVAL);
  EXPECT_EQ(ExecveatStatus([&] { syscall(SYS_execveat, 999, "sh", kExit3, kEmptyEnv, 0); }),
            100 + EBADF);
  EXPECT_EQ(ExecveatStatus([&] { syscall(SYS_execveat, file, "sh", kExit3, kEmptyEnv, 0); }),
            100 + ENOTDIR);
  EXPECT_EQ(ExecveatStatus([&] { syscall(SYS_execveat, file, "", kExit3, kEmptyEnv, 0); }),
            100 + ENOENT);
  EXPECT_EQ(ExecveatStatus([&] {
              syscall(SYS_execveat, 999, "", kExit3, kEmptyEnv, AT_EMPTY_PATH);
            }),
            100 + EBADF);
  int dir = open("/bin", O_RDONLY | O_DIRECTORY);
  ASSERT_GE(dir, 0);
  EXPECT_EQ(ExecveatStatus([&] {
              syscall(SYS_execveat, dir, "", kExit3, kEmptyEnv, AT_EMPTY_PATH);
            }),
            100 + EACCES);
  close(dir);
  close(file);
}

// ================================================================ signals

TEST(Signal, SiginfoForKillToSelf) {
  RunInChild([] {
    g_hits = 0;
    memset(&g_info, 0, sizeof(g_info));
    InstallInfo(SIGUSR1, InfoHandler);
    ASSERT_EQ(kill(getpid(), SIGUSR1), 0);
    // A signal sent to oneself is delivered before kill returns.
    EXPECT_EQ(g_hits, 1);
    EXPECT_EQ(g_info.si_signo, SIGUSR1);
    EXPECT_EQ(g_info.si_code, SI_USER);
    EXPECT_EQ(g_info.si_pid, getpid());
    EXPECT_EQ(g_info.si_uid, getuid());
  });
}

TEST(Signal, SiginfoFromAnotherProcess) {
  RunInChild([] {
    g_hits = 0;
    memset(&g_info, 0, sizeof(g_info));
    BlockSignal(SIGUSR2);
    InstallInfo(SIGUSR2, InfoHandler);
    pid_t me = getpid();
    pid_t sender = fork();
    if (sender == 0) _exit(kill(me, SIGUSR2) == 0 ? 0 : 1);
    ASSERT_GT(sender, 0);
    int status = Wait(sender);
    EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0);
    EXPECT_TRUE(PendingSet() & Bit(SIGUSR2));
    UnblockSignal(SIGUSR2);
    EXPECT_EQ(g_hits, 1);
    EXPECT_EQ(g_info.si_code, SI_USER);
    EXPECT_EQ(g_info.si_pid, sender);
  });
}

TEST(Signal, SigqueueCarriesValue) {
  RunInChild([] {
    g_hits = 0;
    memset(&g_info, 0, sizeof(g_info));
    InstallInfo(SIGUSR1, InfoHandler);
    union sigval v;
    v.sival_int = 4242;
    ASSERT_EQ(sigqueue(getpid(), SIGUSR1, v), 0) << strerror(errno);
    EXPECT_EQ(g_hits, 1);
    EXPECT_EQ(g_info.si_code, SI_QUEUE);
    EXPECT_EQ(g_info.si_value.sival_int, 4242);
    EXPECT_EQ(g_info.si_pid, getpid());
  });
}

TEST(Signal, HandlerRunsWithSignalAndSaMaskBlocked) {
  RunInChild([] {
    g_hits = 0;
    g_mask_in_handler = 0;
    Install(SIGUSR1, MaskHandler, 0, {SIGUSR2});
    uint64_t before = CurrentMask();
    ASSERT_EQ(kill(getpid(), SIGUSR1), 0);
    ASSERT_EQ(g_hits, 1);
    EXPECT_TRUE(g_mask_in_handler & Bit(SIGUSR1));
    EXPECT_TRUE(g_mask_in_handler & Bit(SIGUSR2));
    // The mask is restored by rt_sigreturn.
    EXPECT_EQ(CurrentMask(), before);
  });
}

TEST(Signal, SaNodeferLeavesSignalUnblocked) {
  RunInChild([] {
    g_hits = 0;
    g_mask_in_handler = 0;
    Install(SIGUSR1, MaskHandler, SA_NODEFER);
    ASSERT_EQ(kill(getpid(), SIGUSR1), 0);
    ASSERT_EQ(g_hits, 1);
    EXPECT_FALSE(g_mask_in_handler & Bit(SIGUSR1));
  });
}

void ResetHandlerProbe(int) {
  struct sigaction now;
  sigaction(SIGUSR1, nullptr, &now);
  g_hits2 = (now.sa_handler == SIG_DFL);
  g_hits = g_hits + 1;
}

TEST(Signal, SaResethandRestoresDefault) {
  RunInChild([] {
    g_hits = 0;
    g_hits2 = 0;
    Install(SIGUSR1, ResetHandlerProbe, SA_RESETHAND);
    ASSERT_EQ(kill(getpid(), SIGUSR1), 0);
    EXPECT_EQ(g_hits, 1);
    EXPECT_EQ(g_hits2, 1);  // already SIG_DFL inside the handler
  });
}

TEST(Signal, BlockedSignalPendsThenDeliversOnUnblock) {
  RunInChild([] {
    g_hits = 0;
    Install(SIGUSR1, CountHandler);
    BlockSignal(SIGUSR1);
    ASSERT_EQ(kill(getpid(), SIGUSR1), 0);
    EXPECT_EQ(g_hits, 0);
    EXPECT_EQ(PendingSet() & Bit(SIGUSR1), Bit(SIGUSR1));
    sigset_t pend;
    ASSERT_EQ(sigpending(&pend), 0);
    EXPECT_TRUE(sigismember(&pend, SIGUSR1));
    // Delivered by the time sigprocmask returns.
    UnblockSignal(SIGUSR1);
    EXPECT_EQ(g_hits, 1);
    EXPECT_EQ(PendingSet() & Bit(SIGUSR1), 0u);
  });
}

TEST(Signal, StandardSignalsCoalesceRealtimeSignalsQueue) {
  RunInChild([] {
    g_hits = 0;
    g_hits2 = 0;
    int rt = SIGRTMIN + 2;
    Install(SIGUSR1, CountHandler);
    Install(rt, CountHandler2);
    BlockSignal(SIGUSR1);
    BlockSignal(rt);
    for (int i = 0; i < 3; i++) {
      ASSERT_EQ(kill(getpid(), SIGUSR1), 0);
      ASSERT_EQ(kill(getpid(), rt), 0);
    }
    EXPECT_EQ(PendingSet() & (Bit(SIGUSR1) | Bit(rt)), Bit(SIGUSR1) | Bit(rt));
    UnblockSignal(SIGUSR1);
    UnblockSignal(rt);
    EXPECT_EQ(g_hits, 1);
    EXPECT_EQ(g_hits2, 3);
  });
}

TEST(Signal, PendingSignalIsNotInheritedByFork) {
  RunInChild([] {
    Install(SIGUSR1, CountHandler);
    BlockSignal(SIGUSR1);
    ASSERT_EQ(kill(getpid(), SIGUSR1), 0);
    ASSERT_TRUE(PendingSet() & Bit(SIGUSR1));
    // The blocked mask is inherited; the pending set starts empty.
    RunInChild([] {
      EXPECT_TRUE(CurrentMask() & Bit(SIGUSR1));
      EXPECT_EQ(PendingSet() & Bit(SIGUSR1), 0u);
    });
  });
}

TEST(Signal, IgnoredSignalIsDiscarded) {
  RunInChild([] {
    ASSERT_NE(signal(SIGUSR1, SIG_IGN), SIG_ERR);
    ASSERT_EQ(kill(getpid(), SIGUSR1), 0);
    EXPECT_EQ(PendingSet() & Bit(SIGUSR1), 0u);
  });
}

TEST(Signal, SettingSigIgnDiscardsPendingSignal) {
  RunInChild([] {
    Install(SIGUSR1, CountHandler);
    BlockSignal(SIGUSR1);
    ASSERT_EQ(kill(getpid(), SIGUSR1), 0);
    ASSERT_TRUE(PendingSet() & Bit(SIGUSR1));
    ASSERT_NE(signal(SIGUSR1, SIG_IGN), SIG_ERR);
    EXPECT_EQ(PendingSet() & Bit(SIGUSR1), 0u);
  });
}

TEST(Signal, BlockedIgnoredSignalStillPends) {
  // Linux queues a blocked signal even when ignored: the disposition may
  // change before it is unblocked.
  RunInChild([] {
    ASSERT_NE(signal(SIGUSR1, SIG_IGN), SIG_ERR);
    BlockSignal(SIGUSR1);
    ASSERT_EQ(kill(getpid(), SIGUSR1), 0);
    EXPECT_TRUE(PendingSet() & Bit(SIGUSR1));
    UnblockSignal(SIGUSR1);  // delivered, and ignored
    EXPECT_EQ(PendingSet() & Bit(SIGUSR1), 0u);
  });
}

uintptr_t g_local_addr;
int g_onstack_flags;

void AltStackHandler(int) {
  int local = 0;
  g_local_addr = reinterpret_cast<uintptr_t>(&local);
  stack_t cur;
  if (sigaltstack(nullptr, &cur) == 0) g_onstack_flags = cur.ss_flags;
  // Changing the stack while running on it is refused.
  stack_t other = cur;
  other.ss_flags = 0;
  g_hits2 = (sigaltstack(&other, nullptr) == -1 && errno == EPERM);
  g_hits = g_hits + 1;
}

TEST(Sigaltstack, OnstackHandlerRunsOnAltStack) {
  RunInChild([] {
    const size_t size = 64 * 1024;
    void* mem = mmap(nullptr, size, PROT_READ | PROT_WRITE,
                     MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    ASSERT_NE(mem, MAP_FAILED);
    stack_t ss = {};
    ss.ss_sp = mem;
    ss.ss_size = size;
    ss.ss_flags = 0;
    ASSERT_EQ(sigaltstack(&ss, nullptr), 0) << strerror(errno);
    stack_t got = {};
    ASSERT_EQ(sigaltstack(nullptr, &got), 0);
    EXPECT_EQ(got.ss_sp, mem);
    EXPECT_EQ(got.ss_size, size);
    EXPECT_EQ(got.ss_flags, 0);

    g_hits = 0;
    g_hits2 = 0;
    g_local_addr = 0;
    Install(SIGUSR1, AltStackHandler, SA_ONSTACK);
    ASSERT_EQ(kill(getpid(), SIGUSR1), 0);
    ASSERT_EQ(g_hits, 1);
    uintptr_t lo = reinterpret_cast<uintptr_t>(mem);
    EXPECT_GE(g_local_addr, lo);
    EXPECT_LT(g_local_addr, lo + size);
    EXPECT_EQ(g_onstack_flags, SS_ONSTACK);
    EXPECT_EQ(g_hits2, 1) << "sigaltstack while on it should be EPERM";

    // Without SA_ONSTACK the handler stays on the normal stack.
    g_local_addr = 0;
    Install(SIGUSR1, AltStackHandler, 0);
    ASSERT_EQ(kill(getpid(), SIGUSR1), 0);
    ASSERT_EQ(g_hits, 2);
    EXPECT_TRUE(g_local_addr < lo || g_local_addr >= lo + size);
    EXPECT_EQ(g_onstack_flags, 0);

    // Outside the handler we are not on it.
    ASSERT_EQ(sigaltstack(nullptr, &got), 0);
    EXPECT_EQ(got.ss_flags, 0);
    stack_t off = {};
    off.ss_flags = SS_DISABLE;
    ASSERT_EQ(sigaltstack(&off, nullptr), 0);
    ASSERT_EQ(sigaltstack(nullptr, &got), 0);
    EXPECT_EQ(got.ss_flags, SS_DISABLE);
  });
}

TEST(Sigaltstack, Errors) {
  RunInChild([] {
    static char buf[64 * 1024];
    stack_t ss = {};
    ss.ss_sp = buf;
    ss.ss_size = sizeof(buf);
    ss.ss_flags = 42;
    EXPECT_FAILS_WITH(sigaltstack(&ss, nullptr), EINVAL);
    ss.ss_flags = SS_DISABLE | SS_ONSTACK;
    EXPECT_FAILS_WITH(sigaltstack(&ss, nullptr), EINVAL);
    ss.ss_flags = 0;
    ss.ss_size = 1024;  // below MINSIGSTKSZ (2048)
    EXPECT_FAILS_WITH(sigaltstack(&ss, nullptr), ENOMEM);
    ss.ss_size = 0;
    EXPECT_FAILS_WITH(sigaltstack(&ss, nullptr), ENOMEM);
    // SS_DISABLE ignores the size.
    ss.ss_flags = SS_DISABLE;
    EXPECT_EQ(sigaltstack(&ss, nullptr), 0);
    EXPECT_FAILS_WITH(
        syscall(SYS_sigaltstack, BadPtr(), nullptr), EFAULT);
    EXPECT_FAILS_WITH(
        syscall(SYS_sigaltstack, nullptr, BadPtr()), EFAULT);
  });
}

sigjmp_buf g_jmp;
void SegvHandler(int, siginfo_t* si, void*) {
  g_info = *si;
  g_hits = g_hits + 1;
  siglongjmp(g_jmp, 1);
}

TEST(Signal, FaultHandlerGetsAddressAndCanRecover) {
  RunInChild([] {
    g_hits = 0;
    memset(&g_info, 0, sizeof(g_info));
    InstallInfo(SIGSEGV, SegvHandler);
    volatile int* bad = static_cast<volatile int*>(BadPtr());
    if (sigsetjmp(g_jmp, 1) == 0) {
      *bad = 1;
      ADD_FAILURE() << "write to PROT_NONE did not fault";
    }
    EXPECT_EQ(g_hits, 1);
    EXPECT_EQ(g_info.si_signo, SIGSEGV);
    EXPECT_EQ(g_info.si_code, SEGV_ACCERR);
    EXPECT_EQ(g_info.si_addr, (void*)bad);
    // siglongjmp restored the mask: SIGSEGV is deliverable again.
    EXPECT_FALSE(CurrentMask() & Bit(SIGSEGV));
    if (sigsetjmp(g_jmp, 1) == 0) {
      *bad = 2;
    }
    EXPECT_EQ(g_hits, 2);
  });
}

TEST(Kill, NonexistentPidIsEsrch) {
  EXPECT_FAILS_WITH(kill(kNoSuchPid, SIGUSR1), ESRCH);
  EXPECT_FAILS_WITH(kill(kNoSuchPid, 0), ESRCH);
  EXPECT_FAILS_WITH(kill(-kNoSuchPid, 0), ESRCH);
}

TEST(Kill, InvalidSignalIsEinval) {
  EXPECT_FAILS_WITH(syscall(SYS_kill, getpid(), 65), EINVAL);
  EXPECT_FAILS_WITH(syscall(SYS_kill, getpid(), -1), EINVAL);
}

TEST(Kill, SignalZeroChecksExistence) {
  EXPECT_EQ(kill(getpid(), 0), 0) << strerror(errno);
  EXPECT_EQ(kill(0, 0), 0) << strerror(errno);  // our own process group
  // kill(-pgid) names a group; done in a child with a group of its own, since
  // our pgid may be 1 (as under the sentry), and kill(-1) means "everyone".
  RunInChild([] {
    ASSERT_EQ(setpgid(0, 0), 0);
    EXPECT_EQ(kill(-getpid(), 0), 0) << strerror(errno);
  });
}

TEST(Tgkill, Errors) {
  pid_t pid = getpid();
  pid_t tid = static_cast<pid_t>(syscall(SYS_gettid));
  EXPECT_FAILS_WITH(syscall(SYS_tgkill, 0, tid, 0), EINVAL);
  EXPECT_FAILS_WITH(syscall(SYS_tgkill, -1, tid, 0), EINVAL);
  EXPECT_FAILS_WITH(syscall(SYS_tgkill, pid, 0, 0), EINVAL);
  EXPECT_FAILS_WITH(syscall(SYS_tgkill, pid, -5, 0), EINVAL);
  EXPECT_FAILS_WITH(syscall(SYS_tgkill, pid, tid, 65), EINVAL);
  EXPECT_FAILS_WITH(syscall(SYS_tgkill, pid, kNoSuchPid, 0), ESRCH);
  // A real thread, but not in the named thread group.
  EXPECT_FAILS_WITH(syscall(SYS_tgkill, kNoSuchPid, tid, 0), ESRCH);
  EXPECT_EQ(syscall(SYS_tgkill, pid, tid, 0), 0);
  EXPECT_FAILS_WITH(syscall(SYS_tkill, 0, 0), EINVAL);
  EXPECT_FAILS_WITH(syscall(SYS_tkill, -1, 0), EINVAL);
  EXPECT_FAILS_WITH(syscall(SYS_tkill, kNoSuchPid, 0), ESRCH);
  EXPECT_EQ(syscall(SYS_tkill, tid, 0), 0);
}

volatile pid_t g_handler_tid;
void TidHandler(int) {
  g_handler_tid = static_cast<pid_t>(syscall(SYS_gettid));
  g_hits = g_hits + 1;
}

std::atomic<pid_t> g_thread_tid;

void* WaitForSignalThread(void*) {
  // Block first, then publish the tid, then wait with it unblocked: a signal
  // sent at any point after publication is caught by sigsuspend.
  uint64_t m = Bit(SIGUSR1);
  syscall(SYS_rt_sigprocmask, SIG_BLOCK, &m, nullptr, 8);
  g_thread_tid = static_cast<pid_t>(syscall(SYS_gettid));
  sigset_t empty;
  sigemptyset(&empty);
  while (g_hits == 0) sigsuspend(&empty);
  return nullptr;
}

TEST(Tgkill, DeliversToTheNamedThread) {
  RunInChild([] {
    g_hits = 0;
    g_handler_tid = 0;
    g_thread_tid = 0;
    Install(SIGUSR1, TidHandler);
    BlockSignal(SIGUSR1);  // the main thread never takes it
    pthread_t t;
    ASSERT_EQ(pthread_create(&t, nullptr, WaitForSignalThread, nullptr), 0);
    while (g_thread_tid == 0) SleepMs(1);
    pid_t tid = g_thread_tid;
    EXPECT_NE(tid, getpid());
    ASSERT_EQ(syscall(SYS_tgkill, getpid(), tid, SIGUSR1), 0);
    ASSERT_EQ(pthread_join(t, nullptr), 0);
    EXPECT_EQ(g_hits, 1);
    EXPECT_EQ(g_handler_tid, tid);
  });
}

TEST(Signal, PauseKilledBySigterm) {
  int p[2];
  ASSERT_EQ(pipe(p), 0);
  fflush(stdout);
  pid_t pid = fork();
  if (pid == 0) {
    signal(SIGTERM, SIG_DFL);
    close(p[0]);
    write(p[1], "r", 1);
    for (;;) pause();
  }
  ASSERT_GT(pid, 0);
  close(p[1]);
  char c;
  ASSERT_EQ(read(p[0], &c, 1), 1);
  close(p[0]);
  SleepMs(5);  // most likely inside pause() by now; either way SIGTERM kills
  ASSERT_EQ(kill(pid, SIGTERM), 0);
  int status = Wait(pid);
  EXPECT_TRUE(WIFSIGNALED(status)) << Describe(status);
  EXPECT_EQ(WTERMSIG(status), SIGTERM);
}

TEST(Signal, PauseReturnsEintrAfterHandler) {
  RunInChild([] {
    g_hits = 0;
    Install(SIGUSR1, CountHandler);
    Signaller s(getpid(), SIGUSR1, 10);
    errno = 0;
    int r = pause();
    int e = errno;
    s.Stop();
    EXPECT_EQ(r, -1);
    EXPECT_EQ(e, EINTR);
    EXPECT_GE(g_hits, 1);
  });
}

TEST(Signal, SaRestartRestartsInterruptedPipeRead) {
  RunInChild([] {
    g_hits = 0;
    Install(SIGALRM, CountHandler, SA_RESTART);
    int p[2];
    ASSERT_EQ(pipe(p), 0);
    pid_t me = getpid();
    fflush(stdout);
    pid_t sender = fork();
    if (sender == 0) {
      // Interrupt the read a few times, then satisfy it.
      SleepMs(15);
      for (int i = 0; i < 4; i++) {
        kill(me, SIGALRM);
        SleepMs(5);
      }
      write(p[1], "y", 1);
      _exit(0);
    }
    ASSERT_GT(sender, 0);
    char c = 0;
    errno = 0;
    ssize_t n = read(p[0], &c, 1);
    int e = errno;
    EXPECT_EQ(n, 1) << "read failed: " << strerror(e);
    EXPECT_EQ(c, 'y');
    EXPECT_GE(g_hits, 1);
    Wait(sender);
    close(p[0]);
    close(p[1]);
  });
}

TEST(Signal, WithoutSaRestartPipeReadFailsEintr) {
  RunInChild([] {
    g_hits = 0;
    Install(SIGALRM, CountHandler, 0);
    int p[2];
    ASSERT_EQ(pipe(p), 0);
    Signaller s(getpid(), SIGALRM, 10);
    char c = 0;
    errno = 0;
    ssize_t n = read(p[0], &c, 1);
    int e = errno;
    s.Stop();
    EXPECT_EQ(n, -1);
    EXPECT_EQ(e, EINTR) << strerror(e);
    EXPECT_GE(g_hits, 1);
    close(p[0]);
    close(p[1]);
  });
}

TEST(Signal, SigsuspendReturnsEintrAfterHandler) {
  RunInChild([] {
    g_hits = 0;
    Install(SIGUSR1, CountHandler);
    BlockSignal(SIGUSR1);
    ASSERT_EQ(kill(getpid(), SIGUSR1), 0);
    EXPECT_EQ(g_hits, 0);
    sigset_t empty;
    sigemptyset(&empty);
    errno = 0;
    EXPECT_EQ(sigsuspend(&empty), -1);
    EXPECT_EQ(errno, EINTR);
    EXPECT_EQ(g_hits, 1);
    // The original mask is back.
    EXPECT_TRUE(CurrentMask() & Bit(SIGUSR1));
  });
}

TEST(Signal, SigsuspendWakesForSignalFromAnotherProcess) {
  RunInChild([] {
    g_hits = 0;
    Install(SIGUSR2, CountHandler);
    BlockSignal(SIGUSR2);
    Signaller s(getpid(), SIGUSR2, 10);
    uint64_t none = 0;
    errno = 0;
    long r = syscall(SYS_rt_sigsuspend, &none, 8);
    int e = errno;
    s.Stop();
    EXPECT_EQ(r, -1);
    EXPECT_EQ(e, EINTR);
    EXPECT_EQ(g_hits, 1);
    EXPECT_TRUE(CurrentMask() & Bit(SIGUSR2));
  });
}

TEST(Signal, RtSigsuspendBadSizeIsEinval) {
  uint64_t none = 0;
  EXPECT_FAILS_WITH(syscall(SYS_rt_sigsuspend, &none, 4), EINVAL);
  EXPECT_FAILS_WITH(syscall(SYS_rt_sigsuspend, BadPtr(), 8), EFAULT);
}

TEST(Signal, SigchldOnChildExit) {
  RunInChild([] {
    g_hits = 0;
    memset(&g_info, 0, sizeof(g_info));
    BlockSignal(SIGCHLD);
    InstallInfo(SIGCHLD, InfoHandler);
    pid_t pid = fork();
    if (pid == 0) _exit(17);
    ASSERT_GT(pid, 0);
    // Wait for the child without reaping it, so SIGCHLD is surely queued.
    siginfo_t info;
    ASSERT_EQ(
        syscall(SYS_waitid, P_PID, pid, &info, WEXITED | WNOWAIT, nullptr), 0);
    EXPECT_TRUE(PendingSet() & Bit(SIGCHLD));
    UnblockSignal(SIGCHLD);
    EXPECT_EQ(g_hits, 1);
    EXPECT_EQ(g_info.si_signo, SIGCHLD);
    EXPECT_EQ(g_info.si_code, CLD_EXITED);
    EXPECT_EQ(g_info.si_pid, pid);
    EXPECT_EQ(g_info.si_status, 17);
    Wait(pid);
  });
}

TEST(Signal, IgnoredSigchldAutoReapsChildren) {
  RunInChild([] {
    ASSERT_NE(signal(SIGCHLD, SIG_IGN), SIG_ERR);
    pid_t pid = fork();
    if (pid == 0) _exit(0);
    ASSERT_GT(pid, 0);
    int status;
    // wait blocks until the child is gone, then finds nothing to reap.
    EXPECT_FAILS_WITH(waitpid(pid, &status, 0), ECHILD);
  });
}

// ================================================================ threads

struct CounterArgs {
  pthread_mutex_t* mu;
  long* counter;
  int iterations;
};

void* IncrementLoop(void* arg) {
  auto* a = static_cast<CounterArgs*>(arg);
  for (int i = 0; i < a->iterations; i++) {
    pthread_mutex_lock(a->mu);
    ++*a->counter;
    pthread_mutex_unlock(a->mu);
  }
  return reinterpret_cast<void*>(syscall(SYS_gettid));
}

TEST(Threads, EightThreadsShareAMutexProtectedCounter) {
  pthread_mutex_t mu = PTHREAD_MUTEX_INITIALIZER;
  long counter = 0;
  CounterArgs args{&mu, &counter, 5000};
  pthread_t t[8];
  for (auto& th : t)
    ASSERT_EQ(pthread_create(&th, nullptr, IncrementLoop, &args), 0);
  pid_t tids[8];
  for (int i = 0; i < 8; i++) {
    void* ret = nullptr;
    ASSERT_EQ(pthread_join(t[i], &ret), 0);
    tids[i] = static_cast<pid_t>(reinterpret_cast<intptr_t>(ret));
  }
  EXPECT_EQ(counter, 8L * 5000);
  for (int i = 0; i < 8; i++) {
    EXPECT_GT(tids[i], 0);
    EXPECT_NE(tids[i], getpid());
  }
}

void* ReportIds(void* arg) {
  auto* out = static_cast<pid_t*>(arg);
  out[0] = getpid();
  out[1] = static_cast<pid_t>(syscall(SYS_gettid));
  out[2] = getppid();
  return nullptr;
}

TEST(Threads, ShareThePidHaveOwnTid) {
  pid_t ids[3] = {};
  pthread_t t;
  ASSERT_EQ(pthread_create(&t, nullptr, ReportIds, ids), 0);
  ASSERT_EQ(pthread_join(t, nullptr), 0);
  EXPECT_EQ(ids[0], getpid());
  EXPECT_NE(ids[1], getpid());
  EXPECT_NE(ids[1], syscall(SYS_gettid));
  EXPECT_EQ(ids[2], getppid());
}

struct Handoff {
  pthread_mutex_t mu = PTHREAD_MUTEX_INITIALIZER;
  pthread_cond_t cv = PTHREAD_COND_INITIALIZER;
  int turn = 0;  // even: main's turn, odd: worker's
  int rounds = 500;
};

void* HandoffWorker(void* arg) {
  auto* h = static_cast<Handoff*>(arg);
  for (int i = 0; i < h->rounds; i++) {
    pthread_mutex_lock(&h->mu);
    while (h->turn % 2 == 0) pthread_cond_wait(&h->cv, &h->mu);
    h->turn++;
    pthread_cond_signal(&h->cv);
    pthread_mutex_unlock(&h->mu);
  }
  return nullptr;
}

TEST(Threads, ConditionVariableHandoff) {
  Handoff h;
  pthread_t t;
  ASSERT_EQ(pthread_create(&t, nullptr, HandoffWorker, &h), 0);
  for (int i = 0; i < h.rounds; i++) {
    pthread_mutex_lock(&h.mu);
    while (h.turn % 2 == 1) pthread_cond_wait(&h.cv, &h.mu);
    h.turn++;
    pthread_cond_signal(&h.cv);
    pthread_mutex_unlock(&h.mu);
  }
  ASSERT_EQ(pthread_join(t, nullptr), 0);
  EXPECT_EQ(h.turn, 2 * h.rounds);
}

void* ExitGroupFromThread(void*) {
  syscall(SYS_exit_group, 6);
  return nullptr;
}

TEST(Threads, ExitGroupFromThreadEndsProcess) {
  ExpectChildExits(6, [] {
    StartThread(ExitGroupFromThread);
    for (;;) pause();
  });
}

TEST(Threads, MainExitGroupEndsOtherThreads) {
  ExpectChildExits(5, [] {
    StartThread(SleepForever);
    _exit(5);
  });
}

TEST(Threads, MainThreadExitLeavesProcessRunning) {
  int p[2];
  ASSERT_EQ(pipe(p), 0);
  pid_t pid = fork();
  if (pid == 0) {
    close(p[0]);
    pthread_t t;
    struct Arg {
      int fd;
    };
    static Arg arg;
    arg.fd = p[1];
    auto fn = [](void* a) -> void* {
      SleepMs(10);  // outlive the main thread
      int fd = static_cast<Arg*>(a)->fd;
      write(fd, "alive", 5);
      syscall(SYS_exit_group, 12);
      return nullptr;
    };
    if (pthread_create(&t, nullptr, fn, &arg) != 0) _exit(126);
    syscall(SYS_exit, 0);  // just the main thread
    _exit(127);
  }
  ASSERT_GT(pid, 0);
  close(p[1]);
  char buf[8] = {};
  EXPECT_EQ(read(p[0], buf, sizeof(buf)), 5);
  EXPECT_STREQ(buf, "alive");
  close(p[0]);
  int status = Wait(pid);
  EXPECT_TRUE(WIFEXITED(status)) << Describe(status);
  EXPECT_EQ(WEXITSTATUS(status), 12);
}

// ================================================================ futex

TEST(Futex, WaitWithMismatchedValueIsEagain) {
  alignas(4) int word = 1;
  EXPECT_FAILS_WITH(Futex(&word, FUTEX_WAIT, 0), EAGAIN);
  EXPECT_FAILS_WITH(Futex(&word, FUTEX_WAIT_PRIVATE, 2), EAGAIN);
}

TEST(Futex, WaitTimesOut) {
  alignas(4) int word = 0;
  struct timespec ts = {0, 10 * 1000000L};
  struct timespec t0, t1;
  clock_gettime(CLOCK_MONOTONIC, &t0);
  EXPECT_FAILS_WITH(Futex(&word, FUTEX_WAIT_PRIVATE, 0, &ts), ETIMEDOUT);
  clock_gettime(CLOCK_MONOTONIC, &t1);
  long elapsed_ns =
      (t1.tv_sec - t0.tv_sec) * 1000000000L + (t1.tv_nsec - t0.tv_nsec);
  EXPECT_GE(elapsed_ns, 10 * 1000000L);
  EXPECT_LT(elapsed_ns, 2000 * 1000000L);
  // Shared (non-private) futex too.
  EXPECT_FAILS_WITH(Futex(&word, FUTEX_WAIT, 0, &ts), ETIMEDOUT);
}

TEST(Futex, InvalidArgumentsAreEinval) {
  alignas(8) int words[2] = {0, 0};
  int* misaligned = reinterpret_cast<int*>(reinterpret_cast<char*>(words) + 1);
  EXPECT_FAILS_WITH(Futex(misaligned, FUTEX_WAIT, 0), EINVAL);
  EXPECT_FAILS_WITH(Futex(misaligned, FUTEX_WAKE, 1), EINVAL);
  struct timespec bad = {0, 1000000000L};
  EXPECT_FAILS_WITH(Futex(&words[0], FUTEX_WAIT, 0, &bad), EINVAL);
  struct timespec neg = {-1, 0};
  EXPECT_FAILS_WITH(Futex(&words[0], FUTEX_WAIT, 0, &neg), EINVAL);
}

TEST(Futex, BadAddressIsEfaultAndUnknownOpIsEnosys) {
  EXPECT_FAILS_WITH(Futex(static_cast<int*>(BadPtr()), FUTEX_WAIT, 0), EFAULT);
  alignas(4) int word = 0;
  EXPECT_FAILS_WITH(Futex(&word, 99, 0), ENOSYS);
}

TEST(Futex, WakeWithNoWaitersReturnsZero) {
  alignas(4) int word = 0;
  EXPECT_EQ(Futex(&word, FUTEX_WAKE, 1), 0);
  EXPECT_EQ(Futex(&word, FUTEX_WAKE_PRIVATE, INT_MAX), 0);
}

struct FutexWaiter {
  alignas(4) int word = 0;
  std::atomic<long> result{-100};
  std::atomic<int> err{0};
};

void* FutexWaitThread(void* arg) {
  auto* w = static_cast<FutexWaiter*>(arg);
  long r = Futex(&w->word, FUTEX_WAIT_PRIVATE, 0);
  w->err = errno;
  w->result = r;
  return nullptr;
}

TEST(Futex, WakeReturnsNumberWoken) {
  FutexWaiter w;
  pthread_t t;
  ASSERT_EQ(pthread_create(&t, nullptr, FutexWaitThread, &w), 0);
  // FUTEX_WAKE returns 0 until the waiter is queued, then 1.
  long woken = 0;
  for (int i = 0; i < 2000 && woken == 0; i++) {
    woken = Futex(&w.word, FUTEX_WAKE_PRIVATE, 1);
    if (woken == 0) SleepMs(1);
  }
  EXPECT_EQ(woken, 1);
  ASSERT_EQ(pthread_join(t, nullptr), 0);
  EXPECT_EQ(w.result, 0) << strerror(w.err);
  // Nobody left.
  EXPECT_EQ(Futex(&w.word, FUTEX_WAKE_PRIVATE, 1), 0);
}

TEST(Futex, WakeAllCountsEveryWaiter) {
  FutexWaiter w;
  pthread_t t[3];
  for (auto& th : t)
    ASSERT_EQ(pthread_create(&th, nullptr, FutexWaitThread, &w), 0);
  // Each wake returns how many it woke; waiters not yet queued are woken by
  // a later call, so the sum reaches exactly 3.
  long total = 0;
  for (int i = 0; i < 2000 && total < 3; i++) {
    long n = Futex(&w.word, FUTEX_WAKE_PRIVATE, INT_MAX);
    EXPECT_GE(n, 0);
    EXPECT_LE(n, 3);
    total += n;
    if (total < 3) SleepMs(1);
  }
  EXPECT_EQ(total, 3);
  for (auto& th : t) ASSERT_EQ(pthread_join(th, nullptr), 0);
  EXPECT_EQ(w.result, 0);
}

TEST(Futex, SharedFutexAcrossFork) {
  void* m = mmap(nullptr, 4096, PROT_READ | PROT_WRITE,
                 MAP_SHARED | MAP_ANONYMOUS, -1, 0);
  ASSERT_NE(m, MAP_FAILED);
  int* word = static_cast<int*>(m);
  *word = 0;
  pid_t pid = fork();
  if (pid == 0) {
    while (__atomic_load_n(word, __ATOMIC_SEQ_CST) == 0)
      syscall(SYS_futex, word, FUTEX_WAIT, 0, nullptr, nullptr, 0);
    _exit(0);
  }
  ASSERT_GT(pid, 0);
  long woken = 0;
  for (int i = 0; i < 1000 && woken == 0; i++) {
    woken = Futex(word, FUTEX_WAKE, 1);
    if (woken == 0) SleepMs(1);
  }
  EXPECT_EQ(woken, 1) << "FUTEX_WAKE never found the other process's waiter";
  __atomic_store_n(word, 1, __ATOMIC_SEQ_CST);
  Futex(word, FUTEX_WAKE, 1);
  int status = Wait(pid, 1000);
  EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0) << Describe(status);
  munmap(m, 4096);
}

// ================================================================ pgid/sid

TEST(Session, SetsidInChildReturnsItsPid) {
  pid_t parent_sid = getsid(0);
  RunInChild([&] {
    EXPECT_EQ(getsid(0), parent_sid);
    pid_t me = getpid();
    EXPECT_EQ(setsid(), me);
    EXPECT_EQ(getsid(0), me);
    EXPECT_EQ(getsid(me), me);
    EXPECT_EQ(getpgid(0), me);
    EXPECT_EQ(getpgrp(), me);
    // A session leader cannot start another session.
    EXPECT_FAILS_WITH(setsid(), EPERM);
  });
}

TEST(Session, SetsidInGroupLeaderIsEperm) {
  RunInChild([] {
    ASSERT_EQ(setpgid(0, 0), 0);
    EXPECT_EQ(getpgrp(), getpid());
    EXPECT_FAILS_WITH(setsid(), EPERM);
  });
}

TEST(Session, NonexistentPidIsEsrch) {
  EXPECT_FAILS_WITH(getpgid(kNoSuchPid), ESRCH);
  EXPECT_FAILS_WITH(getsid(kNoSuchPid), ESRCH);
  EXPECT_FAILS_WITH(setpgid(kNoSuchPid, 0), ESRCH);
}

TEST(Session, OwnIdsAreConsistent) {
  EXPECT_EQ(getpgid(0), getpgrp());
  EXPECT_EQ(getpgid(getpid()), getpgrp());
  EXPECT_EQ(getsid(0), getsid(getpid()));
  // getsid is 0 when the session leader lives outside our pid namespace (as
  // in many containers), so only a session of our own is known to be > 0.
  EXPECT_GE(getsid(0), 0);
  RunInChild([] {
    ASSERT_EQ(setsid(), getpid());
    EXPECT_EQ(getsid(0), getpid());
    EXPECT_EQ(getpgid(0), getpid());
  });
  EXPECT_EQ(syscall(SYS_getpgrp), getpgrp());
}

TEST(Session, ChildInheritsGroupAndSession) {
  pid_t pgrp = getpgrp();
  pid_t sid = getsid(0);
  RunInChild([&] {
    EXPECT_EQ(getpgrp(), pgrp);
    EXPECT_EQ(getsid(0), sid);
  });
}

TEST(Setpgid, ChildMovesToItsOwnGroup) {
  RunInChild([] {
    pid_t me = getpid();
    ASSERT_EQ(setpgid(0, 0), 0);
    EXPECT_EQ(getpgid(0), me);
    EXPECT_EQ(getpgrp(), me);
    // Idempotent; explicit pid and pgid.
    EXPECT_EQ(setpgid(me, me), 0);
  });
}

TEST(Setpgid, Errors) {
  EXPECT_FAILS_WITH(setpgid(0, -1), EINVAL);
  RunInChild([] {
    // A group that does not exist in our session.
    EXPECT_FAILS_WITH(setpgid(0, kNoSuchPid), EPERM);
  });
}

TEST(Setpgid, ChildInAnotherSessionIsEperm) {
  int p[2], q[2];
  ASSERT_EQ(pipe(p), 0);
  ASSERT_EQ(pipe(q), 0);
  pid_t pid = Spawn([&] {
    close(p[0]);
    close(q[1]);
    EXPECT_EQ(setsid(), getpid());
    write(p[1], "s", 1);
    char c;
    read(q[0], &c, 1);
  });
  ASSERT_GT(pid, 0);
  close(p[1]);
  close(q[0]);
  char c;
  ASSERT_EQ(read(p[0], &c, 1), 1);
  EXPECT_FAILS_WITH(setpgid(pid, pid), EPERM);
  EXPECT_EQ(getsid(pid), pid);
  close(q[1]);
  close(p[0]);
  int status = Wait(pid);
  EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0) << Describe(status);
}

TEST(Setpgid, ParentMovesChildrenAndKillsTheGroup) {
  pid_t a = fork();
  if (a == 0) {
    for (;;) pause();
  }
  ASSERT_GT(a, 0);
  pid_t b = fork();
  if (b == 0) {
    for (;;) pause();
  }
  ASSERT_GT(b, 0);
  EXPECT_EQ(setpgid(a, a), 0) << strerror(errno);
  EXPECT_EQ(setpgid(b, a), 0) << strerror(errno);
  EXPECT_EQ(getpgid(a), a);
  EXPECT_EQ(getpgid(b), a);
  EXPECT_NE(getpgrp(), a);
  ASSERT_EQ(kill(-a, SIGKILL), 0);
  int status = Wait(a);
  EXPECT_TRUE(WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL)
      << Describe(status);
  status = Wait(b);
  EXPECT_TRUE(WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL)
      << Describe(status);
}

TEST(Setpgid, AfterExecIsEacces) {
  int p[2];
  ASSERT_EQ(pipe(p), 0);
  fflush(stdout);
  pid_t pid = fork();
  if (pid == 0) {
    close(p[1]);
    dup2(p[0], 0);
    char* const argv[] = {const_cast<char*>("sh"), const_cast<char*>("-c"),
                          const_cast<char*>("read x; exit 0"), nullptr};
    execve("/bin/sh", argv, kEmptyEnv);
    dprintf(2, "execve(/bin/sh): %s\n", strerror(errno));
    _exit(127);
  }
  ASSERT_GT(pid, 0);
  close(p[0]);
  // Wait for the exec to have happened: poll until setpgid says so.
  int r = 0, e = 0;
  for (int i = 0; i < 1000; i++) {
    errno = 0;
    r = setpgid(pid, pid);
    e = errno;
    if (r == -1) break;
    SleepMs(1);
  }
  EXPECT_EQ(r, -1);
  EXPECT_EQ(e, EACCES) << strerror(e);
  ASSERT_EQ(write(p[1], "\n", 1), 1);
  close(p[1]);
  int status = Wait(pid);
  EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0) << Describe(status);
}

// ================================================================ job control

// Waits up to 2 s for `pid` to report a stop; returns its status or -1.
int WaitStopped(pid_t pid) {
  int status = 0;
  for (long deadline = NowMs() + 2000; NowMs() < deadline;) {
    pid_t r = waitpid(pid, &status, WUNTRACED | WNOHANG);
    if (r == pid) return status;
    if (r < 0) return -1;
    SleepMs(1);
  }
  return -1;
}

TEST(JobControl, TstpStopsAChildInAConnectedGroup) {
  // In a group of its own, the child's group is linked to the session by
  // its parent (in another group): SIGTSTP stops it.
  RunInChild([] {
    ASSERT_EQ(setpgid(0, 0), 0);
    pid_t pid = fork();
    if (pid == 0) {
      for (;;) pause();
    }
    ASSERT_GT(pid, 0);
    ASSERT_EQ(setpgid(pid, pid), 0);
    ASSERT_EQ(kill(pid, SIGTSTP), 0);
    int status = WaitStopped(pid);
    EXPECT_TRUE(WIFSTOPPED(status)) << Describe(status);
    EXPECT_EQ(WSTOPSIG(status), SIGTSTP);
    // Reported once.
    EXPECT_EQ(waitpid(pid, &status, WUNTRACED | WNOHANG), 0);
    ASSERT_EQ(kill(pid, SIGCONT), 0);
    pid_t r = 0;
    for (long deadline = NowMs() + 2000; r == 0 && NowMs() < deadline; SleepMs(1)) {
      r = waitpid(pid, &status, WCONTINUED | WNOHANG);
    }
    ASSERT_EQ(r, pid);
    EXPECT_TRUE(WIFCONTINUED(status)) << Describe(status);
    EXPECT_EQ(waitpid(pid, &status, WCONTINUED | WNOHANG), 0);
    kill(pid, SIGKILL);
    status = Wait(pid);
    EXPECT_TRUE(WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL) << Describe(status);
  });
}

TEST(JobControl, TstpDoesNothingInAnOrphanedGroup) {
  // A new session's only group has no link to another: SIGTSTP is
  // discarded, SIGSTOP still stops.
  RunInChild([] {
    ASSERT_EQ(setsid(), getpid());
    pid_t pid = fork();
    if (pid == 0) {
      for (;;) pause();
    }
    ASSERT_GT(pid, 0);
    ASSERT_EQ(kill(pid, SIGTSTP), 0);
    SleepMs(20);
    ASSERT_EQ(kill(pid, SIGSTOP), 0);
    int status = WaitStopped(pid);
    EXPECT_TRUE(WIFSTOPPED(status)) << Describe(status);
    EXPECT_EQ(WSTOPSIG(status), SIGSTOP) << "SIGTSTP stopped an orphaned group";
    kill(pid, SIGKILL);
    Wait(pid);
  });
}

TEST(JobControl, ParentGetsSigchldUnlessSaNocldstop) {
  RunInChild([] {
    g_hits = 0;
    memset(&g_info, 0, sizeof(g_info));
    InstallInfo(SIGCHLD, InfoHandler);
    BlockSignal(SIGCHLD);
    pid_t pid = fork();
    if (pid == 0) {
      for (;;) pause();
    }
    ASSERT_GT(pid, 0);
    ASSERT_EQ(kill(pid, SIGSTOP), 0);
    int status = WaitStopped(pid);
    ASSERT_TRUE(WIFSTOPPED(status)) << Describe(status);
    UnblockSignal(SIGCHLD);
    EXPECT_EQ(g_hits, 1);
    EXPECT_EQ(g_info.si_code, CLD_STOPPED);
    EXPECT_EQ(g_info.si_pid, pid);
    EXPECT_EQ(g_info.si_status, SIGSTOP);

    // With SA_NOCLDSTOP neither stop nor continue raises SIGCHLD; the
    // exit still does.
    g_hits = 0;
    InstallInfo(SIGCHLD, InfoHandler, SA_NOCLDSTOP);
    BlockSignal(SIGCHLD);
    ASSERT_EQ(kill(pid, SIGCONT), 0);
    siginfo_t info;
    ASSERT_TRUE(PollWaitid(pid, WCONTINUED, &info, 2000));
    ASSERT_EQ(kill(pid, SIGSTOP), 0);
    ASSERT_TRUE(WIFSTOPPED(WaitStopped(pid)));
    EXPECT_EQ(PendingSet() & Bit(SIGCHLD), 0u);
    kill(pid, SIGKILL);
    Wait(pid);
    EXPECT_TRUE(PendingSet() & Bit(SIGCHLD));
  });
}

TEST(JobControl, WaitidWstoppedWithWnowaitKeepsTheReport) {
  pid_t pid = fork();
  if (pid == 0) {
    for (;;) pause();
  }
  ASSERT_GT(pid, 0);
  ASSERT_EQ(kill(pid, SIGSTOP), 0);
  siginfo_t info;
  ASSERT_TRUE(PollWaitid(pid, WSTOPPED | WNOWAIT, &info, 2000));
  EXPECT_EQ(info.si_code, CLD_STOPPED);
  EXPECT_EQ(info.si_status, SIGSTOP);
  ASSERT_TRUE(PollWaitid(pid, WSTOPPED, &info, 2000));
  EXPECT_EQ(info.si_code, CLD_STOPPED);
  memset(&info, 0, sizeof(info));
  EXPECT_EQ(syscall(SYS_waitid, P_PID, pid, &info, WSTOPPED | WNOHANG, nullptr), 0);
  EXPECT_EQ(info.si_pid, 0) << "the stop was reported twice";
  kill(pid, SIGKILL);
  Wait(pid);
}

TEST(JobControl, EveryThreadStopsAndResumes) {
  auto* counter = static_cast<std::atomic<long>*>(
      mmap(nullptr, 4096, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0));
  ASSERT_NE(counter, MAP_FAILED);
  new (counter) std::atomic<long>(0);
  fflush(stdout);
  pid_t pid = fork();
  if (pid == 0) {
    static std::atomic<long>* c = counter;
    auto spin = [](void*) -> void* {
      for (;;) c->fetch_add(1);
      return nullptr;
    };
    pthread_t t;
    if (pthread_create(&t, nullptr, spin, nullptr) != 0) _exit(126);
    spin(nullptr);
  }
  ASSERT_GT(pid, 0);
  while (counter->load() < 1000) SleepMs(1);
  ASSERT_EQ(kill(pid, SIGSTOP), 0);
  ASSERT_TRUE(WIFSTOPPED(WaitStopped(pid)));
  SleepMs(5);  // a thread may still be on its way to stopping
  long a = counter->load();
  SleepMs(30);
  EXPECT_EQ(counter->load(), a) << "a thread ran while the process was stopped";
  ASSERT_EQ(kill(pid, SIGCONT), 0);
  for (long deadline = NowMs() + 2000; counter->load() == a && NowMs() < deadline;) SleepMs(1);
  EXPECT_GT(counter->load(), a) << "not resumed by SIGCONT";
  kill(pid, SIGKILL);
  Wait(pid);
  munmap(counter, 4096);
}

TEST(JobControl, BlockedReadResumesAfterContinue) {
  int p[2];
  ASSERT_EQ(pipe(p), 0);
  int q[2];
  ASSERT_EQ(pipe(q), 0);
  fflush(stdout);
  pid_t pid = fork();
  if (pid == 0) {
    close(p[1]);
    close(q[0]);
    char c = 0;
    ssize_t n = read(p[0], &c, 1);  // stopped and continued in here
    char out = (n == 1 && c == 'x') ? 'k' : 'e';
    write(q[1], &out, 1);
    _exit(0);
  }
  ASSERT_GT(pid, 0);
  close(p[0]);
  close(q[1]);
  SleepMs(10);
  ASSERT_EQ(kill(pid, SIGSTOP), 0);
  ASSERT_TRUE(WIFSTOPPED(WaitStopped(pid)));
  ASSERT_EQ(write(p[1], "x", 1), 1);
  SleepMs(10);
  ASSERT_EQ(kill(pid, SIGCONT), 0);
  char c = 0;
  EXPECT_EQ(read(q[0], &c, 1), 1);
  EXPECT_EQ(c, 'k') << "the read did not resume with the data";
  int status = Wait(pid);
  EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0) << Describe(status);
  close(p[1]);
  close(q[0]);
}

TEST(JobControl, ContinueDiscardsPendingStopAndStopDiscardsContinue) {
  RunInChild([] {
    ASSERT_EQ(setpgid(0, 0), 0);  // not orphaned: SIGTSTP would stop
    BlockSignal(SIGTSTP);
    BlockSignal(SIGCONT);
    ASSERT_EQ(kill(getpid(), SIGTSTP), 0);
    ASSERT_TRUE(PendingSet() & Bit(SIGTSTP));
    ASSERT_EQ(kill(getpid(), SIGCONT), 0);
    EXPECT_EQ(PendingSet() & Bit(SIGTSTP), 0u) << "SIGCONT left SIGTSTP pending";
    EXPECT_TRUE(PendingSet() & Bit(SIGCONT));
    ASSERT_EQ(kill(getpid(), SIGTSTP), 0);
    EXPECT_EQ(PendingSet() & Bit(SIGCONT), 0u) << "SIGTSTP left SIGCONT pending";
    // Caught, SIGTSTP runs its handler and stops nothing.
    g_hits = 0;
    Install(SIGTSTP, CountHandler);
    UnblockSignal(SIGTSTP);
    EXPECT_EQ(g_hits, 1);
  });
}

int g_hup_fd = -1;
void HupHandler(int) {
  write(g_hup_fd, "H", 1);
  _exit(0);
}

TEST(JobControl, OrphanedStoppedGroupGetsHupAndCont) {
  // A (a session leader) stops its child B, in a group of B's own that
  // only A links to the session, then exits: B's group is orphaned with a
  // stopped member, so B gets SIGHUP and SIGCONT.
  int p[2];
  ASSERT_EQ(pipe(p), 0);
  fflush(stdout);
  pid_t a = fork();
  if (a == 0) {
    close(p[0]);
    if (setsid() < 0) _exit(2);
    // B has its handler from the start: it may be stopped before it runs.
    g_hup_fd = p[1];
    signal(SIGHUP, HupHandler);
    pid_t b = fork();
    if (b == 0) {
      for (;;) pause();
    }
    if (b < 0 || setpgid(b, b) != 0) _exit(3);
    if (kill(b, SIGSTOP) != 0) _exit(4);
    int status;
    if (waitpid(b, &status, WUNTRACED) != b || !WIFSTOPPED(status)) _exit(5);
    _exit(0);
  }
  ASSERT_GT(a, 0);
  close(p[1]);
  int status = Wait(a);
  EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0) << Describe(status);
  char c = 0;
  // B is not our child: its handler writes and exits. Were it left
  // stopped, the read would block for ever, so an alarm bounds it.
  Install(SIGALRM, CountHandler, 0);
  alarm(5);
  ssize_t n = read(p[0], &c, 1);
  alarm(0);
  signal(SIGALRM, SIG_DFL);
  EXPECT_EQ(n, 1) << "no SIGHUP reached the orphaned stopped process";
  EXPECT_EQ(c, 'H');
  close(p[0]);
}

}  // namespace
