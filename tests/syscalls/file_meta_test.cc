// Compatibility tests for path and metadata syscalls: open, openat, fstat,
// stat, lstat, newfstatat, statx, getdents64, readlink, readlinkat, access,
// faccessat, faccessat2, getcwd, chdir and fchdir.
//
// Linux (the host kernel) is the specification: every test here must pass
// natively. All files are created under a fresh mkdtemp() directory in /tmp.

#include <gtest/gtest.h>

#include "test_util.h"

#include <dirent.h>
#include <fcntl.h>
#include <limits.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/sysmacros.h>
#include <sys/types.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <map>
#include <set>
#include <string>
#include <vector>

#ifndef STATX__RESERVED
#define STATX__RESERVED 0x80000000U
#endif

namespace {

using husk_test::BadPtr;
using husk_test::ClosedFd;

// The kernel's struct linux_dirent64 header.
struct Dirent64 {
  uint64_t d_ino;
  int64_t d_off;
  unsigned short d_reclen;
  unsigned char d_type;
  char d_name[];
};

long GetDents(int fd, void* buf, size_t len) {
  return syscall(SYS_getdents64, fd, buf, len);
}

struct Entry {
  uint64_t ino;
  unsigned char type;
};

// Reads the whole directory from the current offset using `bufsize`-byte
// calls, returning name -> entry. Fails the test on duplicates or errors.
std::map<std::string, Entry> ReadAllDents(int fd, size_t bufsize = 4096) {
  std::map<std::string, Entry> out;
  std::vector<char> buf(bufsize);
  for (int iter = 0; iter < 10000; iter++) {
    long n = GetDents(fd, buf.data(), buf.size());
    EXPECT_GE(n, 0) << strerror(errno);
    if (n <= 0) break;
    for (long off = 0; off < n;) {
      auto* d = reinterpret_cast<Dirent64*>(buf.data() + off);
      EXPECT_GT(d->d_reclen, 0);
      EXPECT_EQ(d->d_reclen % 8, 0);
      if (d->d_reclen == 0) return out;
      std::string name(d->d_name);
      EXPECT_EQ(out.count(name), 0u) << "duplicate entry " << name;
      out[name] = {d->d_ino, d->d_type};
      off += d->d_reclen;
    }
  }
  return out;
}

class FileMeta : public husk_test::TempDirTest {
 protected:
  void SetUp() override {
    char cwd[PATH_MAX];
    ASSERT_NE(getcwd(cwd, sizeof cwd), nullptr);
    orig_cwd_ = cwd;
    // Modes passed to open/mkdir are used verbatim unless a test sets a umask.
    old_umask_ = umask(0);
    TempDirTest::SetUp();
  }
  void TearDown() override {
    EXPECT_EQ(chdir(orig_cwd_.c_str()), 0);
    umask(old_umask_);
    TempDirTest::TearDown();
  }

  std::string MakeFile(const std::string& name, const std::string& contents = "",
                       mode_t mode = 0644) {
    std::string p = Path(name);
    int fd = open(p.c_str(), O_WRONLY | O_CREAT | O_TRUNC, mode);
    EXPECT_GE(fd, 0) << strerror(errno);
    if (!contents.empty()) {
      EXPECT_EQ(write(fd, contents.data(), contents.size()),
                static_cast<ssize_t>(contents.size()));
    }
    close(fd);
    return p;
  }

  std::string MakeDir(const std::string& name, mode_t mode = 0755) {
    std::string p = Path(name);
    EXPECT_EQ(mkdir(p.c_str(), mode), 0) << strerror(errno);
    return p;
  }

  std::string MakeSymlink(const std::string& name, const std::string& target) {
    std::string p = Path(name);
    EXPECT_EQ(symlink(target.c_str(), p.c_str()), 0) << strerror(errno);
    return p;
  }

  int OpenDir() {
    int fd = open(dir_.c_str(), O_RDONLY | O_DIRECTORY);
    EXPECT_GE(fd, 0) << strerror(errno);
    return fd;
  }

  std::string orig_cwd_;
  mode_t old_umask_ = 022;
};

// ----------------------------------------------------------------- open(2)

using Open = FileMeta;

TEST_F(Open, ExistingFileForReading) {
  std::string p = MakeFile("f", "data");
  int fd = open(p.c_str(), O_RDONLY);
  ASSERT_GE(fd, 0) << strerror(errno);
  char buf[8];
  EXPECT_EQ(read(fd, buf, sizeof buf), 4);
  close(fd);
}

TEST_F(Open, ReturnsLowestFreeFd) {
  std::string p = MakeFile("f");
  int a = open(p.c_str(), O_RDONLY);
  int b = open(p.c_str(), O_RDONLY);
  ASSERT_GE(a, 0);
  ASSERT_EQ(b, a + 1);
  close(a);
  EXPECT_EQ(open(p.c_str(), O_RDONLY), a);
  close(a);
  close(b);
}

TEST_F(Open, CreatCreatesFileWithModeMaskedByUmask) {
  umask(022);
  std::string p = Path("new");
  int fd = open(p.c_str(), O_WRONLY | O_CREAT, 0666);
  ASSERT_GE(fd, 0) << strerror(errno);
  struct stat st;
  ASSERT_EQ(fstat(fd, &st), 0);
  EXPECT_TRUE(S_ISREG(st.st_mode));
  EXPECT_EQ(st.st_mode & 07777, 0644u);  // umask 022
  EXPECT_EQ(st.st_size, 0);
  EXPECT_EQ(st.st_uid, geteuid());
  close(fd);
}

TEST_F(Open, CreatOnExistingFileKeepsContents) {
  std::string p = MakeFile("f", "keep", 0600);
  int fd = open(p.c_str(), O_RDONLY | O_CREAT, 0777);
  ASSERT_GE(fd, 0);
  struct stat st;
  ASSERT_EQ(fstat(fd, &st), 0);
  EXPECT_EQ(st.st_size, 4);
  EXPECT_EQ(st.st_mode & 07777, 0600u);  // mode ignored for existing files
  close(fd);
}

TEST_F(Open, CreatExclOnExistingFileIsEexist) {
  std::string p = MakeFile("f");
  errno = 0;
  EXPECT_EQ(open(p.c_str(), O_WRONLY | O_CREAT | O_EXCL, 0644), -1);
  EXPECT_EQ(errno, EEXIST);
}

TEST_F(Open, CreatExclOnDirectoryIsEexist) {
  std::string d = MakeDir("d");
  errno = 0;
  EXPECT_EQ(open(d.c_str(), O_RDONLY | O_CREAT | O_EXCL, 0644), -1);
  EXPECT_EQ(errno, EEXIST);
}

TEST_F(Open, CreatExclOnDanglingSymlinkIsEexist) {
  std::string l = MakeSymlink("l", Path("missing"));
  errno = 0;
  EXPECT_EQ(open(l.c_str(), O_WRONLY | O_CREAT | O_EXCL, 0644), -1);
  EXPECT_EQ(errno, EEXIST);
  struct stat st;
  EXPECT_EQ(stat(Path("missing").c_str(), &st), -1);
}

TEST_F(Open, CreatThroughDanglingSymlinkCreatesTarget) {
  std::string l = MakeSymlink("l", "target");
  int fd = open(l.c_str(), O_WRONLY | O_CREAT, 0644);
  ASSERT_GE(fd, 0) << strerror(errno);
  close(fd);
  struct stat st;
  EXPECT_EQ(stat(Path("target").c_str(), &st), 0);
  EXPECT_TRUE(S_ISREG(st.st_mode));
}

TEST_F(Open, CreatOnExistingDirectoryIsEisdir) {
  std::string d = MakeDir("d");
  errno = 0;
  EXPECT_EQ(open(d.c_str(), O_RDONLY | O_CREAT, 0644), -1);
  EXPECT_EQ(errno, EISDIR);
}

TEST_F(Open, CreatWithTrailingSlashIsEisdir) {
  std::string p = Path("new") + "/";
  errno = 0;
  EXPECT_EQ(open(p.c_str(), O_WRONLY | O_CREAT, 0644), -1);
  EXPECT_EQ(errno, EISDIR);
  struct stat st;
  EXPECT_EQ(stat(Path("new").c_str(), &st), -1);
}

// Since Linux 6.4, O_CREAT | O_DIRECTORY is rejected outright.
TEST_F(Open, CreatWithDirectoryFlagIsEinval) {
  errno = 0;
  EXPECT_EQ(open(Path("new").c_str(), O_RDONLY | O_CREAT | O_DIRECTORY, 0755), -1);
  EXPECT_EQ(errno, EINVAL);
  struct stat st;
  EXPECT_EQ(stat(Path("new").c_str(), &st), -1);
}

TEST_F(Open, TruncEmptiesFile) {
  std::string p = MakeFile("f", "0123456789");
  int fd = open(p.c_str(), O_WRONLY | O_TRUNC);
  ASSERT_GE(fd, 0);
  struct stat st;
  ASSERT_EQ(fstat(fd, &st), 0);
  EXPECT_EQ(st.st_size, 0);
  close(fd);
}

TEST_F(Open, DirectoryFlagOnDirectorySucceeds) {
  std::string d = MakeDir("d");
  int fd = open(d.c_str(), O_RDONLY | O_DIRECTORY);
  ASSERT_GE(fd, 0) << strerror(errno);
  struct stat st;
  ASSERT_EQ(fstat(fd, &st), 0);
  EXPECT_TRUE(S_ISDIR(st.st_mode));
  close(fd);
}

TEST_F(Open, DirectoryWithoutDirectoryFlagSucceedsReadOnly) {
  std::string d = MakeDir("d");
  int fd = open(d.c_str(), O_RDONLY);
  ASSERT_GE(fd, 0) << strerror(errno);
  close(fd);
}

TEST_F(Open, DirectoryFlagOnFileIsEnotdir) {
  std::string p = MakeFile("f");
  errno = 0;
  EXPECT_EQ(open(p.c_str(), O_RDONLY | O_DIRECTORY), -1);
  EXPECT_EQ(errno, ENOTDIR);
}

TEST_F(Open, DirectoryFlagThroughSymlinkToDirSucceeds) {
  MakeDir("d");
  std::string l = MakeSymlink("l", "d");
  int fd = open(l.c_str(), O_RDONLY | O_DIRECTORY);
  EXPECT_GE(fd, 0) << strerror(errno);
  close(fd);
}

TEST_F(Open, WriteOnDirectoryIsEisdir) {
  std::string d = MakeDir("d");
  errno = 0;
  EXPECT_EQ(open(d.c_str(), O_WRONLY), -1);
  EXPECT_EQ(errno, EISDIR);
  errno = 0;
  EXPECT_EQ(open(d.c_str(), O_RDWR), -1);
  EXPECT_EQ(errno, EISDIR);
}

TEST_F(Open, TrailingSlashOnFileIsEnotdir) {
  std::string p = MakeFile("f") + "/";
  errno = 0;
  EXPECT_EQ(open(p.c_str(), O_RDONLY), -1);
  EXPECT_EQ(errno, ENOTDIR);
}

TEST_F(Open, TrailingSlashOnDirectorySucceeds) {
  std::string d = MakeDir("d") + "/";
  int fd = open(d.c_str(), O_RDONLY);
  EXPECT_GE(fd, 0) << strerror(errno);
  close(fd);
}

TEST_F(Open, NofollowOnSymlinkIsEloop) {
  MakeFile("f");
  std::string l = MakeSymlink("l", "f");
  errno = 0;
  EXPECT_EQ(open(l.c_str(), O_RDONLY | O_NOFOLLOW), -1);
  EXPECT_EQ(errno, ELOOP);
}

TEST_F(Open, NofollowOnRegularFileSucceeds) {
  std::string p = MakeFile("f");
  int fd = open(p.c_str(), O_RDONLY | O_NOFOLLOW);
  EXPECT_GE(fd, 0) << strerror(errno);
  close(fd);
}

TEST_F(Open, NofollowOnlyAffectsLastComponent) {
  MakeDir("d");
  MakeFile("d/f", "x");
  MakeSymlink("l", "d");
  int fd = open(Path("l/f").c_str(), O_RDONLY | O_NOFOLLOW);
  EXPECT_GE(fd, 0) << strerror(errno);
  close(fd);
}

TEST_F(Open, FollowsSymlinkByDefault) {
  MakeFile("f", "target");
  std::string l = MakeSymlink("l", "f");
  int fd = open(l.c_str(), O_RDONLY);
  ASSERT_GE(fd, 0);
  char buf[16];
  EXPECT_EQ(read(fd, buf, sizeof buf), 6);
  close(fd);
}

TEST_F(Open, SymlinkLoopIsEloop) {
  MakeSymlink("a", "b");
  MakeSymlink("b", "a");
  errno = 0;
  EXPECT_EQ(open(Path("a").c_str(), O_RDONLY), -1);
  EXPECT_EQ(errno, ELOOP);
}

TEST_F(Open, MissingFileIsEnoent) {
  errno = 0;
  EXPECT_EQ(open(Path("missing").c_str(), O_RDONLY), -1);
  EXPECT_EQ(errno, ENOENT);
}

TEST_F(Open, MissingParentIsEnoentEvenWithCreat) {
  errno = 0;
  EXPECT_EQ(open(Path("nodir/f").c_str(), O_WRONLY | O_CREAT, 0644), -1);
  EXPECT_EQ(errno, ENOENT);
}

TEST_F(Open, DanglingSymlinkIsEnoent) {
  std::string l = MakeSymlink("l", "missing");
  errno = 0;
  EXPECT_EQ(open(l.c_str(), O_RDONLY), -1);
  EXPECT_EQ(errno, ENOENT);
}

TEST_F(Open, EmptyPathIsEnoent) {
  errno = 0;
  EXPECT_EQ(open("", O_RDONLY), -1);
  EXPECT_EQ(errno, ENOENT);
}

TEST_F(Open, FileAsPathComponentIsEnotdir) {
  MakeFile("f");
  errno = 0;
  EXPECT_EQ(open(Path("f/x").c_str(), O_RDONLY), -1);
  EXPECT_EQ(errno, ENOTDIR);
  errno = 0;
  EXPECT_EQ(open(Path("f/x").c_str(), O_WRONLY | O_CREAT, 0644), -1);
  EXPECT_EQ(errno, ENOTDIR);
}

TEST_F(Open, ComponentOf255BytesIsAllowed) {
  std::string p = Path(std::string(255, 'n'));
  int fd = open(p.c_str(), O_WRONLY | O_CREAT, 0644);
  EXPECT_GE(fd, 0) << strerror(errno);
  close(fd);
}

TEST_F(Open, ComponentOver255BytesIsEnametoolong) {
  std::string p = Path(std::string(256, 'n'));
  errno = 0;
  EXPECT_EQ(open(p.c_str(), O_WRONLY | O_CREAT, 0644), -1);
  EXPECT_EQ(errno, ENAMETOOLONG);
  errno = 0;
  EXPECT_EQ(open(p.c_str(), O_RDONLY), -1);
  EXPECT_EQ(errno, ENAMETOOLONG);
}

TEST_F(Open, PathOf4096BytesIsEnametoolong) {
  // PATH_MAX (4096) includes the terminating NUL.
  std::string p = std::string(4096 - 4, '/') + "tmp/";
  ASSERT_EQ(p.size(), 4096u);
  errno = 0;
  EXPECT_EQ(open(p.c_str(), O_RDONLY), -1);
  EXPECT_EQ(errno, ENAMETOOLONG);
}

TEST_F(Open, PathOf4095BytesIsAllowed) {
  std::string p = std::string(4095 - 3, '/') + "tmp";
  ASSERT_EQ(p.size(), 4095u);
  int fd = open(p.c_str(), O_RDONLY | O_DIRECTORY);
  EXPECT_GE(fd, 0) << strerror(errno);
  close(fd);
}

TEST_F(Open, BadPathPointerIsEfault) {
  errno = 0;
  EXPECT_EQ(open(static_cast<const char*>(BadPtr()), O_RDONLY), -1);
  EXPECT_EQ(errno, EFAULT);
}

TEST_F(Open, CloexecSetsFdFlag) {
  std::string p = MakeFile("f");
  int fd = open(p.c_str(), O_RDONLY | O_CLOEXEC);
  ASSERT_GE(fd, 0);
  EXPECT_EQ(fcntl(fd, F_GETFD), FD_CLOEXEC);
  close(fd);
}

TEST_F(Open, NoReadPermissionIsEacces) {
  if (geteuid() == 0) GTEST_SKIP() << "root bypasses read permission";
  std::string p = MakeFile("f", "x", 0200);
  errno = 0;
  EXPECT_EQ(open(p.c_str(), O_RDONLY), -1);
  EXPECT_EQ(errno, EACCES);
}

TEST_F(Open, NoSearchPermissionOnParentIsEacces) {
  if (geteuid() == 0) GTEST_SKIP() << "root bypasses search permission";
  std::string d = MakeDir("d");
  MakeFile("d/f");
  ASSERT_EQ(chmod(d.c_str(), 0600), 0);
  errno = 0;
  EXPECT_EQ(open(Path("d/f").c_str(), O_RDONLY), -1);
  EXPECT_EQ(errno, EACCES);
  chmod(d.c_str(), 0755);
}

TEST_F(Open, RootBypassesReadWritePermission) {
  if (geteuid() != 0) GTEST_SKIP() << "needs root";
  std::string p = MakeFile("f", "x", 0000);
  int fd = open(p.c_str(), O_RDWR);
  EXPECT_GE(fd, 0) << strerror(errno);
  close(fd);
}

TEST_F(Open, TmpfileWithoutWriteAccessIsEinval) {
  errno = 0;
  EXPECT_EQ(open(dir_.c_str(), O_TMPFILE | O_RDONLY, 0600), -1);
  EXPECT_EQ(errno, EINVAL);
}

TEST_F(Open, TmpfileCreatesUnlinkedFile) {
  int fd = open(dir_.c_str(), O_TMPFILE | O_RDWR, 0600);
  ASSERT_GE(fd, 0) << strerror(errno);
  struct stat st;
  ASSERT_EQ(fstat(fd, &st), 0);
  EXPECT_TRUE(S_ISREG(st.st_mode));
  EXPECT_EQ(st.st_nlink, 0u);
  EXPECT_EQ(write(fd, "abc", 3), 3);
  char buf[4];
  EXPECT_EQ(pread(fd, buf, sizeof buf, 0), 3);
  close(fd);
  int dfd = OpenDir();
  auto ents = ReadAllDents(dfd);
  EXPECT_EQ(ents.size(), 2u);  // only . and ..
  close(dfd);
}

TEST_F(Open, TmpfileOnRegularFileIsEnotdir) {
  std::string p = MakeFile("f");
  errno = 0;
  EXPECT_EQ(open(p.c_str(), O_TMPFILE | O_RDWR, 0600), -1);
  EXPECT_EQ(errno, ENOTDIR);
}

// ----------------------------------------------------------- O_PATH fds

using OPath = FileMeta;

TEST_F(OPath, ReadIsEbadf) {
  std::string p = MakeFile("f", "abc");
  int fd = open(p.c_str(), O_PATH);
  ASSERT_GE(fd, 0) << strerror(errno);
  char buf[4];
  errno = 0;
  EXPECT_EQ(read(fd, buf, sizeof buf), -1);
  EXPECT_EQ(errno, EBADF);
  close(fd);
}

TEST_F(OPath, WriteIsEbadf) {
  std::string p = MakeFile("f", "abc");
  int fd = open(p.c_str(), O_PATH | O_RDWR);
  ASSERT_GE(fd, 0) << strerror(errno);
  errno = 0;
  EXPECT_EQ(write(fd, "x", 1), -1);
  EXPECT_EQ(errno, EBADF);
  close(fd);
}

TEST_F(OPath, FstatWorks) {
  std::string p = MakeFile("f", "abcd");
  int fd = open(p.c_str(), O_PATH);
  ASSERT_GE(fd, 0);
  struct stat st, st2;
  ASSERT_EQ(fstat(fd, &st), 0) << strerror(errno);
  ASSERT_EQ(stat(p.c_str(), &st2), 0);
  EXPECT_EQ(st.st_ino, st2.st_ino);
  EXPECT_EQ(st.st_size, 4);
  close(fd);
}

TEST_F(OPath, GetFlReportsOPath) {
  std::string p = MakeFile("f");
  int fd = open(p.c_str(), O_PATH);
  ASSERT_GE(fd, 0);
  int fl = fcntl(fd, F_GETFL);
  EXPECT_NE(fl & O_PATH, 0);
  EXPECT_EQ(fl & O_ACCMODE, O_RDONLY);
  close(fd);
}

TEST_F(OPath, IgnoresCreatFlag) {
  // With O_PATH, flags other than O_CLOEXEC, O_DIRECTORY and O_NOFOLLOW are
  // ignored, so O_CREAT does not create anything.
  errno = 0;
  EXPECT_EQ(open(Path("new").c_str(), O_PATH | O_CREAT, 0644), -1);
  EXPECT_EQ(errno, ENOENT);
}

TEST_F(OPath, WithNofollowOpensSymlinkItself) {
  MakeFile("f");
  std::string l = MakeSymlink("l", "f");
  int fd = open(l.c_str(), O_PATH | O_NOFOLLOW);
  ASSERT_GE(fd, 0) << strerror(errno);
  struct stat st;
  ASSERT_EQ(fstat(fd, &st), 0);
  EXPECT_TRUE(S_ISLNK(st.st_mode));
  close(fd);
}

TEST_F(OPath, DirectoryFdWorksAsDirfd) {
  MakeDir("d");
  MakeFile("d/f", "hi");
  int dfd = open(Path("d").c_str(), O_PATH | O_DIRECTORY);
  ASSERT_GE(dfd, 0);
  int fd = openat(dfd, "f", O_RDONLY);
  ASSERT_GE(fd, 0) << strerror(errno);
  char buf[4];
  EXPECT_EQ(read(fd, buf, sizeof buf), 2);
  close(fd);
  close(dfd);
}

TEST_F(OPath, GetdentsIsEbadf) {
  int fd = open(dir_.c_str(), O_PATH | O_DIRECTORY);
  ASSERT_GE(fd, 0);
  char buf[1024];
  errno = 0;
  EXPECT_EQ(GetDents(fd, buf, sizeof buf), -1);
  EXPECT_EQ(errno, EBADF);
  close(fd);
}

TEST_F(OPath, NoPermissionNeededOnFile) {
  std::string p = MakeFile("f", "", 0000);
  int fd = open(p.c_str(), O_PATH);
  EXPECT_GE(fd, 0) << strerror(errno);
  close(fd);
}

// --------------------------------------------------------------- openat(2)

using Openat = FileMeta;

TEST_F(Openat, RelativePathResolvedAgainstDirfd) {
  MakeFile("f", "xyz");
  int dfd = OpenDir();
  int fd = openat(dfd, "f", O_RDONLY);
  ASSERT_GE(fd, 0) << strerror(errno);
  char buf[4];
  EXPECT_EQ(read(fd, buf, sizeof buf), 3);
  close(fd);
  close(dfd);
}

TEST_F(Openat, CreatRelativeToDirfd) {
  MakeDir("d");
  int dfd = open(Path("d").c_str(), O_RDONLY | O_DIRECTORY);
  ASSERT_GE(dfd, 0);
  int fd = openat(dfd, "new", O_WRONLY | O_CREAT | O_EXCL, 0600);
  ASSERT_GE(fd, 0) << strerror(errno);
  close(fd);
  struct stat st;
  EXPECT_EQ(stat(Path("d/new").c_str(), &st), 0);
  close(dfd);
}

TEST_F(Openat, DotDotRelativeToDirfd) {
  MakeDir("d");
  MakeFile("f");
  int dfd = open(Path("d").c_str(), O_RDONLY | O_DIRECTORY);
  ASSERT_GE(dfd, 0);
  int fd = openat(dfd, "../f", O_RDONLY);
  EXPECT_GE(fd, 0) << strerror(errno);
  close(fd);
  close(dfd);
}

TEST_F(Openat, AtFdcwdUsesCurrentDirectory) {
  MakeFile("f", "12");
  ASSERT_EQ(chdir(dir_.c_str()), 0);
  int fd = openat(AT_FDCWD, "f", O_RDONLY);
  ASSERT_GE(fd, 0) << strerror(errno);
  char buf[4];
  EXPECT_EQ(read(fd, buf, sizeof buf), 2);
  close(fd);
}

TEST_F(Openat, AbsolutePathIgnoresDirfd) {
  std::string p = MakeFile("f");
  int fd = openat(ClosedFd(), p.c_str(), O_RDONLY);
  EXPECT_GE(fd, 0) << strerror(errno);
  close(fd);
}

TEST_F(Openat, BadDirfdIsEbadf) {
  errno = 0;
  EXPECT_EQ(openat(ClosedFd(), "f", O_RDONLY), -1);
  EXPECT_EQ(errno, EBADF);
  errno = 0;
  EXPECT_EQ(openat(-5, "f", O_RDONLY), -1);
  EXPECT_EQ(errno, EBADF);
}

TEST_F(Openat, FileDirfdIsEnotdir) {
  std::string p = MakeFile("f");
  int fd = open(p.c_str(), O_RDONLY);
  ASSERT_GE(fd, 0);
  errno = 0;
  EXPECT_EQ(openat(fd, "x", O_RDONLY), -1);
  EXPECT_EQ(errno, ENOTDIR);
  close(fd);
}

TEST_F(Openat, EmptyPathIsEnoent) {
  int dfd = OpenDir();
  errno = 0;
  EXPECT_EQ(openat(dfd, "", O_RDONLY), -1);
  EXPECT_EQ(errno, ENOENT);
  close(dfd);
}

// ---------------------------------------------------------------- fstat(2)

using Fstat = FileMeta;

TEST_F(Fstat, ReportsRegularFileAttributes) {
  std::string p = MakeFile("f", "hello", 0640);
  int fd = open(p.c_str(), O_RDONLY);
  ASSERT_GE(fd, 0);
  struct stat st;
  ASSERT_EQ(fstat(fd, &st), 0);
  EXPECT_TRUE(S_ISREG(st.st_mode));
  EXPECT_EQ(st.st_mode & 07777, 0640u);
  EXPECT_EQ(st.st_size, 5);
  EXPECT_EQ(st.st_nlink, 1u);
  EXPECT_EQ(st.st_uid, geteuid());
  EXPECT_EQ(st.st_gid, getegid());
  EXPECT_GT(st.st_blksize, 0);
  EXPECT_NE(st.st_ino, 0u);
  close(fd);
}

TEST_F(Fstat, ReportsDirectory) {
  int fd = OpenDir();
  struct stat st;
  ASSERT_EQ(fstat(fd, &st), 0);
  EXPECT_TRUE(S_ISDIR(st.st_mode));
  EXPECT_EQ(st.st_mode & 07777, 0700u);  // mkdtemp creates 0700
  EXPECT_GE(st.st_nlink, 2u);
  close(fd);
}

TEST_F(Fstat, SizeTracksWrites) {
  std::string p = MakeFile("f");
  int fd = open(p.c_str(), O_WRONLY);
  ASSERT_GE(fd, 0);
  ASSERT_EQ(pwrite(fd, "x", 1, 9999), 1);
  struct stat st;
  ASSERT_EQ(fstat(fd, &st), 0);
  EXPECT_EQ(st.st_size, 10000);
  close(fd);
}

TEST(FstatDev, DevNullIsCharDevice1_3) {
  int fd = open("/dev/null", O_RDONLY);
  ASSERT_GE(fd, 0);
  struct stat st;
  ASSERT_EQ(fstat(fd, &st), 0);
  EXPECT_TRUE(S_ISCHR(st.st_mode));
  EXPECT_EQ(major(st.st_rdev), 1u);
  EXPECT_EQ(minor(st.st_rdev), 3u);
  close(fd);
}

TEST(FstatFd, ClosedFdIsEbadf) {
  struct stat st;
  errno = 0;
  EXPECT_EQ(fstat(ClosedFd(), &st), -1);
  EXPECT_EQ(errno, EBADF);
}

TEST(FstatFd, BadBufferIsEfault) {
  int fd = open("/dev/null", O_RDONLY);
  ASSERT_GE(fd, 0);
  errno = 0;
  EXPECT_EQ(syscall(SYS_fstat, fd, BadPtr()), -1);
  EXPECT_EQ(errno, EFAULT);
  close(fd);
}

// ----------------------------------------------------------------- stat(2)

using Stat = FileMeta;

TEST_F(Stat, MatchesFstat) {
  std::string p = MakeFile("f", "abc");
  int fd = open(p.c_str(), O_RDONLY);
  ASSERT_GE(fd, 0);
  struct stat a, b;
  ASSERT_EQ(fstat(fd, &a), 0);
  ASSERT_EQ(stat(p.c_str(), &b), 0);
  EXPECT_EQ(a.st_dev, b.st_dev);
  EXPECT_EQ(a.st_ino, b.st_ino);
  EXPECT_EQ(a.st_mode, b.st_mode);
  EXPECT_EQ(a.st_size, b.st_size);
  EXPECT_EQ(a.st_mtim.tv_sec, b.st_mtim.tv_sec);
  EXPECT_EQ(a.st_mtim.tv_nsec, b.st_mtim.tv_nsec);
  close(fd);
}

TEST_F(Stat, FollowsSymlink) {
  std::string p = MakeFile("f", "abc");
  std::string l = MakeSymlink("l", "f");
  struct stat a, b;
  ASSERT_EQ(stat(p.c_str(), &a), 0);
  ASSERT_EQ(stat(l.c_str(), &b), 0);
  EXPECT_TRUE(S_ISREG(b.st_mode));
  EXPECT_EQ(a.st_ino, b.st_ino);
}

TEST_F(Stat, MissingIsEnoent) {
  struct stat st;
  errno = 0;
  EXPECT_EQ(stat(Path("missing").c_str(), &st), -1);
  EXPECT_EQ(errno, ENOENT);
}

TEST_F(Stat, DanglingSymlinkIsEnoent) {
  std::string l = MakeSymlink("l", "missing");
  struct stat st;
  errno = 0;
  EXPECT_EQ(stat(l.c_str(), &st), -1);
  EXPECT_EQ(errno, ENOENT);
}

TEST_F(Stat, SymlinkLoopIsEloop) {
  MakeSymlink("a", "b");
  MakeSymlink("b", "a");
  struct stat st;
  errno = 0;
  EXPECT_EQ(stat(Path("a").c_str(), &st), -1);
  EXPECT_EQ(errno, ELOOP);
}

TEST_F(Stat, EmptyPathIsEnoent) {
  struct stat st;
  errno = 0;
  EXPECT_EQ(stat("", &st), -1);
  EXPECT_EQ(errno, ENOENT);
}

TEST_F(Stat, FileAsPathComponentIsEnotdir) {
  MakeFile("f");
  struct stat st;
  errno = 0;
  EXPECT_EQ(stat(Path("f/x").c_str(), &st), -1);
  EXPECT_EQ(errno, ENOTDIR);
  errno = 0;
  EXPECT_EQ(stat(Path("f/").c_str(), &st), -1);
  EXPECT_EQ(errno, ENOTDIR);
}

TEST_F(Stat, ComponentOver255BytesIsEnametoolong) {
  struct stat st;
  errno = 0;
  EXPECT_EQ(stat(Path(std::string(256, 'x')).c_str(), &st), -1);
  EXPECT_EQ(errno, ENAMETOOLONG);
}

TEST_F(Stat, BadPathPointerIsEfault) {
  struct stat st;
  errno = 0;
  EXPECT_EQ(stat(static_cast<const char*>(BadPtr()), &st), -1);
  EXPECT_EQ(errno, EFAULT);
}

TEST_F(Stat, BadBufferIsEfault) {
  std::string p = MakeFile("f");
  errno = 0;
  EXPECT_EQ(syscall(SYS_newfstatat, AT_FDCWD, p.c_str(), BadPtr(), 0), -1);
  EXPECT_EQ(errno, EFAULT);
}

TEST_F(Stat, DotAndDotDotResolve) {
  MakeDir("d");
  struct stat d, dot, dotdot, top;
  ASSERT_EQ(stat(Path("d").c_str(), &d), 0);
  ASSERT_EQ(stat(Path("d/.").c_str(), &dot), 0);
  ASSERT_EQ(stat(Path("d/..").c_str(), &dotdot), 0);
  ASSERT_EQ(stat(dir_.c_str(), &top), 0);
  EXPECT_EQ(d.st_ino, dot.st_ino);
  EXPECT_EQ(dotdot.st_ino, top.st_ino);
}

TEST_F(Stat, NewSubdirectoryIncrementsParentLinkCount) {
  struct stat before, after;
  ASSERT_EQ(stat(dir_.c_str(), &before), 0);
  MakeDir("d");
  ASSERT_EQ(stat(dir_.c_str(), &after), 0);
  EXPECT_EQ(after.st_nlink, before.st_nlink + 1);
}

TEST(StatHost, EtcPasswdIsRegularFile) {
  struct stat st;
  ASSERT_EQ(stat("/etc/passwd", &st), 0);
  EXPECT_TRUE(S_ISREG(st.st_mode));
  EXPECT_GT(st.st_size, 0);
}

// ---------------------------------------------------------------- lstat(2)

using Lstat = FileMeta;

TEST_F(Lstat, DoesNotFollowSymlink) {
  MakeFile("f", "abc");
  std::string l = MakeSymlink("l", "f-target-name");
  struct stat st;
  ASSERT_EQ(lstat(l.c_str(), &st), 0);
  EXPECT_TRUE(S_ISLNK(st.st_mode));
  EXPECT_EQ(st.st_size, static_cast<off_t>(strlen("f-target-name")));
}

TEST_F(Lstat, DanglingSymlinkSucceeds) {
  std::string l = MakeSymlink("l", "missing");
  struct stat st;
  EXPECT_EQ(lstat(l.c_str(), &st), 0);
  EXPECT_TRUE(S_ISLNK(st.st_mode));
}

TEST_F(Lstat, RegularFileSameAsStat) {
  std::string p = MakeFile("f", "abc");
  struct stat a, b;
  ASSERT_EQ(lstat(p.c_str(), &a), 0);
  ASSERT_EQ(stat(p.c_str(), &b), 0);
  EXPECT_EQ(a.st_ino, b.st_ino);
  EXPECT_EQ(a.st_mode, b.st_mode);
}

TEST_F(Lstat, FollowsSymlinksInIntermediateComponents) {
  MakeDir("d");
  MakeFile("d/f", "abc");
  MakeSymlink("l", "d");
  struct stat st;
  ASSERT_EQ(lstat(Path("l/f").c_str(), &st), 0);
  EXPECT_TRUE(S_ISREG(st.st_mode));
}

TEST_F(Lstat, TrailingSlashFollowsSymlinkToDirectory) {
  MakeDir("d");
  MakeSymlink("l", "d");
  struct stat st;
  ASSERT_EQ(lstat(Path("l/").c_str(), &st), 0);
  EXPECT_TRUE(S_ISDIR(st.st_mode));
}

TEST_F(Lstat, MissingIsEnoent) {
  struct stat st;
  errno = 0;
  EXPECT_EQ(lstat(Path("missing").c_str(), &st), -1);
  EXPECT_EQ(errno, ENOENT);
}

// ----------------------------------------------------------- newfstatat(2)

long NewFstatAt(int dfd, const char* path, struct stat* st, int flags) {
  return syscall(SYS_newfstatat, dfd, path, st, flags);
}

using Newfstatat = FileMeta;

TEST_F(Newfstatat, RelativeToDirfd) {
  std::string p = MakeFile("f", "abcd");
  int dfd = OpenDir();
  struct stat a, b;
  ASSERT_EQ(NewFstatAt(dfd, "f", &a, 0), 0) << strerror(errno);
  ASSERT_EQ(stat(p.c_str(), &b), 0);
  EXPECT_EQ(a.st_ino, b.st_ino);
  EXPECT_EQ(a.st_size, 4);
  close(dfd);
}

TEST_F(Newfstatat, AtFdcwdUsesCurrentDirectory) {
  MakeFile("f", "abcd");
  ASSERT_EQ(chdir(dir_.c_str()), 0);
  struct stat st;
  ASSERT_EQ(NewFstatAt(AT_FDCWD, "f", &st, 0), 0) << strerror(errno);
  EXPECT_EQ(st.st_size, 4);
}

TEST_F(Newfstatat, FollowsSymlinkByDefault) {
  MakeFile("f");
  MakeSymlink("l", "f");
  int dfd = OpenDir();
  struct stat st;
  ASSERT_EQ(NewFstatAt(dfd, "l", &st, 0), 0);
  EXPECT_TRUE(S_ISREG(st.st_mode));
  close(dfd);
}

TEST_F(Newfstatat, SymlinkNofollowStatsLink) {
  MakeFile("f");
  MakeSymlink("l", "f");
  int dfd = OpenDir();
  struct stat st;
  ASSERT_EQ(NewFstatAt(dfd, "l", &st, AT_SYMLINK_NOFOLLOW), 0);
  EXPECT_TRUE(S_ISLNK(st.st_mode));
  EXPECT_EQ(st.st_size, 1);
  close(dfd);
}

TEST_F(Newfstatat, EmptyPathStatsDirfdItself) {
  std::string p = MakeFile("f", "12345");
  int fd = open(p.c_str(), O_RDONLY);
  ASSERT_GE(fd, 0);
  struct stat st;
  ASSERT_EQ(NewFstatAt(fd, "", &st, AT_EMPTY_PATH), 0) << strerror(errno);
  EXPECT_TRUE(S_ISREG(st.st_mode));
  EXPECT_EQ(st.st_size, 5);
  close(fd);
}

TEST_F(Newfstatat, EmptyPathWorksOnOPathSymlinkFd) {
  MakeFile("f");
  std::string l = MakeSymlink("l", "f");
  int fd = open(l.c_str(), O_PATH | O_NOFOLLOW);
  ASSERT_GE(fd, 0);
  struct stat st;
  ASSERT_EQ(NewFstatAt(fd, "", &st, AT_EMPTY_PATH), 0) << strerror(errno);
  EXPECT_TRUE(S_ISLNK(st.st_mode));
  close(fd);
}

TEST_F(Newfstatat, EmptyPathWithAtFdcwdStatsCwd) {
  ASSERT_EQ(chdir(dir_.c_str()), 0);
  struct stat a, b;
  ASSERT_EQ(NewFstatAt(AT_FDCWD, "", &a, AT_EMPTY_PATH), 0) << strerror(errno);
  ASSERT_EQ(stat(dir_.c_str(), &b), 0);
  EXPECT_EQ(a.st_ino, b.st_ino);
}

TEST_F(Newfstatat, EmptyPathWithoutFlagIsEnoent) {
  int dfd = OpenDir();
  struct stat st;
  errno = 0;
  EXPECT_EQ(NewFstatAt(dfd, "", &st, 0), -1);
  EXPECT_EQ(errno, ENOENT);
  close(dfd);
}

TEST_F(Newfstatat, EmptyPathWithClosedFdIsEbadf) {
  struct stat st;
  errno = 0;
  EXPECT_EQ(NewFstatAt(ClosedFd(), "", &st, AT_EMPTY_PATH), -1);
  EXPECT_EQ(errno, EBADF);
}

TEST_F(Newfstatat, BadFlagsIsEinval) {
  MakeFile("f");
  int dfd = OpenDir();
  struct stat st;
  for (int flags : {AT_REMOVEDIR, 0x1, 0x10000000}) {
    errno = 0;
    EXPECT_EQ(NewFstatAt(dfd, "f", &st, flags), -1) << "flags " << flags;
    EXPECT_EQ(errno, EINVAL) << "flags " << flags;
  }
  close(dfd);
}

TEST_F(Newfstatat, BadDirfdIsEbadf) {
  struct stat st;
  errno = 0;
  EXPECT_EQ(NewFstatAt(ClosedFd(), "f", &st, 0), -1);
  EXPECT_EQ(errno, EBADF);
}

TEST_F(Newfstatat, FileDirfdIsEnotdir) {
  std::string p = MakeFile("f");
  int fd = open(p.c_str(), O_RDONLY);
  ASSERT_GE(fd, 0);
  struct stat st;
  errno = 0;
  EXPECT_EQ(NewFstatAt(fd, "x", &st, 0), -1);
  EXPECT_EQ(errno, ENOTDIR);
  close(fd);
}

TEST_F(Newfstatat, AbsolutePathIgnoresDirfd) {
  std::string p = MakeFile("f");
  struct stat st;
  EXPECT_EQ(NewFstatAt(ClosedFd(), p.c_str(), &st, 0), 0) << strerror(errno);
}

// ---------------------------------------------------------------- statx(2)

long DoStatx(int dfd, const char* path, int flags, unsigned mask, struct statx* stx) {
  return syscall(SYS_statx, dfd, path, flags, mask, stx);
}

using Statx = FileMeta;

TEST_F(Statx, BasicStatsMatchStat) {
  std::string p = MakeFile("f", "hello!", 0604);
  struct stat st;
  ASSERT_EQ(stat(p.c_str(), &st), 0);
  struct statx stx;
  memset(&stx, 0xff, sizeof stx);
  ASSERT_EQ(DoStatx(AT_FDCWD, p.c_str(), 0, STATX_BASIC_STATS, &stx), 0) << strerror(errno);
  EXPECT_EQ(stx.stx_mask & STATX_BASIC_STATS, STATX_BASIC_STATS);
  EXPECT_EQ(stx.stx_mode, st.st_mode);
  EXPECT_EQ(stx.stx_ino, st.st_ino);
  EXPECT_EQ(stx.stx_nlink, st.st_nlink);
  EXPECT_EQ(stx.stx_uid, st.st_uid);
  EXPECT_EQ(stx.stx_gid, st.st_gid);
  EXPECT_EQ(stx.stx_size, static_cast<uint64_t>(st.st_size));
  EXPECT_EQ(stx.stx_blocks, static_cast<uint64_t>(st.st_blocks));
  EXPECT_EQ(stx.stx_blksize, static_cast<uint32_t>(st.st_blksize));
  EXPECT_EQ(stx.stx_dev_major, major(st.st_dev));
  EXPECT_EQ(stx.stx_dev_minor, minor(st.st_dev));
  EXPECT_EQ(stx.stx_mtime.tv_sec, st.st_mtim.tv_sec);
  EXPECT_EQ(stx.stx_mtime.tv_nsec, static_cast<uint32_t>(st.st_mtim.tv_nsec));
  EXPECT_EQ(stx.stx_atime.tv_sec, st.st_atim.tv_sec);
  EXPECT_EQ(stx.stx_ctime.tv_sec, st.st_ctim.tv_sec);
  EXPECT_EQ(stx.stx_ctime.tv_nsec, static_cast<uint32_t>(st.st_ctim.tv_nsec));
}

TEST(StatxDev, RdevMatchesStat) {
  struct stat st;
  ASSERT_EQ(stat("/dev/null", &st), 0);
  struct statx stx;
  ASSERT_EQ(DoStatx(AT_FDCWD, "/dev/null", 0, STATX_BASIC_STATS, &stx), 0);
  EXPECT_TRUE(S_ISCHR(stx.stx_mode));
  EXPECT_EQ(stx.stx_rdev_major, 1u);
  EXPECT_EQ(stx.stx_rdev_minor, 3u);
}

TEST_F(Statx, TypeOnlyMaskReturnsType) {
  std::string d = MakeDir("d");
  struct statx stx;
  ASSERT_EQ(DoStatx(AT_FDCWD, d.c_str(), 0, STATX_TYPE, &stx), 0);
  EXPECT_NE(stx.stx_mask & STATX_TYPE, 0u);
  EXPECT_TRUE(S_ISDIR(stx.stx_mode));
}

TEST_F(Statx, ZeroMaskSucceeds) {
  std::string p = MakeFile("f");
  struct statx stx;
  EXPECT_EQ(DoStatx(AT_FDCWD, p.c_str(), 0, 0, &stx), 0) << strerror(errno);
}

TEST_F(Statx, SyncFlagsAreAccepted) {
  std::string p = MakeFile("f", "abc");
  for (int flags : {AT_STATX_SYNC_AS_STAT, AT_STATX_FORCE_SYNC, AT_STATX_DONT_SYNC}) {
    struct statx stx;
    EXPECT_EQ(DoStatx(AT_FDCWD, p.c_str(), flags, STATX_BASIC_STATS, &stx), 0)
        << "flags " << flags << ": " << strerror(errno);
    EXPECT_EQ(stx.stx_size, 3u);
  }
}

TEST_F(Statx, ForceSyncWithDontSyncIsEinval) {
  std::string p = MakeFile("f");
  struct statx stx;
  errno = 0;
  EXPECT_EQ(DoStatx(AT_FDCWD, p.c_str(), AT_STATX_FORCE_SYNC | AT_STATX_DONT_SYNC,
                  STATX_BASIC_STATS, &stx),
            -1);
  EXPECT_EQ(errno, EINVAL);
}

TEST_F(Statx, ReservedMaskBitIsEinval) {
  std::string p = MakeFile("f");
  struct statx stx;
  errno = 0;
  EXPECT_EQ(DoStatx(AT_FDCWD, p.c_str(), 0, STATX__RESERVED, &stx), -1);
  EXPECT_EQ(errno, EINVAL);
}

TEST_F(Statx, BadFlagsIsEinval) {
  std::string p = MakeFile("f");
  struct statx stx;
  for (int flags : {AT_REMOVEDIR, 0x1, 0x10000000}) {
    errno = 0;
    EXPECT_EQ(DoStatx(AT_FDCWD, p.c_str(), flags, STATX_BASIC_STATS, &stx), -1)
        << "flags " << flags;
    EXPECT_EQ(errno, EINVAL) << "flags " << flags;
  }
}

TEST_F(Statx, SymlinkNofollowStatsLink) {
  MakeFile("f");
  std::string l = MakeSymlink("l", "f");
  struct statx stx;
  ASSERT_EQ(DoStatx(AT_FDCWD, l.c_str(), AT_SYMLINK_NOFOLLOW, STATX_BASIC_STATS, &stx), 0);
  EXPECT_TRUE(S_ISLNK(stx.stx_mode));
  ASSERT_EQ(DoStatx(AT_FDCWD, l.c_str(), 0, STATX_BASIC_STATS, &stx), 0);
  EXPECT_TRUE(S_ISREG(stx.stx_mode));
}

TEST_F(Statx, EmptyPathStatsFd) {
  std::string p = MakeFile("f", "1234567");
  int fd = open(p.c_str(), O_RDONLY);
  ASSERT_GE(fd, 0);
  struct statx stx;
  ASSERT_EQ(DoStatx(fd, "", AT_EMPTY_PATH, STATX_BASIC_STATS, &stx), 0) << strerror(errno);
  EXPECT_EQ(stx.stx_size, 7u);
  close(fd);
}

TEST_F(Statx, EmptyPathWithoutFlagIsEnoent) {
  std::string p = MakeFile("f");
  int fd = open(p.c_str(), O_RDONLY);
  ASSERT_GE(fd, 0);
  struct statx stx;
  errno = 0;
  EXPECT_EQ(DoStatx(fd, "", 0, STATX_BASIC_STATS, &stx), -1);
  EXPECT_EQ(errno, ENOENT);
  close(fd);
}

TEST_F(Statx, RelativeToDirfd) {
  MakeFile("f", "xy");
  int dfd = OpenDir();
  struct statx stx;
  ASSERT_EQ(DoStatx(dfd, "f", 0, STATX_BASIC_STATS, &stx), 0);
  EXPECT_EQ(stx.stx_size, 2u);
  close(dfd);
}

TEST_F(Statx, MissingIsEnoent) {
  struct statx stx;
  errno = 0;
  EXPECT_EQ(DoStatx(AT_FDCWD, Path("missing").c_str(), 0, STATX_BASIC_STATS, &stx), -1);
  EXPECT_EQ(errno, ENOENT);
}

TEST_F(Statx, BadDirfdIsEbadf) {
  struct statx stx;
  errno = 0;
  EXPECT_EQ(DoStatx(ClosedFd(), "f", 0, STATX_BASIC_STATS, &stx), -1);
  EXPECT_EQ(errno, EBADF);
}

TEST_F(Statx, FileDirfdIsEnotdir) {
  std::string p = MakeFile("f");
  int fd = open(p.c_str(), O_RDONLY);
  ASSERT_GE(fd, 0);
  struct statx stx;
  errno = 0;
  EXPECT_EQ(DoStatx(fd, "x", 0, STATX_BASIC_STATS, &stx), -1);
  EXPECT_EQ(errno, ENOTDIR);
  close(fd);
}

TEST_F(Statx, BadBufferIsEfault) {
  std::string p = MakeFile("f");
  errno = 0;
  EXPECT_EQ(DoStatx(AT_FDCWD, p.c_str(), 0, STATX_BASIC_STATS,
                  static_cast<struct statx*>(BadPtr())),
            -1);
  EXPECT_EQ(errno, EFAULT);
}

TEST_F(Statx, BadPathPointerIsEfault) {
  struct statx stx;
  errno = 0;
  EXPECT_EQ(DoStatx(AT_FDCWD, static_cast<const char*>(BadPtr()), 0, STATX_BASIC_STATS, &stx),
            -1);
  EXPECT_EQ(errno, EFAULT);
}

// ----------------------------------------------------------- getdents64(2)

using Getdents64 = FileMeta;

TEST_F(Getdents64, ListsAllEntriesIncludingDotAndDotDot) {
  MakeFile("a");
  MakeFile("b");
  MakeDir("c");
  MakeSymlink("d", "a");
  int fd = OpenDir();
  auto ents = ReadAllDents(fd);
  std::set<std::string> names;
  for (auto& [n, e] : ents) names.insert(n);
  EXPECT_EQ(names, (std::set<std::string>{".", "..", "a", "b", "c", "d"}));
  close(fd);
}

TEST_F(Getdents64, ReportsCorrectDType) {
  MakeFile("file");
  MakeDir("dir");
  MakeSymlink("link", "file");
  int fd = OpenDir();
  auto ents = ReadAllDents(fd);
  ASSERT_EQ(ents.size(), 5u);
  EXPECT_EQ(ents["."].type, DT_DIR);
  EXPECT_EQ(ents[".."].type, DT_DIR);
  EXPECT_EQ(ents["file"].type, DT_REG);
  EXPECT_EQ(ents["dir"].type, DT_DIR);
  EXPECT_EQ(ents["link"].type, DT_LNK);
  close(fd);
}

TEST_F(Getdents64, InodeNumbersMatchLstat) {
  MakeFile("file");
  MakeDir("dir");
  MakeSymlink("link", "file");
  int fd = OpenDir();
  auto ents = ReadAllDents(fd);
  for (const char* n : {"file", "dir", "link", "."}) {
    struct stat st;
    ASSERT_EQ(lstat(Path(n).c_str(), &st), 0);
    EXPECT_EQ(ents[n].ino, st.st_ino) << n;
  }
  close(fd);
}

TEST_F(Getdents64, EmptyDirectoryHasOnlyDotEntries) {
  MakeDir("e");
  int fd = open(Path("e").c_str(), O_RDONLY | O_DIRECTORY);
  ASSERT_GE(fd, 0);
  auto ents = ReadAllDents(fd);
  EXPECT_EQ(ents.size(), 2u);
  EXPECT_EQ(ents.count("."), 1u);
  EXPECT_EQ(ents.count(".."), 1u);
  close(fd);
}

TEST_F(Getdents64, RepeatedSmallReadsContinueAndEndWithZero) {
  const int kFiles = 40;
  for (int i = 0; i < kFiles; i++) MakeFile("file_" + std::to_string(i));
  int fd = OpenDir();
  // 64 bytes fits at most two 32-byte records per call.
  std::set<std::string> names;
  char buf[64];
  int calls = 0;
  for (;;) {
    long n = GetDents(fd, buf, sizeof buf);
    ASSERT_GE(n, 0) << strerror(errno);
    if (n == 0) break;
    calls++;
    ASSERT_LT(calls, 1000);
    for (long off = 0; off < n;) {
      auto* d = reinterpret_cast<Dirent64*>(buf + off);
      EXPECT_TRUE(names.insert(d->d_name).second) << "duplicate " << d->d_name;
      off += d->d_reclen;
    }
  }
  EXPECT_EQ(names.size(), static_cast<size_t>(kFiles + 2));
  EXPECT_GT(calls, 1);
  // Once at the end, further calls keep returning 0.
  EXPECT_EQ(GetDents(fd, buf, sizeof buf), 0);
  close(fd);
}

TEST_F(Getdents64, LseekToZeroRewinds) {
  MakeFile("a");
  MakeFile("b");
  int fd = OpenDir();
  auto first = ReadAllDents(fd);
  char buf[256];
  EXPECT_EQ(GetDents(fd, buf, sizeof buf), 0);
  EXPECT_EQ(lseek(fd, 0, SEEK_SET), 0);
  auto second = ReadAllDents(fd);
  EXPECT_EQ(first.size(), 4u);
  EXPECT_EQ(second.size(), 4u);
  close(fd);
}

TEST_F(Getdents64, RecordLayoutIsConsistent) {
  MakeFile(std::string(200, 'z'));
  int fd = OpenDir();
  alignas(8) char buf[4096];
  long n = GetDents(fd, buf, sizeof buf);
  ASSERT_GT(n, 0);
  for (long off = 0; off < n;) {
    auto* d = reinterpret_cast<Dirent64*>(buf + off);
    size_t namelen = strlen(d->d_name);
    EXPECT_GE(d->d_reclen, offsetof(Dirent64, d_name) + namelen + 1);
    EXPECT_EQ(d->d_reclen % 8, 0);
    EXPECT_NE(d->d_ino, 0u);
    off += d->d_reclen;
    EXPECT_LE(off, n);
  }
  close(fd);
}

TEST_F(Getdents64, BufferTooSmallForOneEntryIsEinval) {
  int fd = OpenDir();
  char buf[8];
  errno = 0;
  EXPECT_EQ(GetDents(fd, buf, 1), -1);
  EXPECT_EQ(errno, EINVAL);
  errno = 0;
  EXPECT_EQ(GetDents(fd, buf, sizeof buf), -1);
  EXPECT_EQ(errno, EINVAL);
  close(fd);
}

TEST_F(Getdents64, ClosedFdIsEbadf) {
  char buf[256];
  errno = 0;
  EXPECT_EQ(GetDents(ClosedFd(), buf, sizeof buf), -1);
  EXPECT_EQ(errno, EBADF);
}

TEST_F(Getdents64, RegularFileIsEnotdir) {
  std::string p = MakeFile("f", "abc");
  int fd = open(p.c_str(), O_RDONLY);
  ASSERT_GE(fd, 0);
  char buf[256];
  errno = 0;
  EXPECT_EQ(GetDents(fd, buf, sizeof buf), -1);
  EXPECT_EQ(errno, ENOTDIR);
  close(fd);
}

TEST_F(Getdents64, BadBufferIsEfault) {
  int fd = OpenDir();
  errno = 0;
  EXPECT_EQ(GetDents(fd, BadPtr(), 4096), -1);
  EXPECT_EQ(errno, EFAULT);
  close(fd);
}

TEST_F(Getdents64, RemovedDirectoryIsEnoent) {
  std::string d = MakeDir("gone");
  int fd = open(d.c_str(), O_RDONLY | O_DIRECTORY);
  ASSERT_GE(fd, 0);
  ASSERT_EQ(rmdir(d.c_str()), 0);
  char buf[256];
  errno = 0;
  EXPECT_EQ(GetDents(fd, buf, sizeof buf), -1);
  EXPECT_EQ(errno, ENOENT);
  close(fd);
}

// ------------------------------------------------- readlink/readlinkat(2)

using Readlink = FileMeta;

TEST_F(Readlink, ReturnsTargetWithoutNul) {
  std::string l = MakeSymlink("l", "some/target");
  char buf[64];
  memset(buf, '#', sizeof buf);
  EXPECT_EQ(readlink(l.c_str(), buf, sizeof buf), 11);
  EXPECT_EQ(std::string(buf, 11), "some/target");
  EXPECT_EQ(buf[11], '#');
}

TEST_F(Readlink, TruncatesToBufsizWithoutNul) {
  std::string l = MakeSymlink("l", "abcdefgh");
  char buf[8];
  memset(buf, '#', sizeof buf);
  EXPECT_EQ(readlink(l.c_str(), buf, 3), 3);
  EXPECT_EQ(std::string(buf, 4), "abc#");
}

TEST_F(Readlink, AbsoluteTargetIsReturnedVerbatim) {
  std::string l = MakeSymlink("l", "/no/such//path/");
  char buf[64];
  EXPECT_EQ(readlink(l.c_str(), buf, sizeof buf), 15);
  EXPECT_EQ(std::string(buf, 15), "/no/such//path/");
}

TEST_F(Readlink, RegularFileIsEinval) {
  std::string p = MakeFile("f");
  char buf[16];
  errno = 0;
  EXPECT_EQ(readlink(p.c_str(), buf, sizeof buf), -1);
  EXPECT_EQ(errno, EINVAL);
}

TEST_F(Readlink, DirectoryIsEinval) {
  char buf[16];
  errno = 0;
  EXPECT_EQ(readlink(dir_.c_str(), buf, sizeof buf), -1);
  EXPECT_EQ(errno, EINVAL);
}

#ifdef SYS_readlink
TEST_F(Readlink, ZeroBufsizIsEinval) {
  std::string l = MakeSymlink("l", "t");
  char buf[16];
  errno = 0;
  EXPECT_EQ(syscall(SYS_readlink, l.c_str(), buf, 0), -1);
  EXPECT_EQ(errno, EINVAL);
}

TEST_F(Readlink, NegativeBufsizIsEinval) {
  std::string l = MakeSymlink("l", "t");
  char buf[16];
  errno = 0;
  EXPECT_EQ(syscall(SYS_readlink, l.c_str(), buf, -1), -1);
  EXPECT_EQ(errno, EINVAL);
}

#endif

TEST_F(Readlink, MissingIsEnoent) {
  char buf[16];
  errno = 0;
  EXPECT_EQ(readlink(Path("missing").c_str(), buf, sizeof buf), -1);
  EXPECT_EQ(errno, ENOENT);
}

TEST_F(Readlink, FileAsPathComponentIsEnotdir) {
  MakeFile("f");
  char buf[16];
  errno = 0;
  EXPECT_EQ(readlink(Path("f/l").c_str(), buf, sizeof buf), -1);
  EXPECT_EQ(errno, ENOTDIR);
}

TEST_F(Readlink, BadBufferIsEfault) {
  std::string l = MakeSymlink("l", "target");
  errno = 0;
  EXPECT_EQ(readlink(l.c_str(), static_cast<char*>(BadPtr()), 16), -1);
  EXPECT_EQ(errno, EFAULT);
}

TEST_F(Readlink, IntermediateSymlinksAreFollowed) {
  MakeDir("d");
  MakeSymlink("d/l", "inner");
  MakeSymlink("dl", "d");
  char buf[16];
  EXPECT_EQ(readlink(Path("dl/l").c_str(), buf, sizeof buf), 5);
  EXPECT_EQ(std::string(buf, 5), "inner");
}

using Readlinkat = FileMeta;

TEST_F(Readlinkat, RelativeToDirfd) {
  MakeSymlink("l", "xyz");
  int dfd = OpenDir();
  char buf[16];
  EXPECT_EQ(readlinkat(dfd, "l", buf, sizeof buf), 3);
  EXPECT_EQ(std::string(buf, 3), "xyz");
  close(dfd);
}

TEST_F(Readlinkat, AtFdcwdUsesCurrentDirectory) {
  MakeSymlink("l", "xyz");
  ASSERT_EQ(chdir(dir_.c_str()), 0);
  char buf[16];
  EXPECT_EQ(readlinkat(AT_FDCWD, "l", buf, sizeof buf), 3);
}

TEST_F(Readlinkat, EmptyPathReadsOPathSymlinkFd) {
  std::string l = MakeSymlink("l", "the-target");
  int fd = open(l.c_str(), O_PATH | O_NOFOLLOW);
  ASSERT_GE(fd, 0);
  char buf[32];
  EXPECT_EQ(readlinkat(fd, "", buf, sizeof buf), 10) << strerror(errno);
  EXPECT_EQ(std::string(buf, 10), "the-target");
  close(fd);
}

TEST_F(Readlinkat, EmptyPathOnNonSymlinkFdIsEnoent) {
  std::string p = MakeFile("f");
  int fd = open(p.c_str(), O_RDONLY);
  ASSERT_GE(fd, 0);
  char buf[32];
  errno = 0;
  EXPECT_EQ(readlinkat(fd, "", buf, sizeof buf), -1);
  EXPECT_EQ(errno, ENOENT);
  close(fd);
}

TEST_F(Readlinkat, BadDirfdIsEbadf) {
  char buf[16];
  errno = 0;
  EXPECT_EQ(readlinkat(ClosedFd(), "l", buf, sizeof buf), -1);
  EXPECT_EQ(errno, EBADF);
}

TEST_F(Readlinkat, FileDirfdIsEnotdir) {
  std::string p = MakeFile("f");
  int fd = open(p.c_str(), O_RDONLY);
  ASSERT_GE(fd, 0);
  char buf[16];
  errno = 0;
  EXPECT_EQ(readlinkat(fd, "l", buf, sizeof buf), -1);
  EXPECT_EQ(errno, ENOTDIR);
  close(fd);
}

TEST_F(Readlinkat, ZeroBufsizIsEinval) {
  MakeSymlink("l", "t");
  int dfd = OpenDir();
  char buf[16];
  errno = 0;
  EXPECT_EQ(syscall(SYS_readlinkat, dfd, "l", buf, 0), -1);
  EXPECT_EQ(errno, EINVAL);
  close(dfd);
}

// ------------------------------------------- access/faccessat/faccessat2(2)

long DoFaccessat(int dfd, const char* path, int mode) {
  return syscall(SYS_faccessat, dfd, path, mode);
}

#ifndef SYS_faccessat2
#define SYS_faccessat2 439
#endif

long DoFaccessat2(int dfd, const char* path, int mode, int flags) {
  return syscall(SYS_faccessat2, dfd, path, mode, flags);
}

using Access = FileMeta;

TEST_F(Access, FOkOnExistingFile) {
  std::string p = MakeFile("f");
  EXPECT_EQ(access(p.c_str(), F_OK), 0);
}

TEST_F(Access, FOkOnMissingFileIsEnoent) {
  errno = 0;
  EXPECT_EQ(access(Path("missing").c_str(), F_OK), -1);
  EXPECT_EQ(errno, ENOENT);
}

TEST_F(Access, ReadWriteOnOwnFile) {
  std::string p = MakeFile("f", "", 0600);
  EXPECT_EQ(access(p.c_str(), R_OK), 0);
  EXPECT_EQ(access(p.c_str(), W_OK), 0);
  EXPECT_EQ(access(p.c_str(), R_OK | W_OK), 0);
}

TEST_F(Access, XOkWithoutAnyExecBitIsEaccesEvenForRoot) {
  std::string p = MakeFile("f", "", 0666);
  errno = 0;
  EXPECT_EQ(access(p.c_str(), X_OK), -1);
  EXPECT_EQ(errno, EACCES);
  errno = 0;
  EXPECT_EQ(access(p.c_str(), R_OK | X_OK), -1);
  EXPECT_EQ(errno, EACCES);
}

TEST_F(Access, XOkOnExecutableFile) {
  std::string p = MakeFile("f", "", 0755);
  EXPECT_EQ(access(p.c_str(), X_OK), 0);
}

TEST_F(Access, XOkOnDirectory) {
  EXPECT_EQ(access(dir_.c_str(), X_OK), 0);
}

TEST_F(Access, RootBypassesReadWritePermission) {
  if (geteuid() != 0) GTEST_SKIP() << "needs root";
  std::string p = MakeFile("f", "", 0000);
  EXPECT_EQ(access(p.c_str(), R_OK | W_OK), 0);
}

TEST_F(Access, RootXOkNeedsAnyExecBit) {
  if (geteuid() != 0) GTEST_SKIP() << "needs root";
  std::string p = MakeFile("f", "", 0001);
  EXPECT_EQ(access(p.c_str(), X_OK), 0);
}

TEST_F(Access, NoReadPermissionIsEacces) {
  if (geteuid() == 0) GTEST_SKIP() << "root bypasses read permission";
  std::string p = MakeFile("f", "", 0200);
  errno = 0;
  EXPECT_EQ(access(p.c_str(), R_OK), -1);
  EXPECT_EQ(errno, EACCES);
}

#ifdef SYS_access
TEST_F(Access, BadModeIsEinval) {
  std::string p = MakeFile("f");
  errno = 0;
  EXPECT_EQ(syscall(SYS_access, p.c_str(), 8), -1);
  EXPECT_EQ(errno, EINVAL);
  errno = 0;
  EXPECT_EQ(syscall(SYS_access, p.c_str(), -1), -1);
  EXPECT_EQ(errno, EINVAL);
}
#endif

TEST_F(Access, DanglingSymlinkIsEnoent) {
  std::string l = MakeSymlink("l", "missing");
  errno = 0;
  EXPECT_EQ(access(l.c_str(), F_OK), -1);
  EXPECT_EQ(errno, ENOENT);
}

TEST_F(Access, FileAsPathComponentIsEnotdir) {
  MakeFile("f");
  errno = 0;
  EXPECT_EQ(access(Path("f/x").c_str(), F_OK), -1);
  EXPECT_EQ(errno, ENOTDIR);
}

TEST_F(Access, ComponentOver255BytesIsEnametoolong) {
  errno = 0;
  EXPECT_EQ(access(Path(std::string(256, 'a')).c_str(), F_OK), -1);
  EXPECT_EQ(errno, ENAMETOOLONG);
}

TEST_F(Access, BadPathPointerIsEfault) {
  errno = 0;
  EXPECT_EQ(access(static_cast<const char*>(BadPtr()), F_OK), -1);
  EXPECT_EQ(errno, EFAULT);
}

using Faccessat = FileMeta;

TEST_F(Faccessat, RelativeToDirfd) {
  MakeFile("f");
  int dfd = OpenDir();
  EXPECT_EQ(DoFaccessat(dfd, "f", R_OK), 0);
  errno = 0;
  EXPECT_EQ(DoFaccessat(dfd, "missing", F_OK), -1);
  EXPECT_EQ(errno, ENOENT);
  close(dfd);
}

TEST_F(Faccessat, AtFdcwdUsesCurrentDirectory) {
  MakeFile("f");
  ASSERT_EQ(chdir(dir_.c_str()), 0);
  EXPECT_EQ(DoFaccessat(AT_FDCWD, "f", F_OK), 0);
}

TEST_F(Faccessat, BadDirfdIsEbadf) {
  errno = 0;
  EXPECT_EQ(DoFaccessat(ClosedFd(), "f", F_OK), -1);
  EXPECT_EQ(errno, EBADF);
}

TEST_F(Faccessat, FileDirfdIsEnotdir) {
  std::string p = MakeFile("f");
  int fd = open(p.c_str(), O_RDONLY);
  ASSERT_GE(fd, 0);
  errno = 0;
  EXPECT_EQ(DoFaccessat(fd, "x", F_OK), -1);
  EXPECT_EQ(errno, ENOTDIR);
  close(fd);
}

TEST_F(Faccessat, XOkWithoutExecBitIsEacces) {
  MakeFile("f", "", 0644);
  int dfd = OpenDir();
  errno = 0;
  EXPECT_EQ(DoFaccessat(dfd, "f", X_OK), -1);
  EXPECT_EQ(errno, EACCES);
  close(dfd);
}

TEST_F(Faccessat, BadModeIsEinval) {
  MakeFile("f");
  int dfd = OpenDir();
  errno = 0;
  EXPECT_EQ(DoFaccessat(dfd, "f", 0x10), -1);
  EXPECT_EQ(errno, EINVAL);
  close(dfd);
}

using Faccessat2 = FileMeta;

TEST_F(Faccessat2, NoFlagsBehavesLikeFaccessat) {
  MakeFile("f", "", 0644);
  int dfd = OpenDir();
  EXPECT_EQ(DoFaccessat2(dfd, "f", R_OK | W_OK, 0), 0) << strerror(errno);
  errno = 0;
  EXPECT_EQ(DoFaccessat2(dfd, "f", X_OK, 0), -1);
  EXPECT_EQ(errno, EACCES);
  close(dfd);
}

TEST_F(Faccessat2, SymlinkNofollowChecksLinkItself) {
  MakeSymlink("l", "missing");
  int dfd = OpenDir();
  EXPECT_EQ(DoFaccessat2(dfd, "l", F_OK, AT_SYMLINK_NOFOLLOW), 0) << strerror(errno);
  errno = 0;
  EXPECT_EQ(DoFaccessat2(dfd, "l", F_OK, 0), -1);
  EXPECT_EQ(errno, ENOENT);
  close(dfd);
}

TEST_F(Faccessat2, SymlinkNofollowUsesLinkPermissions) {
  // Symlinks are always mode 0777, so X_OK on the link succeeds even though
  // the target has no execute bits.
  MakeFile("f", "", 0644);
  MakeSymlink("l", "f");
  int dfd = OpenDir();
  EXPECT_EQ(DoFaccessat2(dfd, "l", X_OK, AT_SYMLINK_NOFOLLOW), 0) << strerror(errno);
  errno = 0;
  EXPECT_EQ(DoFaccessat2(dfd, "l", X_OK, 0), -1);
  EXPECT_EQ(errno, EACCES);
  close(dfd);
}

TEST_F(Faccessat2, EaccessFlagIsAccepted) {
  MakeFile("f", "", 0644);
  int dfd = OpenDir();
  EXPECT_EQ(DoFaccessat2(dfd, "f", R_OK, AT_EACCESS), 0) << strerror(errno);
  errno = 0;
  EXPECT_EQ(DoFaccessat2(dfd, "f", X_OK, AT_EACCESS), -1);
  EXPECT_EQ(errno, EACCES);
  close(dfd);
}

TEST_F(Faccessat2, EmptyPathChecksFdItself) {
  std::string p = MakeFile("f", "", 0755);
  int fd = open(p.c_str(), O_PATH);
  ASSERT_GE(fd, 0);
  EXPECT_EQ(DoFaccessat2(fd, "", X_OK, AT_EMPTY_PATH), 0) << strerror(errno);
  errno = 0;
  EXPECT_EQ(DoFaccessat2(fd, "", X_OK, 0), -1);
  EXPECT_EQ(errno, ENOENT);
  close(fd);
}

TEST_F(Faccessat2, BadFlagsIsEinval) {
  MakeFile("f");
  int dfd = OpenDir();
  for (int flags : {0x1, 0x400, 0x10000000}) {
    errno = 0;
    EXPECT_EQ(DoFaccessat2(dfd, "f", F_OK, flags), -1) << "flags " << flags;
    EXPECT_EQ(errno, EINVAL) << "flags " << flags;
  }
  close(dfd);
}

TEST_F(Faccessat2, BadModeIsEinval) {
  MakeFile("f");
  int dfd = OpenDir();
  errno = 0;
  EXPECT_EQ(DoFaccessat2(dfd, "f", 8, 0), -1);
  EXPECT_EQ(errno, EINVAL);
  close(dfd);
}

TEST_F(Faccessat2, BadDirfdIsEbadf) {
  errno = 0;
  EXPECT_EQ(DoFaccessat2(ClosedFd(), "f", F_OK, 0), -1);
  EXPECT_EQ(errno, EBADF);
}

// --------------------------------------------------------------- getcwd(2)

long RawGetcwd(char* buf, size_t size) { return syscall(SYS_getcwd, buf, size); }

using Getcwd = FileMeta;

TEST_F(Getcwd, RawSyscallReturnsLengthIncludingNul) {
  ASSERT_EQ(chdir(dir_.c_str()), 0);
  char buf[PATH_MAX];
  EXPECT_EQ(RawGetcwd(buf, sizeof buf), static_cast<long>(dir_.size() + 1));
  EXPECT_EQ(std::string(buf), dir_);
}

TEST_F(Getcwd, RootIsSlash) {
  ASSERT_EQ(chdir("/"), 0);
  char buf[8];
  EXPECT_EQ(RawGetcwd(buf, sizeof buf), 2);
  EXPECT_STREQ(buf, "/");
}

TEST_F(Getcwd, ExactSizeSucceeds) {
  ASSERT_EQ(chdir(dir_.c_str()), 0);
  std::vector<char> buf(dir_.size() + 1);
  EXPECT_EQ(RawGetcwd(buf.data(), buf.size()), static_cast<long>(dir_.size() + 1));
  EXPECT_EQ(std::string(buf.data()), dir_);
}

TEST_F(Getcwd, BufferWithoutRoomForNulIsErange) {
  ASSERT_EQ(chdir(dir_.c_str()), 0);
  std::vector<char> buf(dir_.size());
  errno = 0;
  EXPECT_EQ(RawGetcwd(buf.data(), buf.size()), -1);
  EXPECT_EQ(errno, ERANGE);
}

TEST_F(Getcwd, TinyBufferIsErange) {
  ASSERT_EQ(chdir(dir_.c_str()), 0);
  char buf[1];
  errno = 0;
  EXPECT_EQ(RawGetcwd(buf, 1), -1);
  EXPECT_EQ(errno, ERANGE);
}

// The kernel has no special case for size 0: it is simply too small.
TEST_F(Getcwd, RawZeroSizeIsErange) {
  char buf[16];
  errno = 0;
  EXPECT_EQ(RawGetcwd(buf, 0), -1);
  EXPECT_EQ(errno, ERANGE);
}

// glibc rejects size 0 with a non-NULL buffer itself (getcwd(3)).
TEST_F(Getcwd, LibcZeroSizeWithBufferIsEinval) {
  char buf[16];
  errno = 0;
  EXPECT_EQ(getcwd(buf, 0), nullptr);
  EXPECT_EQ(errno, EINVAL);
}

TEST_F(Getcwd, BadBufferIsEfault) {
  errno = 0;
  EXPECT_EQ(RawGetcwd(static_cast<char*>(BadPtr()), 4096), -1);
  EXPECT_EQ(errno, EFAULT);
}

TEST_F(Getcwd, RemovedCwdIsEnoent) {
  std::string d = MakeDir("gone");
  ASSERT_EQ(chdir(d.c_str()), 0);
  ASSERT_EQ(rmdir(d.c_str()), 0);
  char buf[PATH_MAX];
  errno = 0;
  EXPECT_EQ(RawGetcwd(buf, sizeof buf), -1);
  EXPECT_EQ(errno, ENOENT);
}

// ----------------------------------------------------------- chdir/fchdir(2)

using Chdir = FileMeta;

TEST_F(Chdir, ChangesCwdAndRelativeLookups) {
  MakeDir("d");
  MakeFile("d/f", "z");
  ASSERT_EQ(chdir(Path("d").c_str()), 0);
  char buf[PATH_MAX];
  ASSERT_NE(getcwd(buf, sizeof buf), nullptr);
  EXPECT_EQ(std::string(buf), Path("d"));
  int fd = open("f", O_RDONLY);
  EXPECT_GE(fd, 0) << strerror(errno);
  close(fd);
}

TEST_F(Chdir, RelativePathIsResolvedFromCwd) {
  MakeDir("a");
  MakeDir("a/b");
  ASSERT_EQ(chdir(dir_.c_str()), 0);
  ASSERT_EQ(chdir("a/b"), 0);
  ASSERT_EQ(chdir(".."), 0);
  char buf[PATH_MAX];
  ASSERT_NE(getcwd(buf, sizeof buf), nullptr);
  EXPECT_EQ(std::string(buf), Path("a"));
}

TEST_F(Chdir, DotDotAtRootStaysAtRoot) {
  ASSERT_EQ(chdir("/"), 0);
  ASSERT_EQ(chdir(".."), 0);
  char buf[PATH_MAX];
  ASSERT_NE(getcwd(buf, sizeof buf), nullptr);
  EXPECT_STREQ(buf, "/");
}

TEST_F(Chdir, SymlinkIsFollowedAndGetcwdShowsRealPath) {
  MakeDir("real");
  std::string l = MakeSymlink("link", "real");
  ASSERT_EQ(chdir(l.c_str()), 0);
  char buf[PATH_MAX];
  ASSERT_NE(getcwd(buf, sizeof buf), nullptr);
  EXPECT_EQ(std::string(buf), Path("real"));
}

TEST_F(Chdir, MissingIsEnoent) {
  errno = 0;
  EXPECT_EQ(chdir(Path("missing").c_str()), -1);
  EXPECT_EQ(errno, ENOENT);
}

TEST_F(Chdir, EmptyPathIsEnoent) {
  errno = 0;
  EXPECT_EQ(chdir(""), -1);
  EXPECT_EQ(errno, ENOENT);
}

TEST_F(Chdir, RegularFileIsEnotdir) {
  std::string p = MakeFile("f");
  errno = 0;
  EXPECT_EQ(chdir(p.c_str()), -1);
  EXPECT_EQ(errno, ENOTDIR);
}

TEST_F(Chdir, SymlinkToFileIsEnotdir) {
  MakeFile("f");
  std::string l = MakeSymlink("l", "f");
  errno = 0;
  EXPECT_EQ(chdir(l.c_str()), -1);
  EXPECT_EQ(errno, ENOTDIR);
}

TEST_F(Chdir, FailureLeavesCwdUnchanged) {
  ASSERT_EQ(chdir(dir_.c_str()), 0);
  ASSERT_EQ(chdir(Path("missing").c_str()), -1);
  char buf[PATH_MAX];
  ASSERT_NE(getcwd(buf, sizeof buf), nullptr);
  EXPECT_EQ(std::string(buf), dir_);
}

TEST_F(Chdir, BadPathPointerIsEfault) {
  errno = 0;
  EXPECT_EQ(chdir(static_cast<const char*>(BadPtr())), -1);
  EXPECT_EQ(errno, EFAULT);
}

TEST_F(Chdir, NoSearchPermissionIsEacces) {
  if (geteuid() == 0) GTEST_SKIP() << "root bypasses search permission";
  std::string d = MakeDir("d", 0600);
  errno = 0;
  EXPECT_EQ(chdir(d.c_str()), -1);
  EXPECT_EQ(errno, EACCES);
}

TEST_F(Chdir, RootNeedsNoSearchPermission) {
  if (geteuid() != 0) GTEST_SKIP() << "needs root";
  std::string d = MakeDir("d", 0000);
  EXPECT_EQ(chdir(d.c_str()), 0) << strerror(errno);
}

using Fchdir = FileMeta;

TEST_F(Fchdir, ChangesCwd) {
  std::string d = MakeDir("d");
  int fd = open(d.c_str(), O_RDONLY | O_DIRECTORY);
  ASSERT_GE(fd, 0);
  ASSERT_EQ(fchdir(fd), 0);
  char buf[PATH_MAX];
  ASSERT_NE(getcwd(buf, sizeof buf), nullptr);
  EXPECT_EQ(std::string(buf), d);
  close(fd);
}

TEST_F(Fchdir, OPathDirectoryFdWorks) {
  std::string d = MakeDir("d");
  int fd = open(d.c_str(), O_PATH | O_DIRECTORY);
  ASSERT_GE(fd, 0);
  EXPECT_EQ(fchdir(fd), 0) << strerror(errno);
  char buf[PATH_MAX];
  ASSERT_NE(getcwd(buf, sizeof buf), nullptr);
  EXPECT_EQ(std::string(buf), d);
  close(fd);
}

TEST_F(Fchdir, RegularFileFdIsEnotdir) {
  std::string p = MakeFile("f");
  int fd = open(p.c_str(), O_RDONLY);
  ASSERT_GE(fd, 0);
  errno = 0;
  EXPECT_EQ(fchdir(fd), -1);
  EXPECT_EQ(errno, ENOTDIR);
  close(fd);
}

TEST_F(Fchdir, ClosedFdIsEbadf) {
  errno = 0;
  EXPECT_EQ(fchdir(ClosedFd()), -1);
  EXPECT_EQ(errno, EBADF);
}

TEST_F(Fchdir, NegativeFdIsEbadf) {
  errno = 0;
  EXPECT_EQ(fchdir(-1), -1);
  EXPECT_EQ(errno, EBADF);
}

// ------------------------------------------------ legacy x86-64 syscalls
//
// glibc implements open/stat/lstat/fstat with openat/newfstatat, so the old
// syscall numbers are only reached through syscall(2).

#ifdef SYS_open
TEST_F(Open, LegacyOpenSyscallCreatesAndOpens) {
  std::string p = Path("legacy");
  long fd = syscall(SYS_open, p.c_str(), O_RDWR | O_CREAT | O_EXCL, 0640);
  ASSERT_GE(fd, 0) << strerror(errno);
  EXPECT_EQ(write(fd, "ab", 2), 2);
  close(fd);
  errno = 0;
  EXPECT_EQ(syscall(SYS_open, p.c_str(), O_RDWR | O_CREAT | O_EXCL, 0640), -1);
  EXPECT_EQ(errno, EEXIST);
  fd = syscall(SYS_open, p.c_str(), O_RDONLY);
  ASSERT_GE(fd, 0);
  char buf[4];
  EXPECT_EQ(read(fd, buf, sizeof buf), 2);
  close(fd);
}

TEST_F(Open, LegacyOpenSyscallMissingIsEnoent) {
  errno = 0;
  EXPECT_EQ(syscall(SYS_open, Path("missing").c_str(), O_RDONLY), -1);
  EXPECT_EQ(errno, ENOENT);
}
#endif

#ifdef SYS_stat
TEST_F(Stat, LegacyStatSyscallFollowsSymlink) {
  MakeFile("f", "abc");
  std::string l = MakeSymlink("l", "f");
  struct stat st;
  ASSERT_EQ(syscall(SYS_stat, l.c_str(), &st), 0) << strerror(errno);
  EXPECT_TRUE(S_ISREG(st.st_mode));
  EXPECT_EQ(st.st_size, 3);
  errno = 0;
  EXPECT_EQ(syscall(SYS_stat, Path("missing").c_str(), &st), -1);
  EXPECT_EQ(errno, ENOENT);
}
#endif

#ifdef SYS_lstat
TEST_F(Lstat, LegacyLstatSyscallDoesNotFollowSymlink) {
  MakeFile("f", "abc");
  std::string l = MakeSymlink("l", "f");
  struct stat st;
  ASSERT_EQ(syscall(SYS_lstat, l.c_str(), &st), 0) << strerror(errno);
  EXPECT_TRUE(S_ISLNK(st.st_mode));
  EXPECT_EQ(st.st_size, 1);
}
#endif

#ifdef SYS_fstat
TEST_F(Fstat, LegacyFstatSyscallMatchesNewfstatat) {
  std::string p = MakeFile("f", "hello");
  int fd = open(p.c_str(), O_RDONLY);
  ASSERT_GE(fd, 0);
  struct stat a, b;
  ASSERT_EQ(syscall(SYS_fstat, fd, &a), 0) << strerror(errno);
  ASSERT_EQ(syscall(SYS_newfstatat, fd, "", &b, AT_EMPTY_PATH), 0);
  EXPECT_EQ(a.st_ino, b.st_ino);
  EXPECT_EQ(a.st_size, 5);
  EXPECT_EQ(a.st_mode, b.st_mode);
  close(fd);
  errno = 0;
  EXPECT_EQ(syscall(SYS_fstat, fd, &a), -1);
  EXPECT_EQ(errno, EBADF);
}
#endif

}  // namespace
