// rt_sigtimedwait (sigwaitinfo, sigtimedwait) and restart_syscall: taking
// signals synchronously, and a sleep that goes on after a stop.
//
// Each test runs in a forked child, so masks and pending signals never leak
// into the next test.

#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdint.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include "test_util.h"

namespace {

using husk_test::NowMs;
using husk_test::SleepMs;

constexpr size_t kSigsetSize = 8;

uint64_t Bit(int sig) { return uint64_t{1} << (sig - 1); }

void Block(uint64_t set) { syscall(SYS_rt_sigprocmask, SIG_BLOCK, &set, nullptr, kSigsetSize); }

long Timedwait(uint64_t set, siginfo_t* info, const timespec* timeout, size_t size = kSigsetSize) {
  return syscall(SYS_rt_sigtimedwait, &set, info, timeout, size);
}

using husk_test::RunInChild;

volatile sig_atomic_t g_hits;
void CountHandler(int) { g_hits = g_hits + 1; }

TEST(RtSigtimedwait, TakesAPendingBlockedSignalAtOnce) {
  RunInChild([] {
    Block(Bit(SIGUSR1));
    ASSERT_EQ(kill(getpid(), SIGUSR1), 0);
    siginfo_t info{};
    timespec zero{0, 0};
    EXPECT_EQ(Timedwait(Bit(SIGUSR1), &info, &zero), SIGUSR1);
    EXPECT_EQ(info.si_signo, SIGUSR1);
    EXPECT_EQ(info.si_code, SI_USER);
    EXPECT_EQ(info.si_pid, getpid());
    // Taken: no longer pending.
    sigset_t pend;
    sigpending(&pend);
    EXPECT_FALSE(sigismember(&pend, SIGUSR1));
  });
}

TEST(RtSigtimedwait, TimesOutWithEagain) {
  RunInChild([] {
    Block(Bit(SIGUSR1));
    timespec t{0, 30 * 1000000};
    long start = NowMs();
    EXPECT_FAILS_WITH(Timedwait(Bit(SIGUSR1), nullptr, &t), EAGAIN);
    EXPECT_GE(NowMs() - start, 29);
    timespec zero{0, 0};
    EXPECT_FAILS_WITH(Timedwait(Bit(SIGUSR1), nullptr, &zero), EAGAIN);
  });
}

TEST(RtSigtimedwait, WaitsForASignalFromAnotherProcess) {
  RunInChild([] {
    Block(Bit(SIGUSR2));
    pid_t me = getpid();
    pid_t sender = fork();
    if (sender == 0) {
      SleepMs(20);
      _exit(kill(me, SIGUSR2) == 0 ? 0 : 1);
    }
    siginfo_t info{};
    EXPECT_EQ(Timedwait(Bit(SIGUSR2) | Bit(SIGUSR1), &info, nullptr), SIGUSR2);
    EXPECT_EQ(info.si_pid, sender);
    int status;
    waitpid(sender, &status, 0);
  });
}

TEST(RtSigtimedwait, RealtimeSignalsComeInOrderWithTheirValues) {
  RunInChild([] {
    int rt = SIGRTMIN + 3;
    Block(Bit(rt) | Bit(SIGUSR1));
    for (int v : {11, 22, 33}) {
      union sigval val;
      val.sival_int = v;
      ASSERT_EQ(sigqueue(getpid(), rt, val), 0);
    }
    ASSERT_EQ(kill(getpid(), SIGUSR1), 0);
    // The lowest signal first, then the queue in order.
    siginfo_t info{};
    EXPECT_EQ(Timedwait(Bit(rt) | Bit(SIGUSR1), &info, nullptr), SIGUSR1);
    for (int v : {11, 22, 33}) {
      memset(&info, 0, sizeof(info));
      EXPECT_EQ(Timedwait(Bit(rt), &info, nullptr), rt);
      EXPECT_EQ(info.si_code, SI_QUEUE);
      EXPECT_EQ(info.si_value.sival_int, v);
    }
  });
}

TEST(RtSigtimedwait, ThreadDirectedSignalIsTaken) {
  RunInChild([] {
    Block(Bit(SIGUSR1));
    ASSERT_EQ(syscall(SYS_tgkill, getpid(), syscall(SYS_gettid), SIGUSR1), 0);
    siginfo_t info{};
    EXPECT_EQ(Timedwait(Bit(SIGUSR1), &info, nullptr), SIGUSR1);
    EXPECT_EQ(info.si_code, SI_TKILL);
  });
}

TEST(RtSigtimedwait, AnotherSignalInterruptsWithEintr) {
  RunInChild([] {
    g_hits = 0;
    struct sigaction sa{};
    sa.sa_handler = CountHandler;
    ASSERT_EQ(sigaction(SIGUSR2, &sa, nullptr), 0);
    Block(Bit(SIGUSR1));
    pid_t me = getpid();
    pid_t sender = fork();
    if (sender == 0) {
      SleepMs(20);
      _exit(kill(me, SIGUSR2) == 0 ? 0 : 1);
    }
    EXPECT_FAILS_WITH(Timedwait(Bit(SIGUSR1), nullptr, nullptr), EINTR);
    EXPECT_EQ(g_hits, 1);
    int status;
    waitpid(sender, &status, 0);
  });
}

TEST(RtSigtimedwait, UnblockedAwaitedSignalIsTakenNotHandled) {
  // The awaited signal need not be blocked; it is still taken rather than
  // handled if it arrives during the wait.
  RunInChild([] {
    g_hits = 0;
    struct sigaction sa{};
    sa.sa_handler = CountHandler;
    ASSERT_EQ(sigaction(SIGUSR1, &sa, nullptr), 0);
    pid_t me = getpid();
    pid_t sender = fork();
    if (sender == 0) {
      SleepMs(20);
      _exit(kill(me, SIGUSR1) == 0 ? 0 : 1);
    }
    EXPECT_EQ(Timedwait(Bit(SIGUSR1), nullptr, nullptr), SIGUSR1);
    EXPECT_EQ(g_hits, 0);
    int status;
    waitpid(sender, &status, 0);
  });
}

TEST(RtSigtimedwait, SigkillInTheSetIsIgnored) {
  RunInChild([] {
    timespec zero{0, 0};
    EXPECT_FAILS_WITH(Timedwait(Bit(SIGKILL) | Bit(SIGSTOP), nullptr, &zero), EAGAIN);
  });
}

TEST(RtSigtimedwait, Errors) {
  RunInChild([] {
    Block(Bit(SIGUSR1));
    timespec zero{0, 0};
    EXPECT_FAILS_WITH(Timedwait(Bit(SIGUSR1), nullptr, &zero, 4), EINVAL);
    EXPECT_FAILS_WITH(Timedwait(Bit(SIGUSR1), nullptr, &zero, 16), EINVAL);
    EXPECT_FAILS_WITH(syscall(SYS_rt_sigtimedwait, husk_test::BadPtr(), nullptr, &zero, kSigsetSize),
                      EFAULT);
    EXPECT_FAILS_WITH(Timedwait(Bit(SIGUSR1), nullptr, static_cast<timespec*>(husk_test::BadPtr())),
                      EFAULT);
    timespec bad{0, 1000000000};
    EXPECT_FAILS_WITH(Timedwait(Bit(SIGUSR1), nullptr, &bad), EINVAL);
    timespec negative{-1, 0};
    EXPECT_FAILS_WITH(Timedwait(Bit(SIGUSR1), nullptr, &negative), EINVAL);
    // A bad info pointer: EFAULT, and the signal is consumed all the same.
    ASSERT_EQ(kill(getpid(), SIGUSR1), 0);
    EXPECT_FAILS_WITH(Timedwait(Bit(SIGUSR1), static_cast<siginfo_t*>(husk_test::BadPtr()), &zero),
                      EFAULT);
    sigset_t pend;
    sigpending(&pend);
    EXPECT_FALSE(sigismember(&pend, SIGUSR1));
  });
}

// ---------------------------------------------------------------- restart

TEST(RestartSyscall, SleepStoppedAndContinuedKeepsItsDeadline) {
  // A relative nanosleep interrupted by a stop goes on, after SIGCONT,
  // with the time it had left (restart_syscall), not from the start.
  auto* elapsed = static_cast<long*>(
      mmap(nullptr, 4096, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0));
  ASSERT_NE(elapsed, MAP_FAILED);
  *elapsed = -1;
  fflush(stdout);
  pid_t pid = fork();
  if (pid == 0) {
    long start = NowMs();
    timespec ts{0, 400 * 1000000};
    int r = nanosleep(&ts, nullptr);
    *elapsed = NowMs() - start;
    _exit(r == 0 ? 0 : 1);
  }
  ASSERT_GT(pid, 0);
  SleepMs(50);
  ASSERT_EQ(kill(pid, SIGSTOP), 0);
  SleepMs(200);
  ASSERT_EQ(kill(pid, SIGCONT), 0);
  int status = 0;
  ASSERT_EQ(waitpid(pid, &status, 0), pid);
  EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0) << "nanosleep failed";
  EXPECT_GE(*elapsed, 399);
  // Started over, it would have slept at least 250 + 400 ms.
  EXPECT_LT(*elapsed, 600) << "the sleep restarted from the start";
  munmap(elapsed, 4096);
}

TEST(RestartSyscall, HandlerMakesSleepFailWithEintrAndTheTimeLeft) {
  RunInChild([] {
    struct sigaction sa{};
    sa.sa_handler = CountHandler;
    sa.sa_flags = SA_RESTART;  // no restart for sleeps, even so
    ASSERT_EQ(sigaction(SIGUSR1, &sa, nullptr), 0);
    pid_t me = getpid();
    pid_t sender = fork();
    if (sender == 0) {
      SleepMs(30);
      _exit(kill(me, SIGUSR1) == 0 ? 0 : 1);
    }
    timespec ts{2, 0}, rem{};
    EXPECT_FAILS_WITH(nanosleep(&ts, &rem), EINTR);
    EXPECT_GT(rem.tv_sec * 1000L + rem.tv_nsec / 1000000, 1500);
    EXPECT_LE(rem.tv_sec, 2);
    int status;
    waitpid(sender, &status, 0);
  });
}

TEST(RestartSyscall, NothingToRestartIsEintr) {
  EXPECT_FAILS_WITH(syscall(SYS_restart_syscall), EINTR);
}

}  // namespace
