// Compatibility tests for credentials: getuid & co, setuid, setgid,
// setreuid, setregid, setresuid, setresgid, setfsuid, setfsgid, getgroups,
// setgroups, capget, capset, and what uid changes and execve do to
// capabilities (capabilities(7)).
//
// The suite runs as root (natively in a container, or as the sandbox's
// root). Every test that changes an id does it in a forked child, so the
// rest of the suite keeps root.

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <linux/capability.h>
#include <linux/securebits.h>
#include <signal.h>
#include <stdint.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <cstdlib>
#include <filesystem>
#include <optional>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "caps_util.h"
#include "test_util.h"

namespace {

using husk_test::BadPtr;

constexpr uint32_t kNoId = static_cast<uint32_t>(-1);
// A pid that cannot exist (above PID_MAX_LIMIT).
constexpr pid_t kNoSuchPid = INT_MAX;

constexpr uint64_t Bit(int cap) { return 1ULL << cap; }

// Raw syscalls: glibc's wrappers would broadcast to threads or reinterpret
// arguments.
long SetUid(uint32_t u) { return syscall(SYS_setuid, u); }
long SetGid(uint32_t g) { return syscall(SYS_setgid, g); }
long SetReUid(uint32_t r, uint32_t e) { return syscall(SYS_setreuid, r, e); }
long SetReGid(uint32_t r, uint32_t e) { return syscall(SYS_setregid, r, e); }
long SetResUid(uint32_t r, uint32_t e, uint32_t s) { return syscall(SYS_setresuid, r, e, s); }
long SetResGid(uint32_t r, uint32_t e, uint32_t s) { return syscall(SYS_setresgid, r, e, s); }
long SetFsUid(uint32_t u) { return syscall(SYS_setfsuid, u); }
long SetFsGid(uint32_t g) { return syscall(SYS_setfsgid, g); }
long SetGroups(size_t n, const uint32_t* g) { return syscall(SYS_setgroups, n, g); }
long GetGroups(int n, uint32_t* g) { return syscall(SYS_getgroups, n, g); }

std::array<uint32_t, 3> ResUid() {
  uint32_t r = 0, e = 0, s = 0;
  EXPECT_EQ(syscall(SYS_getresuid, &r, &e, &s), 0);
  return {r, e, s};
}
std::array<uint32_t, 3> ResGid() {
  uint32_t r = 0, e = 0, s = 0;
  EXPECT_EQ(syscall(SYS_getresgid, &r, &e, &s), 0);
  return {r, e, s};
}
using Ids = std::array<uint32_t, 3>;

using husk_test::Caps;
using husk_test::GetCaps;
using husk_test::SetCaps;

long CapGet(uint32_t version, pid_t pid, __user_cap_data_struct* data) {
  __user_cap_header_struct h{version, pid};
  return syscall(SYS_capget, &h, data);
}

uint64_t BoundingSet() {
  uint64_t set = 0;
  for (int cap = 0; cap < 64; ++cap) {
    long r = prctl(PR_CAPBSET_READ, cap, 0, 0, 0);
    if (r < 0) break;
    if (r == 1) set |= Bit(cap);
  }
  return set;
}

using husk_test::RunInChild;

// --------------------------------------------------------------- exec probe
//
// ExecProbe re-executes this test binary, which reports its credentials
// and prctl state down a pipe before gtest starts (ProbeIfAsked).

struct ProbeState {
  uint32_t uid[3], gid[3];
  uint64_t effective, permitted, inheritable, bounding;
  int keep_caps, pdeath_signal, dumpable, no_new_privs;
  char name[16];
};

constexpr char kProbeEnv[] = "HUSK_CREDS_PROBE_FD";

int ProbeIfAsked() {
  const char* fd = getenv(kProbeEnv);
  if (fd == nullptr) return 0;
  ProbeState s{};
  syscall(SYS_getresuid, &s.uid[0], &s.uid[1], &s.uid[2]);
  syscall(SYS_getresgid, &s.gid[0], &s.gid[1], &s.gid[2]);
  __user_cap_header_struct h{_LINUX_CAPABILITY_VERSION_3, 0};
  __user_cap_data_struct d[2] = {};
  syscall(SYS_capget, &h, d);
  s.effective = d[0].effective | uint64_t{d[1].effective} << 32;
  s.permitted = d[0].permitted | uint64_t{d[1].permitted} << 32;
  s.inheritable = d[0].inheritable | uint64_t{d[1].inheritable} << 32;
  s.bounding = BoundingSet();
  s.keep_caps = prctl(PR_GET_KEEPCAPS, 0, 0, 0, 0);
  prctl(PR_GET_PDEATHSIG, &s.pdeath_signal, 0, 0, 0);
  s.dumpable = prctl(PR_GET_DUMPABLE, 0, 0, 0, 0);
  s.no_new_privs = prctl(PR_GET_NO_NEW_PRIVS, 0, 0, 0, 0);
  prctl(PR_GET_NAME, s.name, 0, 0, 0);
  ssize_t n = write(atoi(fd), &s, sizeof(s));
  _exit(n == sizeof(s) ? 0 : 3);
}

const int kProbed = ProbeIfAsked();

// Runs `setup` in a forked child, which then execs this binary as a
// probe; returns what the probe saw. nullopt (and a failure) if the child
// could not exec.
template <typename F>
std::optional<ProbeState> ExecProbe(F&& setup) {
  int p[2];
  if (pipe(p) != 0) {
    ADD_FAILURE() << "pipe: " << strerror(errno);
    return std::nullopt;
  }
  fflush(stdout);
  fflush(stderr);
  pid_t pid = fork();
  if (pid == 0) {
    close(p[0]);
    setup();
    if (::testing::Test::HasFailure()) _exit(1);
    std::string env = std::string(kProbeEnv) + "=" + std::to_string(p[1]);
    char* argv[] = {program_invocation_name, nullptr};
    char* envp[] = {env.data(), nullptr};
    execve(program_invocation_name, argv, envp);
    dprintf(2, "execve(%s): %s\n", program_invocation_name, strerror(errno));
    _exit(2);
  }
  close(p[1]);
  ProbeState s{};
  ssize_t n = read(p[0], &s, sizeof(s));
  close(p[0]);
  int status = 0;
  waitpid(pid, &status, 0);
  EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0) << "child status " << status;
  if (n != sizeof(s)) {
    ADD_FAILURE() << "the probe reported nothing";
    return std::nullopt;
  }
  return s;
}

// A fresh directory anyone may write to, with umask 0 while the test runs.
class WorldDirTest : public ::testing::Test {
 protected:
  void SetUp() override {
    old_umask_ = umask(0);
    char tmpl[] = "/tmp/husk_creds_XXXXXX";
    ASSERT_NE(mkdtemp(tmpl), nullptr) << strerror(errno);
    // chmod is not needed: recreate it with the mode wanted.
    ASSERT_EQ(rmdir(tmpl), 0);
    ASSERT_EQ(mkdir(tmpl, 0777), 0) << strerror(errno);
    dir_ = tmpl;
  }
  void TearDown() override {
    std::error_code ec;
    std::filesystem::remove_all(dir_, ec);
    umask(old_umask_);
  }
  std::string Path(const std::string& name) const { return dir_ + "/" + name; }
  // Creates `name` with `mode`, owned by the caller's filesystem ids.
  void Create(const std::string& name, mode_t mode) {
    int fd = open(Path(name).c_str(), O_CREAT | O_EXCL | O_WRONLY, mode);
    ASSERT_GE(fd, 0) << name << ": " << strerror(errno);
    close(fd);
  }

  std::string dir_;
  mode_t old_umask_ = 022;
};

// =================================================================== getters

TEST(Getresuid, AgreesWithGetuidAndGeteuid) {
  Ids ids = ResUid();
  EXPECT_EQ(ids[0], static_cast<uint32_t>(syscall(SYS_getuid)));
  EXPECT_EQ(ids[1], static_cast<uint32_t>(syscall(SYS_geteuid)));
  Ids gids = ResGid();
  EXPECT_EQ(gids[0], static_cast<uint32_t>(syscall(SYS_getgid)));
  EXPECT_EQ(gids[1], static_cast<uint32_t>(syscall(SYS_getegid)));
}

TEST(Getresuid, BadPointerIsEfault) {
  uint32_t a, b;
  EXPECT_FAILS_WITH(syscall(SYS_getresuid, &a, &b, BadPtr()), EFAULT);
  EXPECT_FAILS_WITH(syscall(SYS_getresgid, BadPtr(), &a, &b), EFAULT);
}

TEST(Getresuid, SuiteRunsAsRoot) {
  EXPECT_EQ(ResUid(), (Ids{0, 0, 0}));
  EXPECT_EQ(SetFsUid(kNoId), 0);  // setfsuid(-1) only reports the fsuid
}

TEST(Getgroups, NegativeSizeIsEinval) {
  EXPECT_FAILS_WITH(GetGroups(-1, nullptr), EINVAL);
}

TEST(Getgroups, ZeroSizeCountsAndTooSmallIsEinval) {
  RunInChild([] {
    const uint32_t groups[] = {7, 8, 9};
    ASSERT_EQ(SetGroups(3, groups), 0) << strerror(errno);
    EXPECT_EQ(GetGroups(0, nullptr), 3);
    uint32_t out[2];
    EXPECT_FAILS_WITH(GetGroups(2, out), EINVAL);
    EXPECT_FAILS_WITH(GetGroups(3, static_cast<uint32_t*>(BadPtr())), EFAULT);
  });
}

// =================================================================== setuid

TEST(Setuid, MinusOneIsEinval) {
  EXPECT_FAILS_WITH(SetUid(kNoId), EINVAL);
  EXPECT_FAILS_WITH(SetGid(kNoId), EINVAL);
  EXPECT_EQ(ResUid(), (Ids{0, 0, 0}));
}

TEST(Setuid, RootSetsEveryIdAndDropsCapabilities) {
  RunInChild([] {
    ASSERT_EQ(SetUid(1000), 0) << strerror(errno);
    EXPECT_EQ(ResUid(), (Ids{1000, 1000, 1000}));
    EXPECT_EQ(SetFsUid(kNoId), 1000);
    Caps c = GetCaps();
    EXPECT_EQ(c.effective, 0u);
    EXPECT_EQ(c.permitted, 0u);
  });
}

TEST(Setuid, UnprivilegedMayOnlyChooseRealOrSaved) {
  RunInChild([] {
    ASSERT_EQ(SetResUid(1000, 1000, 2000), 0) << strerror(errno);
    EXPECT_FAILS_WITH(SetUid(3000), EPERM);
    EXPECT_FAILS_WITH(SetUid(0), EPERM);
    // Without CAP_SETUID only the effective (and filesystem) id moves.
    ASSERT_EQ(SetUid(2000), 0) << strerror(errno);
    EXPECT_EQ(ResUid(), (Ids{1000, 2000, 2000}));
    EXPECT_EQ(SetFsUid(kNoId), 2000);
    ASSERT_EQ(SetUid(1000), 0) << strerror(errno);
    EXPECT_EQ(ResUid(), (Ids{1000, 1000, 2000}));
  });
}

TEST(Setuid, EffectiveRootComesBackWithItsCapabilities) {
  RunInChild([] {
    const Caps root = GetCaps();
    ASSERT_EQ(SetResUid(0, 1000, 0), 0) << strerror(errno);
    Caps c = GetCaps();
    EXPECT_EQ(c.effective, 0u) << "leaving effective root clears the effective set";
    EXPECT_EQ(c.permitted, root.permitted) << "a root id remains: permitted stays";
    // Without CAP_SETUID, setuid(0) sets only the effective id (0 is real).
    ASSERT_EQ(SetUid(0), 0) << strerror(errno);
    EXPECT_EQ(ResUid(), (Ids{0, 0, 0}));
    EXPECT_EQ(GetCaps().effective, root.permitted);
  });
}

TEST(Setuid, KeepCapsKeepsPermittedButNotEffective) {
  RunInChild([] {
    const Caps root = GetCaps();
    ASSERT_EQ(prctl(PR_SET_KEEPCAPS, 1, 0, 0, 0), 0);
    ASSERT_EQ(SetResUid(1000, 1000, 1000), 0) << strerror(errno);
    Caps c = GetCaps();
    EXPECT_EQ(c.permitted, root.permitted);
    EXPECT_EQ(c.effective, 0u);
    // Raise them again from permitted.
    c.effective = Bit(CAP_SETUID);
    ASSERT_EQ(SetCaps(c), 0) << strerror(errno);
    EXPECT_EQ(SetUid(4000), 0) << strerror(errno);
    EXPECT_EQ(ResUid(), (Ids{4000, 4000, 4000}));
  });
}

TEST(Setuid, ChangingEffectiveIdClearsDumpableAndPdeathsig) {
  RunInChild([] {
    ASSERT_EQ(prctl(PR_SET_PDEATHSIG, SIGUSR1, 0, 0, 0), 0);
    ASSERT_EQ(prctl(PR_GET_DUMPABLE, 0, 0, 0, 0), 1);
    ASSERT_EQ(SetResUid(-1, 1000, -1), 0) << strerror(errno);
    int sig = -1;
    ASSERT_EQ(prctl(PR_GET_PDEATHSIG, &sig, 0, 0, 0), 0);
    EXPECT_EQ(sig, 0);
    // /proc/sys/fs/suid_dumpable's value: 0 or 2, never plainly dumpable.
    EXPECT_NE(prctl(PR_GET_DUMPABLE, 0, 0, 0, 0), 1);
  });
}

TEST(Setuid, SameIdKeepsPdeathsig) {
  RunInChild([] {
    ASSERT_EQ(prctl(PR_SET_PDEATHSIG, SIGUSR1, 0, 0, 0), 0);
    ASSERT_EQ(SetUid(0), 0) << strerror(errno);
    int sig = -1;
    ASSERT_EQ(prctl(PR_GET_PDEATHSIG, &sig, 0, 0, 0), 0);
    EXPECT_EQ(sig, SIGUSR1);
    EXPECT_EQ(prctl(PR_GET_DUMPABLE, 0, 0, 0, 0), 1);
  });
}

// =================================================================== setgid

TEST(Setgid, RootSetsEveryId) {
  RunInChild([] {
    ASSERT_EQ(SetGid(1000), 0) << strerror(errno);
    EXPECT_EQ(ResGid(), (Ids{1000, 1000, 1000}));
    EXPECT_EQ(SetFsGid(kNoId), 1000);
    // Group changes leave capabilities alone.
    EXPECT_NE(GetCaps().effective & Bit(CAP_SETGID), 0u);
  });
}

TEST(Setgid, UnprivilegedMayOnlyChooseRealOrSaved) {
  RunInChild([] {
    ASSERT_EQ(SetResGid(1000, 1000, 2000), 0) << strerror(errno);
    ASSERT_EQ(SetUid(1000), 0) << strerror(errno);  // drops CAP_SETGID
    EXPECT_FAILS_WITH(SetGid(3000), EPERM);
    ASSERT_EQ(SetGid(2000), 0) << strerror(errno);
    EXPECT_EQ(ResGid(), (Ids{1000, 2000, 2000}));
  });
}

// ================================================================= setreuid

TEST(Setreuid, UnprivilegedSwapsRealAndEffective) {
  RunInChild([] {
    ASSERT_EQ(SetResUid(1000, 2000, 3000), 0) << strerror(errno);
    ASSERT_EQ(SetReUid(2000, 1000), 0) << strerror(errno);
    // Setting the real id makes the saved id the new effective one.
    EXPECT_EQ(ResUid(), (Ids{2000, 1000, 1000}));
  });
}

TEST(Setreuid, RealMayNotBecomeSaved) {
  RunInChild([] {
    ASSERT_EQ(SetResUid(1000, 2000, 3000), 0) << strerror(errno);
    EXPECT_FAILS_WITH(SetReUid(3000, kNoId), EPERM);
    EXPECT_FAILS_WITH(SetReUid(kNoId, 4000), EPERM);
    EXPECT_EQ(ResUid(), (Ids{1000, 2000, 3000}));
  });
}

TEST(Setreuid, EffectiveToRealKeepsSaved) {
  RunInChild([] {
    ASSERT_EQ(SetResUid(1000, 2000, 3000), 0) << strerror(errno);
    ASSERT_EQ(SetReUid(kNoId, 1000), 0) << strerror(errno);
    EXPECT_EQ(ResUid(), (Ids{1000, 1000, 3000}));
    ASSERT_EQ(SetReUid(kNoId, 3000), 0) << strerror(errno);
    EXPECT_EQ(ResUid(), (Ids{1000, 3000, 3000}));
  });
}

TEST(Setreuid, BothMinusOneChangesNothing) {
  EXPECT_EQ(SetReUid(kNoId, kNoId), 0);
  EXPECT_EQ(SetReGid(kNoId, kNoId), 0);
  EXPECT_EQ(ResUid(), (Ids{0, 0, 0}));
}

TEST(Setregid, UnprivilegedRules) {
  RunInChild([] {
    ASSERT_EQ(SetResGid(1000, 2000, 3000), 0) << strerror(errno);
    ASSERT_EQ(SetUid(1000), 0) << strerror(errno);
    EXPECT_FAILS_WITH(SetReGid(3000, kNoId), EPERM);
    ASSERT_EQ(SetReGid(2000, 1000), 0) << strerror(errno);
    EXPECT_EQ(ResGid(), (Ids{2000, 1000, 1000}));
    EXPECT_EQ(SetFsGid(kNoId), 1000);
  });
}

// ================================================================ setresuid

TEST(Setresuid, RootSetsEachId) {
  RunInChild([] {
    ASSERT_EQ(SetResUid(1000, 2000, 3000), 0) << strerror(errno);
    EXPECT_EQ(ResUid(), (Ids{1000, 2000, 3000}));
    EXPECT_EQ(SetFsUid(kNoId), 2000) << "the fsuid follows the euid";
  });
}

TEST(Setresuid, UnprivilegedPermutesItsIds) {
  RunInChild([] {
    ASSERT_EQ(SetResUid(1000, 2000, 3000), 0) << strerror(errno);
    ASSERT_EQ(SetResUid(3000, 1000, 2000), 0) << strerror(errno);
    EXPECT_EQ(ResUid(), (Ids{3000, 1000, 2000}));
    EXPECT_FAILS_WITH(SetResUid(kNoId, 4000, kNoId), EPERM);
    EXPECT_FAILS_WITH(SetResUid(0, kNoId, kNoId), EPERM);
    ASSERT_EQ(SetResUid(kNoId, kNoId, kNoId), 0);
    EXPECT_EQ(ResUid(), (Ids{3000, 1000, 2000}));
  });
}

TEST(Setresuid, SavedRootKeepsPermitted) {
  RunInChild([] {
    const Caps root = GetCaps();
    ASSERT_EQ(SetResUid(1000, 1000, 0), 0) << strerror(errno);
    Caps c = GetCaps();
    EXPECT_EQ(c.effective, 0u);
    EXPECT_EQ(c.permitted, root.permitted);
    ASSERT_EQ(SetResUid(kNoId, 0, kNoId), 0) << strerror(errno);
    EXPECT_EQ(GetCaps().effective, root.permitted);
  });
}

TEST(Setresuid, NoChangeLeavesTheFsuid) {
  RunInChild([] {
    SetFsUid(1000);
    ASSERT_EQ(SetResUid(kNoId, kNoId, kNoId), 0);
    ASSERT_EQ(SetResUid(0, kNoId, 0), 0);
    EXPECT_EQ(SetFsUid(kNoId), 1000);
    // The same euid with another fsuid is a change: the fsuid follows.
    ASSERT_EQ(SetResUid(kNoId, 0, kNoId), 0);
    EXPECT_EQ(SetFsUid(kNoId), 0);
    SetFsGid(1000);
    ASSERT_EQ(SetResGid(kNoId, kNoId, kNoId), 0);
    EXPECT_EQ(SetFsGid(kNoId), 1000);
    ASSERT_EQ(SetResGid(kNoId, 0, kNoId), 0);
    EXPECT_EQ(SetFsGid(kNoId), 0);
    // setreuid always resets it.
    SetFsUid(1000);
    ASSERT_EQ(SetReUid(kNoId, kNoId), 0);
    EXPECT_EQ(SetFsUid(kNoId), 0);
  });
}

TEST(Setresgid, RootSetsEachIdAndUnprivilegedPermutes) {
  RunInChild([] {
    ASSERT_EQ(SetResGid(1000, 2000, 3000), 0) << strerror(errno);
    EXPECT_EQ(ResGid(), (Ids{1000, 2000, 3000}));
    ASSERT_EQ(SetUid(1000), 0) << strerror(errno);
    ASSERT_EQ(SetResGid(2000, 3000, 1000), 0) << strerror(errno);
    EXPECT_EQ(ResGid(), (Ids{2000, 3000, 1000}));
    EXPECT_FAILS_WITH(SetResGid(kNoId, kNoId, 5000), EPERM);
  });
}

// ================================================================= setfsuid

TEST(Setfsuid, ReturnsThePreviousId) {
  RunInChild([] {
    EXPECT_EQ(SetFsUid(1000), 0);
    EXPECT_EQ(SetFsUid(kNoId), 1000);
    EXPECT_EQ(ResUid(), (Ids{0, 0, 0})) << "only the fsuid changes";
    EXPECT_EQ(SetFsGid(1000), 0);
    EXPECT_EQ(SetFsGid(kNoId), 1000);
  });
}

TEST(Setfsuid, UnprivilegedChoosesOnlyItsOwnIds) {
  RunInChild([] {
    ASSERT_EQ(SetResUid(1000, 2000, 3000), 0) << strerror(errno);
    EXPECT_EQ(SetFsUid(4000), 2000);
    EXPECT_EQ(SetFsUid(kNoId), 2000) << "refused silently";
    EXPECT_EQ(SetFsUid(3000), 2000);
    EXPECT_EQ(SetFsUid(kNoId), 3000);
  });
}

TEST(Setfsuid, NonRootFsuidDropsFilesystemCapabilities) {
  RunInChild([] {
    const Caps root = GetCaps();
    SetFsUid(1000);
    Caps c = GetCaps();
    EXPECT_EQ(c.effective & (Bit(CAP_CHOWN) | Bit(CAP_DAC_OVERRIDE) | Bit(CAP_FOWNER)), 0u);
    EXPECT_NE(c.effective & Bit(CAP_SETUID), 0u);
    EXPECT_EQ(c.permitted, root.permitted);
    SetFsUid(0);
    EXPECT_EQ(GetCaps().effective, root.effective);
  });
}

class FsIds : public WorldDirTest {};

TEST_F(FsIds, NewFilesAreOwnedByTheFilesystemIds) {
  RunInChild([&] {
    SetFsGid(1234);
    SetFsUid(1000);
    Create("f", 0644);
    struct stat st;
    ASSERT_EQ(stat(Path("f").c_str(), &st), 0) << strerror(errno);
    EXPECT_EQ(st.st_uid, 1000u);
    EXPECT_EQ(st.st_gid, 1234u);
  });
}

TEST_F(FsIds, PermissionChecksUseTheFsuid) {
  Create("secret", 0600);
  RunInChild([&] {
    SetFsUid(1000);
    EXPECT_FAILS_WITH(open(Path("secret").c_str(), O_RDONLY), EACCES);
    SetFsUid(0);
    int fd = open(Path("secret").c_str(), O_RDONLY);
    EXPECT_GE(fd, 0) << strerror(errno);
    close(fd);
  });
}

TEST_F(FsIds, OwnerMayOpenWithoutCapabilities) {
  RunInChild([&] {
    SetFsUid(1000);
    Create("mine", 0600);
    int fd = open(Path("mine").c_str(), O_RDWR);
    EXPECT_GE(fd, 0) << strerror(errno);
    close(fd);
  });
}

TEST_F(FsIds, AccessUsesTheRealIds) {
  Create("secret", 0600);
  RunInChild([&] {
    ASSERT_EQ(SetResUid(1000, 0, 0), 0) << strerror(errno);
    EXPECT_FAILS_WITH(access(Path("secret").c_str(), R_OK), EACCES);
    EXPECT_EQ(syscall(SYS_faccessat2, AT_FDCWD, Path("secret").c_str(), R_OK, AT_EACCESS), 0)
        << strerror(errno);
    int fd = open(Path("secret").c_str(), O_RDONLY);
    EXPECT_GE(fd, 0) << strerror(errno);
    close(fd);
  });
}

TEST_F(FsIds, DacOverrideDoesNotExecuteWithoutAnXBit) {
  Create("noexec", 0600);
  Create("someexec", 0001);
  EXPECT_FAILS_WITH(access(Path("noexec").c_str(), X_OK), EACCES);
  EXPECT_EQ(access(Path("someexec").c_str(), X_OK | R_OK | W_OK), 0) << strerror(errno);
}

// ================================================================ setgroups

TEST(Setgroups, ReplacesAndSorts) {
  RunInChild([] {
    const uint32_t in[] = {30, 10, 20, 10};
    ASSERT_EQ(SetGroups(4, in), 0) << strerror(errno);
    uint32_t out[8] = {};
    ASSERT_EQ(GetGroups(8, out), 4);
    EXPECT_EQ(std::vector<uint32_t>(out, out + 4), (std::vector<uint32_t>{10, 10, 20, 30}));
    ASSERT_EQ(SetGroups(0, nullptr), 0) << strerror(errno);
    EXPECT_EQ(GetGroups(0, nullptr), 0);
  });
}

TEST(Setgroups, UnprivilegedIsEperm) {
  RunInChild([] {
    ASSERT_EQ(SetUid(1000), 0) << strerror(errno);
    EXPECT_FAILS_WITH(SetGroups(0, nullptr), EPERM);
    // EPERM comes before the size check.
    EXPECT_FAILS_WITH(SetGroups(100000, nullptr), EPERM);
  });
}

TEST(Setgroups, BadArgumentsAreEinvalOrEfault) {
  RunInChild([] {
    EXPECT_FAILS_WITH(SetGroups(65537, nullptr), EINVAL);
    EXPECT_FAILS_WITH(syscall(SYS_setgroups, -1, nullptr), EINVAL);
    EXPECT_FAILS_WITH(SetGroups(2, static_cast<uint32_t*>(BadPtr())), EFAULT);
    const uint32_t bad[] = {5, kNoId};
    EXPECT_FAILS_WITH(SetGroups(2, bad), EINVAL);
  });
}

class Groups : public WorldDirTest {};

TEST_F(Groups, SupplementaryGroupGrantsGroupAccess) {
  RunInChild([&] {
    SetFsGid(4242);
    Create("grouponly", 0040);
    SetFsGid(0);
    ASSERT_EQ(SetGid(1000), 0) << strerror(errno);
    const uint32_t groups[] = {4242};
    ASSERT_EQ(SetGroups(1, groups), 0) << strerror(errno);
    ASSERT_EQ(SetUid(1000), 0) << strerror(errno);
    int fd = open(Path("grouponly").c_str(), O_RDONLY);
    EXPECT_GE(fd, 0) << strerror(errno);
    close(fd);
    EXPECT_FAILS_WITH(open(Path("grouponly").c_str(), O_WRONLY), EACCES);
  });
}

TEST_F(Groups, OwnerBitsWinOverGroupBits) {
  RunInChild([&] {
    SetFsGid(1000);
    SetFsUid(1000);
    Create("f", 0070);
    SetFsGid(0);
    SetFsUid(0);
    ASSERT_EQ(SetResGid(1000, 1000, 1000), 0) << strerror(errno);
    ASSERT_EQ(SetResUid(1000, 1000, 1000), 0) << strerror(errno);
    // The owner gets the owner bits (none), even in the file's group.
    EXPECT_FAILS_WITH(open(Path("f").c_str(), O_RDONLY), EACCES);
  });
}

// =================================================================== capget

TEST(Capget, RootHasTheContainerCapabilities) {
  Caps c = GetCaps();
  for (int cap : {CAP_CHOWN, CAP_DAC_OVERRIDE, CAP_FOWNER, CAP_KILL, CAP_SETGID, CAP_SETUID,
                  CAP_SETPCAP}) {
    EXPECT_NE(c.effective & Bit(cap), 0u) << "capability " << cap;
    EXPECT_NE(c.permitted & Bit(cap), 0u) << "capability " << cap;
  }
  EXPECT_EQ(c.effective & ~c.permitted, 0u);
  EXPECT_EQ(c.permitted & ~BoundingSet(), 0u);
}

TEST(Capget, NullDataNegotiatesTheVersion) {
  __user_cap_header_struct h{0x12345678, 0};
  EXPECT_EQ(syscall(SYS_capget, &h, nullptr), 0);
  EXPECT_EQ(h.version, static_cast<uint32_t>(_LINUX_CAPABILITY_VERSION_3));
  h.version = _LINUX_CAPABILITY_VERSION_3;
  EXPECT_EQ(syscall(SYS_capget, &h, nullptr), 0);
}

TEST(Capget, UnknownVersionIsEinvalAndWritesThePreferredOne) {
  __user_cap_header_struct h{0x12345678, 0};
  __user_cap_data_struct d[2];
  EXPECT_FAILS_WITH(syscall(SYS_capget, &h, d), EINVAL);
  EXPECT_EQ(h.version, static_cast<uint32_t>(_LINUX_CAPABILITY_VERSION_3));
}

TEST(Capget, VersionOneCopiesOneWord) {
  __user_cap_data_struct v3[2] = {};
  ASSERT_EQ(CapGet(_LINUX_CAPABILITY_VERSION_3, 0, v3), 0);
  __user_cap_data_struct v1[2];
  memset(v1, 0xa5, sizeof(v1));
  ASSERT_EQ(CapGet(_LINUX_CAPABILITY_VERSION_1, 0, v1), 0);
  EXPECT_EQ(v1[0].effective, v3[0].effective);
  EXPECT_EQ(v1[0].permitted, v3[0].permitted);
  EXPECT_EQ(v1[1].effective, 0xa5a5a5a5u) << "the second word is left alone";
  __user_cap_data_struct v2[2] = {};
  ASSERT_EQ(CapGet(_LINUX_CAPABILITY_VERSION_2, 0, v2), 0);
  EXPECT_EQ(memcmp(v2, v3, sizeof(v2)), 0);
}

TEST(Capget, PidErrors) {
  __user_cap_data_struct d[2];
  EXPECT_FAILS_WITH(CapGet(_LINUX_CAPABILITY_VERSION_3, -1, d), EINVAL);
  EXPECT_FAILS_WITH(CapGet(_LINUX_CAPABILITY_VERSION_3, kNoSuchPid, d), ESRCH);
  EXPECT_EQ(CapGet(_LINUX_CAPABILITY_VERSION_3, getpid(), d), 0) << strerror(errno);
  EXPECT_EQ(CapGet(_LINUX_CAPABILITY_VERSION_3, gettid(), d), 0) << strerror(errno);
}

TEST(Capget, BadPointersAreEfault) {
  __user_cap_data_struct d[2];
  EXPECT_FAILS_WITH(syscall(SYS_capget, BadPtr(), d), EFAULT);
  EXPECT_FAILS_WITH(syscall(SYS_capget, BadPtr(), nullptr), EFAULT);
  __user_cap_header_struct h{_LINUX_CAPABILITY_VERSION_3, 0};
  EXPECT_FAILS_WITH(syscall(SYS_capget, &h, BadPtr()), EFAULT);
}

TEST(Capget, OfAnotherProcess) {
  int ready[2], done[2];
  ASSERT_EQ(pipe(ready), 0);
  ASSERT_EQ(pipe(done), 0);
  fflush(stdout);
  pid_t pid = fork();
  ASSERT_GE(pid, 0);
  if (pid == 0) {
    close(done[1]);
    Caps c;
    c.permitted = Bit(CAP_KILL) | Bit(CAP_CHOWN);
    c.effective = Bit(CAP_KILL);
    if (SetCaps(c) != 0) _exit(1);
    char x = 1;
    if (write(ready[1], &x, 1) != 1) _exit(2);
    (void)read(done[0], &x, 1);
    _exit(0);
  }
  char x;
  ASSERT_EQ(read(ready[0], &x, 1), 1);
  Caps c = GetCaps(pid);
  EXPECT_EQ(c.effective, Bit(CAP_KILL));
  EXPECT_EQ(c.permitted, Bit(CAP_KILL) | Bit(CAP_CHOWN));
  close(done[1]);
  int status;
  ASSERT_EQ(waitpid(pid, &status, 0), pid);
  EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0);
  close(ready[0]);
  close(ready[1]);
  close(done[0]);
}

// =================================================================== capset

TEST(Capset, EffectiveDropsAndComesBackFromPermitted) {
  RunInChild([] {
    const Caps root = GetCaps();
    Caps c = root;
    c.effective = 0;
    ASSERT_EQ(SetCaps(c), 0) << strerror(errno);
    EXPECT_EQ(GetCaps().effective, 0u);
    EXPECT_FAILS_WITH(SetUid(1000), EPERM);
    ASSERT_EQ(SetCaps(root), 0) << strerror(errno);
    EXPECT_EQ(GetCaps().effective, root.effective);
  });
}

TEST(Capset, PermittedCannotGrow) {
  RunInChild([] {
    Caps c = GetCaps();
    c.permitted &= ~Bit(CAP_KILL);
    c.effective &= ~Bit(CAP_KILL);
    ASSERT_EQ(SetCaps(c), 0) << strerror(errno);
    Caps again = c;
    again.permitted |= Bit(CAP_KILL);
    EXPECT_FAILS_WITH(SetCaps(again), EPERM);
    Caps eff = c;
    eff.effective |= Bit(CAP_KILL);
    EXPECT_FAILS_WITH(SetCaps(eff), EPERM);
  });
}

TEST(Capset, InheritableNeedsSetpcapBeyondPermitted) {
  RunInChild([] {
    Caps c = GetCaps();
    c.permitted &= ~Bit(CAP_KILL);
    c.effective &= ~Bit(CAP_KILL);
    ASSERT_EQ(SetCaps(c), 0) << strerror(errno);
    // With CAP_SETPCAP: anything in the bounding set.
    Caps inh = c;
    inh.inheritable = Bit(CAP_KILL);
    EXPECT_EQ(SetCaps(inh), 0) << strerror(errno);
    inh.inheritable = 0;
    ASSERT_EQ(SetCaps(inh), 0) << strerror(errno);
    // Without: only what is permitted.
    Caps no_setpcap = c;
    no_setpcap.effective &= ~Bit(CAP_SETPCAP);
    ASSERT_EQ(SetCaps(no_setpcap), 0) << strerror(errno);
    no_setpcap.inheritable = Bit(CAP_KILL);
    EXPECT_FAILS_WITH(SetCaps(no_setpcap), EPERM);
    no_setpcap.inheritable = Bit(CAP_CHOWN);
    EXPECT_EQ(SetCaps(no_setpcap), 0) << strerror(errno);
    EXPECT_EQ(GetCaps().inheritable, Bit(CAP_CHOWN));
  });
}

TEST(Capset, InheritableStaysWithinBoundingSet) {
  RunInChild([] {
    ASSERT_EQ(prctl(PR_CAPBSET_DROP, CAP_KILL, 0, 0, 0), 0) << strerror(errno);
    Caps c = GetCaps();
    c.inheritable = Bit(CAP_KILL);
    EXPECT_FAILS_WITH(SetCaps(c), EPERM);
  });
}

TEST(Capset, OnlyTheCallerItself) {
  Caps c = GetCaps();
  EXPECT_EQ(SetCaps(c, gettid()), 0) << strerror(errno);
  EXPECT_FAILS_WITH(SetCaps(c, kNoSuchPid), EPERM);
  pid_t child = fork();
  if (child == 0) {
    pause();
    _exit(0);
  }
  ASSERT_GT(child, 0);
  EXPECT_FAILS_WITH(SetCaps(c, child), EPERM);
  kill(child, SIGKILL);
  waitpid(child, nullptr, 0);
}

TEST(Capset, BadVersionAndPointers) {
  __user_cap_header_struct h{0x12345678, 0};
  __user_cap_data_struct d[2] = {};
  EXPECT_FAILS_WITH(syscall(SYS_capset, &h, d), EINVAL);
  EXPECT_EQ(h.version, static_cast<uint32_t>(_LINUX_CAPABILITY_VERSION_3));
  EXPECT_FAILS_WITH(syscall(SYS_capset, BadPtr(), d), EFAULT);
  h.version = _LINUX_CAPABILITY_VERSION_3;
  EXPECT_FAILS_WITH(syscall(SYS_capset, &h, BadPtr()), EFAULT);
}

TEST(Capset, VersionOneClearsTheUpperWord) {
  RunInChild([] {
    __user_cap_header_struct h{_LINUX_CAPABILITY_VERSION_1, 0};
    __user_cap_data_struct d{static_cast<uint32_t>(Bit(CAP_SETUID)),
                             static_cast<uint32_t>(Bit(CAP_SETUID) | Bit(CAP_KILL)), 0};
    ASSERT_EQ(syscall(SYS_capset, &h, &d), 0) << strerror(errno);
    Caps c = GetCaps();
    EXPECT_EQ(c.effective, Bit(CAP_SETUID));
    EXPECT_EQ(c.permitted, Bit(CAP_SETUID) | Bit(CAP_KILL));
  });
}

// =================================================================== execve

TEST(ExecCredentials, RootRegainsItsBoundingSet) {
  auto s = ExecProbe([] {
    ASSERT_EQ(prctl(PR_CAPBSET_DROP, CAP_KILL, 0, 0, 0), 0) << strerror(errno);
    Caps c = GetCaps();
    c.effective = 0;
    c.permitted &= ~Bit(CAP_CHOWN);
    ASSERT_EQ(SetCaps(c), 0) << strerror(errno);
  });
  ASSERT_TRUE(s);
  EXPECT_EQ(s->bounding & Bit(CAP_KILL), 0u);
  EXPECT_EQ(s->permitted, s->bounding) << "root: permitted = bounding | inheritable";
  EXPECT_EQ(s->effective, s->permitted);
  EXPECT_NE(s->permitted & Bit(CAP_CHOWN), 0u);
}

TEST(ExecCredentials, SavedIdsBecomeTheEffectiveOnes) {
  auto s = ExecProbe([] {
    ASSERT_EQ(SetResGid(1000, 0, 2000), 0) << strerror(errno);
    ASSERT_EQ(SetResUid(1000, 0, 2000), 0) << strerror(errno);
  });
  ASSERT_TRUE(s);
  EXPECT_EQ(s->uid[0], 1000u);
  EXPECT_EQ(s->uid[1], 0u);
  EXPECT_EQ(s->uid[2], 0u);
  EXPECT_EQ(s->gid[0], 1000u);
  EXPECT_EQ(s->gid[1], 0u);
  EXPECT_EQ(s->gid[2], 0u);
  // Effective root: full sets.
  EXPECT_EQ(s->effective, s->permitted);
  EXPECT_NE(s->effective & Bit(CAP_SETUID), 0u);
  // Ids that differ from the real ones: not dumpable.
  EXPECT_NE(s->dumpable, 1);
}

TEST(ExecCredentials, RealRootOnlyGetsPermitted) {
  auto s = ExecProbe([] {
    ASSERT_EQ(SetResUid(0, 1000, 0), 0) << strerror(errno);
    ASSERT_EQ(prctl(PR_SET_PDEATHSIG, SIGUSR2, 0, 0, 0), 0);
  });
  ASSERT_TRUE(s);
  EXPECT_EQ(s->uid[1], 1000u);
  EXPECT_EQ(s->uid[2], 1000u);
  EXPECT_EQ(s->permitted, s->bounding);
  EXPECT_EQ(s->effective, 0u);
  // Ids that differ: a secure exec, which forgets the parent-death signal,
  // and the process is not dumpable.
  EXPECT_EQ(s->pdeath_signal, 0);
  EXPECT_NE(s->dumpable, 1);
}

TEST(ExecCredentials, KeepCapsIsClearedAndNonRootLosesCapabilities) {
  // The exec runs as uid 1000: it needs search permission on the path to
  // this binary.
  auto s = ExecProbe([] {
    ASSERT_EQ(prctl(PR_SET_KEEPCAPS, 1, 0, 0, 0), 0);
    ASSERT_EQ(SetResUid(1000, 1000, 1000), 0) << strerror(errno);
    ASSERT_NE(GetCaps().permitted, 0u);
  });
  ASSERT_TRUE(s);
  EXPECT_EQ(s->keep_caps, 0);
  EXPECT_EQ(s->permitted, 0u);
  EXPECT_EQ(s->effective, 0u);
  EXPECT_EQ(s->dumpable, 1);
}

TEST(ExecCredentials, PrctlStateAcrossExec) {
  auto s = ExecProbe([] {
    ASSERT_EQ(prctl(PR_SET_NAME, "before-exec", 0, 0, 0), 0);
    ASSERT_EQ(prctl(PR_SET_PDEATHSIG, SIGUSR2, 0, 0, 0), 0);
    ASSERT_EQ(prctl(PR_SET_DUMPABLE, 0, 0, 0, 0), 0);
    ASSERT_EQ(prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0), 0);
  });
  ASSERT_TRUE(s);
  // The name is the file's, at most 15 bytes.
  std::string base = program_invocation_name;
  base = base.substr(base.rfind('/') + 1).substr(0, 15);
  EXPECT_EQ(std::string(s->name), base);
  EXPECT_EQ(s->pdeath_signal, SIGUSR2);
  EXPECT_EQ(s->dumpable, 1);
  EXPECT_EQ(s->no_new_privs, 1);
}

TEST(ExecCredentials, NoNewPrivsKeepsDroppedCapabilitiesDropped) {
  auto s = ExecProbe([] {
    Caps c = GetCaps();
    c.permitted &= ~Bit(CAP_CHOWN);
    c.effective &= ~Bit(CAP_CHOWN);
    ASSERT_EQ(SetCaps(c), 0) << strerror(errno);
    ASSERT_EQ(prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0), 0);
  });
  ASSERT_TRUE(s);
  EXPECT_EQ(s->permitted & Bit(CAP_CHOWN), 0u);
  EXPECT_NE(s->permitted & Bit(CAP_SETUID), 0u);
  EXPECT_EQ(s->effective, s->permitted);
  EXPECT_EQ(s->uid[1], 0u);
  EXPECT_EQ(s->no_new_privs, 1);
}

TEST(ExecCredentials, EffectiveRootWithoutRealRootIsSecure) {
  // Non-root real user, effective root: a privilege-raising exec, which
  // forgets the parent-death signal.
  auto s = ExecProbe([] {
    ASSERT_EQ(SetResUid(1000, 0, 0), 0) << strerror(errno);
    ASSERT_EQ(prctl(PR_SET_PDEATHSIG, SIGUSR2, 0, 0, 0), 0);
  });
  ASSERT_TRUE(s);
  EXPECT_EQ(s->pdeath_signal, 0);
}

}  // namespace
