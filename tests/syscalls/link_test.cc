// link(2) and linkat(2): a second name for a file; both names share the
// inode (and its link count); the errors the man page lists. Each test runs
// in a scratch directory on /tmp and on /dev/shm.

#include <fcntl.h>
#include <linux/capability.h>
#include <semaphore.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <string>

#include <gtest/gtest.h>

#include "caps_util.h"
#include "namei_util.h"
#include "test_util.h"

namespace {

using husk_test::BadPtr;
using husk_test::RunInChild;

using Link = husk_test::ScratchDirTest;

bool HasCap(int cap) { return (husk_test::GetCaps().effective >> cap) & 1; }

TEST_P(Link, BothNamesShareTheInode) {
  std::string a = MakeFile("a", "hello");
  std::string b = Path("b");
  ASSERT_EQ(link(a.c_str(), b.c_str()), 0) << strerror(errno);
  struct stat sa = Stat(a), sb = Stat(b);
  EXPECT_EQ(sa.st_ino, sb.st_ino);
  EXPECT_EQ(sa.st_dev, sb.st_dev);
  EXPECT_EQ(sa.st_nlink, 2u);
  EXPECT_EQ(sb.st_nlink, 2u);
  EXPECT_EQ(Read(b), "hello");
  // A write through one name shows through the other.
  int fd = open(b.c_str(), O_WRONLY | O_TRUNC);
  ASSERT_GE(fd, 0);
  ASSERT_EQ(write(fd, "bye", 3), 3);
  close(fd);
  EXPECT_EQ(Read(a), "bye");
}

TEST_P(Link, UnlinkingOneNameKeepsTheOther) {
  std::string a = MakeFile("a", "kept");
  std::string b = Path("b");
  ASSERT_EQ(link(a.c_str(), b.c_str()), 0);
  ASSERT_EQ(unlink(a.c_str()), 0);
  EXPECT_EQ(Stat(b).st_nlink, 1u);
  EXPECT_EQ(Read(b), "kept");
  EXPECT_FAILS_WITH(access(a.c_str(), F_OK), ENOENT);
  // And a third name after that.
  ASSERT_EQ(link(b.c_str(), Path("c").c_str()), 0);
  EXPECT_EQ(Stat(b).st_nlink, 2u);
}

TEST_P(Link, OpenFileOfAnUnlinkedNameStillCounts) {
  std::string a = MakeFile("a");
  ASSERT_EQ(link(a.c_str(), Path("b").c_str()), 0);
  int fd = open(a.c_str(), O_RDONLY);
  ASSERT_GE(fd, 0);
  ASSERT_EQ(unlink(a.c_str()), 0);
  ASSERT_EQ(unlink(Path("b").c_str()), 0);
  struct stat st {};
  ASSERT_EQ(fstat(fd, &st), 0);
  EXPECT_EQ(st.st_nlink, 0u);
  close(fd);
}

TEST_P(Link, UpdatesCtimeAndTheDirectory) {
  std::string a = MakeFile("a");
  struct stat before = Stat(a), dir_before = Stat(dir_);
  husk_test::SleepMs(20);
  ASSERT_EQ(link(a.c_str(), Path("b").c_str()), 0);
  struct stat after = Stat(a), dir_after = Stat(dir_);
  auto later = [](const timespec& x, const timespec& y) {
    return x.tv_sec != y.tv_sec ? x.tv_sec > y.tv_sec : x.tv_nsec > y.tv_nsec;
  };
  EXPECT_TRUE(later(after.st_ctim, before.st_ctim));
  EXPECT_EQ(after.st_mtim.tv_sec, before.st_mtim.tv_sec);
  EXPECT_EQ(after.st_mtim.tv_nsec, before.st_mtim.tv_nsec);
  EXPECT_TRUE(later(dir_after.st_mtim, dir_before.st_mtim));
  EXPECT_TRUE(later(dir_after.st_ctim, dir_before.st_ctim));
}

TEST_P(Link, LinkatWithDirectoryFds) {
  MakeFile("a", "x");
  ASSERT_EQ(mkdir(Path("sub").c_str(), 0755), 0);
  int dir = open(dir_.c_str(), O_RDONLY | O_DIRECTORY);
  int sub = open(Path("sub").c_str(), O_PATH | O_DIRECTORY);
  ASSERT_GE(dir, 0);
  ASSERT_GE(sub, 0);
  ASSERT_EQ(linkat(dir, "a", sub, "b", 0), 0) << strerror(errno);
  EXPECT_EQ(Read(Path("sub/b")), "x");
  // An absolute path ignores the dirfd.
  ASSERT_EQ(linkat(-1, Path("a").c_str(), -1, Path("c").c_str(), 0), 0);
  EXPECT_FAILS_WITH(linkat(husk_test::ClosedFd(), "a", dir, "d", 0), EBADF);
  EXPECT_FAILS_WITH(linkat(dir, "a", husk_test::ClosedFd(), "d", 0), EBADF);
  int file = open(Path("a").c_str(), O_RDONLY);
  EXPECT_FAILS_WITH(linkat(file, "a", dir, "d", 0), ENOTDIR);
  EXPECT_FAILS_WITH(linkat(dir, "a", file, "d", 0), ENOTDIR);
  close(file);
  close(sub);
  close(dir);
}

TEST_P(Link, ASymlinkIsLinkedItselfUnlessFollowed) {
  std::string target = MakeFile("target");
  std::string sym = Path("sym");
  ASSERT_EQ(symlink("target", sym.c_str()), 0);
  // link(2) does not follow (Linux since 2.0); linkat follows only with
  // AT_SYMLINK_FOLLOW.
  ASSERT_EQ(link(sym.c_str(), Path("l1").c_str()), 0);
  EXPECT_TRUE(S_ISLNK(Stat(Path("l1")).st_mode));
  EXPECT_EQ(Stat(sym).st_nlink, 2u);
  ASSERT_EQ(linkat(AT_FDCWD, sym.c_str(), AT_FDCWD, Path("l2").c_str(), AT_SYMLINK_FOLLOW), 0);
  EXPECT_TRUE(S_ISREG(Stat(Path("l2")).st_mode));
  EXPECT_EQ(Stat(Path("l2")).st_ino, Stat(target).st_ino);
  EXPECT_EQ(Stat(target).st_nlink, 2u);
  // A dangling symlink followed: ENOENT.
  ASSERT_EQ(symlink("missing", Path("dangling").c_str()), 0);
  EXPECT_FAILS_WITH(linkat(AT_FDCWD, Path("dangling").c_str(), AT_FDCWD, Path("l3").c_str(),
                           AT_SYMLINK_FOLLOW),
                    ENOENT);
  ASSERT_EQ(link(Path("dangling").c_str(), Path("l3").c_str()), 0);
}

TEST_P(Link, ADirectoryIsEperm) {
  ASSERT_EQ(mkdir(Path("d").c_str(), 0755), 0);
  EXPECT_FAILS_WITH(link(Path("d").c_str(), Path("e").c_str()), EPERM);
  EXPECT_FAILS_WITH(link(dir_.c_str(), Path("e").c_str()), EPERM);
}

TEST_P(Link, AnExistingNameIsEexist) {
  std::string a = MakeFile("a");
  MakeFile("b");
  ASSERT_EQ(mkdir(Path("d").c_str(), 0755), 0);
  ASSERT_EQ(symlink("missing", Path("dangling").c_str()), 0);
  EXPECT_FAILS_WITH(link(a.c_str(), Path("b").c_str()), EEXIST);
  EXPECT_FAILS_WITH(link(a.c_str(), Path("d").c_str()), EEXIST);
  EXPECT_FAILS_WITH(link(a.c_str(), Path("dangling").c_str()), EEXIST);
  EXPECT_FAILS_WITH(link(a.c_str(), a.c_str()), EEXIST);
  EXPECT_FAILS_WITH(link(a.c_str(), Path("d/.").c_str()), EEXIST);
  EXPECT_FAILS_WITH(link(a.c_str(), Path("d/..").c_str()), EEXIST);
  EXPECT_FAILS_WITH(link(a.c_str(), "/"), EEXIST);
  EXPECT_EQ(Stat(a).st_nlink, 1u);
}

TEST_P(Link, MissingNamesAreEnoent) {
  std::string a = MakeFile("a");
  EXPECT_FAILS_WITH(link(Path("missing").c_str(), Path("b").c_str()), ENOENT);
  EXPECT_FAILS_WITH(link(a.c_str(), Path("nodir/b").c_str()), ENOENT);
  EXPECT_FAILS_WITH(link("", Path("b").c_str()), ENOENT);
  EXPECT_FAILS_WITH(link(a.c_str(), ""), ENOENT);
  // A trailing slash on the new name asks for a directory.
  EXPECT_FAILS_WITH(link(a.c_str(), Path("b/").c_str()), ENOENT);
  // AT_EMPTY_PATH without "" is an ordinary lookup.
  EXPECT_FAILS_WITH(linkat(AT_FDCWD, Path("missing").c_str(), AT_FDCWD, Path("b").c_str(), AT_EMPTY_PATH),
                    ENOENT);
}

TEST_P(Link, ANonDirectoryInThePathIsEnotdir) {
  std::string a = MakeFile("a");
  EXPECT_FAILS_WITH(link((a + "/").c_str(), Path("b").c_str()), ENOTDIR);
  EXPECT_FAILS_WITH(link((a + "/x").c_str(), Path("b").c_str()), ENOTDIR);
  EXPECT_FAILS_WITH(link(a.c_str(), (a + "/b").c_str()), ENOTDIR);
}

TEST_P(Link, LongNamesAreEnametoolong) {
  std::string a = MakeFile("a");
  std::string name(256, 'n');
  EXPECT_FAILS_WITH(link(a.c_str(), Path(name).c_str()), ENAMETOOLONG);
  EXPECT_FAILS_WITH(link(Path(name).c_str(), Path("b").c_str()), ENAMETOOLONG);
  std::string huge(5000, 'x');
  EXPECT_FAILS_WITH(link(a.c_str(), huge.c_str()), ENAMETOOLONG);
  // 255 is allowed.
  EXPECT_EQ(link(a.c_str(), Path(std::string(255, 'n')).c_str()), 0) << strerror(errno);
}

TEST_P(Link, BadPointersAreEfault) {
  std::string a = MakeFile("a");
  EXPECT_FAILS_WITH(syscall(SYS_link, BadPtr(), Path("b").c_str()), EFAULT);
  EXPECT_FAILS_WITH(syscall(SYS_link, a.c_str(), BadPtr()), EFAULT);
  EXPECT_FAILS_WITH(syscall(SYS_linkat, AT_FDCWD, BadPtr(), AT_FDCWD, Path("b").c_str(), 0), EFAULT);
  EXPECT_FAILS_WITH(syscall(SYS_linkat, AT_FDCWD, a.c_str(), AT_FDCWD, BadPtr(), 0), EFAULT);
}

TEST_P(Link, UnknownFlagsAreEinval) {
  std::string a = MakeFile("a");
  EXPECT_FAILS_WITH(linkat(AT_FDCWD, a.c_str(), AT_FDCWD, Path("b").c_str(), AT_SYMLINK_NOFOLLOW),
                    EINVAL);
  EXPECT_FAILS_WITH(linkat(AT_FDCWD, a.c_str(), AT_FDCWD, Path("b").c_str(), 0x8000000), EINVAL);
  // Flags are checked before the paths.
  EXPECT_FAILS_WITH(syscall(SYS_linkat, AT_FDCWD, BadPtr(), AT_FDCWD, BadPtr(), 1), EINVAL);
}

TEST_P(Link, AcrossFilesystemsIsExdev) {
  // /tmp and /dev/shm are different mounts natively and in the sandbox.
  std::string a = MakeFile("a");
  const char* other = OnTmpfs() ? "/tmp/husk_link_exdev" : "/dev/shm/husk_link_exdev";
  EXPECT_FAILS_WITH(link(a.c_str(), other), EXDEV);
  EXPECT_FAILS_WITH(link("/dev/null", Path("null").c_str()), EXDEV);
}

TEST_P(Link, NeedsWriteAndSearchPermission) {
  std::string a = MakeFile("a");
  ASSERT_EQ(chmod(dir_.c_str(), 0755), 0);
  ASSERT_EQ(chmod(a.c_str(), 0666), 0);
  ASSERT_EQ(mkdir(Path("open").c_str(), 0777), 0);
  ASSERT_EQ(chmod(Path("open").c_str(), 0777), 0);
  ASSERT_EQ(mkdir(Path("noexec").c_str(), 0777), 0);
  MakeFile("noexec/existing");
  ASSERT_EQ(chmod(Path("noexec").c_str(), 0666), 0);
  RunInChild([&] {
    ASSERT_EQ(setuid(1000), 0);
    // No write permission on the directory of the new name.
    EXPECT_FAILS_WITH(link(a.c_str(), Path("b").c_str()), EACCES);
    // No search permission on it, even for a name that exists there.
    EXPECT_FAILS_WITH(link(a.c_str(), Path("noexec/b").c_str()), EACCES);
    EXPECT_FAILS_WITH(link(a.c_str(), Path("noexec/existing").c_str()), EACCES);
    // Fine where both are allowed: a regular file they may read and write.
    EXPECT_EQ(link(a.c_str(), Path("open/b").c_str()), 0) << strerror(errno);
  });
}

TEST_P(Link, ProtectedHardlinksNeedOwnershipOrAccess) {
  // fs.protected_hardlinks = 1 (the default, and the sandbox's).
  std::string a = MakeFile("a", "secret", 0600);
  ASSERT_EQ(chmod(a.c_str(), 0600), 0);
  ASSERT_EQ(chmod(dir_.c_str(), 0777), 0);
  FILE* f = fopen("/proc/sys/fs/protected_hardlinks", "r");
  if (f != nullptr) {
    int v = fgetc(f);
    fclose(f);
    if (v != '1') GTEST_SKIP() << "fs.protected_hardlinks is not 1";
  }
  RunInChild([&] {
    ASSERT_EQ(setuid(1000), 0);
    EXPECT_FAILS_WITH(link(a.c_str(), Path("mine").c_str()), EPERM);
  });
  // A file they may read and write, but set-user-ID: still EPERM.
  ASSERT_EQ(chmod(a.c_str(), 04666), 0);
  RunInChild([&] {
    ASSERT_EQ(setuid(1000), 0);
    EXPECT_FAILS_WITH(link(a.c_str(), Path("mine").c_str()), EPERM);
  });
  ASSERT_EQ(chmod(a.c_str(), 0666), 0);
  RunInChild([&] {
    ASSERT_EQ(setuid(1000), 0);
    EXPECT_EQ(link(a.c_str(), Path("mine").c_str()), 0) << strerror(errno);
  });
}

TEST_P(Link, EmptyPathLinksTheFdWithCapDacReadSearch) {
  std::string a = MakeFile("a", "fd");
  int fd = open(a.c_str(), O_RDONLY);
  ASSERT_GE(fd, 0);
  if (HasCap(CAP_DAC_READ_SEARCH)) {
    ASSERT_EQ(linkat(fd, "", AT_FDCWD, Path("b").c_str(), AT_EMPTY_PATH), 0) << strerror(errno);
    EXPECT_EQ(Stat(a).st_nlink, 2u);
    // A directory fd: EPERM, as any directory.
    int dir = open(dir_.c_str(), O_RDONLY | O_DIRECTORY);
    EXPECT_FAILS_WITH(linkat(dir, "", AT_FDCWD, Path("c").c_str(), AT_EMPTY_PATH), EPERM);
    close(dir);
  }
  // Without the capability "" stays an empty path.
  RunInChild([&] {
    husk_test::Caps caps = husk_test::GetCaps();
    caps.effective &= ~(1ULL << CAP_DAC_READ_SEARCH);
    ASSERT_EQ(husk_test::SetCaps(caps), 0) << strerror(errno);
    EXPECT_FAILS_WITH(linkat(fd, "", AT_FDCWD, Path("d").c_str(), AT_EMPTY_PATH), ENOENT);
  });
  close(fd);
}

TEST_P(Link, AnUnlinkedFileCannotGetANameBack) {
  if (!HasCap(CAP_DAC_READ_SEARCH)) GTEST_SKIP() << "needs CAP_DAC_READ_SEARCH";
  std::string a = MakeFile("a");
  int fd = open(a.c_str(), O_RDONLY);
  ASSERT_EQ(unlink(a.c_str()), 0);
  EXPECT_FAILS_WITH(linkat(fd, "", AT_FDCWD, Path("b").c_str(), AT_EMPTY_PATH), ENOENT);
  close(fd);
}

TEST_P(Link, AnOTmpfileGetsANameUnlessExcl) {
  if (!HasCap(CAP_DAC_READ_SEARCH)) GTEST_SKIP() << "needs CAP_DAC_READ_SEARCH";
  int fd = open(dir_.c_str(), O_TMPFILE | O_RDWR, 0640);
  ASSERT_GE(fd, 0) << strerror(errno);
  ASSERT_EQ(write(fd, "tmp", 3), 3);
  ASSERT_EQ(linkat(fd, "", AT_FDCWD, Path("named").c_str(), AT_EMPTY_PATH), 0) << strerror(errno);
  EXPECT_EQ(Read(Path("named")), "tmp");
  EXPECT_EQ(Stat(Path("named")).st_nlink, 1u);
  EXPECT_EQ(Stat(Path("named")).st_mode & 07777, 0640u);
  close(fd);
  fd = open(dir_.c_str(), O_TMPFILE | O_RDWR | O_EXCL, 0600);
  ASSERT_GE(fd, 0) << strerror(errno);
  EXPECT_FAILS_WITH(linkat(fd, "", AT_FDCWD, Path("excl").c_str(), AT_EMPTY_PATH), ENOENT);
  close(fd);
}

// glibc's sem_open makes the semaphore under a temporary name and link()s
// it into place (python's multiprocessing locks are made so).
TEST(LinkUse, SemOpenOnDevShm) {
  std::string name = "/husk_link_test_" + std::to_string(getpid());
  sem_t* s = sem_open(name.c_str(), O_CREAT | O_EXCL, 0600, 1);
  ASSERT_NE(s, SEM_FAILED) << strerror(errno);
  EXPECT_EQ(sem_wait(s), 0);
  EXPECT_EQ(sem_post(s), 0);
  int v = -1;
  EXPECT_EQ(sem_getvalue(s, &v), 0);
  EXPECT_EQ(v, 1);
  EXPECT_EQ(sem_close(s), 0);
  EXPECT_EQ(sem_unlink(name.c_str()), 0);
}

INSTANTIATE_TEST_SUITE_P(, Link, ::testing::Values("/tmp", "/dev/shm"), husk_test::ScratchName);

// The sandbox's root is an overlay over the read-only host root: linking a
// host file copies it up, and both names lead to the copy. Natively this
// would change host files, so it runs only in the sandbox.
TEST(LinkOverlay, ALowerFileIsCopiedUp) {
  if (!husk_test::InHuskSandbox()) GTEST_SKIP() << "only inside the sandbox";
  struct stat before {};
  ASSERT_EQ(stat("/etc/passwd", &before), 0);
  char tmpl[] = "/tmp/husk_lower_XXXXXX";
  ASSERT_NE(mkdtemp(tmpl), nullptr);
  std::string b = std::string(tmpl) + "/passwd";
  ASSERT_EQ(link("/etc/passwd", b.c_str()), 0) << strerror(errno);
  struct stat sa {}, sb {};
  ASSERT_EQ(stat("/etc/passwd", &sa), 0);
  ASSERT_EQ(stat(b.c_str(), &sb), 0);
  EXPECT_EQ(sa.st_ino, sb.st_ino);
  EXPECT_EQ(sa.st_nlink, 2u);
  EXPECT_EQ(sa.st_size, before.st_size);
  EXPECT_EQ(sa.st_uid, before.st_uid);
  EXPECT_EQ(sa.st_mode, before.st_mode);
  ASSERT_EQ(unlink(b.c_str()), 0);
  ASSERT_EQ(stat("/etc/passwd", &sa), 0);
  EXPECT_EQ(sa.st_nlink, 1u);
  EXPECT_EQ(rmdir(tmpl), 0);
}

}  // namespace
