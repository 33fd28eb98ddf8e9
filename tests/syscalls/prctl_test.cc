// Compatibility tests for prctl(2): thread names, the parent-death signal,
// dumpability, no_new_privs, child subreapers, keep-caps, the bounding and
// ambient capability sets, seccomp mode and unknown options.
//
// Tests that change process-wide state do it in a forked child.

#include <errno.h>
#include <linux/capability.h>
#include <linux/securebits.h>
#include <signal.h>
#include <stdint.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <atomic>
#include <string>
#include <thread>

#include <gtest/gtest.h>

#include "caps_util.h"
#include "test_util.h"

namespace {

using husk_test::BadPtr;

constexpr uint64_t Bit(int cap) { return 1ULL << cap; }

using husk_test::RunInChild;

std::string GetName() {
  char buf[16] = {};
  EXPECT_EQ(prctl(PR_GET_NAME, buf, 0, 0, 0), 0) << strerror(errno);
  return std::string(buf, strnlen(buf, sizeof(buf)));
}

int GetPdeathsig() {
  int sig = -1;
  EXPECT_EQ(prctl(PR_GET_PDEATHSIG, &sig, 0, 0, 0), 0) << strerror(errno);
  return sig;
}

using husk_test::Caps;
using husk_test::GetCaps;
using husk_test::SetCaps;

// Waits for any child, retrying on EINTR.
pid_t WaitAny(int* status) {
  for (;;) {
    pid_t r = waitpid(-1, status, 0);
    if (r >= 0 || errno != EINTR) return r;
  }
}

// ================================================================ PR_SET_NAME

TEST(PrSetName, GetReturnsWhatWasSet) {
  RunInChild([] {
    ASSERT_EQ(prctl(PR_SET_NAME, "husk-worker", 0, 0, 0), 0) << strerror(errno);
    EXPECT_EQ(GetName(), "husk-worker");
    ASSERT_EQ(prctl(PR_SET_NAME, "", 0, 0, 0), 0);
    EXPECT_EQ(GetName(), "");
  });
}

TEST(PrSetName, TruncatesToFifteenBytes) {
  RunInChild([] {
    ASSERT_EQ(prctl(PR_SET_NAME, "0123456789abcdefghij", 0, 0, 0), 0);
    EXPECT_EQ(GetName(), "0123456789abcde");
  });
}

TEST(PrSetName, GetWritesSixteenBytesNulPadded) {
  RunInChild([] {
    ASSERT_EQ(prctl(PR_SET_NAME, "ab", 0, 0, 0), 0);
    char buf[20];
    memset(buf, 'x', sizeof(buf));
    ASSERT_EQ(prctl(PR_GET_NAME, buf, 0, 0, 0), 0);
    EXPECT_STREQ(buf, "ab");
    EXPECT_EQ(buf[15], '\0');
    EXPECT_EQ(buf[16], 'x') << "only 16 bytes are written";
  });
}

TEST(PrSetName, ReadsNoFurtherThanFifteenBytes) {
  RunInChild([] {
    // Fifteen bytes with no NUL just before an inaccessible page.
    char* p = static_cast<char*>(
        mmap(nullptr, 8192, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0));
    ASSERT_NE(p, MAP_FAILED);
    ASSERT_EQ(mprotect(p + 4096, 4096, PROT_NONE), 0);
    memcpy(p + 4096 - 15, "fifteen-bytes!!", 15);
    EXPECT_EQ(prctl(PR_SET_NAME, p + 4096 - 15, 0, 0, 0), 0) << strerror(errno);
    EXPECT_EQ(GetName(), "fifteen-bytes!!");
    // Fewer bytes before the fault and no NUL: EFAULT.
    EXPECT_FAILS_WITH(prctl(PR_SET_NAME, p + 4096 - 5, 0, 0, 0), EFAULT);
    munmap(p, 8192);
  });
}

TEST(PrSetName, BadPointersAreEfault) {
  EXPECT_FAILS_WITH(prctl(PR_SET_NAME, BadPtr(), 0, 0, 0), EFAULT);
  EXPECT_FAILS_WITH(prctl(PR_GET_NAME, BadPtr(), 0, 0, 0), EFAULT);
}

TEST(PrSetName, IsPerThreadAndInherited) {
  RunInChild([] {
    ASSERT_EQ(prctl(PR_SET_NAME, "main-thread", 0, 0, 0), 0);
    std::string inherited, renamed;
    std::thread th([&] {
      inherited = GetName();
      prctl(PR_SET_NAME, "other-thread", 0, 0, 0);
      renamed = GetName();
    });
    th.join();
    EXPECT_EQ(inherited, "main-thread");
    EXPECT_EQ(renamed, "other-thread");
    EXPECT_EQ(GetName(), "main-thread");
    RunInChild([] { EXPECT_EQ(GetName(), "main-thread"); });
  });
}

// =========================================================== PR_SET_PDEATHSIG

TEST(PrSetPdeathsig, GetReturnsWhatWasSet) {
  RunInChild([] {
    EXPECT_EQ(GetPdeathsig(), 0);
    ASSERT_EQ(prctl(PR_SET_PDEATHSIG, SIGUSR1, 0, 0, 0), 0);
    EXPECT_EQ(GetPdeathsig(), SIGUSR1);
    ASSERT_EQ(prctl(PR_SET_PDEATHSIG, 64, 0, 0, 0), 0);
    EXPECT_EQ(GetPdeathsig(), 64);
    ASSERT_EQ(prctl(PR_SET_PDEATHSIG, 0, 0, 0, 0), 0);
    EXPECT_EQ(GetPdeathsig(), 0);
  });
}

TEST(PrSetPdeathsig, InvalidSignalIsEinval) {
  EXPECT_FAILS_WITH(prctl(PR_SET_PDEATHSIG, 65, 0, 0, 0), EINVAL);
  EXPECT_FAILS_WITH(prctl(PR_SET_PDEATHSIG, -1L, 0, 0, 0), EINVAL);
  EXPECT_EQ(GetPdeathsig(), 0);
}

TEST(PrSetPdeathsig, GetBadPointerIsEfault) {
  EXPECT_FAILS_WITH(prctl(PR_GET_PDEATHSIG, BadPtr(), 0, 0, 0), EFAULT);
}

TEST(PrSetPdeathsig, ForkedChildStartsWithNone) {
  RunInChild([] {
    ASSERT_EQ(prctl(PR_SET_PDEATHSIG, SIGUSR1, 0, 0, 0), 0);
    RunInChild([] { EXPECT_EQ(GetPdeathsig(), 0); });
    EXPECT_EQ(GetPdeathsig(), SIGUSR1);
  });
}

// In a child B of the calling thread: sets the parent-death signal to
// SIGUSR1, tells `ready`, and waits to be killed by it (SIGALRM after 10 s).
pid_t ForkWaitingForParentDeath(int ready) {
  pid_t pid = fork();
  if (pid != 0) return pid;
  alarm(10);
  if (prctl(PR_SET_PDEATHSIG, SIGUSR1, 0, 0, 0) != 0) _exit(1);
  char c = 1;
  if (write(ready, &c, 1) != 1) _exit(2);
  for (;;) pause();
}

TEST(PrSetPdeathsig, SentWhenTheParentExits) {
  RunInChild([] {
    // This process reaps the orphan: it is a subreaper.
    ASSERT_EQ(prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0), 0);
    int ready[2], report[2];
    ASSERT_EQ(pipe(ready), 0);
    ASSERT_EQ(pipe(report), 0);
    pid_t parent = fork();
    ASSERT_GE(parent, 0);
    if (parent == 0) {
      // The middle process: exits once its child B is ready, telling B's pid.
      pid_t b = ForkWaitingForParentDeath(ready[1]);
      char c;
      if (b < 0 || read(ready[0], &c, 1) != 1) _exit(3);
      if (write(report[1], &b, sizeof(b)) != sizeof(b)) _exit(4);
      _exit(0);
    }
    close(report[1]);
    pid_t b = 0;
    ASSERT_EQ(read(report[0], &b, sizeof(b)), static_cast<ssize_t>(sizeof(b)));
    int got = 0;
    for (int i = 0; i < 2; ++i) {
      int status = 0;
      pid_t r = WaitAny(&status);
      ASSERT_GT(r, 0) << strerror(errno);
      if (r == parent) {
        EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0) << status;
      } else {
        EXPECT_EQ(r, b);
        EXPECT_TRUE(WIFSIGNALED(status)) << status;
        EXPECT_EQ(WTERMSIG(status), SIGUSR1);
        ++got;
      }
    }
    EXPECT_EQ(got, 1);
  });
}

TEST(PrSetPdeathsig, SentWhenTheParentThreadExits) {
  RunInChild([] {
    int p[2];
    ASSERT_EQ(pipe(p), 0);
    pid_t b = -1;
    // The thread forks B, then ends while the process lives on.
    std::thread th([&] {
      b = ForkWaitingForParentDeath(p[1]);
      char c;
      if (b > 0) (void)read(p[0], &c, 1);
    });
    th.join();
    ASSERT_GT(b, 0);
    int status = 0;
    ASSERT_EQ(waitpid(b, &status, 0), b);
    EXPECT_TRUE(WIFSIGNALED(status)) << status;
    EXPECT_EQ(WTERMSIG(status), SIGUSR1);
  });
}

// ============================================================ PR_SET_DUMPABLE

TEST(PrSetDumpable, SetAndGet) {
  RunInChild([] {
    EXPECT_EQ(prctl(PR_GET_DUMPABLE, 0, 0, 0, 0), 1);
    ASSERT_EQ(prctl(PR_SET_DUMPABLE, 0, 0, 0, 0), 0);
    EXPECT_EQ(prctl(PR_GET_DUMPABLE, 0, 0, 0, 0), 0);
    RunInChild([] { EXPECT_EQ(prctl(PR_GET_DUMPABLE, 0, 0, 0, 0), 0) << "fork inherits it"; });
    ASSERT_EQ(prctl(PR_SET_DUMPABLE, 1, 0, 0, 0), 0);
    EXPECT_EQ(prctl(PR_GET_DUMPABLE, 0, 0, 0, 0), 1);
  });
}

TEST(PrSetDumpable, OnlyZeroOrOne) {
  EXPECT_FAILS_WITH(prctl(PR_SET_DUMPABLE, 2, 0, 0, 0), EINVAL);
  EXPECT_FAILS_WITH(prctl(PR_SET_DUMPABLE, -1L, 0, 0, 0), EINVAL);
  EXPECT_EQ(prctl(PR_GET_DUMPABLE, 0, 0, 0, 0), 1);
}

// ======================================================== PR_SET_NO_NEW_PRIVS

TEST(PrSetNoNewPrivs, ArgumentsMustBeExact) {
  EXPECT_FAILS_WITH(prctl(PR_SET_NO_NEW_PRIVS, 0, 0, 0, 0), EINVAL);
  EXPECT_FAILS_WITH(prctl(PR_SET_NO_NEW_PRIVS, 2, 0, 0, 0), EINVAL);
  EXPECT_FAILS_WITH(prctl(PR_SET_NO_NEW_PRIVS, 1, 1, 0, 0), EINVAL);
  EXPECT_FAILS_WITH(prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 1), EINVAL);
  EXPECT_FAILS_WITH(prctl(PR_GET_NO_NEW_PRIVS, 1, 0, 0, 0), EINVAL);
  EXPECT_FAILS_WITH(prctl(PR_GET_NO_NEW_PRIVS, 0, 0, 1, 0), EINVAL);
}

TEST(PrSetNoNewPrivs, IsStickyAndInherited) {
  RunInChild([] {
    ASSERT_EQ(prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0), 0) << strerror(errno);
    EXPECT_EQ(prctl(PR_GET_NO_NEW_PRIVS, 0, 0, 0, 0), 1);
    EXPECT_EQ(prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0), 0) << "setting it again is fine";
    RunInChild([] { EXPECT_EQ(prctl(PR_GET_NO_NEW_PRIVS, 0, 0, 0, 0), 1); });
    std::atomic<long> in_thread{-1};
    std::thread th([&] { in_thread = prctl(PR_GET_NO_NEW_PRIVS, 0, 0, 0, 0); });
    th.join();
    EXPECT_EQ(in_thread.load(), 1);
  });
}

// ===================================================== PR_SET_CHILD_SUBREAPER

TEST(PrSetChildSubreaper, SetAndGet) {
  RunInChild([] {
    int on = -1;
    ASSERT_EQ(prctl(PR_GET_CHILD_SUBREAPER, &on, 0, 0, 0), 0);
    EXPECT_EQ(on, 0);
    ASSERT_EQ(prctl(PR_SET_CHILD_SUBREAPER, 5, 0, 0, 0), 0);
    ASSERT_EQ(prctl(PR_GET_CHILD_SUBREAPER, &on, 0, 0, 0), 0);
    EXPECT_EQ(on, 1);
    ASSERT_EQ(prctl(PR_SET_CHILD_SUBREAPER, 0, 0, 0, 0), 0);
    ASSERT_EQ(prctl(PR_GET_CHILD_SUBREAPER, &on, 0, 0, 0), 0);
    EXPECT_EQ(on, 0);
    EXPECT_FAILS_WITH(prctl(PR_GET_CHILD_SUBREAPER, BadPtr(), 0, 0, 0), EFAULT);
  });
}

TEST(PrSetChildSubreaper, AdoptsOrphanedDescendants) {
  RunInChild([] {
    ASSERT_EQ(prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0), 0);
    const pid_t me = getpid();
    int result[2];
    ASSERT_EQ(pipe(result), 0);
    pid_t middle = fork();
    ASSERT_GE(middle, 0);
    if (middle == 0) {
      const pid_t mid = getpid();
      pid_t b = fork();
      if (b == 0) {
        // Wait for the middle process to go, then report the new parent.
        pid_t pp = getppid();
        for (int i = 0; i < 5000 && pp == mid; ++i) {
          usleep(1000);
          pp = getppid();
        }
        (void)write(result[1], &pp, sizeof(pp));
        _exit(0);
      }
      _exit(b > 0 ? 0 : 1);
    }
    close(result[1]);
    pid_t reported = 0;
    ASSERT_EQ(read(result[0], &reported, sizeof(reported)), static_cast<ssize_t>(sizeof(reported)));
    EXPECT_EQ(reported, me);
    // Both the middle process and the orphan are ours to reap.
    int status;
    EXPECT_GT(WaitAny(&status), 0);
    EXPECT_GT(WaitAny(&status), 0);
    EXPECT_FAILS_WITH(waitpid(-1, &status, WNOHANG), ECHILD);
  });
}

// ============================================================ PR_SET_KEEPCAPS

TEST(PrSetKeepcaps, SetAndGet) {
  RunInChild([] {
    EXPECT_EQ(prctl(PR_GET_KEEPCAPS, 0, 0, 0, 0), 0);
    ASSERT_EQ(prctl(PR_SET_KEEPCAPS, 1, 0, 0, 0), 0);
    EXPECT_EQ(prctl(PR_GET_KEEPCAPS, 0, 0, 0, 0), 1);
    EXPECT_NE(prctl(PR_GET_SECUREBITS, 0, 0, 0, 0) & SECBIT_KEEP_CAPS, 0);
    ASSERT_EQ(prctl(PR_SET_KEEPCAPS, 0, 0, 0, 0), 0);
    EXPECT_EQ(prctl(PR_GET_KEEPCAPS, 0, 0, 0, 0), 0);
    EXPECT_EQ(prctl(PR_GET_SECUREBITS, 0, 0, 0, 0) & SECBIT_KEEP_CAPS, 0);
  });
}

TEST(PrSetKeepcaps, OnlyZeroOrOne) {
  EXPECT_FAILS_WITH(prctl(PR_SET_KEEPCAPS, 2, 0, 0, 0), EINVAL);
  EXPECT_EQ(prctl(PR_GET_KEEPCAPS, 0, 0, 0, 0), 0);
}

// ============================================================ PR_CAPBSET_*

TEST(PrCapbsetRead, RootsBoundingSet) {
  EXPECT_EQ(prctl(PR_CAPBSET_READ, CAP_CHOWN, 0, 0, 0), 1);
  EXPECT_EQ(prctl(PR_CAPBSET_READ, CAP_SETUID, 0, 0, 0), 1);
  EXPECT_FAILS_WITH(prctl(PR_CAPBSET_READ, 64, 0, 0, 0), EINVAL);
  EXPECT_FAILS_WITH(prctl(PR_CAPBSET_READ, -1L, 0, 0, 0), EINVAL);
}

TEST(PrCapbsetDrop, RemovesFromTheBoundingSetOnly) {
  RunInChild([] {
    ASSERT_EQ(prctl(PR_CAPBSET_DROP, CAP_KILL, 0, 0, 0), 0) << strerror(errno);
    EXPECT_EQ(prctl(PR_CAPBSET_READ, CAP_KILL, 0, 0, 0), 0);
    EXPECT_NE(GetCaps().permitted & Bit(CAP_KILL), 0u) << "permitted keeps it";
    EXPECT_EQ(prctl(PR_CAPBSET_DROP, CAP_KILL, 0, 0, 0), 0) << "dropping twice is fine";
    EXPECT_FAILS_WITH(prctl(PR_CAPBSET_DROP, 64, 0, 0, 0), EINVAL);
  });
}

TEST(PrCapbsetDrop, NeedsSetpcap) {
  RunInChild([] {
    Caps c = GetCaps();
    c.effective &= ~Bit(CAP_SETPCAP);
    ASSERT_EQ(SetCaps(c), 0) << strerror(errno);
    EXPECT_FAILS_WITH(prctl(PR_CAPBSET_DROP, CAP_KILL, 0, 0, 0), EPERM);
    EXPECT_FAILS_WITH(prctl(PR_CAPBSET_DROP, 64, 0, 0, 0), EPERM);
    EXPECT_EQ(prctl(PR_CAPBSET_READ, CAP_KILL, 0, 0, 0), 1);
  });
}

// ============================================================ PR_CAP_AMBIENT

TEST(PrCapAmbient, RaiseNeedsPermittedAndInheritable) {
  RunInChild([] {
    EXPECT_EQ(prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_IS_SET, CAP_CHOWN, 0, 0), 0);
    EXPECT_FAILS_WITH(prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_RAISE, CAP_CHOWN, 0, 0), EPERM);
    Caps c = GetCaps();
    c.inheritable = Bit(CAP_CHOWN);
    ASSERT_EQ(SetCaps(c), 0) << strerror(errno);
    ASSERT_EQ(prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_RAISE, CAP_CHOWN, 0, 0), 0) << strerror(errno);
    EXPECT_EQ(prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_IS_SET, CAP_CHOWN, 0, 0), 1);
    ASSERT_EQ(prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_LOWER, CAP_CHOWN, 0, 0), 0);
    EXPECT_EQ(prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_IS_SET, CAP_CHOWN, 0, 0), 0);
    ASSERT_EQ(prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_RAISE, CAP_CHOWN, 0, 0), 0);
    // Leaving the inheritable set takes it out of ambient.
    c.inheritable = 0;
    ASSERT_EQ(SetCaps(c), 0) << strerror(errno);
    EXPECT_EQ(prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_IS_SET, CAP_CHOWN, 0, 0), 0);
  });
}

TEST(PrCapAmbient, BadArgumentsAreEinval) {
  EXPECT_FAILS_WITH(prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_IS_SET, 64, 0, 0), EINVAL);
  EXPECT_FAILS_WITH(prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_IS_SET, CAP_CHOWN, 1, 0), EINVAL);
  EXPECT_FAILS_WITH(prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL, 1, 0, 0), EINVAL);
  EXPECT_FAILS_WITH(prctl(PR_CAP_AMBIENT, 99, CAP_CHOWN, 0, 0), EINVAL);
  EXPECT_EQ(prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL, 0, 0, 0), 0);
}

// =========================================================== seccomp, others

TEST(PrGetSeccomp, IsNotStrict) {
  // 0, or 2 when the suite itself runs under a seccomp filter.
  long mode = prctl(PR_GET_SECCOMP, 0, 0, 0, 0);
  EXPECT_TRUE(mode == 0 || mode == 2) << mode;
}

TEST(PrSetSeccomp, UnknownModeIsEinval) {
  EXPECT_FAILS_WITH(prctl(PR_SET_SECCOMP, 12345, 0, 0, 0), EINVAL);
}

TEST(Prctl, UnknownOptionIsEinval) {
  EXPECT_FAILS_WITH(prctl(0x7fff1234, 0, 0, 0, 0), EINVAL);
  EXPECT_FAILS_WITH(prctl(-1, 0, 0, 0, 0), EINVAL);
}

}  // namespace
