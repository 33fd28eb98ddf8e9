// chown, fchown, lchown, fchownat: only CAP_CHOWN gives a file away, its
// owner may change the group to one of its own; -1 keeps a value;
// set-user-ID and set-group-ID bits go. And utime, utimes, futimesat, the
// older forms of utimensat.

#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/time.h>
#include <unistd.h>
#include <utime.h>

#include <string>

#include <gtest/gtest.h>

#include "test_util.h"

namespace {

using husk_test::BadPtr;
using husk_test::ClosedFd;
using husk_test::RunInChild;

class Chown : public husk_test::TempDirTest {
 protected:
  std::string MakeFile(const char* name, mode_t mode = 0644) {
    std::string path = Path(name);
    int fd = open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0600);
    EXPECT_GE(fd, 0) << strerror(errno);
    EXPECT_EQ(fchmod(fd, mode), 0);
    close(fd);
    return path;
  }
  struct stat StatOf(const std::string& path, bool follow = true) {
    struct stat st{};
    EXPECT_EQ(follow ? stat(path.c_str(), &st) : lstat(path.c_str(), &st), 0) << path;
    return st;
  }
  // Lets others into the test directory (it is made 0700).
  void OpenDir() { ASSERT_EQ(chmod(dir_.c_str(), 0755), 0); }
  // In a child: become uid/gid 1000 with the supplementary groups `groups`.
  static void BecomeUser(std::initializer_list<gid_t> groups = {}) {
    std::vector<gid_t> g(groups);
    ASSERT_EQ(setgroups(g.size(), g.data()), 0);
    ASSERT_EQ(setgid(1000), 0);
    ASSERT_EQ(setuid(1000), 0);
  }
};

TEST_F(Chown, RootGivesAFileAway) {
  std::string f = MakeFile("f");
  ASSERT_EQ(chown(f.c_str(), 1234, 5678), 0);
  struct stat st = StatOf(f);
  EXPECT_EQ(st.st_uid, 1234u);
  EXPECT_EQ(st.st_gid, 5678u);
  EXPECT_EQ(st.st_mode & 07777, 0644u);
}

TEST_F(Chown, MinusOneKeepsAValue) {
  std::string f = MakeFile("f");
  ASSERT_EQ(chown(f.c_str(), 1234, 5678), 0);
  ASSERT_EQ(chown(f.c_str(), -1, 42), 0);
  EXPECT_EQ(StatOf(f).st_uid, 1234u);
  EXPECT_EQ(StatOf(f).st_gid, 42u);
  ASSERT_EQ(chown(f.c_str(), 7, -1), 0);
  EXPECT_EQ(StatOf(f).st_uid, 7u);
  EXPECT_EQ(StatOf(f).st_gid, 42u);
  ASSERT_EQ(chown(f.c_str(), -1, -1), 0);
  EXPECT_EQ(StatOf(f).st_uid, 7u);
  EXPECT_EQ(StatOf(f).st_gid, 42u);
}

TEST_F(Chown, ChangesCtime) {
  std::string f = MakeFile("f");
  struct stat before = StatOf(f);
  husk_test::SleepMs(20);
  ASSERT_EQ(chown(f.c_str(), -1, -1), 0);
  struct stat after = StatOf(f);
  EXPECT_TRUE(after.st_ctim.tv_sec > before.st_ctim.tv_sec ||
              (after.st_ctim.tv_sec == before.st_ctim.tv_sec &&
               after.st_ctim.tv_nsec > before.st_ctim.tv_nsec));
  EXPECT_EQ(after.st_mtim.tv_sec, before.st_mtim.tv_sec);
  EXPECT_EQ(after.st_mtim.tv_nsec, before.st_mtim.tv_nsec);
}

TEST_F(Chown, FollowsSymlinksButLchownDoesNot) {
  std::string f = MakeFile("target");
  std::string link = Path("link");
  ASSERT_EQ(symlink(f.c_str(), link.c_str()), 0);
  ASSERT_EQ(chown(link.c_str(), 11, 12), 0);
  EXPECT_EQ(StatOf(f).st_uid, 11u);
  EXPECT_EQ(StatOf(link, false).st_uid, 0u);
  ASSERT_EQ(lchown(link.c_str(), 21, 22), 0);
  EXPECT_EQ(StatOf(link, false).st_uid, 21u);
  EXPECT_EQ(StatOf(link, false).st_gid, 22u);
  EXPECT_EQ(StatOf(f).st_uid, 11u);
}

TEST_F(Chown, FchownAndFchownat) {
  std::string f = MakeFile("f");
  int fd = open(f.c_str(), O_RDONLY);
  ASSERT_GE(fd, 0);
  ASSERT_EQ(fchown(fd, 31, 32), 0);
  EXPECT_EQ(StatOf(f).st_uid, 31u);
  int dir = open(dir_.c_str(), O_RDONLY | O_DIRECTORY);
  ASSERT_GE(dir, 0);
  ASSERT_EQ(fchownat(dir, "f", 41, 42, 0), 0);
  EXPECT_EQ(StatOf(f).st_gid, 42u);
  ASSERT_EQ(symlink("f", Path("link").c_str()), 0);
  ASSERT_EQ(fchownat(dir, "link", 51, 52, AT_SYMLINK_NOFOLLOW), 0);
  EXPECT_EQ(StatOf(Path("link"), false).st_uid, 51u);
  EXPECT_EQ(StatOf(f).st_uid, 41u);
  // AT_EMPTY_PATH: the file the fd names, even an O_PATH one.
  int path = open(f.c_str(), O_PATH);
  ASSERT_GE(path, 0);
  ASSERT_EQ(fchownat(path, "", 61, 62, AT_EMPTY_PATH), 0);
  EXPECT_EQ(StatOf(f).st_uid, 61u);
  close(path);
  close(dir);
  close(fd);
}

TEST_F(Chown, OnlyCapChownGivesAFileAway) {
  std::string f = MakeFile("f");
  ASSERT_EQ(chown(f.c_str(), 1000, 1000), 0);
  OpenDir();
  RunInChild([&] {
    BecomeUser();
    EXPECT_FAILS_WITH(chown(f.c_str(), 1001, -1), EPERM);
    EXPECT_FAILS_WITH(chown(f.c_str(), 0, -1), EPERM);
    // The owner may "change" the owner to itself.
    EXPECT_EQ(chown(f.c_str(), 1000, -1), 0);
  });
  EXPECT_EQ(StatOf(f).st_uid, 1000u);
}

TEST_F(Chown, TheOwnerMayPickOneOfItsGroups) {
  std::string f = MakeFile("f");
  ASSERT_EQ(chown(f.c_str(), 1000, 1000), 0);
  OpenDir();
  RunInChild([&] {
    BecomeUser({3000});
    EXPECT_EQ(chown(f.c_str(), -1, 3000), 0);
    struct stat st{};
    EXPECT_EQ(stat(f.c_str(), &st), 0);
    EXPECT_EQ(st.st_gid, 3000u);
    EXPECT_EQ(chown(f.c_str(), -1, 1000), 0);  // the fsgid
    EXPECT_EQ(chown(f.c_str(), 1000, 3000), 0);
    EXPECT_FAILS_WITH(chown(f.c_str(), -1, 4000), EPERM);
  });
}

TEST_F(Chown, OthersMayNotChangeTheGroup) {
  std::string f = MakeFile("f");  // owned by root
  OpenDir();
  RunInChild([&] {
    BecomeUser({0});
    EXPECT_FAILS_WITH(chown(f.c_str(), -1, 0), EPERM);
    EXPECT_FAILS_WITH(chown(f.c_str(), -1, 1000), EPERM);
    // No change at all is no change of owner: allowed.
    EXPECT_EQ(chown(f.c_str(), -1, -1), 0);
  });
}

TEST_F(Chown, ClearsSetIdBitsOfFiles) {
  std::string f = MakeFile("f", 06755);
  ASSERT_EQ(chown(f.c_str(), -1, -1), 0);  // even with nothing to change
  EXPECT_EQ(StatOf(f).st_mode & 07777, 0755u);
  ASSERT_EQ(chmod(f.c_str(), 06755), 0);
  ASSERT_EQ(chown(f.c_str(), 0, 0), 0);  // and for root
  EXPECT_EQ(StatOf(f).st_mode & 07777, 0755u);
  // Set-group-ID without group execute (mandatory locking) stays for a
  // caller in the group.
  ASSERT_EQ(chmod(f.c_str(), 02745), 0);
  ASSERT_EQ(chown(f.c_str(), 0, 0), 0);
  EXPECT_EQ(StatOf(f).st_mode & 07777, 02745u);
}

TEST_F(Chown, KeepsSetIdBitsOfDirectories) {
  std::string d = Path("d");
  ASSERT_EQ(mkdir(d.c_str(), 0755), 0);
  ASSERT_EQ(chmod(d.c_str(), 06755), 0);
  ASSERT_EQ(chown(d.c_str(), 5, 5), 0);
  EXPECT_EQ(StatOf(d).st_mode & 07777, 06755u);
}

TEST_F(Chown, OwnerLosesSetGroupIdOfAGroupItIsNotIn) {
  std::string f = MakeFile("f", 02745);
  ASSERT_EQ(chown(f.c_str(), 1000, 4000), 0);
  ASSERT_EQ(chmod(f.c_str(), 02745), 0);
  OpenDir();
  RunInChild([&] {
    BecomeUser();
    EXPECT_EQ(chown(f.c_str(), -1, 1000), 0);
    struct stat st{};
    EXPECT_EQ(stat(f.c_str(), &st), 0);
    EXPECT_EQ(st.st_mode & 07777, 0745u);
  });
}

TEST_F(Chown, Errors) {
  EXPECT_FAILS_WITH(chown(Path("missing").c_str(), 0, 0), ENOENT);
  EXPECT_FAILS_WITH(chown("", 0, 0), ENOENT);
  EXPECT_FAILS_WITH(syscall(SYS_chown, BadPtr(), 0, 0), EFAULT);
  EXPECT_FAILS_WITH(fchown(ClosedFd(), 0, 0), EBADF);
  std::string f = MakeFile("f");
  EXPECT_FAILS_WITH(chown((f + "/x").c_str(), 0, 0), ENOTDIR);
  int path = open(f.c_str(), O_PATH);
  ASSERT_GE(path, 0);
  EXPECT_FAILS_WITH(fchown(path, 0, 0), EBADF);
  EXPECT_FAILS_WITH(fchownat(path, "x", 0, 0, 0), ENOTDIR);
  close(path);
  EXPECT_FAILS_WITH(fchownat(AT_FDCWD, f.c_str(), 0, 0, 0x4000), EINVAL);
  EXPECT_FAILS_WITH(fchownat(AT_FDCWD, "", 0, 0, 0), ENOENT);
}

// ---- utime, utimes, futimesat ---------------------------------------------

class Utimes : public Chown {
 protected:
  struct stat Times(const std::string& path) { return StatOf(path); }
};

TEST_F(Utimes, UtimeSetsWholeSeconds) {
  std::string f = MakeFile("f");
  struct utimbuf times = {1000000000, 1200000000};
  ASSERT_EQ(syscall(SYS_utime, f.c_str(), &times), 0);
  struct stat st = Times(f);
  EXPECT_EQ(st.st_atim.tv_sec, 1000000000);
  EXPECT_EQ(st.st_atim.tv_nsec, 0);
  EXPECT_EQ(st.st_mtim.tv_sec, 1200000000);
  EXPECT_EQ(st.st_mtim.tv_nsec, 0);
}

TEST_F(Utimes, UtimesSetsMicroseconds) {
  std::string f = MakeFile("f");
  struct timeval tv[2] = {{1000000000, 5}, {1200000000, 999999}};
  ASSERT_EQ(syscall(SYS_utimes, f.c_str(), tv), 0);
  struct stat st = Times(f);
  EXPECT_EQ(st.st_atim.tv_sec, 1000000000);
  EXPECT_EQ(st.st_atim.tv_nsec, 5000);
  EXPECT_EQ(st.st_mtim.tv_sec, 1200000000);
  EXPECT_EQ(st.st_mtim.tv_nsec, 999999000);
}

TEST_F(Utimes, NullMeansNow) {
  std::string f = MakeFile("f");
  struct timeval old[2] = {{1000, 0}, {1000, 0}};
  ASSERT_EQ(utimes(f.c_str(), old), 0);
  time_t now = time(nullptr);
  ASSERT_EQ(syscall(SYS_utimes, f.c_str(), nullptr), 0);
  EXPECT_GE(Times(f).st_mtim.tv_sec, now - 1);
  ASSERT_EQ(utimes(f.c_str(), old), 0);
  ASSERT_EQ(syscall(SYS_utime, f.c_str(), nullptr), 0);
  EXPECT_GE(Times(f).st_atim.tv_sec, now - 1);
}

TEST_F(Utimes, FutimesatFromADirectoryAndOfAnFd) {
  std::string f = MakeFile("f");
  int dir = open(dir_.c_str(), O_RDONLY | O_DIRECTORY);
  ASSERT_GE(dir, 0);
  struct timeval tv[2] = {{100, 0}, {200, 0}};
  ASSERT_EQ(syscall(SYS_futimesat, dir, "f", tv), 0);
  EXPECT_EQ(Times(f).st_mtim.tv_sec, 200);
  int fd = open(f.c_str(), O_RDONLY);
  ASSERT_GE(fd, 0);
  struct timeval tv2[2] = {{300, 0}, {400, 0}};
  ASSERT_EQ(syscall(SYS_futimesat, fd, nullptr, tv2), 0);  // a NULL path: the fd's file
  EXPECT_EQ(Times(f).st_mtim.tv_sec, 400);
  EXPECT_EQ(futimes(fd, tv), 0);
  EXPECT_EQ(Times(f).st_mtim.tv_sec, 200);
  close(fd);
  close(dir);
}

TEST_F(Utimes, Errors) {
  std::string f = MakeFile("f");
  struct timeval bad[2] = {{1, 1000000}, {2, 0}};
  // The raw calls: glibc converts the times itself before utimensat.
  EXPECT_FAILS_WITH(syscall(SYS_utimes, f.c_str(), bad), EINVAL);
  bad[0].tv_usec = -1;
  EXPECT_FAILS_WITH(syscall(SYS_utimes, f.c_str(), bad), EINVAL);
  EXPECT_FAILS_WITH(syscall(SYS_utimes, Path("missing").c_str(), nullptr), ENOENT);
  EXPECT_FAILS_WITH(syscall(SYS_utimes, f.c_str(), BadPtr()), EFAULT);
  EXPECT_FAILS_WITH(syscall(SYS_utime, f.c_str(), BadPtr()), EFAULT);
  EXPECT_FAILS_WITH(syscall(SYS_utime, nullptr, nullptr), EFAULT);
  EXPECT_FAILS_WITH(syscall(SYS_futimesat, AT_FDCWD, nullptr, nullptr), EFAULT);
  EXPECT_FAILS_WITH(syscall(SYS_futimesat, AT_FDCWD, "", nullptr), ENOENT);
  EXPECT_FAILS_WITH(syscall(SYS_futimesat, ClosedFd(), "f", nullptr), EBADF);
}

TEST_F(Utimes, ExplicitTimesNeedOwnershipNowNeedsWriteAccess) {
  std::string f = MakeFile("f", 0666);
  OpenDir();
  RunInChild([&] {
    BecomeUser();
    struct timeval tv[2] = {{100, 0}, {200, 0}};
    EXPECT_FAILS_WITH(syscall(SYS_utimes, f.c_str(), tv), EPERM);
    EXPECT_EQ(syscall(SYS_utimes, f.c_str(), nullptr), 0);  // writable by others
  });
  ASSERT_EQ(chmod(f.c_str(), 0644), 0);
  RunInChild([&] {
    BecomeUser();
    EXPECT_FAILS_WITH(syscall(SYS_utimes, f.c_str(), nullptr), EACCES);
  });
}

}  // namespace
