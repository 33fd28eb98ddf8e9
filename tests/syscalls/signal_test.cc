// Signal bookkeeping syscalls: rt_sigaction, rt_sigprocmask, rt_sigpending.
// Only the recorded state is checked; no signal is ever raised or delivered.
//
// Raw syscalls with the kernel's struct layout are used throughout: glibc's
// sigaction() adds SA_RESTORER and its sigprocmask() filters the signals it
// reserves for itself (32, 33).

#include <errno.h>
#include <limits.h>
#include <signal.h>
#include <sys/wait.h>
#include <stdint.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <vector>

#include <gtest/gtest.h>

#include "test_util.h"

namespace {

#ifndef SA_RESTORER
#define SA_RESTORER 0x04000000
#endif
// Reserved by the kernel for probing: never reported back.
constexpr unsigned long kSaUnsupported = 0x00000400;

// The x86-64 kernel's struct sigaction.
struct KSigaction {
  uintptr_t handler;
  unsigned long flags;
  uintptr_t restorer;
  uint64_t mask;
};

constexpr size_t kSigsetSize = 8;

uint64_t Bit(int sig) { return uint64_t{1} << (sig - 1); }

long RawSigaction(int sig, const KSigaction* act, KSigaction* oact,
                  size_t size = kSigsetSize) {
  return syscall(SYS_rt_sigaction, sig, act, oact, size);
}

long RawSigprocmask(int how, const uint64_t* set, uint64_t* oset,
                    size_t size = kSigsetSize) {
  return syscall(SYS_rt_sigprocmask, how, set, oset, size);
}

void Handler1(int) {}
void Handler2(int) {}
void Restorer() {}

uintptr_t Addr(void (*f)(int)) { return reinterpret_cast<uintptr_t>(f); }

// Saves and restores the dispositions of the signals the tests modify.
class RtSigaction : public ::testing::Test {
 protected:
  static constexpr int kSignals[] = {SIGUSR1, SIGUSR2, SIGTERM, 64};
  void SetUp() override {
    for (int sig : kSignals) {
      KSigaction old{};
      ASSERT_EQ(RawSigaction(sig, nullptr, &old), 0) << sig;
      saved_.push_back(old);
    }
  }
  void TearDown() override {
    for (size_t i = 0; i < saved_.size(); i++)
      EXPECT_EQ(RawSigaction(kSignals[i], &saved_[i], nullptr), 0);
  }
  std::vector<KSigaction> saved_;
};

// ---------------------------------------------------------------- rt_sigaction

TEST_F(RtSigaction, SetAndReadBackHandlerFlagsMask) {
  KSigaction act{};
  act.handler = Addr(Handler1);
  act.flags = SA_RESTART | SA_SIGINFO | SA_NODEFER | SA_ONSTACK | SA_RESTORER;
  act.restorer = reinterpret_cast<uintptr_t>(Restorer);
  act.mask = Bit(SIGUSR2) | Bit(SIGTERM) | Bit(40);
  ASSERT_EQ(RawSigaction(SIGUSR1, &act, nullptr), 0);
  KSigaction got{};
  ASSERT_EQ(RawSigaction(SIGUSR1, nullptr, &got), 0);
  EXPECT_EQ(got.handler, act.handler);
  EXPECT_EQ(got.flags, act.flags);
  EXPECT_EQ(got.restorer, act.restorer);
  EXPECT_EQ(got.mask, act.mask);
}

TEST_F(RtSigaction, OldActionIsReturnedWhenSetting) {
  KSigaction a{Addr(Handler1), SA_RESTART, 0, Bit(SIGUSR2)};
  KSigaction b{Addr(Handler2), SA_SIGINFO, 0, Bit(SIGTERM)};
  ASSERT_EQ(RawSigaction(SIGUSR2, &a, nullptr), 0);
  KSigaction old{};
  ASSERT_EQ(RawSigaction(SIGUSR2, &b, &old), 0);
  EXPECT_EQ(old.handler, a.handler);
  EXPECT_EQ(old.flags, a.flags);
  EXPECT_EQ(old.mask, a.mask);
  KSigaction got{};
  ASSERT_EQ(RawSigaction(SIGUSR2, nullptr, &got), 0);
  EXPECT_EQ(got.handler, b.handler);
  EXPECT_EQ(got.flags, b.flags);
}

TEST_F(RtSigaction, SameStructForActAndOldact) {
  KSigaction a{Addr(Handler1), SA_RESTART, 0, 0};
  ASSERT_EQ(RawSigaction(SIGUSR1, &a, nullptr), 0);
  KSigaction io{Addr(Handler2), SA_SIGINFO, 0, Bit(SIGTERM)};
  ASSERT_EQ(RawSigaction(SIGUSR1, &io, &io), 0);
  EXPECT_EQ(io.handler, Addr(Handler1));  // old action written back
  KSigaction got{};
  ASSERT_EQ(RawSigaction(SIGUSR1, nullptr, &got), 0);
  EXPECT_EQ(got.handler, Addr(Handler2));  // new action was read first
}

TEST_F(RtSigaction, SigIgnAndSigDflAreRecorded) {
  KSigaction ign{reinterpret_cast<uintptr_t>(SIG_IGN), 0, 0, 0};
  ASSERT_EQ(RawSigaction(SIGTERM, &ign, nullptr), 0);
  KSigaction got{};
  ASSERT_EQ(RawSigaction(SIGTERM, nullptr, &got), 0);
  EXPECT_EQ(got.handler, reinterpret_cast<uintptr_t>(SIG_IGN));
  KSigaction dfl{reinterpret_cast<uintptr_t>(SIG_DFL), 0, 0, 0};
  ASSERT_EQ(RawSigaction(SIGTERM, &dfl, nullptr), 0);
  ASSERT_EQ(RawSigaction(SIGTERM, nullptr, &got), 0);
  EXPECT_EQ(got.handler, reinterpret_cast<uintptr_t>(SIG_DFL));
}

TEST_F(RtSigaction, NoRestorerIsAddedByKernel) {
  KSigaction act{Addr(Handler1), SA_RESTART, 0, 0};
  ASSERT_EQ(RawSigaction(SIGUSR1, &act, nullptr), 0);
  KSigaction got{};
  ASSERT_EQ(RawSigaction(SIGUSR1, nullptr, &got), 0);
  EXPECT_EQ(got.flags, static_cast<unsigned long>(SA_RESTART));
  EXPECT_EQ(got.restorer, 0u);
}

TEST_F(RtSigaction, UnknownFlagBitsAreClearedOnReadBack) {
  KSigaction act{Addr(Handler1), SA_RESTART | kSaUnsupported, 0, 0};
  ASSERT_EQ(RawSigaction(SIGUSR1, &act, nullptr), 0);
  KSigaction got{};
  ASSERT_EQ(RawSigaction(SIGUSR1, nullptr, &got), 0);
  EXPECT_EQ(got.flags, static_cast<unsigned long>(SA_RESTART));
}

TEST_F(RtSigaction, KillAndStopAreRemovedFromMask) {
  KSigaction act{Addr(Handler1), 0, 0,
                 Bit(SIGKILL) | Bit(SIGSTOP) | Bit(SIGUSR2)};
  ASSERT_EQ(RawSigaction(SIGUSR1, &act, nullptr), 0);
  KSigaction got{};
  ASSERT_EQ(RawSigaction(SIGUSR1, nullptr, &got), 0);
  EXPECT_EQ(got.mask, Bit(SIGUSR2));
}

TEST_F(RtSigaction, Signal64IsValid) {
  KSigaction act{Addr(Handler1), SA_RESTART, 0, 0};
  ASSERT_EQ(RawSigaction(64, &act, nullptr), 0);
  KSigaction got{};
  ASSERT_EQ(RawSigaction(64, nullptr, &got), 0);
  EXPECT_EQ(got.handler, act.handler);
}

TEST_F(RtSigaction, NullActAndOldactSucceeds) {
  EXPECT_EQ(RawSigaction(SIGUSR1, nullptr, nullptr), 0);
}

TEST(RtSigactionErrors, SetSigkillOrSigstopIsEinval) {
  KSigaction act{Addr(Handler1), 0, 0, 0};
  EXPECT_FAILS_WITH(RawSigaction(SIGKILL, &act, nullptr), EINVAL);
  EXPECT_FAILS_WITH(RawSigaction(SIGSTOP, &act, nullptr), EINVAL);
  KSigaction ign{reinterpret_cast<uintptr_t>(SIG_IGN), 0, 0, 0};
  EXPECT_FAILS_WITH(RawSigaction(SIGKILL, &ign, nullptr), EINVAL);
  // Even re-setting the default is refused.
  KSigaction dfl{reinterpret_cast<uintptr_t>(SIG_DFL), 0, 0, 0};
  EXPECT_FAILS_WITH(RawSigaction(SIGSTOP, &dfl, nullptr), EINVAL);
}

TEST(RtSigactionErrors, QueryingSigkillAndSigstopIsAllowed) {
  KSigaction got{};
  got.handler = 0x1234;
  ASSERT_EQ(RawSigaction(SIGKILL, nullptr, &got), 0);
  EXPECT_EQ(got.handler, reinterpret_cast<uintptr_t>(SIG_DFL));
  got.handler = 0x1234;
  ASSERT_EQ(RawSigaction(SIGSTOP, nullptr, &got), 0);
  EXPECT_EQ(got.handler, reinterpret_cast<uintptr_t>(SIG_DFL));
}

TEST(RtSigactionErrors, SignalZeroAnd65AreEinval) {
  KSigaction act{Addr(Handler1), 0, 0, 0};
  KSigaction got{};
  EXPECT_FAILS_WITH(RawSigaction(0, &act, nullptr), EINVAL);
  EXPECT_FAILS_WITH(RawSigaction(0, nullptr, &got), EINVAL);
  EXPECT_FAILS_WITH(RawSigaction(0, nullptr, nullptr), EINVAL);
  EXPECT_FAILS_WITH(RawSigaction(65, &act, nullptr), EINVAL);
  EXPECT_FAILS_WITH(RawSigaction(65, nullptr, &got), EINVAL);
  EXPECT_FAILS_WITH(RawSigaction(-1, nullptr, &got), EINVAL);
}

TEST(RtSigactionErrors, SigsetsizeNot8IsEinval) {
  KSigaction got{};
  EXPECT_FAILS_WITH(RawSigaction(SIGUSR1, nullptr, &got, 4), EINVAL);
  EXPECT_FAILS_WITH(RawSigaction(SIGUSR1, nullptr, &got, 16), EINVAL);
  EXPECT_FAILS_WITH(RawSigaction(SIGUSR1, nullptr, &got, 0), EINVAL);
  KSigaction act{Addr(Handler1), 0, 0, 0};
  EXPECT_FAILS_WITH(RawSigaction(SIGUSR1, &act, nullptr, 4), EINVAL);
}

TEST(RtSigactionErrors, SigsetsizeIsCheckedBeforePointers) {
  EXPECT_FAILS_WITH(
      RawSigaction(SIGUSR1, reinterpret_cast<const KSigaction*>(1), nullptr, 4),
      EINVAL);
}

TEST_F(RtSigaction, BadActPointerIsEfault) {
  KSigaction before{};
  ASSERT_EQ(RawSigaction(SIGUSR1, nullptr, &before), 0);
  EXPECT_FAILS_WITH(
      RawSigaction(SIGUSR1, reinterpret_cast<const KSigaction*>(1), nullptr),
      EFAULT);
  KSigaction after{};
  ASSERT_EQ(RawSigaction(SIGUSR1, nullptr, &after), 0);
  EXPECT_EQ(after.handler, before.handler);
  EXPECT_EQ(after.flags, before.flags);
}

TEST_F(RtSigaction, BadOldactPointerIsEfaultButActionIsInstalled) {
  KSigaction act{Addr(Handler2), SA_RESTART, 0, 0};
  EXPECT_FAILS_WITH(
      RawSigaction(SIGUSR1, &act, reinterpret_cast<KSigaction*>(1)), EFAULT);
  KSigaction got{};
  ASSERT_EQ(RawSigaction(SIGUSR1, nullptr, &got), 0);
  EXPECT_EQ(got.handler, Addr(Handler2));
}

// ---------------------------------------------------------------- rt_sigprocmask

class RtSigprocmask : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_EQ(RawSigprocmask(SIG_BLOCK, nullptr, &saved_), 0);
    uint64_t empty = 0;
    ASSERT_EQ(RawSigprocmask(SIG_SETMASK, &empty, nullptr), 0);
  }
  void TearDown() override {
    EXPECT_EQ(RawSigprocmask(SIG_SETMASK, &saved_, nullptr), 0);
  }
  uint64_t Current() {
    uint64_t m = ~uint64_t{0};
    EXPECT_EQ(RawSigprocmask(SIG_SETMASK, nullptr, &m), 0);
    return m;
  }
  uint64_t saved_ = 0;
};

TEST_F(RtSigprocmask, BlockAddsToMask) {
  uint64_t a = Bit(SIGUSR1);
  ASSERT_EQ(RawSigprocmask(SIG_BLOCK, &a, nullptr), 0);
  EXPECT_EQ(Current(), Bit(SIGUSR1));
  uint64_t b = Bit(SIGUSR2) | Bit(SIGUSR1);
  ASSERT_EQ(RawSigprocmask(SIG_BLOCK, &b, nullptr), 0);
  EXPECT_EQ(Current(), Bit(SIGUSR1) | Bit(SIGUSR2));
}

TEST_F(RtSigprocmask, UnblockRemovesFromMask) {
  uint64_t m = Bit(SIGUSR1) | Bit(SIGUSR2) | Bit(SIGTERM);
  ASSERT_EQ(RawSigprocmask(SIG_SETMASK, &m, nullptr), 0);
  uint64_t u = Bit(SIGUSR2) | Bit(SIGINT);  // SIGINT was not blocked: no-op
  ASSERT_EQ(RawSigprocmask(SIG_UNBLOCK, &u, nullptr), 0);
  EXPECT_EQ(Current(), Bit(SIGUSR1) | Bit(SIGTERM));
}

TEST_F(RtSigprocmask, SetmaskReplacesMask) {
  uint64_t a = Bit(SIGUSR1) | Bit(SIGHUP);
  ASSERT_EQ(RawSigprocmask(SIG_SETMASK, &a, nullptr), 0);
  uint64_t b = Bit(SIGUSR2) | Bit(50);
  ASSERT_EQ(RawSigprocmask(SIG_SETMASK, &b, nullptr), 0);
  EXPECT_EQ(Current(), Bit(SIGUSR2) | Bit(50));
}

TEST_F(RtSigprocmask, OldsetIsMaskBeforeChange) {
  uint64_t a = Bit(SIGUSR1);
  ASSERT_EQ(RawSigprocmask(SIG_SETMASK, &a, nullptr), 0);
  uint64_t b = Bit(SIGUSR2);
  uint64_t old = 0;
  ASSERT_EQ(RawSigprocmask(SIG_BLOCK, &b, &old), 0);
  EXPECT_EQ(old, Bit(SIGUSR1));
  // set and oldset may alias.
  uint64_t io = Bit(SIGTERM);
  ASSERT_EQ(RawSigprocmask(SIG_SETMASK, &io, &io), 0);
  EXPECT_EQ(io, Bit(SIGUSR1) | Bit(SIGUSR2));
  EXPECT_EQ(Current(), Bit(SIGTERM));
}

TEST_F(RtSigprocmask, SigkillAndSigstopAreSilentlyNotBlocked) {
  uint64_t m = Bit(SIGKILL) | Bit(SIGSTOP) | Bit(SIGUSR1);
  ASSERT_EQ(RawSigprocmask(SIG_SETMASK, &m, nullptr), 0);
  EXPECT_EQ(Current(), Bit(SIGUSR1));
  ASSERT_EQ(RawSigprocmask(SIG_BLOCK, &m, nullptr), 0);
  EXPECT_EQ(Current(), Bit(SIGUSR1));
}

TEST_F(RtSigprocmask, AllSignalsExceptKillAndStopCanBeBlocked) {
  uint64_t all = ~uint64_t{0};
  ASSERT_EQ(RawSigprocmask(SIG_SETMASK, &all, nullptr), 0);
  EXPECT_EQ(Current(), ~(Bit(SIGKILL) | Bit(SIGSTOP)));
}

TEST_F(RtSigprocmask, NullSetOnlyQueries) {
  uint64_t m = Bit(SIGUSR2);
  ASSERT_EQ(RawSigprocmask(SIG_SETMASK, &m, nullptr), 0);
  uint64_t got = 0;
  ASSERT_EQ(RawSigprocmask(SIG_UNBLOCK, nullptr, &got), 0);
  EXPECT_EQ(got, Bit(SIGUSR2));
  EXPECT_EQ(Current(), Bit(SIGUSR2));
  EXPECT_EQ(RawSigprocmask(SIG_BLOCK, nullptr, nullptr), 0);
}

TEST_F(RtSigprocmask, BadHowIsEinval) {
  uint64_t m = Bit(SIGUSR1);
  EXPECT_FAILS_WITH(RawSigprocmask(3, &m, nullptr), EINVAL);
  EXPECT_FAILS_WITH(RawSigprocmask(-1, &m, nullptr), EINVAL);
  EXPECT_FAILS_WITH(RawSigprocmask(100, &m, nullptr), EINVAL);
  EXPECT_EQ(Current(), 0u);
}

TEST_F(RtSigprocmask, BadHowWithNullSetIsIgnored) {
  uint64_t got = 1;
  EXPECT_EQ(RawSigprocmask(100, nullptr, &got), 0);
  EXPECT_EQ(got, 0u);
}

TEST_F(RtSigprocmask, SigsetsizeNot8IsEinval) {
  uint64_t m = Bit(SIGUSR1);
  uint64_t got = 0;
  EXPECT_FAILS_WITH(RawSigprocmask(SIG_BLOCK, &m, nullptr, 4), EINVAL);
  EXPECT_FAILS_WITH(RawSigprocmask(SIG_BLOCK, &m, nullptr, 16), EINVAL);
  EXPECT_FAILS_WITH(RawSigprocmask(SIG_BLOCK, nullptr, &got, 0), EINVAL);
  EXPECT_EQ(Current(), 0u);
}

TEST_F(RtSigprocmask, SigsetsizeIsCheckedBeforePointers) {
  EXPECT_FAILS_WITH(RawSigprocmask(SIG_BLOCK,
                                   reinterpret_cast<const uint64_t*>(1),
                                   nullptr, 4),
                    EINVAL);
}

TEST_F(RtSigprocmask, BadSetPointerIsEfault) {
  EXPECT_FAILS_WITH(
      RawSigprocmask(SIG_BLOCK, reinterpret_cast<const uint64_t*>(1), nullptr),
      EFAULT);
  EXPECT_EQ(Current(), 0u);
}

TEST_F(RtSigprocmask, BadOldsetPointerIsEfaultButMaskIsChanged) {
  uint64_t m = Bit(SIGUSR1);
  EXPECT_FAILS_WITH(
      RawSigprocmask(SIG_BLOCK, &m, reinterpret_cast<uint64_t*>(1)), EFAULT);
  EXPECT_EQ(Current(), Bit(SIGUSR1));
}

// ---------------------------------------------------------------- rt_sigpending

class RtSigpending : public RtSigprocmask {};

TEST_F(RtSigpending, NothingPendingWhileBlocked) {
  uint64_t m = Bit(SIGUSR1);
  ASSERT_EQ(RawSigprocmask(SIG_BLOCK, &m, nullptr), 0);
  uint64_t pending = ~uint64_t{0};
  ASSERT_EQ(syscall(SYS_rt_sigpending, &pending, kSigsetSize), 0);
  EXPECT_EQ(pending, 0u);
}

TEST_F(RtSigpending, SigsetsizeAbove8IsEinval) {
  uint64_t pending[2];
  EXPECT_FAILS_WITH(syscall(SYS_rt_sigpending, pending, 16), EINVAL);
}

TEST_F(RtSigpending, SmallerSigsetsizeWritesOnlyThatMuch) {
  uint32_t buf[2] = {0xdeadbeef, 0xdeadbeef};
  ASSERT_EQ(syscall(SYS_rt_sigpending, buf, 4), 0);
  EXPECT_EQ(buf[0], 0u);
  EXPECT_EQ(buf[1], 0xdeadbeefu);
}

TEST_F(RtSigpending, BadPointerIsEfault) {
  EXPECT_FAILS_WITH(syscall(SYS_rt_sigpending, nullptr, kSigsetSize), EFAULT);
}

// rt_sigqueueinfo(2) and rt_tgsigqueueinfo(2): the queued siginfo, and who
// may forge which si_code. Signal 0 only checks the target, so nothing is
// delivered to the test process.
siginfo_t QueueInfo(int code) {
  siginfo_t si;
  memset(&si, 0, sizeof(si));
  si.si_code = code;
  si.si_value.sival_int = 42;
  return si;
}

// A child that sleeps until killed: another process to aim at (under the
// sentry the test is PID 1, with no parent to use).
class OtherProcess {
 public:
  OtherProcess() {
    pid_ = fork();
    if (pid_ == 0) {
      for (;;) pause();
    }
  }
  ~OtherProcess() {
    kill(pid_, SIGKILL);
    waitpid(pid_, nullptr, 0);
  }
  pid_t pid() const { return pid_; }

 private:
  pid_t pid_;
};

TEST(RtSigqueueinfo, SignalZeroToSelfSucceeds) {
  siginfo_t si = QueueInfo(SI_QUEUE);
  EXPECT_EQ(syscall(SYS_rt_sigqueueinfo, getpid(), 0, &si), 0);
}

TEST(RtSigqueueinfo, KernelCodeToAnotherProcessIsEperm) {
  OtherProcess other;
  ASSERT_GT(other.pid(), 0);
  siginfo_t si = QueueInfo(SI_USER);  // >= 0: only the kernel may send it
  EXPECT_FAILS_WITH(syscall(SYS_rt_sigqueueinfo, other.pid(), 0, &si), EPERM);
  si.si_code = SI_TKILL;
  EXPECT_FAILS_WITH(syscall(SYS_rt_sigqueueinfo, other.pid(), 0, &si), EPERM);
  si.si_code = SI_QUEUE;
  EXPECT_EQ(syscall(SYS_rt_sigqueueinfo, other.pid(), 0, &si), 0);
}

TEST(RtSigqueueinfo, KernelCodeToSelfIsAllowed) {
  siginfo_t si = QueueInfo(SI_USER);
  EXPECT_EQ(syscall(SYS_rt_sigqueueinfo, getpid(), 0, &si), 0);
}

TEST(RtSigqueueinfo, BadSignalIsEinval) {
  siginfo_t si = QueueInfo(SI_QUEUE);
  EXPECT_FAILS_WITH(syscall(SYS_rt_sigqueueinfo, getpid(), 65, &si), EINVAL);
  EXPECT_FAILS_WITH(syscall(SYS_rt_sigqueueinfo, getpid(), -1, &si), EINVAL);
}

TEST(RtSigqueueinfo, NoSuchProcessIsEsrch) {
  siginfo_t si = QueueInfo(SI_QUEUE);
  EXPECT_FAILS_WITH(syscall(SYS_rt_sigqueueinfo, INT_MAX, 0, &si), ESRCH);
}

TEST(RtSigqueueinfo, BadInfoPointerIsEfault) {
  EXPECT_FAILS_WITH(syscall(SYS_rt_sigqueueinfo, getpid(), 0, husk_test::BadPtr()), EFAULT);
}

TEST(RtTgsigqueueinfo, SignalZeroToOwnThreadSucceeds) {
  siginfo_t si = QueueInfo(SI_QUEUE);
  EXPECT_EQ(syscall(SYS_rt_tgsigqueueinfo, getpid(), gettid(), 0, &si), 0);
}

TEST(RtTgsigqueueinfo, NonPositiveIdsAreEinval) {
  siginfo_t si = QueueInfo(SI_QUEUE);
  EXPECT_FAILS_WITH(syscall(SYS_rt_tgsigqueueinfo, 0, gettid(), 0, &si), EINVAL);
  EXPECT_FAILS_WITH(syscall(SYS_rt_tgsigqueueinfo, getpid(), -1, 0, &si), EINVAL);
}

TEST(RtTgsigqueueinfo, ThreadOfAnotherGroupIsEsrch) {
  OtherProcess other;
  ASSERT_GT(other.pid(), 0);
  siginfo_t si = QueueInfo(SI_QUEUE);
  EXPECT_FAILS_WITH(syscall(SYS_rt_tgsigqueueinfo, other.pid(), gettid(), 0, &si), ESRCH);
}

TEST(RtTgsigqueueinfo, KernelCodeToAnotherThreadIsEperm) {
  OtherProcess other;
  ASSERT_GT(other.pid(), 0);
  siginfo_t si = QueueInfo(SI_KERNEL);  // 0x80: >= 0
  EXPECT_FAILS_WITH(syscall(SYS_rt_tgsigqueueinfo, other.pid(), other.pid(), 0, &si), EPERM);
}

}  // namespace
