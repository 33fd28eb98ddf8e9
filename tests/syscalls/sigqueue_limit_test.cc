// RLIMIT_SIGPENDING: queued real-time signals are limited per user;
// sigqueue(3) past the limit fails with EAGAIN, kill(2) does not fail but
// queues nothing more.
#include <signal.h>
#include <sys/resource.h>
#include <unistd.h>

#include <cerrno>

#include "tests/syscalls/test_util.h"

namespace {

using husk_test::RunInChild;

// Takes every pending `sig` without waiting; returns how many there were.
int Drain(int sig) {
  sigset_t set;
  sigemptyset(&set);
  sigaddset(&set, sig);
  timespec zero{0, 0};
  int n = 0;
  while (sigtimedwait(&set, nullptr, &zero) == sig) ++n;
  return n;
}

// The limit counts the signals queued to every process of a user: the test
// runs as a user of its own, so that other tests' signals do not count.
constexpr uid_t kLoneUser = 54321;

TEST(SigqueueLimit, SigqueueFailsPastTheLimit) {
  RunInChild([] {
    const rlimit lim{20, 20};
    ASSERT_EQ(setrlimit(RLIMIT_SIGPENDING, &lim), 0);
    ASSERT_EQ(setresuid(kLoneUser, kLoneUser, kLoneUser), 0);
    sigset_t set;
    sigemptyset(&set);
    sigaddset(&set, SIGRTMIN);
    ASSERT_EQ(sigprocmask(SIG_BLOCK, &set, nullptr), 0);
    int queued = 0;
    for (int i = 0; i < 40; ++i) {
      if (sigqueue(getpid(), SIGRTMIN, sigval{i}) != 0) {
        EXPECT_EQ(errno, EAGAIN);
        break;
      }
      ++queued;
    }
    EXPECT_EQ(queued, 20);
    // kill(2) is not refused, but adds nothing once the signal is pending.
    EXPECT_EQ(kill(getpid(), SIGRTMIN), 0);
    EXPECT_EQ(Drain(SIGRTMIN), 20);
    // Taken signals free their room.
    EXPECT_EQ(sigqueue(getpid(), SIGRTMIN, sigval{0}), 0);
    EXPECT_EQ(Drain(SIGRTMIN), 1);
  });
}

TEST(SigqueueLimit, StandardSignalsAreNotLimited) {
  RunInChild([] {
    const rlimit lim{0, 0};
    ASSERT_EQ(setrlimit(RLIMIT_SIGPENDING, &lim), 0);
    ASSERT_EQ(setresuid(kLoneUser + 1, kLoneUser + 1, kLoneUser + 1), 0);
    sigset_t set;
    sigemptyset(&set);
    sigaddset(&set, SIGUSR1);
    ASSERT_EQ(sigprocmask(SIG_BLOCK, &set, nullptr), 0);
    EXPECT_EQ(sigqueue(getpid(), SIGUSR1, sigval{1}), 0);
    EXPECT_EQ(Drain(SIGUSR1), 1);
  });
}

}  // namespace
