// Who may signal whom (kill(2), EPERM): a sender may signal a process if
// it has CAP_KILL, or its real or effective user ID equals the target's
// real or saved set-user-ID; SIGCONT may go to any process of the same
// session. The same check applies to tkill, tgkill, rt_sigqueueinfo,
// rt_tgsigqueueinfo and pidfd_send_signal; kill(-pgid) fails only if no
// member could be signalled, and kill(-1) never fails for refusals.
//
// The tests start as root and drop to unusual user IDs that no process on
// the host runs as, so that even kill(-1) natively reaches only the
// test's own processes.

#include <errno.h>
#include <grp.h>
#include <limits.h>
#include <linux/capability.h>
#include <signal.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <functional>

#include <gtest/gtest.h>

#include "caps_util.h"
#include "test_util.h"

namespace {

constexpr uid_t kUid = 47311;    // the sender's
constexpr uid_t kOther = 47312;  // someone else

#define SKIP_UNLESS_ROOT() \
  if (geteuid() != 0) GTEST_SKIP() << "needs root to change ids"

// Every user and group id becomes `uid`, with no supplementary groups.
void BecomeUser(uid_t uid) {
  ASSERT_EQ(setgroups(0, nullptr), 0) << strerror(errno);
  ASSERT_EQ(setresgid(uid, uid, uid), 0) << strerror(errno);
  ASSERT_EQ(setresuid(uid, uid, uid), 0) << strerror(errno);
}

using Target = husk_test::PausedChild;

long Tgkill(pid_t tgid, pid_t tid, int sig) { return syscall(SYS_tgkill, tgid, tid, sig); }
long Tkill(pid_t tid, int sig) { return syscall(SYS_tkill, tid, sig); }

siginfo_t QueueInfo() {
  siginfo_t si{};
  si.si_code = SI_QUEUE;
  return si;
}

TEST(KillPermission, OtherUsersProcessIsEperm) {
  SKIP_UNLESS_ROOT();
  const pid_t root_pid = getpid();  // the test, as root
  husk_test::RunInChild([root_pid] {
    BecomeUser(kUid);
    siginfo_t si = QueueInfo();
    EXPECT_FAILS_WITH(kill(root_pid, 0), EPERM);
    EXPECT_FAILS_WITH(kill(root_pid, SIGWINCH), EPERM);
    EXPECT_FAILS_WITH(Tkill(root_pid, 0), EPERM);
    EXPECT_FAILS_WITH(Tgkill(root_pid, root_pid, 0), EPERM);
    EXPECT_FAILS_WITH(syscall(SYS_rt_sigqueueinfo, root_pid, 0, &si), EPERM);
    EXPECT_FAILS_WITH(syscall(SYS_rt_tgsigqueueinfo, root_pid, root_pid, 0, &si), EPERM);
  });
}

TEST(KillPermission, NoSuchProcessComesBeforeEperm) {
  SKIP_UNLESS_ROOT();
  husk_test::RunInChild([] {
    BecomeUser(kUid);
    EXPECT_FAILS_WITH(kill(INT_MAX, 0), ESRCH);
    EXPECT_FAILS_WITH(kill(INT_MAX, 1000), ESRCH);
  });
}

TEST(KillPermission, BadSignalIsEinvalEvenWithoutPermission) {
  SKIP_UNLESS_ROOT();
  const pid_t root_pid = getpid();
  husk_test::RunInChild([root_pid] {
    BecomeUser(kUid);
    EXPECT_FAILS_WITH(kill(root_pid, 65), EINVAL);
    EXPECT_FAILS_WITH(Tkill(root_pid, -1), EINVAL);
  });
}

TEST(KillPermission, SameUserMaySignal) {
  SKIP_UNLESS_ROOT();
  husk_test::RunInChild([] {
    BecomeUser(kUid);
    Target peer;  // also kUid
    EXPECT_EQ(kill(peer.pid(), 0), 0) << strerror(errno);
    EXPECT_EQ(Tgkill(peer.pid(), peer.pid(), 0), 0) << strerror(errno);
    siginfo_t si = QueueInfo();
    EXPECT_EQ(syscall(SYS_rt_sigqueueinfo, peer.pid(), 0, &si), 0) << strerror(errno);
    ASSERT_EQ(kill(peer.pid(), SIGTERM), 0) << strerror(errno);
    const int status = peer.Reap();
    EXPECT_TRUE(WIFSIGNALED(status) && WTERMSIG(status) == SIGTERM) << status;
    // And itself, of course.
    EXPECT_EQ(kill(getpid(), 0), 0);
  });
}

TEST(KillPermission, RootMaySignalAnyone) {
  SKIP_UNLESS_ROOT();
  Target other([] { BecomeUser(kOther); });
  EXPECT_EQ(kill(other.pid(), 0), 0) << strerror(errno);
  ASSERT_EQ(kill(other.pid(), SIGKILL), 0) << strerror(errno);
  EXPECT_TRUE(WIFSIGNALED(other.Reap()));
}

TEST(KillPermission, SigcontIsAllowedWithinTheSession) {
  SKIP_UNLESS_ROOT();
  const pid_t root_pid = getpid();
  husk_test::RunInChild([root_pid] {
    BecomeUser(kUid);
    // The test process is not stopped: SIGCONT does nothing to it.
    EXPECT_EQ(kill(root_pid, SIGCONT), 0) << strerror(errno);
    EXPECT_EQ(Tgkill(root_pid, root_pid, SIGCONT), 0) << strerror(errno);
  });
}

TEST(KillPermission, SigcontToAnotherSessionIsEperm) {
  SKIP_UNLESS_ROOT();
  Target elsewhere([] { setsid(); });  // root, in a session of its own
  const pid_t pid = elsewhere.pid();
  husk_test::RunInChild([pid] {
    BecomeUser(kUid);
    EXPECT_FAILS_WITH(kill(pid, SIGCONT), EPERM);
  });
  EXPECT_TRUE(elsewhere.Alive());
}

TEST(KillPermission, RealUidMatchingTheTargetsIsEnough) {
  SKIP_UNLESS_ROOT();
  const pid_t root_pid = getpid();
  husk_test::RunInChild([root_pid] {
    // Real uid 0, effective kUid: no effective capabilities left.
    ASSERT_EQ(setresuid(0, kUid, 0), 0) << strerror(errno);
    EXPECT_EQ(husk_test::GetCaps().effective, 0u);
    EXPECT_EQ(kill(root_pid, 0), 0) << strerror(errno);
  });
}

TEST(KillPermission, TargetsSavedUidCountsButNotItsEffectiveUid) {
  SKIP_UNLESS_ROOT();
  // saved == kUid: the sender may signal it.
  Target saved([] { ASSERT_EQ(setresuid(kOther, kOther, kUid), 0); });
  // effective == kUid only: it may not.
  Target effective([] { ASSERT_EQ(setresuid(kOther, kUid, kOther), 0); });
  const pid_t s = saved.pid(), e = effective.pid();
  husk_test::RunInChild([s, e] {
    BecomeUser(kUid);
    EXPECT_EQ(kill(s, 0), 0) << strerror(errno);
    EXPECT_FAILS_WITH(kill(e, 0), EPERM);
  });
}

TEST(KillPermission, SendersEffectiveUidCounts) {
  SKIP_UNLESS_ROOT();
  Target other([] { BecomeUser(kOther); });
  const pid_t pid = other.pid();
  husk_test::RunInChild([pid] {
    ASSERT_EQ(setresgid(kUid, kUid, kUid), 0);
    ASSERT_EQ(setresuid(kUid, kOther, kUid), 0) << strerror(errno);  // effective kOther
    EXPECT_EQ(kill(pid, 0), 0) << strerror(errno);
  });
}

TEST(KillPermission, CapKillOverridesTheIds) {
  SKIP_UNLESS_ROOT();
  const pid_t root_pid = getpid();
  husk_test::RunInChild([root_pid] {
    ASSERT_EQ(prctl(PR_SET_KEEPCAPS, 1, 0, 0, 0), 0) << strerror(errno);
    BecomeUser(kUid);
    husk_test::Caps caps = husk_test::GetCaps();
    ASSERT_NE(caps.permitted & (1ULL << CAP_KILL), 0u);
    EXPECT_FAILS_WITH(kill(root_pid, 0), EPERM);  // not effective yet
    caps.effective = 1ULL << CAP_KILL;
    ASSERT_EQ(husk_test::SetCaps(caps), 0) << strerror(errno);
    EXPECT_EQ(kill(root_pid, 0), 0) << strerror(errno);
    EXPECT_EQ(Tgkill(root_pid, root_pid, 0), 0) << strerror(errno);
  });
}

TEST(KillPermission, ZombieIsCheckedAgainstItsLastCredentials) {
  SKIP_UNLESS_ROOT();
  pid_t zombie = fork();
  if (zombie == 0) _exit(0);
  siginfo_t info{};
  ASSERT_EQ(waitid(P_PID, zombie, &info, WEXITED | WNOWAIT), 0);
  husk_test::RunInChild([zombie] {
    BecomeUser(kUid);
    EXPECT_FAILS_WITH(kill(zombie, 0), EPERM);
  });
  EXPECT_EQ(kill(zombie, 0), 0);  // root may
  EXPECT_EQ(waitpid(zombie, nullptr, 0), zombie);
}

TEST(KillPermission, ProcessGroupSucceedsIfAnyMemberTakesIt) {
  SKIP_UNLESS_ROOT();
  // A group led by a root process, with a member of the sender's user.
  Target leader([] { setpgid(0, 0); });
  const pid_t pgid = leader.pid();
  setpgid(pgid, pgid);
  Target member([pgid] {
    setpgid(0, pgid);
    BecomeUser(kUid);
  });
  setpgid(member.pid(), pgid);
  ASSERT_EQ(getpgid(member.pid()), pgid);
  husk_test::RunInChild([pgid] {
    BecomeUser(kUid);
    EXPECT_EQ(kill(-pgid, SIGUSR1), 0) << strerror(errno);
  });
  const int status = member.Reap();
  EXPECT_TRUE(WIFSIGNALED(status) && WTERMSIG(status) == SIGUSR1) << status;
  EXPECT_TRUE(leader.Alive());
}

TEST(KillPermission, ProcessGroupWithNoPermittedMemberIsEperm) {
  SKIP_UNLESS_ROOT();
  Target leader([] { setpgid(0, 0); });
  const pid_t pgid = leader.pid();
  setpgid(pgid, pgid);
  husk_test::RunInChild([pgid] {
    BecomeUser(kUid);
    EXPECT_FAILS_WITH(kill(-pgid, 0), EPERM);
    EXPECT_FAILS_WITH(kill(-pgid, SIGUSR1), EPERM);
  });
  EXPECT_TRUE(leader.Alive());
}

TEST(KillPermission, KillAllSignalsWhatItMayAndNeverFailsWithEperm) {
  SKIP_UNLESS_ROOT();
  Target root_owned;  // refused, so untouched
  husk_test::RunInChild([] {
    BecomeUser(kUid);
    // Refused by every other process: still success.
    EXPECT_EQ(kill(-1, 0), 0) << strerror(errno);
    Target peer;  // kUid too: it gets the signal, the sender does not
    sigset_t set;
    sigemptyset(&set);
    sigaddset(&set, SIGUSR1);
    sigprocmask(SIG_BLOCK, &set, nullptr);
    EXPECT_EQ(kill(-1, SIGUSR1), 0) << strerror(errno);
    const int status = peer.Reap();
    EXPECT_TRUE(WIFSIGNALED(status) && WTERMSIG(status) == SIGUSR1) << status;
    sigset_t pending;
    sigpending(&pending);
    EXPECT_FALSE(sigismember(&pending, SIGUSR1));
  });
  EXPECT_TRUE(root_owned.Alive());
}

TEST(KillPermission, PidfdSendSignalIsChecked) {
  SKIP_UNLESS_ROOT();
  const pid_t root_pid = getpid();
  int pidfd = static_cast<int>(syscall(SYS_pidfd_open, root_pid, 0));
  if (pidfd < 0 && errno == ENOSYS) GTEST_SKIP() << "no pidfd_open in this kernel";
  ASSERT_GE(pidfd, 0) << strerror(errno);
  husk_test::RunInChild([pidfd] {
    BecomeUser(kUid);
    EXPECT_FAILS_WITH(syscall(SYS_pidfd_send_signal, pidfd, 0, nullptr, 0), EPERM);
    EXPECT_FAILS_WITH(syscall(SYS_pidfd_send_signal, pidfd, SIGWINCH, nullptr, 0), EPERM);
    EXPECT_EQ(syscall(SYS_pidfd_send_signal, pidfd, SIGCONT, nullptr, 0), 0) << strerror(errno);
  });
  close(pidfd);
}

// A child's SIGCHLD and its wait report carry the child's real uid.
volatile sig_atomic_t g_chld_uid = -1;
void OnChld(int, siginfo_t* si, void*) { g_chld_uid = static_cast<int>(si->si_uid); }

TEST(ChildUid, SigchldAndWaitidCarryTheChildsRealUid) {
  husk_test::RunInChild([] {
    struct sigaction sa {};
    sa.sa_sigaction = OnChld;
    sa.sa_flags = SA_SIGINFO;
    ASSERT_EQ(sigaction(SIGCHLD, &sa, nullptr), 0);
    sigset_t chld;
    sigemptyset(&chld);
    sigaddset(&chld, SIGCHLD);
    ASSERT_EQ(sigprocmask(SIG_BLOCK, &chld, nullptr), 0);
    pid_t pid = fork();
    ASSERT_GE(pid, 0);
    if (pid == 0) {
      if (setresuid(65534, 65534, 65534) != 0) _exit(2);
      _exit(7);
    }
    siginfo_t info{};
    ASSERT_EQ(waitid(P_PID, pid, &info, WEXITED | WNOWAIT), 0);
    EXPECT_EQ(info.si_uid, 65534u);
    EXPECT_EQ(info.si_status, 7);
    ASSERT_EQ(sigprocmask(SIG_UNBLOCK, &chld, nullptr), 0);
    EXPECT_EQ(g_chld_uid, 65534);
    ASSERT_EQ(waitpid(pid, nullptr, 0), pid);
  });
}

}  // namespace
