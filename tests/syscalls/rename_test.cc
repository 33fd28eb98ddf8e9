// rename(2), renameat(2), renameat2(2): files and directories move,
// replacing a target atomically; RENAME_NOREPLACE, RENAME_EXCHANGE and
// RENAME_WHITEOUT; the errors the man page lists. Each test runs in a
// scratch directory on /tmp and on /dev/shm.

#include <dirent.h>
#include <fcntl.h>
#include <stdio.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include <algorithm>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "namei_util.h"
#include "test_util.h"

namespace {

using husk_test::BadPtr;
using husk_test::RunInChild;

long Renameat2(int olddir, const std::string& from, int newdir, const std::string& to, unsigned flags) {
  return syscall(SYS_renameat2, olddir, from.c_str(), newdir, to.c_str(), flags);
}

bool Later(const timespec& x, const timespec& y) {
  return x.tv_sec != y.tv_sec ? x.tv_sec > y.tv_sec : x.tv_nsec > y.tv_nsec;
}

std::vector<std::string> List(const std::string& dir) {
  std::vector<std::string> names;
  DIR* d = opendir(dir.c_str());
  if (d == nullptr) return {"errno " + std::to_string(errno)};
  while (dirent* e = readdir(d)) {
    std::string n = e->d_name;
    if (n != "." && n != "..") names.push_back(n);
  }
  closedir(d);
  std::sort(names.begin(), names.end());
  return names;
}

class Rename : public husk_test::ScratchDirTest {
 protected:
  std::string MakeDir(const std::string& name, mode_t mode = 0755) {
    std::string path = Path(name);
    EXPECT_EQ(mkdir(path.c_str(), mode), 0) << path << ": " << strerror(errno);
    EXPECT_EQ(chmod(path.c_str(), mode), 0);  // the mode as given, umask or not
    return path;
  }
  bool Exists(const std::string& path) {
    struct stat st;
    return lstat(path.c_str(), &st) == 0;
  }
};

TEST_P(Rename, AFileMovesWithItsInode) {
  std::string a = MakeFile("a", "content");
  ino_t ino = Stat(a).st_ino;
  ASSERT_EQ(rename(a.c_str(), Path("b").c_str()), 0) << strerror(errno);
  EXPECT_FALSE(Exists(a));
  EXPECT_EQ(Read(Path("b")), "content");
  EXPECT_EQ(Stat(Path("b")).st_ino, ino);
  EXPECT_EQ(Stat(Path("b")).st_nlink, 1u);
  EXPECT_EQ(List(dir_), (std::vector<std::string>{"b"}));
}

TEST_P(Rename, IntoAnotherDirectory) {
  std::string a = MakeFile("a", "x");
  MakeDir("d");
  ASSERT_EQ(rename(a.c_str(), Path("d/a2").c_str()), 0) << strerror(errno);
  EXPECT_EQ(Read(Path("d/a2")), "x");
  EXPECT_EQ(List(dir_), (std::vector<std::string>{"d"}));
}

TEST_P(Rename, ReplacesAFileAtomically) {
  std::string a = MakeFile("a", "new");
  std::string b = MakeFile("b", "old");
  int old_fd = open(b.c_str(), O_RDONLY);
  ASSERT_GE(old_fd, 0);
  ASSERT_EQ(rename(a.c_str(), b.c_str()), 0) << strerror(errno);
  EXPECT_EQ(Read(b), "new");
  EXPECT_FALSE(Exists(a));
  // The replaced file lives on, nameless, for whoever has it open.
  char buf[8] = {};
  EXPECT_EQ(pread(old_fd, buf, sizeof buf, 0), 3);
  EXPECT_STREQ(buf, "old");
  struct stat st {};
  ASSERT_EQ(fstat(old_fd, &st), 0);
  EXPECT_EQ(st.st_nlink, 0u);
  close(old_fd);
}

TEST_P(Rename, ReplacingOneOfTwoLinksKeepsTheOther) {
  std::string a = MakeFile("a", "a");
  std::string b = MakeFile("b", "b");
  ASSERT_EQ(link(b.c_str(), Path("b2").c_str()), 0);
  ASSERT_EQ(rename(a.c_str(), b.c_str()), 0);
  EXPECT_EQ(Stat(Path("b2")).st_nlink, 1u);
  EXPECT_EQ(Read(Path("b2")), "b");
}

TEST_P(Rename, OpenFilesKeepWorking) {
  std::string a = MakeFile("a", "12");
  int fd = open(a.c_str(), O_RDWR | O_APPEND);
  ASSERT_GE(fd, 0);
  ASSERT_EQ(rename(a.c_str(), Path("b").c_str()), 0);
  ASSERT_EQ(write(fd, "34", 2), 2);
  EXPECT_EQ(Read(Path("b")), "1234");
  struct stat st {};
  ASSERT_EQ(fstat(fd, &st), 0);
  EXPECT_EQ(st.st_ino, Stat(Path("b")).st_ino);
  close(fd);
}

TEST_P(Rename, ADirectoryMovesWithItsContents) {
  MakeDir("d");
  MakeFile("d/f", "in d");
  MakeDir("d/sub");
  MakeDir("p");
  ASSERT_EQ(rename(Path("d").c_str(), Path("p/e").c_str()), 0) << strerror(errno);
  EXPECT_EQ(Read(Path("p/e/f")), "in d");
  EXPECT_EQ(List(Path("p/e")), (std::vector<std::string>{"f", "sub"}));
  EXPECT_FALSE(Exists(Path("d")));
  // ".." follows the directory.
  struct stat up {};
  ASSERT_EQ(stat(Path("p/e/..").c_str(), &up), 0);
  EXPECT_EQ(up.st_ino, Stat(Path("p")).st_ino);
}

TEST_P(Rename, DirectoryLinkCountsFollow) {
  MakeDir("from");
  MakeDir("to");
  MakeDir("from/d");
  EXPECT_EQ(Stat(Path("from")).st_nlink, 3u);
  EXPECT_EQ(Stat(Path("to")).st_nlink, 2u);
  ASSERT_EQ(rename(Path("from/d").c_str(), Path("to/d").c_str()), 0);
  EXPECT_EQ(Stat(Path("from")).st_nlink, 2u);
  EXPECT_EQ(Stat(Path("to")).st_nlink, 3u);
  // Over an empty directory: the target's link goes, the source's comes.
  MakeDir("to/e");
  EXPECT_EQ(Stat(Path("to")).st_nlink, 4u);
  ASSERT_EQ(rename(Path("to/d").c_str(), Path("to/e").c_str()), 0);
  EXPECT_EQ(Stat(Path("to")).st_nlink, 3u);
}

TEST_P(Rename, TheCwdFollowsItsDirectory) {
  MakeDir("d");
  MakeDir("d/sub");
  RunInChild([&] {
    ASSERT_EQ(chdir(Path("d/sub").c_str()), 0);
    ASSERT_EQ(rename(Path("d").c_str(), Path("moved").c_str()), 0);
    char buf[4096];
    ASSERT_NE(getcwd(buf, sizeof buf), nullptr) << strerror(errno);
    std::string cwd = buf;
    EXPECT_EQ(cwd.substr(cwd.size() - std::string("/moved/sub").size()), "/moved/sub");
    // Relative lookups still work from there.
    int fd = open("../marker", O_CREAT | O_WRONLY, 0644);
    EXPECT_GE(fd, 0);
    close(fd);
  });
  EXPECT_TRUE(Exists(Path("moved/marker")));
}

TEST_P(Rename, UpdatesTheTimesOfBothDirectories) {
  MakeDir("from");
  MakeDir("to");
  std::string a = MakeFile("from/a");
  struct stat from0 = Stat(Path("from")), to0 = Stat(Path("to")), a0 = Stat(a);
  husk_test::SleepMs(20);
  ASSERT_EQ(rename(a.c_str(), Path("to/a").c_str()), 0);
  struct stat from1 = Stat(Path("from")), to1 = Stat(Path("to")), a1 = Stat(Path("to/a"));
  EXPECT_TRUE(Later(from1.st_mtim, from0.st_mtim));
  EXPECT_TRUE(Later(from1.st_ctim, from0.st_ctim));
  EXPECT_TRUE(Later(to1.st_mtim, to0.st_mtim));
  EXPECT_TRUE(Later(to1.st_ctim, to0.st_ctim));
  // The file's own data did not change.
  EXPECT_EQ(a1.st_mtim.tv_sec, a0.st_mtim.tv_sec);
  EXPECT_EQ(a1.st_mtim.tv_nsec, a0.st_mtim.tv_nsec);
}

TEST_P(Rename, ADirectoryOverAnEmptyDirectory) {
  MakeDir("d");
  MakeFile("d/f");
  MakeDir("empty");
  ASSERT_EQ(rename(Path("d").c_str(), Path("empty").c_str()), 0) << strerror(errno);
  EXPECT_TRUE(Exists(Path("empty/f")));
  EXPECT_FALSE(Exists(Path("d")));
}

TEST_P(Rename, ADirectoryOverANonEmptyDirectoryIsEnotempty) {
  MakeDir("d");
  MakeDir("full");
  MakeFile("full/f");
  errno = 0;
  EXPECT_EQ(rename(Path("d").c_str(), Path("full").c_str()), -1);
  // The man page allows EEXIST too; Linux's tmpfs and ext4 say ENOTEMPTY.
  EXPECT_EQ(errno, ENOTEMPTY) << strerror(errno);
  EXPECT_TRUE(Exists(Path("full/f")));
}

TEST_P(Rename, MismatchedTypes) {
  std::string f = MakeFile("f");
  MakeDir("d");
  EXPECT_FAILS_WITH(rename(f.c_str(), Path("d").c_str()), EISDIR);
  EXPECT_FAILS_WITH(rename(Path("d").c_str(), f.c_str()), ENOTDIR);
}

TEST_P(Rename, ADirectoryIntoItselfIsEinval) {
  MakeDir("d");
  MakeDir("d/sub");
  EXPECT_FAILS_WITH(rename(Path("d").c_str(), Path("d/sub/x").c_str()), EINVAL);
  EXPECT_FAILS_WITH(rename(Path("d").c_str(), Path("d/x").c_str()), EINVAL);
  EXPECT_FAILS_WITH(rename(Path("d").c_str(), Path("d/sub").c_str()), EINVAL);
  // Onto its own ancestor: that directory is not empty.
  EXPECT_FAILS_WITH(rename(Path("d/sub").c_str(), Path("d").c_str()), ENOTEMPTY);
  EXPECT_FAILS_WITH(Renameat2(AT_FDCWD, Path("d/sub"), AT_FDCWD, Path("d"), RENAME_EXCHANGE), EINVAL);
  EXPECT_TRUE(Exists(Path("d/sub")));
}

TEST_P(Rename, TheSameFileIsANoOp) {
  std::string a = MakeFile("a", "same");
  ASSERT_EQ(rename(a.c_str(), a.c_str()), 0);
  EXPECT_EQ(Read(a), "same");
  // Two names of one file: nothing happens, both stay.
  ASSERT_EQ(link(a.c_str(), Path("b").c_str()), 0);
  ASSERT_EQ(rename(a.c_str(), Path("b").c_str()), 0);
  EXPECT_TRUE(Exists(a));
  EXPECT_TRUE(Exists(Path("b")));
  EXPECT_EQ(Stat(a).st_nlink, 2u);
  MakeDir("d");
  ASSERT_EQ(rename(Path("d").c_str(), Path("d").c_str()), 0);
}

TEST_P(Rename, DotDotDotAndRootAreEbusy) {
  MakeDir("d");
  std::string f = MakeFile("f");
  EXPECT_FAILS_WITH(rename(Path("d/.").c_str(), Path("e").c_str()), EBUSY);
  EXPECT_FAILS_WITH(rename(Path("d/..").c_str(), Path("e").c_str()), EBUSY);
  EXPECT_FAILS_WITH(rename(f.c_str(), Path("d/.").c_str()), EBUSY);
  EXPECT_FAILS_WITH(rename(f.c_str(), Path("d/..").c_str()), EBUSY);
  EXPECT_FAILS_WITH(Renameat2(AT_FDCWD, f, AT_FDCWD, Path("d/."), RENAME_NOREPLACE), EEXIST);
}

TEST_P(Rename, TrailingSlashes) {
  std::string f = MakeFile("f");
  MakeDir("d");
  EXPECT_FAILS_WITH(rename((f + "/").c_str(), Path("g").c_str()), ENOTDIR);
  EXPECT_FAILS_WITH(rename(f.c_str(), Path("g/").c_str()), ENOTDIR);
  ASSERT_EQ(rename(Path("d/").c_str(), Path("e/").c_str()), 0) << strerror(errno);
  EXPECT_TRUE(Exists(Path("e")));
}

TEST_P(Rename, MissingNamesAreEnoent) {
  std::string f = MakeFile("f");
  EXPECT_FAILS_WITH(rename(Path("missing").c_str(), Path("g").c_str()), ENOENT);
  EXPECT_FAILS_WITH(rename(f.c_str(), Path("nodir/g").c_str()), ENOENT);
  EXPECT_FAILS_WITH(rename("", Path("g").c_str()), ENOENT);
  EXPECT_FAILS_WITH(rename(f.c_str(), ""), ENOENT);
  EXPECT_TRUE(Exists(f));
}

TEST_P(Rename, ANonDirectoryInThePathIsEnotdir) {
  std::string f = MakeFile("f");
  EXPECT_FAILS_WITH(rename((f + "/x").c_str(), Path("g").c_str()), ENOTDIR);
  EXPECT_FAILS_WITH(rename(f.c_str(), (f + "/x").c_str()), ENOTDIR);
}

TEST_P(Rename, LongNamesAndBadPointers) {
  std::string f = MakeFile("f");
  EXPECT_FAILS_WITH(rename(f.c_str(), Path(std::string(256, 'n')).c_str()), ENAMETOOLONG);
  EXPECT_FAILS_WITH(rename(Path(std::string(256, 'n')).c_str(), Path("g").c_str()), ENAMETOOLONG);
  EXPECT_FAILS_WITH(rename(f.c_str(), std::string(5000, 'x').c_str()), ENAMETOOLONG);
  EXPECT_FAILS_WITH(syscall(SYS_rename, BadPtr(), f.c_str()), EFAULT);
  EXPECT_FAILS_WITH(syscall(SYS_rename, f.c_str(), BadPtr()), EFAULT);
  EXPECT_FAILS_WITH(syscall(SYS_renameat, AT_FDCWD, f.c_str(), AT_FDCWD, BadPtr()), EFAULT);
  EXPECT_FAILS_WITH(syscall(SYS_renameat2, AT_FDCWD, BadPtr(), AT_FDCWD, f.c_str(), 0), EFAULT);
  ASSERT_EQ(rename(f.c_str(), Path(std::string(255, 'n')).c_str()), 0);
}

TEST_P(Rename, RenameatWithDirectoryFds) {
  MakeFile("a", "at");
  MakeDir("sub");
  int dir = open(dir_.c_str(), O_RDONLY | O_DIRECTORY);
  int sub = open(Path("sub").c_str(), O_PATH | O_DIRECTORY);
  ASSERT_GE(dir, 0);
  ASSERT_GE(sub, 0);
  ASSERT_EQ(renameat(dir, "a", sub, "b"), 0) << strerror(errno);
  EXPECT_EQ(Read(Path("sub/b")), "at");
  ASSERT_EQ(Renameat2(sub, "b", dir, "c", 0), 0);
  EXPECT_EQ(Read(Path("c")), "at");
  EXPECT_FAILS_WITH(renameat(husk_test::ClosedFd(), "c", dir, "d"), EBADF);
  EXPECT_FAILS_WITH(renameat(dir, "c", husk_test::ClosedFd(), "d"), EBADF);
  int file = open(Path("c").c_str(), O_RDONLY);
  EXPECT_FAILS_WITH(renameat(file, "c", dir, "d"), ENOTDIR);
  EXPECT_FAILS_WITH(renameat(dir, "c", file, "d"), ENOTDIR);
  close(file);
  close(sub);
  close(dir);
}

TEST_P(Rename, NoreplaceFailsOnAnExistingTarget) {
  std::string a = MakeFile("a", "a");
  std::string b = MakeFile("b", "b");
  EXPECT_FAILS_WITH(Renameat2(AT_FDCWD, a, AT_FDCWD, b, RENAME_NOREPLACE), EEXIST);
  EXPECT_EQ(Read(b), "b");
  ASSERT_EQ(symlink("missing", Path("dangling").c_str()), 0);
  EXPECT_FAILS_WITH(Renameat2(AT_FDCWD, a, AT_FDCWD, Path("dangling"), RENAME_NOREPLACE), EEXIST);
  ASSERT_EQ(Renameat2(AT_FDCWD, a, AT_FDCWD, Path("c"), RENAME_NOREPLACE), 0) << strerror(errno);
  EXPECT_EQ(Read(Path("c")), "a");
}

TEST_P(Rename, ExchangeSwapsTwoNames) {
  std::string a = MakeFile("a", "file a");
  MakeDir("d");
  MakeFile("d/inside", "in d");
  ino_t file_ino = Stat(a).st_ino, dir_ino = Stat(Path("d")).st_ino;
  ASSERT_EQ(Renameat2(AT_FDCWD, a, AT_FDCWD, Path("d"), RENAME_EXCHANGE), 0) << strerror(errno);
  EXPECT_EQ(Read(Path("d")), "file a");
  EXPECT_EQ(Read(Path("a/inside")), "in d");
  EXPECT_EQ(Stat(Path("d")).st_ino, file_ino);
  EXPECT_EQ(Stat(a).st_ino, dir_ino);
  // Across directories too.
  MakeDir("other");
  MakeFile("other/x", "x");
  ASSERT_EQ(Renameat2(AT_FDCWD, Path("d"), AT_FDCWD, Path("other/x"), RENAME_EXCHANGE), 0);
  EXPECT_EQ(Read(Path("other/x")), "file a");
  EXPECT_EQ(Read(Path("d")), "x");
}

TEST_P(Rename, ExchangeNeedsBothNames) {
  std::string a = MakeFile("a");
  EXPECT_FAILS_WITH(Renameat2(AT_FDCWD, a, AT_FDCWD, Path("missing"), RENAME_EXCHANGE), ENOENT);
  EXPECT_FAILS_WITH(Renameat2(AT_FDCWD, Path("missing"), AT_FDCWD, a, RENAME_EXCHANGE), ENOENT);
  // A trailing slash on a non-directory target.
  MakeDir("d");
  EXPECT_FAILS_WITH(Renameat2(AT_FDCWD, Path("d"), AT_FDCWD, a + "/", RENAME_EXCHANGE), ENOTDIR);
}

TEST_P(Rename, BadFlagsAreEinval) {
  std::string a = MakeFile("a");
  std::string b = MakeFile("b");
  EXPECT_FAILS_WITH(Renameat2(AT_FDCWD, a, AT_FDCWD, b, RENAME_NOREPLACE | RENAME_EXCHANGE), EINVAL);
  EXPECT_FAILS_WITH(Renameat2(AT_FDCWD, a, AT_FDCWD, b, RENAME_WHITEOUT | RENAME_EXCHANGE), EINVAL);
  EXPECT_FAILS_WITH(Renameat2(AT_FDCWD, a, AT_FDCWD, b, 1u << 3), EINVAL);
  EXPECT_FAILS_WITH(Renameat2(AT_FDCWD, a, AT_FDCWD, b, 0x80000000u), EINVAL);
  // Flags are checked before the paths are read.
  EXPECT_FAILS_WITH(syscall(SYS_renameat2, AT_FDCWD, BadPtr(), AT_FDCWD, BadPtr(), 1u << 3), EINVAL);
  EXPECT_TRUE(Exists(a));
}

// tmpfs leaves a 0:0 character device under the old name (the sandbox's
// /tmp is an overlay, which, like Linux's overlayfs, refuses the flag).
TEST_P(Rename, WhiteoutLeavesACharacterDevice) {
  if (!OnTmpfs()) GTEST_SKIP() << "RENAME_WHITEOUT is a tmpfs test";
  std::string a = MakeFile("a", "moved");
  ASSERT_EQ(Renameat2(AT_FDCWD, a, AT_FDCWD, Path("b"), RENAME_WHITEOUT), 0) << strerror(errno);
  EXPECT_EQ(Read(Path("b")), "moved");
  struct stat st = Stat(a);
  EXPECT_TRUE(S_ISCHR(st.st_mode));
  EXPECT_EQ(st.st_rdev, makedev(0, 0));
  EXPECT_EQ(st.st_mode & 07777, 0u);
  // Over an existing target too.
  std::string c = MakeFile("c", "c");
  ASSERT_EQ(Renameat2(AT_FDCWD, Path("b"), AT_FDCWD, c, RENAME_WHITEOUT), 0);
  EXPECT_EQ(Read(c), "moved");
  EXPECT_TRUE(S_ISCHR(Stat(Path("b")).st_mode));
}

TEST_P(Rename, AcrossFilesystemsIsExdev) {
  std::string a = MakeFile("a");
  const char* other = OnTmpfs() ? "/tmp/husk_rename_exdev" : "/dev/shm/husk_rename_exdev";
  EXPECT_FAILS_WITH(rename(a.c_str(), other), EXDEV);
  EXPECT_FAILS_WITH(rename("/dev/null", Path("null").c_str()), EXDEV);
  EXPECT_TRUE(Exists(a));
}

TEST_P(Rename, NeedsWriteAndSearchPermissionOnBothDirectories) {
  ASSERT_EQ(chmod(dir_.c_str(), 0755), 0);
  MakeDir("ro", 0755);
  MakeDir("rw", 0777);
  std::string in_ro = MakeFile("ro/f");
  std::string in_rw = MakeFile("rw/f");
  MakeDir("noexec", 0777);
  MakeFile("noexec/f");
  ASSERT_EQ(chmod(Path("noexec").c_str(), 0666), 0);
  RunInChild([&] {
    ASSERT_EQ(setuid(1000), 0);
    EXPECT_FAILS_WITH(rename(in_ro.c_str(), Path("rw/g").c_str()), EACCES);
    EXPECT_FAILS_WITH(rename(in_rw.c_str(), Path("ro/g").c_str()), EACCES);
    EXPECT_FAILS_WITH(rename(in_rw.c_str(), in_ro.c_str()), EACCES);
    EXPECT_FAILS_WITH(rename(Path("noexec/f").c_str(), Path("rw/g").c_str()), EACCES);
    EXPECT_FAILS_WITH(rename(in_rw.c_str(), Path("noexec/g").c_str()), EACCES);
    EXPECT_EQ(rename(in_rw.c_str(), Path("rw/g").c_str()), 0) << strerror(errno);
  });
}

TEST_P(Rename, AMovedDirectoryNeedsWritePermissionOnItself) {
  ASSERT_EQ(chmod(dir_.c_str(), 0777), 0);
  MakeDir("a", 0777);
  MakeDir("b", 0777);
  RunInChild([&] {
    ASSERT_EQ(setuid(1000), 0);
    ASSERT_EQ(mkdir(Path("a/d").c_str(), 0555), 0);
    // Its ".." would change: EACCES without write permission on it.
    EXPECT_FAILS_WITH(rename(Path("a/d").c_str(), Path("b/d").c_str()), EACCES);
    // In the same directory ".." stays.
    EXPECT_EQ(rename(Path("a/d").c_str(), Path("a/e").c_str()), 0) << strerror(errno);
  });
}

TEST_P(Rename, StickyDirectoriesProtectOthersFiles) {
  ASSERT_EQ(chmod(dir_.c_str(), 0777), 0);
  MakeDir("sticky", 01777);
  std::string roots = MakeFile("sticky/root");
  RunInChild([&] {
    ASSERT_EQ(setuid(1000), 0);
    std::string theirs = Path("sticky/theirs");
    int fd = open(theirs.c_str(), O_CREAT | O_WRONLY, 0644);
    ASSERT_GE(fd, 0) << strerror(errno);
    close(fd);
    EXPECT_FAILS_WITH(rename(roots.c_str(), Path("sticky/mine").c_str()), EPERM);
    // Nor may another's file be replaced.
    EXPECT_FAILS_WITH(rename(theirs.c_str(), roots.c_str()), EPERM);
    EXPECT_EQ(rename(theirs.c_str(), Path("sticky/mine").c_str()), 0) << strerror(errno);
  });
  // Root (CAP_FOWNER) may.
  EXPECT_EQ(rename(Path("sticky/mine").c_str(), Path("sticky/back").c_str()), 0);
  EXPECT_EQ(rename(roots.c_str(), Path("sticky/root2").c_str()), 0);
}

INSTANTIATE_TEST_SUITE_P(, Rename, ::testing::Values("/tmp", "/dev/shm"), husk_test::ScratchName);

// The sandbox's root is an overlay over the read-only host root: renaming a
// host file copies it up and leaves a whiteout, so the host's file does not
// show under the old name; a host directory moves with all it holds.
// Natively these would change host files, so they run only in the sandbox.
TEST(RenameOverlay, ALowerFileMovesAndStaysGone) {
  if (!husk_test::InHuskSandbox()) GTEST_SKIP() << "only inside the sandbox";
  struct stat before {};
  ASSERT_EQ(stat("/etc/passwd", &before), 0);
  ASSERT_EQ(rename("/etc/passwd", "/etc/passwd.husk"), 0) << strerror(errno);
  struct stat st {};
  EXPECT_FAILS_WITH(stat("/etc/passwd", &st), ENOENT);
  std::vector<std::string> names = List("/etc");
  EXPECT_EQ(std::count(names.begin(), names.end(), "passwd"), 0);
  EXPECT_EQ(std::count(names.begin(), names.end(), "passwd.husk"), 1);
  ASSERT_EQ(stat("/etc/passwd.husk", &st), 0);
  EXPECT_EQ(st.st_size, before.st_size);
  EXPECT_EQ(st.st_mode, before.st_mode);
  ASSERT_EQ(rename("/etc/passwd.husk", "/etc/passwd"), 0) << strerror(errno);
  ASSERT_EQ(stat("/etc/passwd", &st), 0);
  EXPECT_EQ(st.st_size, before.st_size);
  EXPECT_FAILS_WITH(stat("/etc/passwd.husk", &st), ENOENT);
}

TEST(RenameOverlay, ALowerDirectoryMovesWhole) {
  if (!husk_test::InHuskSandbox()) GTEST_SKIP() << "only inside the sandbox";
  // A host directory with something in it: /usr/<first subdirectory>.
  std::string dir;
  for (const std::string& name : List("/usr")) {
    struct stat st {};
    std::string p = "/usr/" + name;
    if (lstat(p.c_str(), &st) == 0 && S_ISDIR(st.st_mode) && !List(p).empty()) {
      dir = p;
      break;
    }
  }
  if (dir.empty()) GTEST_SKIP() << "no directory in /usr";
  const std::vector<std::string> content = List(dir);
  const std::string moved = dir + ".husk";
  ASSERT_EQ(rename(dir.c_str(), moved.c_str()), 0) << strerror(errno);
  EXPECT_EQ(List(moved), content);
  struct stat st {};
  EXPECT_FAILS_WITH(stat(dir.c_str(), &st), ENOENT);
  ASSERT_EQ(rename(moved.c_str(), dir.c_str()), 0) << strerror(errno);
  EXPECT_EQ(List(dir), content);
}

TEST(RenameOverlay, OverALowerFileHidesIt) {
  if (!husk_test::InHuskSandbox()) GTEST_SKIP() << "only inside the sandbox";
  struct stat before {};
  if (stat("/etc/hostname", &before) != 0) GTEST_SKIP() << "no /etc/hostname";
  ASSERT_EQ(rename("/etc/hostname", "/etc/hostname.saved"), 0);
  int fd = open("/etc/hostname.new", O_CREAT | O_WRONLY, 0644);
  ASSERT_GE(fd, 0);
  ASSERT_EQ(write(fd, "husk\n", 5), 5);
  close(fd);
  ASSERT_EQ(rename("/etc/hostname.new", "/etc/hostname"), 0);
  std::vector<std::string> names = List("/etc");
  EXPECT_EQ(std::count(names.begin(), names.end(), "hostname"), 1);
  struct stat st {};
  ASSERT_EQ(stat("/etc/hostname", &st), 0);
  EXPECT_EQ(st.st_size, 5);
  ASSERT_EQ(rename("/etc/hostname.saved", "/etc/hostname"), 0);
  ASSERT_EQ(stat("/etc/hostname", &st), 0);
  EXPECT_EQ(st.st_size, before.st_size);
}

}  // namespace
