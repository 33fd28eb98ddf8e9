// CPU time: getrusage, times, wait4's and waitid's rusage, and the CPU
// clocks (CLOCK_PROCESS_CPUTIME_ID, CLOCK_THREAD_CPUTIME_ID and the ids of
// clock_getcpuclockid(3) / pthread_getcpuclockid(3)).
//
// The machines are small and loaded: work is measured in CPU time spent
// (spinning until a CPU clock has advanced), never in wall time, and the
// bounds leave room for scheduling noise.

#include <errno.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <stdint.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <sys/times.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <atomic>
#include <thread>

#include <gtest/gtest.h>

#include "test_util.h"

namespace {

using husk_test::BadPtr;

constexpr int64_t kMs = 1000000;  // in ns
constexpr pid_t kNoSuchPid = 0x3ffffff0;  // above PID_MAX_LIMIT

int64_t Ns(const timespec& ts) { return ts.tv_sec * 1000000000LL + ts.tv_nsec; }
int64_t Ns(const timeval& tv) { return tv.tv_sec * 1000000000LL + tv.tv_usec * 1000LL; }

int64_t ClockNs(clockid_t id) {
  timespec ts{};
  if (syscall(SYS_clock_gettime, id, &ts) != 0) {
    ADD_FAILURE() << "clock_gettime(" << id << "): " << strerror(errno);
  }
  return Ns(ts);
}

int64_t MonotonicNs() {
  timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return Ns(ts);
}

// MAKE_PROCESS_CPUCLOCK / MAKE_THREAD_CPUCLOCK of the kernel's
// posix-cpu-timers: type 0 PROF, 1 VIRT, 2 SCHED.
clockid_t ProcessClock(pid_t pid, int type = 2) {
  return static_cast<clockid_t>((~static_cast<unsigned>(pid) << 3) | type);
}
clockid_t ThreadClock(pid_t tid, int type = 2) {
  return static_cast<clockid_t>((~static_cast<unsigned>(tid) << 3) | 4 | type);
}

// Spins until the calling thread has used `ms` more of CPU (or 10 s of
// wall time went by, which fails the caller's checks).
void SpinCpu(int64_t ms) {
  const int64_t start = ClockNs(CLOCK_THREAD_CPUTIME_ID);
  const int64_t give_up = MonotonicNs() + 10000 * kMs;
  volatile uint64_t x = 0;
  while (ClockNs(CLOCK_THREAD_CPUTIME_ID) - start < ms * kMs && MonotonicNs() < give_up) {
    for (int i = 0; i < 200000; i++) x = x + i;
  }
}

void SleepMs(int ms) {
  timespec ts = {ms / 1000, (ms % 1000) * kMs};
  while (nanosleep(&ts, &ts) != 0 && errno == EINTR) {
  }
}

rusage Usage(int who) {
  rusage ru{};
  EXPECT_EQ(syscall(SYS_getrusage, who, &ru), 0) << strerror(errno);
  return ru;
}
int64_t CpuNs(const rusage& ru) { return Ns(ru.ru_utime) + Ns(ru.ru_stime); }

bool Normalized(const rusage& ru) {
  return ru.ru_utime.tv_sec >= 0 && ru.ru_utime.tv_usec >= 0 && ru.ru_utime.tv_usec < 1000000 &&
         ru.ru_stime.tv_sec >= 0 && ru.ru_stime.tv_usec >= 0 && ru.ru_stime.tv_usec < 1000000;
}

// A child that uses `ms` of CPU and exits 0.
pid_t SpinningChild(int64_t ms) {
  fflush(stdout);
  fflush(stderr);
  pid_t pid = fork();
  if (pid == 0) {
    SpinCpu(ms);
    _exit(0);
  }
  return pid;
}

// Waits until `pid` has exited, without reaping it.
void AwaitExit(pid_t pid) {
  siginfo_t si{};
  ASSERT_EQ(waitid(P_PID, pid, &si, WEXITED | WNOWAIT), 0) << strerror(errno);
  ASSERT_EQ(si.si_pid, pid);
}

// ---------------------------------------------------------------- getrusage

TEST(Getrusage, SelfCountsCpuSpent) {
  const rusage before = Usage(RUSAGE_SELF);
  SpinCpu(60);
  const rusage after = Usage(RUSAGE_SELF);
  EXPECT_TRUE(Normalized(after));
  EXPECT_GE(CpuNs(after) - CpuNs(before), 50 * kMs);
  // Spinning is user time, natively and in the sandbox's model.
  EXPECT_GE(Ns(after.ru_utime) - Ns(before.ru_utime), 30 * kMs);
}

TEST(Getrusage, SleepingUsesAlmostNoCpu) {
  const rusage before = Usage(RUSAGE_SELF);
  SleepMs(200);
  const rusage after = Usage(RUSAGE_SELF);
  EXPECT_LT(CpuNs(after) - CpuNs(before), 50 * kMs);
}

TEST(Getrusage, SelfNeverGoesBack) {
  int64_t last = 0;
  for (int i = 0; i < 50; i++) {
    const int64_t now = CpuNs(Usage(RUSAGE_SELF));
    EXPECT_GE(now, last);
    last = now;
  }
}

TEST(Getrusage, ThreadCountsOnlyTheCallingThread) {
  const rusage self_before = Usage(RUSAGE_SELF);
  const rusage thread_before = Usage(RUSAGE_THREAD);
  std::thread worker([] { SpinCpu(80); });
  worker.join();
  const rusage thread_after = Usage(RUSAGE_THREAD);
  const rusage self_after = Usage(RUSAGE_SELF);
  EXPECT_GE(CpuNs(self_after) - CpuNs(self_before), 70 * kMs);
  EXPECT_LT(CpuNs(thread_after) - CpuNs(thread_before), 40 * kMs);
  EXPECT_LE(CpuNs(thread_after), CpuNs(self_after));
}

TEST(Getrusage, ThreadSeesItsOwnSpinning) {
  std::atomic<int64_t> used{0};
  std::thread worker([&] {
    const rusage before = Usage(RUSAGE_THREAD);
    SpinCpu(50);
    used = CpuNs(Usage(RUSAGE_THREAD)) - CpuNs(before);
  });
  worker.join();
  EXPECT_GE(used.load(), 45 * kMs);
}

TEST(Getrusage, ExitedThreadsStillCountForTheProcess) {
  const int64_t before = CpuNs(Usage(RUSAGE_SELF));
  for (int i = 0; i < 3; i++) {
    std::thread worker([] { SpinCpu(25); });
    worker.join();
  }
  EXPECT_GE(CpuNs(Usage(RUSAGE_SELF)) - before, 70 * kMs);
}

TEST(Getrusage, ChildrenCountOnlyOnceWaitedFor) {
  const int64_t before = CpuNs(Usage(RUSAGE_CHILDREN));
  pid_t pid = SpinningChild(50);
  ASSERT_GT(pid, 0);
  AwaitExit(pid);
  // A zombie's time is not the parent's yet.
  EXPECT_LT(CpuNs(Usage(RUSAGE_CHILDREN)) - before, 10 * kMs);
  int status = 0;
  ASSERT_EQ(waitpid(pid, &status, 0), pid);
  EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0);
  const rusage after = Usage(RUSAGE_CHILDREN);
  EXPECT_TRUE(Normalized(after));
  EXPECT_GE(CpuNs(after) - before, 40 * kMs);
}

TEST(Getrusage, ChildrenIncludeWhatTheyWaitedFor) {
  const int64_t before = CpuNs(Usage(RUSAGE_CHILDREN));
  fflush(stdout);
  pid_t pid = fork();
  if (pid == 0) {
    pid_t grandchild = SpinningChild(50);
    int status;
    _exit(grandchild > 0 && waitpid(grandchild, &status, 0) == grandchild ? 0 : 1);
  }
  ASSERT_GT(pid, 0);
  int status = 0;
  ASSERT_EQ(waitpid(pid, &status, 0), pid);
  EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0);
  EXPECT_GE(CpuNs(Usage(RUSAGE_CHILDREN)) - before, 40 * kMs);
}

TEST(Getrusage, CpuTimeSurvivesExec) {
  const int64_t before = CpuNs(Usage(RUSAGE_CHILDREN));
  fflush(stdout);
  pid_t pid = fork();
  if (pid == 0) {
    SpinCpu(50);
    execl("/bin/true", "true", static_cast<char*>(nullptr));
    _exit(127);
  }
  ASSERT_GT(pid, 0);
  int status = 0;
  ASSERT_EQ(waitpid(pid, &status, 0), pid);
  EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0) << status;
  EXPECT_GE(CpuNs(Usage(RUSAGE_CHILDREN)) - before, 40 * kMs);
}

// The child of clone(CLONE_VM | CLONE_VFORK), as posix_spawn makes, runs in
// its parent's memory on a stack of its own.
int SpinThenExit(void*) {
  SpinCpu(50);
  _exit(0);
}

TEST(Getrusage, VforkChildCountsAsAChild) {
  const int64_t before = CpuNs(Usage(RUSAGE_CHILDREN));
  static char stack[256 * 1024] __attribute__((aligned(16)));
  fflush(stdout);
  const int64_t self_before = CpuNs(Usage(RUSAGE_SELF));
  pid_t pid = clone(SpinThenExit, stack + sizeof(stack), CLONE_VM | CLONE_VFORK | SIGCHLD, nullptr);
  ASSERT_GT(pid, 0) << strerror(errno);
  int status = 0;
  ASSERT_EQ(waitpid(pid, &status, 0), pid);
  EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0) << status;
  EXPECT_GE(CpuNs(Usage(RUSAGE_CHILDREN)) - before, 40 * kMs);
  // The parent slept meanwhile; the child's time is not its own. (Once
  // the child is gone, what our process reports grows no more until our
  // own use catches up.)
  SpinCpu(60);
  EXPECT_LT(CpuNs(Usage(RUSAGE_SELF)) - self_before, 100 * kMs);
}

TEST(Getrusage, ChildrenReapedBecauseSigchldIsIgnoredDoNotCount) {
  // POSIX: the times of children reaped because SIGCHLD is ignored are
  // not collected.
  struct sigaction ign{}, old{};
  ign.sa_handler = SIG_IGN;
  ASSERT_EQ(sigaction(SIGCHLD, &ign, &old), 0);
  const int64_t before = CpuNs(Usage(RUSAGE_CHILDREN));
  pid_t pid = SpinningChild(40);
  ASSERT_GT(pid, 0);
  int status;
  // Blocks until the child is gone, then finds nothing to wait for.
  EXPECT_EQ(waitpid(pid, &status, 0), -1);
  EXPECT_EQ(errno, ECHILD);
  EXPECT_LT(CpuNs(Usage(RUSAGE_CHILDREN)) - before, 10 * kMs);
  ASSERT_EQ(sigaction(SIGCHLD, &old, nullptr), 0);
}

TEST(Getrusage, InvalidWhoIsEinval) {
  rusage ru;
  for (int who : {2, -2, 100, -100}) {
    EXPECT_FAILS_WITH(syscall(SYS_getrusage, who, &ru), EINVAL);
  }
}

TEST(Getrusage, BadPointerIsEfault) {
  for (int who : {RUSAGE_SELF, RUSAGE_CHILDREN, RUSAGE_THREAD}) {
    EXPECT_FAILS_WITH(syscall(SYS_getrusage, who, nullptr), EFAULT);
    EXPECT_FAILS_WITH(syscall(SYS_getrusage, who, BadPtr()), EFAULT);
  }
}

// ---------------------------------------------------------------- wait4, waitid

TEST(Wait4, RusageIsTheChildsCpu) {
  pid_t pid = SpinningChild(50);
  ASSERT_GT(pid, 0);
  int status = 0;
  rusage ru;
  memset(&ru, 0xff, sizeof(ru));
  ASSERT_EQ(syscall(SYS_wait4, pid, &status, 0, &ru), pid);
  EXPECT_TRUE(Normalized(ru));
  EXPECT_GE(CpuNs(ru), 40 * kMs);
}

TEST(Wait4, RusageIncludesTheChildsReapedChildren) {
  fflush(stdout);
  pid_t pid = fork();
  if (pid == 0) {
    pid_t grandchild = SpinningChild(50);
    int status;
    _exit(grandchild > 0 && waitpid(grandchild, &status, 0) == grandchild ? 0 : 1);
  }
  ASSERT_GT(pid, 0);
  int status = 0;
  rusage ru{};
  ASSERT_EQ(syscall(SYS_wait4, pid, &status, 0, &ru), pid);
  EXPECT_EQ(status, 0);
  EXPECT_GE(CpuNs(ru), 40 * kMs);
}

TEST(Wait4, BadRusagePointerIsEfaultAndTheChildIsReaped) {
  fflush(stdout);
  pid_t pid = fork();
  if (pid == 0) _exit(0);
  ASSERT_GT(pid, 0);
  int status = 0;
  EXPECT_FAILS_WITH(syscall(SYS_wait4, pid, &status, 0, BadPtr()), EFAULT);
  EXPECT_FAILS_WITH(syscall(SYS_wait4, pid, &status, WNOHANG, nullptr), ECHILD);
}

TEST(Wait4, NothingToReportLeavesRusageAlone) {
  fflush(stdout);
  int p[2];
  ASSERT_EQ(pipe(p), 0);
  pid_t pid = fork();
  if (pid == 0) {
    char c;
    close(p[1]);
    (void)!read(p[0], &c, 1);
    _exit(0);
  }
  ASSERT_GT(pid, 0);
  close(p[0]);
  rusage ru;
  memset(&ru, 0x5a, sizeof(ru));
  int status = 0;
  EXPECT_EQ(syscall(SYS_wait4, pid, &status, WNOHANG, &ru), 0);
  EXPECT_EQ(ru.ru_utime.tv_sec, static_cast<time_t>(0x5a5a5a5a5a5a5a5aLL));
  close(p[1]);
  EXPECT_EQ(waitpid(pid, &status, 0), pid);
}

TEST(Waitid, RusageIsTheChildsCpu) {
  pid_t pid = SpinningChild(50);
  ASSERT_GT(pid, 0);
  siginfo_t si{};
  rusage ru{};
  // WNOWAIT reports it too; the rusage is the same.
  ASSERT_EQ(syscall(SYS_waitid, P_PID, pid, &si, WEXITED | WNOWAIT, &ru), 0) << strerror(errno);
  EXPECT_EQ(si.si_pid, pid);
  EXPECT_GE(CpuNs(ru), 40 * kMs);
  rusage again{};
  ASSERT_EQ(syscall(SYS_waitid, P_PID, pid, &si, WEXITED, &again), 0) << strerror(errno);
  EXPECT_TRUE(Normalized(again));
  EXPECT_GE(CpuNs(again), 40 * kMs);
}

TEST(Waitid, BadRusagePointerIsEfault) {
  fflush(stdout);
  pid_t pid = fork();
  if (pid == 0) _exit(0);
  ASSERT_GT(pid, 0);
  siginfo_t si{};
  EXPECT_FAILS_WITH(syscall(SYS_waitid, P_PID, pid, &si, WEXITED, BadPtr()), EFAULT);
  int status;
  EXPECT_FAILS_WITH(waitpid(pid, &status, WNOHANG), ECHILD);
}

// ---------------------------------------------------------------- times

TEST(Times, ReturnsClockTicksThatAdvance) {
  ASSERT_EQ(sysconf(_SC_CLK_TCK), 100);
  errno = 0;
  const long t0 = syscall(SYS_times, nullptr);
  ASSERT_EQ(errno, 0);
  SleepMs(300);
  const long t1 = syscall(SYS_times, nullptr);
  EXPECT_GE(t1 - t0, 20);   // 300 ms is 30 ticks
  EXPECT_LE(t1 - t0, 300);  // unless the machine stalls for seconds
}

TEST(Times, FillsTheProcessTimes) {
  tms before{}, after{};
  ASSERT_NE(syscall(SYS_times, &before), -1);
  SpinCpu(60);
  ASSERT_NE(syscall(SYS_times, &after), -1);
  const clock_t used = (after.tms_utime + after.tms_stime) - (before.tms_utime + before.tms_stime);
  EXPECT_GE(used, 4);  // 6 ticks spent
  EXPECT_GE(after.tms_utime, before.tms_utime);
  EXPECT_GE(after.tms_stime, before.tms_stime);
}

TEST(Times, FillsTheChildrensTimesAfterWait) {
  tms before{}, after{};
  ASSERT_NE(syscall(SYS_times, &before), -1);
  pid_t pid = SpinningChild(60);
  ASSERT_GT(pid, 0);
  int status;
  ASSERT_EQ(waitpid(pid, &status, 0), pid);
  ASSERT_NE(syscall(SYS_times, &after), -1);
  const clock_t used =
      (after.tms_cutime + after.tms_cstime) - (before.tms_cutime + before.tms_cstime);
  EXPECT_GE(used, 4);
}

TEST(Times, AgreesWithGetrusage) {
  tms t{};
  const rusage before = Usage(RUSAGE_SELF);
  ASSERT_NE(syscall(SYS_times, &t), -1);
  const rusage after = Usage(RUSAGE_SELF);
  const int64_t ticks_ns = (t.tms_utime + t.tms_stime) * 10 * kMs;
  // Each field is truncated to a tick.
  EXPECT_GE(ticks_ns, CpuNs(before) - 20 * kMs);
  EXPECT_LE(ticks_ns, CpuNs(after));
}

TEST(Times, BadPointerIsEfault) {
  EXPECT_FAILS_WITH(syscall(SYS_times, BadPtr()), EFAULT);
}

// ---------------------------------------------------------------- CPU clocks

TEST(CpuClock, ThreadClockAdvancesWhileSpinningNotWhileSleeping) {
  const int64_t a = ClockNs(CLOCK_THREAD_CPUTIME_ID);
  SpinCpu(40);
  const int64_t b = ClockNs(CLOCK_THREAD_CPUTIME_ID);
  SleepMs(150);
  const int64_t c = ClockNs(CLOCK_THREAD_CPUTIME_ID);
  EXPECT_GE(b - a, 40 * kMs);
  EXPECT_LT(c - b, 20 * kMs);
}

TEST(CpuClock, ProcessClockCountsOtherThreadsButThreadClockDoesNot) {
  const int64_t process_before = ClockNs(CLOCK_PROCESS_CPUTIME_ID);
  const int64_t thread_before = ClockNs(CLOCK_THREAD_CPUTIME_ID);
  std::thread worker([] { SpinCpu(60); });
  worker.join();
  EXPECT_GE(ClockNs(CLOCK_PROCESS_CPUTIME_ID) - process_before, 55 * kMs);
  EXPECT_LT(ClockNs(CLOCK_THREAD_CPUTIME_ID) - thread_before, 30 * kMs);
}

TEST(CpuClock, ThreadClockIsWithinProcessClock) {
  std::thread worker([] { SpinCpu(20); });
  worker.join();
  const int64_t thread = ClockNs(CLOCK_THREAD_CPUTIME_ID);
  const int64_t process = ClockNs(CLOCK_PROCESS_CPUTIME_ID);
  EXPECT_LE(thread, process);
}

TEST(CpuClock, ThreadClockOfAnotherThreadFollowsIt) {
  std::atomic<int> phase{0};
  std::atomic<pid_t> tid{0};
  std::thread worker([&] {
    tid = static_cast<pid_t>(syscall(SYS_gettid));
    SpinCpu(60);
    phase = 1;
    while (phase.load() != 2) SleepMs(5);
  });
  while (phase.load() != 1) SleepMs(5);
  clockid_t id;
  ASSERT_EQ(pthread_getcpuclockid(worker.native_handle(), &id), 0);
  EXPECT_EQ(id, ThreadClock(tid.load()));
  const int64_t spun = ClockNs(id);
  SleepMs(100);
  const int64_t idle = ClockNs(id);
  phase = 2;
  worker.join();
  EXPECT_GE(spun, 55 * kMs);
  EXPECT_LT(idle - spun, 20 * kMs);
}

TEST(CpuClock, ClockGetcpuclockidOfSelfIsTheProcessClock) {
  clockid_t id;
  ASSERT_EQ(clock_getcpuclockid(0, &id), 0);
  const int64_t a = ClockNs(id);
  SpinCpu(30);
  const int64_t b = ClockNs(ProcessClock(getpid()));
  EXPECT_GE(b - a, 25 * kMs);
}

TEST(CpuClock, ChildProcessClockIsReadable) {
  int p[2];
  ASSERT_EQ(pipe(p), 0);
  fflush(stdout);
  pid_t pid = fork();
  if (pid == 0) {
    char c;
    close(p[1]);
    (void)!read(p[0], &c, 1);
    _exit(0);
  }
  ASSERT_GT(pid, 0);
  close(p[0]);
  clockid_t id;
  EXPECT_EQ(clock_getcpuclockid(pid, &id), 0);
  timespec ts{-1, -1};
  EXPECT_EQ(syscall(SYS_clock_gettime, ProcessClock(pid), &ts), 0) << strerror(errno);
  EXPECT_GE(ts.tv_sec, 0);
  // Another process's threads' clocks are not ours to read.
  EXPECT_FAILS_WITH(syscall(SYS_clock_gettime, ThreadClock(pid), &ts), EINVAL);
  close(p[1]);
  int status;
  ASSERT_EQ(waitpid(pid, &status, 0), pid);
  // Reaped, the pid names nothing.
  EXPECT_FAILS_WITH(syscall(SYS_clock_gettime, ProcessClock(pid), &ts), EINVAL);
}

TEST(CpuClock, UserAndProfClocksWork) {
  for (int type : {0, 1}) {
    for (clockid_t id : {ProcessClock(0, type), ThreadClock(0, type)}) {
      timespec ts{-1, -1}, res{-1, -1};
      EXPECT_EQ(syscall(SYS_clock_gettime, id, &ts), 0) << id;
      EXPECT_GE(ts.tv_sec, 0);
      EXPECT_TRUE(ts.tv_nsec >= 0 && ts.tv_nsec < 1000000000);
      // Tick-based: a resolution of a jiffy.
      EXPECT_EQ(syscall(SYS_clock_getres, id, &res), 0) << id;
      EXPECT_EQ(res.tv_sec, 0);
      EXPECT_GT(res.tv_nsec, 1);
    }
  }
}

TEST(CpuClock, SchedClocksHaveNanosecondResolution) {
  for (clockid_t id : {ProcessClock(0), ThreadClock(0), ProcessClock(getpid()),
                       ThreadClock(static_cast<pid_t>(syscall(SYS_gettid)))}) {
    timespec res{-1, -1};
    EXPECT_EQ(syscall(SYS_clock_getres, id, &res), 0) << id;
    EXPECT_EQ(res.tv_sec, 0);
    EXPECT_EQ(res.tv_nsec, 1);
  }
}

TEST(CpuClock, InvalidIdsAreEinval) {
  timespec ts;
  // CPUCLOCK_MAX as the type.
  EXPECT_FAILS_WITH(syscall(SYS_clock_gettime, ProcessClock(0, 3), &ts), EINVAL);
  EXPECT_FAILS_WITH(syscall(SYS_clock_gettime, ThreadClock(0, 3), &ts), EINVAL);
  EXPECT_FAILS_WITH(syscall(SYS_clock_getres, ProcessClock(0, 3), &ts), EINVAL);
  // Nobody's clocks.
  EXPECT_FAILS_WITH(syscall(SYS_clock_gettime, ProcessClock(kNoSuchPid), &ts), EINVAL);
  EXPECT_FAILS_WITH(syscall(SYS_clock_gettime, ThreadClock(kNoSuchPid), &ts), EINVAL);
  EXPECT_FAILS_WITH(syscall(SYS_clock_getres, ProcessClock(kNoSuchPid), &ts), EINVAL);
  EXPECT_FAILS_WITH(syscall(SYS_clock_getres, ThreadClock(kNoSuchPid), &ts), EINVAL);
}

TEST(CpuClock, BadPointerIsEfault) {
  EXPECT_FAILS_WITH(syscall(SYS_clock_gettime, CLOCK_THREAD_CPUTIME_ID, BadPtr()), EFAULT);
  EXPECT_FAILS_WITH(syscall(SYS_clock_gettime, ProcessClock(getpid()), BadPtr()), EFAULT);
  EXPECT_FAILS_WITH(syscall(SYS_clock_getres, CLOCK_PROCESS_CPUTIME_ID, BadPtr()), EFAULT);
}

}  // namespace
