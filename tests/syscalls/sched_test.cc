// Scheduling: getpriority/setpriority (nice values), sched_getscheduler,
// sched_setscheduler, sched_getparam, sched_setparam,
// sched_get_priority_max/min, sched_rr_get_interval, sched_setaffinity and
// sched_getaffinity.
//
// Whatever changes the caller's scheduling runs in a forked child: natively
// a raised nice value or SCHED_IDLE could not be undone without privilege,
// and a narrowed affinity would slow the rest of the suite. What needs
// CAP_SYS_NICE checks for it first (capget), so the same test holds for a
// privileged and an unprivileged root.

#include <errno.h>
#include <limits.h>
#include <linux/capability.h>
#include <pthread.h>
#include <sched.h>
#include <stdint.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <atomic>
#include <thread>

#include <gtest/gtest.h>

#include "test_util.h"

namespace {

using husk_test::RunInChild;

using husk_test::BadPtr;

constexpr pid_t kNoSuchPid = INT_MAX;

// ---------------------------------------------------------------- helpers



// A child that waits until told (its pipe closed) and exits 0.
struct Sleeper {
  pid_t pid = -1;
  int pipe_w = -1;
  Sleeper() {
    int p[2];
    if (pipe(p) != 0) abort();
    fflush(stdout);
    fflush(stderr);
    pid = fork();
    if (pid == 0) {
      char c;
      close(p[1]);
      (void)!read(p[0], &c, 1);
      _exit(0);
    }
    close(p[0]);
    pipe_w = p[1];
  }
  ~Sleeper() {
    close(pipe_w);
    int status;
    waitpid(pid, &status, 0);
  }
};

long RawGetpriority(int which, int who) { return syscall(SYS_getpriority, which, who); }

// The nice value glibc's getpriority reports: 20 - the raw result.
int Nice(int which = PRIO_PROCESS, int who = 0) {
  const long raw = RawGetpriority(which, who);
  EXPECT_GT(raw, 0) << strerror(errno);
  return 20 - static_cast<int>(raw);
}

bool HasCapSysNice() {
  __user_cap_header_struct header{_LINUX_CAPABILITY_VERSION_3, 0};
  __user_cap_data_struct data[2]{};
  if (syscall(SYS_capget, &header, data) != 0) return false;
  return (data[CAP_SYS_NICE / 32].effective & (1u << (CAP_SYS_NICE % 32))) != 0;
}

// Drops CAP_SYS_NICE from the effective set (the permitted set keeps it).
void DropCapSysNice() {
  __user_cap_header_struct header{_LINUX_CAPABILITY_VERSION_3, 0};
  __user_cap_data_struct data[2]{};
  ASSERT_EQ(syscall(SYS_capget, &header, data), 0) << strerror(errno);
  data[CAP_SYS_NICE / 32].effective &= ~(1u << (CAP_SYS_NICE % 32));
  ASSERT_EQ(syscall(SYS_capset, &header, data), 0) << strerror(errno);
  ASSERT_FALSE(HasCapSysNice());
}

int Policy(pid_t pid = 0) { return static_cast<int>(syscall(SYS_sched_getscheduler, pid)); }

long SetScheduler(pid_t pid, int policy, int priority) {
  sched_param p{};
  p.sched_priority = priority;
  return syscall(SYS_sched_setscheduler, pid, policy, &p);
}

int Priority(pid_t pid = 0) {
  sched_param p{-1};
  EXPECT_EQ(syscall(SYS_sched_getparam, pid, &p), 0) << strerror(errno);
  return p.sched_priority;
}

// The caller's affinity, and how many bytes the kernel reports.
long GetAffinity(pid_t pid, cpu_set_t* set) {
  CPU_ZERO(set);
  return syscall(SYS_sched_getaffinity, pid, sizeof(*set), set);
}

int FirstCpu(const cpu_set_t& set) {
  for (int i = 0; i < CPU_SETSIZE; i++) {
    if (CPU_ISSET(i, &set)) return i;
  }
  return -1;
}

// ---------------------------------------------------------------- getpriority

TEST(Getpriority, RawValueIsTwentyMinusNice) {
  errno = 0;
  const int nice = getpriority(PRIO_PROCESS, 0);
  ASSERT_EQ(errno, 0);
  EXPECT_EQ(RawGetpriority(PRIO_PROCESS, 0), 20 - nice);
  EXPECT_EQ(RawGetpriority(PRIO_PROCESS, getpid()), 20 - nice);
  EXPECT_GE(RawGetpriority(PRIO_PGRP, 0), 20 - nice);
  EXPECT_GE(RawGetpriority(PRIO_USER, 0), 20 - nice);
}

TEST(Getpriority, InvalidWhichIsEinval) {
  EXPECT_FAILS_WITH(RawGetpriority(3, 0), EINVAL);
  EXPECT_FAILS_WITH(RawGetpriority(-1, 0), EINVAL);
}

TEST(Getpriority, NobodyIsEsrch) {
  EXPECT_FAILS_WITH(RawGetpriority(PRIO_PROCESS, kNoSuchPid), ESRCH);
  EXPECT_FAILS_WITH(RawGetpriority(PRIO_PROCESS, -5), ESRCH);
  EXPECT_FAILS_WITH(RawGetpriority(PRIO_PGRP, kNoSuchPid), ESRCH);
  EXPECT_FAILS_WITH(RawGetpriority(PRIO_USER, 54321), ESRCH);
}

TEST(Getpriority, GroupReportsItsLowestNice) {
  RunInChild([] {
    ASSERT_EQ(setpgid(0, 0), 0);
    Sleeper other;  // in our new process group
    ASSERT_EQ(setpriority(PRIO_PROCESS, 0, 5), 0);
    ASSERT_EQ(setpriority(PRIO_PROCESS, other.pid, 10), 0);
    EXPECT_EQ(Nice(PRIO_PROCESS, other.pid), 10);
    EXPECT_EQ(Nice(PRIO_PGRP, 0), 5);
    EXPECT_EQ(Nice(PRIO_PGRP, getpid()), 5);
  });
}

// ---------------------------------------------------------------- setpriority

TEST(Setpriority, RaisingNiceIsAllowed) {
  RunInChild([] {
    const int nice = Nice();
    ASSERT_EQ(setpriority(PRIO_PROCESS, 0, nice + 3), 0) << strerror(errno);
    EXPECT_EQ(Nice(), nice + 3);
    EXPECT_EQ(RawGetpriority(PRIO_PROCESS, getpid()), 20 - (nice + 3));
  });
}

TEST(Setpriority, ValuesAreClampedToTheRange) {
  RunInChild([] {
    ASSERT_EQ(setpriority(PRIO_PROCESS, 0, 1000), 0);
    EXPECT_EQ(Nice(), 19);
    EXPECT_EQ(RawGetpriority(PRIO_PROCESS, 0), 1);
  });
}

TEST(Setpriority, LoweringNiceNeedsCapSysNice) {
  RunInChild([] {
    ASSERT_EQ(setpriority(PRIO_PROCESS, 0, 10), 0);
    if (HasCapSysNice()) {
      EXPECT_EQ(setpriority(PRIO_PROCESS, 0, 5), 0) << strerror(errno);
      EXPECT_EQ(Nice(), 5);
      EXPECT_EQ(setpriority(PRIO_PROCESS, 0, -100), 0) << strerror(errno);
      EXPECT_EQ(Nice(), -20);
      ASSERT_EQ(setpriority(PRIO_PROCESS, 0, 10), 0);
      DropCapSysNice();
    }
    // RLIMIT_NICE (0 here) would allow down to 20 - rlim_cur.
    rlimit rl;
    ASSERT_EQ(getrlimit(RLIMIT_NICE, &rl), 0);
    ASSERT_EQ(rl.rlim_cur, 0u);
    EXPECT_FAILS_WITH(setpriority(PRIO_PROCESS, 0, 5), EACCES);
    EXPECT_EQ(Nice(), 10);
    // Keeping or raising it is fine.
    EXPECT_EQ(setpriority(PRIO_PROCESS, 0, 10), 0);
    EXPECT_EQ(setpriority(PRIO_PROCESS, 0, 12), 0);
    EXPECT_EQ(Nice(), 12);
  });
}

TEST(Setpriority, InvalidWhichIsEinval) {
  EXPECT_FAILS_WITH(setpriority(static_cast<__priority_which>(3), 0, 0), EINVAL);
  EXPECT_FAILS_WITH(setpriority(static_cast<__priority_which>(-1), 0, 0), EINVAL);
}

TEST(Setpriority, NobodyIsEsrch) {
  EXPECT_FAILS_WITH(setpriority(PRIO_PROCESS, kNoSuchPid, 19), ESRCH);
  EXPECT_FAILS_WITH(setpriority(PRIO_PGRP, kNoSuchPid, 19), ESRCH);
  EXPECT_FAILS_WITH(setpriority(PRIO_USER, 54321, 19), ESRCH);
}

TEST(Setpriority, WholeGroup) {
  RunInChild([] {
    ASSERT_EQ(setpgid(0, 0), 0);
    Sleeper other;
    ASSERT_EQ(setpriority(PRIO_PGRP, 0, 7), 0) << strerror(errno);
    EXPECT_EQ(Nice(), 7);
    EXPECT_EQ(Nice(PRIO_PROCESS, other.pid), 7);
  });
}

TEST(Setpriority, EachThreadHasItsOwn) {
  RunInChild([] {
    const int nice = Nice();
    std::atomic<pid_t> tid{0};
    std::thread worker([&] {
      tid = static_cast<pid_t>(syscall(SYS_gettid));
      EXPECT_EQ(setpriority(PRIO_PROCESS, 0, nice + 4), 0);
      EXPECT_EQ(Nice(), nice + 4);
    });
    worker.join();
    EXPECT_EQ(Nice(), nice);
  });
}

TEST(Setpriority, ChildrenInheritIt) {
  RunInChild([] {
    ASSERT_EQ(setpriority(PRIO_PROCESS, 0, 6), 0);
    RunInChild([] { EXPECT_EQ(Nice(), 6); });
    std::thread worker([] { EXPECT_EQ(Nice(), 6); });
    worker.join();
  });
}

TEST(Setpriority, AnotherUsersProcessIsEperm) {
  const pid_t parent = getpid();
  RunInChild([parent] {
    ASSERT_EQ(setuid(65534), 0) << strerror(errno);  // drops every capability too
    EXPECT_FAILS_WITH(setpriority(PRIO_PROCESS, parent, 19), EPERM);
    // Its own: raising is still fine, lowering not.
    EXPECT_EQ(setpriority(PRIO_PROCESS, 0, 3), 0);
    EXPECT_FAILS_WITH(setpriority(PRIO_PROCESS, 0, 1), EACCES);
  });
}

// ---------------------------------------------------------------- policies

TEST(SchedGetscheduler, DefaultIsOtherWithPriorityZero) {
  EXPECT_EQ(Policy(), SCHED_OTHER);
  EXPECT_EQ(Policy(getpid()), SCHED_OTHER);
  EXPECT_EQ(Priority(), 0);
}

TEST(SchedGetscheduler, NegativePidIsEinvalUnknownIsEsrch) {
  EXPECT_FAILS_WITH(syscall(SYS_sched_getscheduler, -1), EINVAL);
  EXPECT_FAILS_WITH(syscall(SYS_sched_getscheduler, kNoSuchPid), ESRCH);
}

TEST(SchedGetparam, Errors) {
  sched_param p;
  EXPECT_FAILS_WITH(syscall(SYS_sched_getparam, 0, nullptr), EINVAL);
  EXPECT_FAILS_WITH(syscall(SYS_sched_getparam, -1, &p), EINVAL);
  EXPECT_FAILS_WITH(syscall(SYS_sched_getparam, kNoSuchPid, &p), ESRCH);
  EXPECT_FAILS_WITH(syscall(SYS_sched_getparam, 0, BadPtr()), EFAULT);
}

TEST(SchedGetPriority, RangesPerPolicy) {
  for (int policy : {SCHED_FIFO, SCHED_RR}) {
    EXPECT_EQ(sched_get_priority_max(policy), 99);
    EXPECT_EQ(sched_get_priority_min(policy), 1);
  }
  for (int policy : {SCHED_OTHER, SCHED_BATCH, SCHED_IDLE, SCHED_DEADLINE}) {
    EXPECT_EQ(sched_get_priority_max(policy), 0);
    EXPECT_EQ(sched_get_priority_min(policy), 0);
  }
}

TEST(SchedGetPriority, UnknownPolicyIsEinval) {
  // (7, SCHED_EXT, is known to Linux 6.12 and later.)
  for (int policy : {-1, 4, 8, 100, SCHED_OTHER | SCHED_RESET_ON_FORK}) {
    EXPECT_FAILS_WITH(sched_get_priority_max(policy), EINVAL);
    EXPECT_FAILS_WITH(sched_get_priority_min(policy), EINVAL);
  }
}

TEST(SchedSetscheduler, BadArgumentsAreEinval) {
  sched_param p{};
  // A NULL param or negative pid, before anything else.
  EXPECT_FAILS_WITH(syscall(SYS_sched_setscheduler, 0, SCHED_OTHER, nullptr), EINVAL);
  EXPECT_FAILS_WITH(syscall(SYS_sched_setscheduler, -1, SCHED_OTHER, &p), EINVAL);
  // Unknown policies.
  for (int policy : {-1, 4, 8, 100}) {
    EXPECT_FAILS_WITH(syscall(SYS_sched_setscheduler, 0, policy, &p), EINVAL);
  }
  // Priorities outside the policy's range.
  EXPECT_FAILS_WITH(SetScheduler(0, SCHED_OTHER, 1), EINVAL);
  EXPECT_FAILS_WITH(SetScheduler(0, SCHED_BATCH, 5), EINVAL);
  EXPECT_FAILS_WITH(SetScheduler(0, SCHED_FIFO, 0), EINVAL);
  EXPECT_FAILS_WITH(SetScheduler(0, SCHED_FIFO, 100), EINVAL);
  EXPECT_FAILS_WITH(SetScheduler(0, SCHED_RR, -1), EINVAL);
  // SCHED_DEADLINE needs sched_setattr's parameters.
  EXPECT_FAILS_WITH(SetScheduler(0, SCHED_DEADLINE, 0), EINVAL);
  EXPECT_EQ(Policy(), SCHED_OTHER);
}

TEST(SchedSetscheduler, BadPointerIsEfaultUnknownPidIsEsrch) {
  EXPECT_FAILS_WITH(syscall(SYS_sched_setscheduler, 0, SCHED_OTHER, BadPtr()), EFAULT);
  EXPECT_FAILS_WITH(SetScheduler(kNoSuchPid, SCHED_OTHER, 0), ESRCH);
}

TEST(SchedSetscheduler, BatchAndIdleAreRecorded) {
  RunInChild([] {
    ASSERT_EQ(SetScheduler(0, SCHED_BATCH, 0), 0) << strerror(errno);
    EXPECT_EQ(Policy(), SCHED_BATCH);
    EXPECT_EQ(Policy(getpid()), SCHED_BATCH);
    EXPECT_EQ(Priority(), 0);
    ASSERT_EQ(SetScheduler(0, SCHED_IDLE, 0), 0) << strerror(errno);
    EXPECT_EQ(Policy(), SCHED_IDLE);
    // The nice value is kept.
    EXPECT_EQ(RawGetpriority(PRIO_PROCESS, 0), 20);
    // Leaving SCHED_IDLE is like lowering nice: RLIMIT_NICE (0) or
    // CAP_SYS_NICE.
    if (HasCapSysNice()) {
      EXPECT_EQ(SetScheduler(0, SCHED_OTHER, 0), 0) << strerror(errno);
      EXPECT_EQ(Policy(), SCHED_OTHER);
    } else {
      EXPECT_FAILS_WITH(SetScheduler(0, SCHED_OTHER, 0), EPERM);
      EXPECT_EQ(Policy(), SCHED_IDLE);
    }
  });
}

TEST(SchedSetscheduler, ChildrenAndThreadsInheritThePolicy) {
  RunInChild([] {
    ASSERT_EQ(SetScheduler(0, SCHED_BATCH, 0), 0);
    RunInChild([] { EXPECT_EQ(Policy(), SCHED_BATCH); });
    std::thread worker([] { EXPECT_EQ(Policy(), SCHED_BATCH); });
    worker.join();
  });
}

TEST(SchedSetscheduler, RealTimeIsRecordedWithCapSysNice) {
  if (!HasCapSysNice()) GTEST_SKIP() << "no CAP_SYS_NICE";
  RunInChild([] {
    // Natively this makes the (sleeping) child real-time for a moment.
    ASSERT_EQ(SetScheduler(0, SCHED_FIFO, 10), 0) << strerror(errno);
    EXPECT_EQ(Policy(), SCHED_FIFO);
    EXPECT_EQ(Priority(), 10);
    timespec ts{-1, -1};
    ASSERT_EQ(syscall(SYS_sched_rr_get_interval, 0, &ts), 0);
    EXPECT_EQ(ts.tv_sec, 0);
    EXPECT_EQ(ts.tv_nsec, 0);  // FIFO has no quantum
    ASSERT_EQ(SetScheduler(0, SCHED_RR, 20), 0) << strerror(errno);
    EXPECT_EQ(Policy(), SCHED_RR);
    EXPECT_EQ(Priority(), 20);
    ASSERT_EQ(syscall(SYS_sched_rr_get_interval, 0, &ts), 0);
    EXPECT_EQ(ts.tv_sec, 0);
    EXPECT_EQ(ts.tv_nsec, 100000000);  // sched_rr_timeslice_ms's default
    ASSERT_EQ(SetScheduler(0, SCHED_OTHER, 0), 0) << strerror(errno);
    EXPECT_EQ(Policy(), SCHED_OTHER);
    EXPECT_EQ(Priority(), 0);
  });
}

TEST(SchedSetscheduler, RealTimeAllowedByRlimitRtprio) {
  RunInChild([] {
    if (HasCapSysNice()) DropCapSysNice();
    const rlimit rl{20, 20};
    if (setrlimit(RLIMIT_RTPRIO, &rl) != 0) GTEST_SKIP() << "cannot raise RLIMIT_RTPRIO";
    // Natively this makes the (sleeping) child real-time for a moment.
    ASSERT_EQ(SetScheduler(0, SCHED_FIFO, 10), 0) << strerror(errno);
    EXPECT_EQ(Policy(), SCHED_FIFO);
    EXPECT_EQ(Priority(), 10);
    ASSERT_EQ(SetScheduler(0, SCHED_RR, 20), 0) << strerror(errno);
    EXPECT_EQ(Policy(), SCHED_RR);
    timespec ts{-1, -1};
    ASSERT_EQ(syscall(SYS_sched_rr_get_interval, 0, &ts), 0);
    EXPECT_EQ(ts.tv_sec, 0);
    EXPECT_EQ(ts.tv_nsec, 100000000);
    // Above the limit and higher than now: privileged.
    EXPECT_FAILS_WITH(SetScheduler(0, SCHED_RR, 21), EPERM);
    sched_param p{5};
    ASSERT_EQ(syscall(SYS_sched_setparam, 0, &p), 0) << strerror(errno);
    EXPECT_EQ(Priority(), 5);
    EXPECT_EQ(Policy(), SCHED_RR);
    ASSERT_EQ(SetScheduler(0, SCHED_OTHER, 0), 0) << strerror(errno);
    EXPECT_EQ(Policy(), SCHED_OTHER);
    EXPECT_EQ(Priority(), 0);
  });
}

TEST(SchedSetscheduler, RealTimeWithoutCapSysNiceIsEperm) {
  RunInChild([] {
    if (HasCapSysNice()) DropCapSysNice();
    // RLIMIT_RTPRIO is 0.
    EXPECT_FAILS_WITH(SetScheduler(0, SCHED_FIFO, 1), EPERM);
    EXPECT_FAILS_WITH(SetScheduler(0, SCHED_RR, 1), EPERM);
    EXPECT_EQ(Policy(), SCHED_OTHER);
  });
}

TEST(SchedSetscheduler, AnotherUsersProcessIsEperm) {
  const pid_t parent = getpid();
  RunInChild([parent] {
    ASSERT_EQ(setuid(65534), 0) << strerror(errno);
    EXPECT_FAILS_WITH(SetScheduler(parent, SCHED_BATCH, 0), EPERM);
    EXPECT_EQ(Policy(parent), SCHED_OTHER);  // reading is allowed
  });
}

TEST(SchedSetscheduler, ResetOnFork) {
  RunInChild([] {
    ASSERT_EQ(SetScheduler(0, SCHED_BATCH | SCHED_RESET_ON_FORK, 0), 0) << strerror(errno);
    EXPECT_EQ(Policy(), SCHED_BATCH | SCHED_RESET_ON_FORK);
    // sched_setparam keeps the policy and the flag.
    sched_param p{};
    ASSERT_EQ(syscall(SYS_sched_setparam, 0, &p), 0);
    EXPECT_EQ(Policy(), SCHED_BATCH | SCHED_RESET_ON_FORK);
    // Only normal policies are reset; the child does not inherit the flag.
    RunInChild([] { EXPECT_EQ(Policy(), SCHED_BATCH); });
    if (HasCapSysNice()) {
      ASSERT_EQ(setpriority(PRIO_PROCESS, 0, -5), 0);
      ASSERT_EQ(SetScheduler(0, SCHED_FIFO | SCHED_RESET_ON_FORK, 3), 0) << strerror(errno);
      RunInChild([] {
        EXPECT_EQ(Policy(), SCHED_OTHER);
        EXPECT_EQ(Priority(), 0);
        EXPECT_EQ(Nice(), 0);  // a negative nice value goes back to 0
      });
      ASSERT_EQ(SetScheduler(0, SCHED_OTHER | SCHED_RESET_ON_FORK, 0), 0);
      DropCapSysNice();
    }
    // Clearing the flag needs privilege.
    EXPECT_FAILS_WITH(SetScheduler(0, SCHED_OTHER, 0), EPERM);
  });
}

TEST(SchedSetparam, KeepsThePolicy) {
  RunInChild([] {
    ASSERT_EQ(SetScheduler(0, SCHED_BATCH, 0), 0);
    sched_param p{};
    ASSERT_EQ(syscall(SYS_sched_setparam, 0, &p), 0) << strerror(errno);
    EXPECT_EQ(Policy(), SCHED_BATCH);
    p.sched_priority = 5;
    EXPECT_FAILS_WITH(syscall(SYS_sched_setparam, 0, &p), EINVAL);
  });
}

TEST(SchedSetparam, Errors) {
  sched_param p{};
  EXPECT_FAILS_WITH(syscall(SYS_sched_setparam, 0, nullptr), EINVAL);
  EXPECT_FAILS_WITH(syscall(SYS_sched_setparam, -1, &p), EINVAL);
  EXPECT_FAILS_WITH(syscall(SYS_sched_setparam, kNoSuchPid, &p), ESRCH);
  EXPECT_FAILS_WITH(syscall(SYS_sched_setparam, 0, BadPtr()), EFAULT);
}

TEST(SchedRrGetInterval, NormalPolicyReportsASmallSlice) {
  timespec ts{-1, -1};
  ASSERT_EQ(syscall(SYS_sched_rr_get_interval, 0, &ts), 0) << strerror(errno);
  EXPECT_EQ(ts.tv_sec, 0);
  EXPECT_GE(ts.tv_nsec, 0);
  EXPECT_LT(ts.tv_nsec, 1000000000);
}

TEST(SchedRrGetInterval, Errors) {
  timespec ts;
  EXPECT_FAILS_WITH(syscall(SYS_sched_rr_get_interval, -1, &ts), EINVAL);
  EXPECT_FAILS_WITH(syscall(SYS_sched_rr_get_interval, kNoSuchPid, &ts), ESRCH);
  EXPECT_FAILS_WITH(syscall(SYS_sched_rr_get_interval, 0, BadPtr()), EFAULT);
}

// ---------------------------------------------------------------- affinity

TEST(SchedSetaffinity, GetReturnsWhatWasSet) {
  RunInChild([] {
    cpu_set_t all, one, got;
    const long size = GetAffinity(0, &all);
    ASSERT_GT(size, 0);
    const int cpu = FirstCpu(all);
    ASSERT_GE(cpu, 0);
    CPU_ZERO(&one);
    CPU_SET(cpu, &one);
    ASSERT_EQ(sched_setaffinity(0, sizeof(one), &one), 0) << strerror(errno);
    EXPECT_EQ(GetAffinity(0, &got), size);
    EXPECT_TRUE(CPU_EQUAL(&got, &one));
    EXPECT_EQ(GetAffinity(getpid(), &got), size);
    EXPECT_TRUE(CPU_EQUAL(&got, &one));
    ASSERT_EQ(sched_setaffinity(0, sizeof(all), &all), 0);
    GetAffinity(0, &got);
    EXPECT_TRUE(CPU_EQUAL(&got, &all));
  });
}

TEST(SchedSetaffinity, OfflineCpusAreDropped) {
  RunInChild([] {
    cpu_set_t all, want, got;
    GetAffinity(0, &all);
    want = all;
    CPU_SET(CPU_SETSIZE - 1, &want);  // no such CPU here
    ASSERT_EQ(sched_setaffinity(0, sizeof(want), &want), 0) << strerror(errno);
    GetAffinity(0, &got);
    EXPECT_TRUE(CPU_EQUAL(&got, &all));
  });
}

TEST(SchedSetaffinity, ShortMaskIsZeroExtended) {
  RunInChild([] {
    cpu_set_t all, got;
    GetAffinity(0, &all);
    const int cpu = FirstCpu(all);
    if (cpu >= 8) GTEST_SKIP() << "first CPU " << cpu;
    uint8_t byte = static_cast<uint8_t>(1u << cpu);
    ASSERT_EQ(syscall(SYS_sched_setaffinity, 0, 1, &byte), 0) << strerror(errno);
    GetAffinity(0, &got);
    EXPECT_EQ(CPU_COUNT(&got), 1);
    EXPECT_TRUE(CPU_ISSET(cpu, &got));
  });
}

TEST(SchedSetaffinity, EmptyMaskIsEinval) {
  cpu_set_t none, before, after;
  GetAffinity(0, &before);
  CPU_ZERO(&none);
  EXPECT_FAILS_WITH(sched_setaffinity(0, sizeof(none), &none), EINVAL);
  // Only CPUs that do not exist: empty too.
  CPU_SET(CPU_SETSIZE - 1, &none);
  EXPECT_FAILS_WITH(sched_setaffinity(0, sizeof(none), &none), EINVAL);
  EXPECT_FAILS_WITH(syscall(SYS_sched_setaffinity, 0, 0, nullptr), EINVAL);
  GetAffinity(0, &after);
  EXPECT_TRUE(CPU_EQUAL(&before, &after));
}

TEST(SchedSetaffinity, UnknownPidIsEsrchBadPointerIsEfault) {
  cpu_set_t set;
  GetAffinity(0, &set);
  EXPECT_FAILS_WITH(sched_setaffinity(kNoSuchPid, sizeof(set), &set), ESRCH);
  EXPECT_FAILS_WITH(syscall(SYS_sched_setaffinity, 0, sizeof(set), BadPtr()), EFAULT);
  EXPECT_FAILS_WITH(syscall(SYS_sched_setaffinity, 0, sizeof(set), nullptr), EFAULT);
}

TEST(SchedSetaffinity, EachThreadHasItsOwn) {
  RunInChild([] {
    cpu_set_t all, one, got;
    GetAffinity(0, &all);
    CPU_ZERO(&one);
    CPU_SET(FirstCpu(all), &one);
    std::atomic<int> phase{0};
    std::atomic<pid_t> tid{0};
    std::thread worker([&] {
      tid = static_cast<pid_t>(syscall(SYS_gettid));
      EXPECT_EQ(sched_setaffinity(0, sizeof(one), &one), 0);
      phase = 1;
      while (phase.load() != 2) usleep(1000);
    });
    while (phase.load() != 1) usleep(1000);
    GetAffinity(tid.load(), &got);
    EXPECT_TRUE(CPU_EQUAL(&got, &one));
    GetAffinity(0, &got);
    EXPECT_TRUE(CPU_EQUAL(&got, &all));
    phase = 2;
    worker.join();
  });
}

TEST(SchedSetaffinity, ChildrenInheritIt) {
  RunInChild([] {
    cpu_set_t all, one;
    GetAffinity(0, &all);
    CPU_ZERO(&one);
    CPU_SET(FirstCpu(all), &one);
    ASSERT_EQ(sched_setaffinity(0, sizeof(one), &one), 0);
    RunInChild([one] {
      cpu_set_t got;
      GetAffinity(0, &got);
      EXPECT_TRUE(CPU_EQUAL(&got, &one));
    });
  });
}

TEST(SchedSetaffinity, AnotherUsersProcessIsEperm) {
  const pid_t parent = getpid();
  RunInChild([parent] {
    cpu_set_t set;
    GetAffinity(parent, &set);
    ASSERT_EQ(setuid(65534), 0) << strerror(errno);
    EXPECT_FAILS_WITH(sched_setaffinity(parent, sizeof(set), &set), EPERM);
    // Reading another's mask needs no permission.
    EXPECT_GT(GetAffinity(parent, &set), 0);
  });
}

}  // namespace
