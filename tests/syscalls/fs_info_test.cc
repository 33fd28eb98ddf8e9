// Compatibility tests for filesystem information and timestamp syscalls:
// statfs, fstatfs, utimensat and futimens.
//
// Linux (the host kernel) is the specification: every test here must pass
// natively. All files are created under a fresh mkdtemp() directory in /tmp.
// No specific f_type is asserted: the sandbox's root may be an overlay.

#include <gtest/gtest.h>

#include "test_util.h"

#include <fcntl.h>
#include <limits.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <sys/syscall.h>
#include <sys/types.h>
#include <sys/vfs.h>
#include <time.h>
#include <unistd.h>

#include <cerrno>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <string>

namespace {

using husk_test::BadPtr;
using husk_test::ClosedFd;

// Raw syscall wrappers: glibc may validate some arguments itself (e.g. it
// rejects a NULL utimensat path with EINVAL before entering the kernel).
long RawStatfs(const char* path, void* buf) {
  return syscall(SYS_statfs, path, buf);
}
long RawFstatfs(int fd, void* buf) { return syscall(SYS_fstatfs, fd, buf); }
long RawUtimensat(int dirfd, const char* path, const void* times, int flags) {
  return syscall(SYS_utimensat, dirfd, path, times, flags);
}

int64_t Ns(const struct timespec& ts) {
  return static_cast<int64_t>(ts.tv_sec) * 1000000000LL + ts.tv_nsec;
}

int64_t NowNs() {
  struct timespec ts;
  clock_gettime(CLOCK_REALTIME, &ts);
  return Ns(ts);
}

constexpr int64_t kSecond = 1000000000LL;
// File timestamps come from a coarse clock; allow generous slack around "now".
constexpr int64_t kSlack = 3 * kSecond;

void SleepMs(int ms) {
  struct timespec ts = {0, ms * 1000000L};
  while (nanosleep(&ts, &ts) != 0 && errno == EINTR) {
  }
}

class FsInfo : public husk_test::TempDirTest {
 protected:
  std::string MakeFile(const std::string& name, mode_t mode = 0644) {
    std::string p = Path(name);
    int fd = open(p.c_str(), O_WRONLY | O_CREAT | O_TRUNC, mode);
    EXPECT_GE(fd, 0) << strerror(errno);
    if (fd >= 0) close(fd);
    return p;
  }

  std::string MakeSymlink(const std::string& name, const std::string& target) {
    std::string p = Path(name);
    EXPECT_EQ(symlink(target.c_str(), p.c_str()), 0) << strerror(errno);
    return p;
  }
};

using Statfs = FsInfo;
using Utimensat = FsInfo;
using Futimens = FsInfo;

// Fixed, distinctive timestamps used as "explicit" values.
const struct timespec kAtime = {1000000000, 123456789};  // 2001-09-09
const struct timespec kMtime = {1200000000, 987654321};  // 2008-01-10
const struct timespec kAtime2 = {1300000000, 111};
const struct timespec kMtime2 = {1400000000, 222};

// ------------------------------------------------------- statfs / fstatfs

TEST_F(Statfs, RootSucceeds) {
  struct statfs st;
  memset(&st, 0, sizeof st);
  ASSERT_EQ(statfs("/", &st), 0) << strerror(errno);
  EXPECT_GT(st.f_bsize, 0);
  EXPECT_EQ(st.f_namelen, 255);
}

TEST_F(Statfs, FileInTempDirSucceeds) {
  std::string p = MakeFile("f");
  struct statfs st;
  memset(&st, 0, sizeof st);
  ASSERT_EQ(statfs(p.c_str(), &st), 0) << strerror(errno);
  EXPECT_GT(st.f_bsize, 0);
  EXPECT_EQ(st.f_namelen, 255);
}

TEST_F(Statfs, TempDirItselfSucceeds) {
  struct statfs st;
  memset(&st, 0, sizeof st);
  ASSERT_EQ(statfs(dir_.c_str(), &st), 0) << strerror(errno);
  EXPECT_GT(st.f_bsize, 0);
  EXPECT_EQ(st.f_namelen, 255);
}

TEST_F(Statfs, FstatfsOnOpenFileSucceeds) {
  std::string p = MakeFile("f");
  int fd = open(p.c_str(), O_RDONLY);
  ASSERT_GE(fd, 0) << strerror(errno);
  struct statfs st;
  memset(&st, 0, sizeof st);
  EXPECT_EQ(fstatfs(fd, &st), 0) << strerror(errno);
  EXPECT_GT(st.f_bsize, 0);
  EXPECT_EQ(st.f_namelen, 255);
  close(fd);
}

TEST_F(Statfs, FstatfsOnDirectoryFdSucceeds) {
  int fd = open(dir_.c_str(), O_RDONLY | O_DIRECTORY);
  ASSERT_GE(fd, 0) << strerror(errno);
  struct statfs st;
  memset(&st, 0, sizeof st);
  EXPECT_EQ(fstatfs(fd, &st), 0) << strerror(errno);
  EXPECT_GT(st.f_bsize, 0);
  EXPECT_EQ(st.f_namelen, 255);
  close(fd);
}

TEST_F(Statfs, FstatfsOnOpathFdSucceeds) {
  std::string p = MakeFile("f");
  int fd = open(p.c_str(), O_PATH);
  ASSERT_GE(fd, 0) << strerror(errno);
  struct statfs st;
  memset(&st, 0, sizeof st);
  EXPECT_EQ(fstatfs(fd, &st), 0) << strerror(errno);
  EXPECT_EQ(st.f_namelen, 255);
  close(fd);
}

TEST_F(Statfs, StatfsAndFstatfsAgreeForSameFile) {
  std::string p = MakeFile("f");
  int fd = open(p.c_str(), O_RDONLY);
  ASSERT_GE(fd, 0) << strerror(errno);
  struct statfs a, b;
  memset(&a, 0, sizeof a);
  memset(&b, 0, sizeof b);
  ASSERT_EQ(statfs(p.c_str(), &a), 0) << strerror(errno);
  ASSERT_EQ(fstatfs(fd, &b), 0) << strerror(errno);
  EXPECT_EQ(a.f_type, b.f_type);
  EXPECT_EQ(a.f_bsize, b.f_bsize);
  EXPECT_EQ(a.f_namelen, b.f_namelen);
  close(fd);
}

TEST_F(Statfs, StatfsAndFstatfsAgreeForRoot) {
  int fd = open("/", O_RDONLY | O_DIRECTORY);
  ASSERT_GE(fd, 0) << strerror(errno);
  struct statfs a, b;
  memset(&a, 0, sizeof a);
  memset(&b, 0, sizeof b);
  ASSERT_EQ(statfs("/", &a), 0) << strerror(errno);
  ASSERT_EQ(fstatfs(fd, &b), 0) << strerror(errno);
  EXPECT_EQ(a.f_type, b.f_type);
  EXPECT_EQ(a.f_bsize, b.f_bsize);
  EXPECT_EQ(a.f_namelen, b.f_namelen);
  close(fd);
}

TEST_F(Statfs, BlockCountsAreConsistent) {
  std::string p = MakeFile("f");
  struct statfs st;
  memset(&st, 0, sizeof st);
  ASSERT_EQ(statfs(p.c_str(), &st), 0) << strerror(errno);
  EXPECT_LE(st.f_bfree, st.f_blocks);
  EXPECT_LE(st.f_bavail, st.f_bfree);
  EXPECT_LE(st.f_ffree, st.f_files);
}

TEST_F(Statfs, FlagsIncludeStValid) {
  // Since Linux 2.6.36 the kernel always sets ST_VALID (0x0020) in f_flags.
  struct statfs st;
  memset(&st, 0, sizeof st);
  ASSERT_EQ(statfs(dir_.c_str(), &st), 0) << strerror(errno);
  EXPECT_NE(st.f_flags & 0x0020, 0u) << "f_flags=" << std::hex << st.f_flags;
}

TEST_F(Statfs, SymlinkIsFollowed) {
  std::string target = MakeFile("target");
  std::string link = MakeSymlink("link", target);
  struct statfs a, b;
  memset(&a, 0, sizeof a);
  memset(&b, 0, sizeof b);
  ASSERT_EQ(statfs(link.c_str(), &a), 0) << strerror(errno);
  ASSERT_EQ(statfs(target.c_str(), &b), 0) << strerror(errno);
  EXPECT_EQ(a.f_type, b.f_type);
  EXPECT_EQ(a.f_bsize, b.f_bsize);
}

TEST_F(Statfs, DanglingSymlinkIsEnoent) {
  std::string link = MakeSymlink("dangling", Path("nowhere"));
  struct statfs st;
  errno = 0;
  EXPECT_EQ(statfs(link.c_str(), &st), -1);
  EXPECT_EQ(errno, ENOENT);
}

TEST_F(Statfs, MissingPathIsEnoent) {
  struct statfs st;
  errno = 0;
  EXPECT_EQ(statfs(Path("missing").c_str(), &st), -1);
  EXPECT_EQ(errno, ENOENT);
}

TEST_F(Statfs, EmptyPathIsEnoent) {
  struct statfs st;
  errno = 0;
  EXPECT_EQ(RawStatfs("", &st), -1);
  EXPECT_EQ(errno, ENOENT);
}

TEST_F(Statfs, PathThroughFileIsEnotdir) {
  std::string p = MakeFile("f");
  struct statfs st;
  errno = 0;
  EXPECT_EQ(statfs((p + "/x").c_str(), &st), -1);
  EXPECT_EQ(errno, ENOTDIR);
}

TEST_F(Statfs, TrailingSlashOnFileIsEnotdir) {
  std::string p = MakeFile("f");
  struct statfs st;
  errno = 0;
  EXPECT_EQ(statfs((p + "/").c_str(), &st), -1);
  EXPECT_EQ(errno, ENOTDIR);
}

TEST_F(Statfs, BadBufIsEfault) {
  errno = 0;
  EXPECT_EQ(RawStatfs("/", BadPtr()), -1);
  EXPECT_EQ(errno, EFAULT);
}

TEST_F(Statfs, BadPathPointerIsEfault) {
  struct statfs st;
  errno = 0;
  EXPECT_EQ(RawStatfs(static_cast<const char*>(BadPtr()), &st), -1);
  EXPECT_EQ(errno, EFAULT);
}

TEST_F(Statfs, FstatfsBadBufIsEfault) {
  int fd = open("/", O_RDONLY | O_DIRECTORY);
  ASSERT_GE(fd, 0) << strerror(errno);
  errno = 0;
  EXPECT_EQ(RawFstatfs(fd, BadPtr()), -1);
  EXPECT_EQ(errno, EFAULT);
  close(fd);
}

TEST_F(Statfs, FstatfsBadFdIsEbadf) {
  struct statfs st;
  errno = 0;
  EXPECT_EQ(fstatfs(ClosedFd(), &st), -1);
  EXPECT_EQ(errno, EBADF);
}

TEST_F(Statfs, FstatfsNegativeFdIsEbadf) {
  struct statfs st;
  errno = 0;
  EXPECT_EQ(fstatfs(-1, &st), -1);
  EXPECT_EQ(errno, EBADF);
}

TEST_F(Statfs, ComponentOver255BytesIsEnametoolong) {
  std::string p = Path(std::string(256, 'a'));
  struct statfs st;
  errno = 0;
  EXPECT_EQ(statfs(p.c_str(), &st), -1);
  EXPECT_EQ(errno, ENAMETOOLONG);
}

TEST_F(Statfs, PathOf4096BytesIsEnametoolong) {
  // PATH_MAX (4096) includes the terminating NUL, so 4096 chars is too long.
  std::string p = "/";
  while (p.size() < 4096) p += "a/";
  p.resize(4096);
  struct statfs st;
  errno = 0;
  EXPECT_EQ(statfs(p.c_str(), &st), -1);
  EXPECT_EQ(errno, ENAMETOOLONG);
}

TEST_F(Statfs, DevNullSucceeds) {
  struct statfs st;
  memset(&st, 0, sizeof st);
  ASSERT_EQ(statfs("/dev/null", &st), 0) << strerror(errno);
  EXPECT_GT(st.f_bsize, 0);
}

TEST_F(Statfs, FstatfsOnDevNullAgreesWithStatfs) {
  int fd = open("/dev/null", O_RDWR);
  ASSERT_GE(fd, 0) << strerror(errno);
  struct statfs a, b;
  memset(&a, 0, sizeof a);
  memset(&b, 0, sizeof b);
  ASSERT_EQ(statfs("/dev/null", &a), 0) << strerror(errno);
  ASSERT_EQ(fstatfs(fd, &b), 0) << strerror(errno);
  EXPECT_GT(b.f_bsize, 0);
  EXPECT_EQ(a.f_type, b.f_type);
  EXPECT_EQ(a.f_bsize, b.f_bsize);
  EXPECT_EQ(a.f_namelen, b.f_namelen);
  close(fd);
}

// ------------------------------------------------------ utimensat/futimens

TEST_F(Utimensat, SetsExplicitTimes) {
  std::string p = MakeFile("f");
  struct timespec ts[2] = {kAtime, kMtime};
  ASSERT_EQ(utimensat(AT_FDCWD, p.c_str(), ts, 0), 0) << strerror(errno);
  struct stat st;
  ASSERT_EQ(stat(p.c_str(), &st), 0);
  EXPECT_EQ(st.st_atim.tv_sec, kAtime.tv_sec);
  EXPECT_EQ(st.st_atim.tv_nsec, kAtime.tv_nsec);
  EXPECT_EQ(st.st_mtim.tv_sec, kMtime.tv_sec);
  EXPECT_EQ(st.st_mtim.tv_nsec, kMtime.tv_nsec);
}

TEST_F(Utimensat, SetsTimesOnDirectory) {
  std::string d = Path("d");
  ASSERT_EQ(mkdir(d.c_str(), 0755), 0);
  struct timespec ts[2] = {kAtime, kMtime};
  ASSERT_EQ(utimensat(AT_FDCWD, d.c_str(), ts, 0), 0) << strerror(errno);
  struct stat st;
  ASSERT_EQ(stat(d.c_str(), &st), 0);
  EXPECT_EQ(Ns(st.st_atim), Ns(kAtime));
  EXPECT_EQ(Ns(st.st_mtim), Ns(kMtime));
}

TEST_F(Utimensat, ZeroAndPreEpochTimes) {
  std::string p = MakeFile("f");
  struct timespec ts[2] = {{0, 0}, {-1000, 0}};
  ASSERT_EQ(utimensat(AT_FDCWD, p.c_str(), ts, 0), 0) << strerror(errno);
  struct stat st;
  ASSERT_EQ(stat(p.c_str(), &st), 0);
  EXPECT_EQ(st.st_atim.tv_sec, 0);
  EXPECT_EQ(st.st_atim.tv_nsec, 0);
  EXPECT_EQ(st.st_mtim.tv_sec, -1000);
  EXPECT_EQ(st.st_mtim.tv_nsec, 0);
}

TEST_F(Utimensat, UtimeNowForAtimeOnly) {
  std::string p = MakeFile("f");
  struct timespec ts[2] = {kAtime, kMtime};
  ASSERT_EQ(utimensat(AT_FDCWD, p.c_str(), ts, 0), 0);
  int64_t before = NowNs();
  struct timespec now_omit[2] = {{0, UTIME_NOW}, {0, UTIME_OMIT}};
  ASSERT_EQ(utimensat(AT_FDCWD, p.c_str(), now_omit, 0), 0) << strerror(errno);
  int64_t after = NowNs();
  struct stat st;
  ASSERT_EQ(stat(p.c_str(), &st), 0);
  EXPECT_GE(Ns(st.st_atim), before - kSlack);
  EXPECT_LE(Ns(st.st_atim), after + kSlack);
  EXPECT_EQ(Ns(st.st_mtim), Ns(kMtime));
}

TEST_F(Utimensat, UtimeNowForMtimeOnly) {
  std::string p = MakeFile("f");
  struct timespec ts[2] = {kAtime, kMtime};
  ASSERT_EQ(utimensat(AT_FDCWD, p.c_str(), ts, 0), 0);
  int64_t before = NowNs();
  struct timespec omit_now[2] = {{0, UTIME_OMIT}, {0, UTIME_NOW}};
  ASSERT_EQ(utimensat(AT_FDCWD, p.c_str(), omit_now, 0), 0) << strerror(errno);
  int64_t after = NowNs();
  struct stat st;
  ASSERT_EQ(stat(p.c_str(), &st), 0);
  EXPECT_EQ(Ns(st.st_atim), Ns(kAtime));
  EXPECT_GE(Ns(st.st_mtim), before - kSlack);
  EXPECT_LE(Ns(st.st_mtim), after + kSlack);
}

TEST_F(Utimensat, UtimeNowForBoth) {
  std::string p = MakeFile("f");
  struct timespec ts[2] = {kAtime, kMtime};
  ASSERT_EQ(utimensat(AT_FDCWD, p.c_str(), ts, 0), 0);
  int64_t before = NowNs();
  struct timespec now_now[2] = {{0, UTIME_NOW}, {0, UTIME_NOW}};
  ASSERT_EQ(utimensat(AT_FDCWD, p.c_str(), now_now, 0), 0) << strerror(errno);
  int64_t after = NowNs();
  struct stat st;
  ASSERT_EQ(stat(p.c_str(), &st), 0);
  EXPECT_GE(Ns(st.st_atim), before - kSlack);
  EXPECT_LE(Ns(st.st_atim), after + kSlack);
  EXPECT_GE(Ns(st.st_mtim), before - kSlack);
  EXPECT_LE(Ns(st.st_mtim), after + kSlack);
}

TEST_F(Utimensat, UtimeOmitAtimeSetsOnlyMtime) {
  std::string p = MakeFile("f");
  struct timespec ts[2] = {kAtime, kMtime};
  ASSERT_EQ(utimensat(AT_FDCWD, p.c_str(), ts, 0), 0);
  struct timespec omit_set[2] = {{0, UTIME_OMIT}, kMtime2};
  ASSERT_EQ(utimensat(AT_FDCWD, p.c_str(), omit_set, 0), 0) << strerror(errno);
  struct stat st;
  ASSERT_EQ(stat(p.c_str(), &st), 0);
  EXPECT_EQ(Ns(st.st_atim), Ns(kAtime));
  EXPECT_EQ(Ns(st.st_mtim), Ns(kMtime2));
}

TEST_F(Utimensat, UtimeOmitMtimeSetsOnlyAtime) {
  std::string p = MakeFile("f");
  struct timespec ts[2] = {kAtime, kMtime};
  ASSERT_EQ(utimensat(AT_FDCWD, p.c_str(), ts, 0), 0);
  struct timespec set_omit[2] = {kAtime2, {0, UTIME_OMIT}};
  ASSERT_EQ(utimensat(AT_FDCWD, p.c_str(), set_omit, 0), 0) << strerror(errno);
  struct stat st;
  ASSERT_EQ(stat(p.c_str(), &st), 0);
  EXPECT_EQ(Ns(st.st_atim), Ns(kAtime2));
  EXPECT_EQ(Ns(st.st_mtim), Ns(kMtime));
}

TEST_F(Utimensat, UtimeOmitBothChangesNothing) {
  std::string p = MakeFile("f");
  struct timespec ts[2] = {kAtime, kMtime};
  ASSERT_EQ(utimensat(AT_FDCWD, p.c_str(), ts, 0), 0);
  struct stat before;
  ASSERT_EQ(stat(p.c_str(), &before), 0);
  SleepMs(30);
  struct timespec omit_omit[2] = {{0, UTIME_OMIT}, {0, UTIME_OMIT}};
  ASSERT_EQ(utimensat(AT_FDCWD, p.c_str(), omit_omit, 0), 0) << strerror(errno);
  struct stat st;
  ASSERT_EQ(stat(p.c_str(), &st), 0);
  EXPECT_EQ(Ns(st.st_atim), Ns(kAtime));
  EXPECT_EQ(Ns(st.st_mtim), Ns(kMtime));
  // Linux returns early when both are UTIME_OMIT: ctime is untouched too.
  EXPECT_EQ(Ns(st.st_ctim), Ns(before.st_ctim));
}

TEST_F(Utimensat, OmitIgnoresTvSec) {
  // With UTIME_NOW / UTIME_OMIT in tv_nsec, tv_sec is ignored.
  std::string p = MakeFile("f");
  struct timespec ts[2] = {kAtime, kMtime};
  ASSERT_EQ(utimensat(AT_FDCWD, p.c_str(), ts, 0), 0);
  struct timespec weird[2] = {{-12345, UTIME_OMIT}, {999999, UTIME_OMIT}};
  EXPECT_EQ(utimensat(AT_FDCWD, p.c_str(), weird, 0), 0) << strerror(errno);
  struct stat st;
  ASSERT_EQ(stat(p.c_str(), &st), 0);
  EXPECT_EQ(Ns(st.st_atim), Ns(kAtime));
  EXPECT_EQ(Ns(st.st_mtim), Ns(kMtime));
}

TEST_F(Utimensat, NullTimesSetsBothToNow) {
  std::string p = MakeFile("f");
  struct timespec ts[2] = {kAtime, kMtime};
  ASSERT_EQ(utimensat(AT_FDCWD, p.c_str(), ts, 0), 0);
  int64_t before = NowNs();
  ASSERT_EQ(utimensat(AT_FDCWD, p.c_str(), nullptr, 0), 0) << strerror(errno);
  int64_t after = NowNs();
  struct stat st;
  ASSERT_EQ(stat(p.c_str(), &st), 0);
  EXPECT_GE(Ns(st.st_atim), before - kSlack);
  EXPECT_LE(Ns(st.st_atim), after + kSlack);
  EXPECT_GE(Ns(st.st_mtim), before - kSlack);
  EXPECT_LE(Ns(st.st_mtim), after + kSlack);
}

TEST_F(Utimensat, FollowsSymlinkByDefault) {
  std::string target = MakeFile("target");
  std::string link = MakeSymlink("link", target);
  struct stat link_before;
  ASSERT_EQ(lstat(link.c_str(), &link_before), 0);
  struct timespec ts[2] = {kAtime, kMtime};
  ASSERT_EQ(utimensat(AT_FDCWD, link.c_str(), ts, 0), 0) << strerror(errno);
  struct stat st;
  ASSERT_EQ(stat(target.c_str(), &st), 0);
  EXPECT_EQ(Ns(st.st_atim), Ns(kAtime));
  EXPECT_EQ(Ns(st.st_mtim), Ns(kMtime));
  struct stat lst;
  ASSERT_EQ(lstat(link.c_str(), &lst), 0);
  EXPECT_EQ(Ns(lst.st_mtim), Ns(link_before.st_mtim));
}

TEST_F(Utimensat, SymlinkNofollowChangesLinkNotTarget) {
  std::string target = MakeFile("target");
  std::string link = MakeSymlink("link", target);
  struct timespec tts[2] = {kAtime2, kMtime2};
  ASSERT_EQ(utimensat(AT_FDCWD, target.c_str(), tts, 0), 0);
  struct timespec ts[2] = {kAtime, kMtime};
  ASSERT_EQ(utimensat(AT_FDCWD, link.c_str(), ts, AT_SYMLINK_NOFOLLOW), 0)
      << strerror(errno);
  struct stat lst;
  ASSERT_EQ(lstat(link.c_str(), &lst), 0);
  EXPECT_EQ(Ns(lst.st_atim), Ns(kAtime));
  EXPECT_EQ(Ns(lst.st_mtim), Ns(kMtime));
  struct stat st;
  ASSERT_EQ(stat(target.c_str(), &st), 0);
  EXPECT_EQ(Ns(st.st_atim), Ns(kAtime2));
  EXPECT_EQ(Ns(st.st_mtim), Ns(kMtime2));
}

TEST_F(Utimensat, SymlinkNofollowOnDanglingSymlinkSucceeds) {
  std::string link = MakeSymlink("dangling", Path("nowhere"));
  struct timespec ts[2] = {kAtime, kMtime};
  ASSERT_EQ(utimensat(AT_FDCWD, link.c_str(), ts, AT_SYMLINK_NOFOLLOW), 0)
      << strerror(errno);
  struct stat lst;
  ASSERT_EQ(lstat(link.c_str(), &lst), 0);
  EXPECT_EQ(Ns(lst.st_mtim), Ns(kMtime));
}

TEST_F(Utimensat, DanglingSymlinkWithoutNofollowIsEnoent) {
  std::string link = MakeSymlink("dangling", Path("nowhere"));
  struct timespec ts[2] = {kAtime, kMtime};
  errno = 0;
  EXPECT_EQ(utimensat(AT_FDCWD, link.c_str(), ts, 0), -1);
  EXPECT_EQ(errno, ENOENT);
}

TEST_F(Utimensat, RelativeToDirfd) {
  MakeFile("rel");
  int dfd = open(dir_.c_str(), O_RDONLY | O_DIRECTORY);
  ASSERT_GE(dfd, 0) << strerror(errno);
  struct timespec ts[2] = {kAtime, kMtime};
  EXPECT_EQ(utimensat(dfd, "rel", ts, 0), 0) << strerror(errno);
  close(dfd);
  struct stat st;
  ASSERT_EQ(stat(Path("rel").c_str(), &st), 0);
  EXPECT_EQ(Ns(st.st_atim), Ns(kAtime));
  EXPECT_EQ(Ns(st.st_mtim), Ns(kMtime));
}

TEST_F(Utimensat, AbsolutePathIgnoresDirfd) {
  std::string p = MakeFile("f");
  struct timespec ts[2] = {kAtime, kMtime};
  EXPECT_EQ(utimensat(ClosedFd(), p.c_str(), ts, 0), 0) << strerror(errno);
  struct stat st;
  ASSERT_EQ(stat(p.c_str(), &st), 0);
  EXPECT_EQ(Ns(st.st_mtim), Ns(kMtime));
}

TEST_F(Utimensat, NullPathWithFdActsOnFd) {
  // Linux extension: utimensat(fd, NULL, ...) operates on fd itself (this is
  // how glibc implements futimens). Use the raw syscall.
  std::string p = MakeFile("f");
  int fd = open(p.c_str(), O_RDWR);
  ASSERT_GE(fd, 0) << strerror(errno);
  struct timespec ts[2] = {kAtime, kMtime};
  EXPECT_EQ(RawUtimensat(fd, nullptr, ts, 0), 0) << strerror(errno);
  close(fd);
  struct stat st;
  ASSERT_EQ(stat(p.c_str(), &st), 0);
  EXPECT_EQ(Ns(st.st_atim), Ns(kAtime));
  EXPECT_EQ(Ns(st.st_mtim), Ns(kMtime));
}

TEST_F(Utimensat, ChangesCtime) {
  std::string p = MakeFile("f");
  struct stat before;
  ASSERT_EQ(stat(p.c_str(), &before), 0);
  SleepMs(50);
  struct timespec ts[2] = {kAtime, kMtime};
  ASSERT_EQ(utimensat(AT_FDCWD, p.c_str(), ts, 0), 0) << strerror(errno);
  struct stat st;
  ASSERT_EQ(stat(p.c_str(), &st), 0);
  EXPECT_GT(Ns(st.st_ctim), Ns(before.st_ctim));
  // ctime is set to the current time, not to the supplied times.
  EXPECT_GE(Ns(st.st_ctim), NowNs() - kSlack);
}

TEST_F(Utimensat, NsecOutOfRangeIsEinval) {
  std::string p = MakeFile("f");
  struct timespec ts[2] = {{0, 1000000000}, kMtime};
  errno = 0;
  EXPECT_EQ(utimensat(AT_FDCWD, p.c_str(), ts, 0), -1);
  EXPECT_EQ(errno, EINVAL);
}

TEST_F(Utimensat, MtimeNsecOutOfRangeIsEinval) {
  std::string p = MakeFile("f");
  struct timespec ts[2] = {kAtime, {0, 1000000000}};
  errno = 0;
  EXPECT_EQ(utimensat(AT_FDCWD, p.c_str(), ts, 0), -1);
  EXPECT_EQ(errno, EINVAL);
}

TEST_F(Utimensat, NegativeNsecIsEinval) {
  std::string p = MakeFile("f");
  struct timespec ts[2] = {{0, -1}, kMtime};
  errno = 0;
  EXPECT_EQ(utimensat(AT_FDCWD, p.c_str(), ts, 0), -1);
  EXPECT_EQ(errno, EINVAL);
}

TEST_F(Utimensat, InvalidNsecLeavesTimesUnchanged) {
  std::string p = MakeFile("f");
  struct timespec ts[2] = {kAtime, kMtime};
  ASSERT_EQ(utimensat(AT_FDCWD, p.c_str(), ts, 0), 0);
  struct timespec bad[2] = {kAtime2, {0, 1000000000}};
  EXPECT_EQ(utimensat(AT_FDCWD, p.c_str(), bad, 0), -1);
  struct stat st;
  ASSERT_EQ(stat(p.c_str(), &st), 0);
  EXPECT_EQ(Ns(st.st_atim), Ns(kAtime));
  EXPECT_EQ(Ns(st.st_mtim), Ns(kMtime));
}

TEST_F(Utimensat, UnknownFlagIsEinval) {
  std::string p = MakeFile("f");
  struct timespec ts[2] = {kAtime, kMtime};
  errno = 0;
  EXPECT_EQ(RawUtimensat(AT_FDCWD, p.c_str(), ts, AT_REMOVEDIR), -1);
  EXPECT_EQ(errno, EINVAL);
  errno = 0;
  EXPECT_EQ(RawUtimensat(AT_FDCWD, p.c_str(), ts, 0x40000000), -1);
  EXPECT_EQ(errno, EINVAL);
}

TEST_F(Utimensat, MissingFileIsEnoent) {
  struct timespec ts[2] = {kAtime, kMtime};
  errno = 0;
  EXPECT_EQ(utimensat(AT_FDCWD, Path("missing").c_str(), ts, 0), -1);
  EXPECT_EQ(errno, ENOENT);
}

TEST_F(Utimensat, MissingFileWithNullTimesIsEnoent) {
  errno = 0;
  EXPECT_EQ(utimensat(AT_FDCWD, Path("missing").c_str(), nullptr, 0), -1);
  EXPECT_EQ(errno, ENOENT);
}

TEST_F(Utimensat, PathThroughFileIsEnotdir) {
  std::string p = MakeFile("f");
  struct timespec ts[2] = {kAtime, kMtime};
  errno = 0;
  EXPECT_EQ(utimensat(AT_FDCWD, (p + "/x").c_str(), ts, 0), -1);
  EXPECT_EQ(errno, ENOTDIR);
}

TEST_F(Utimensat, BadTimesPointerIsEfault) {
  std::string p = MakeFile("f");
  errno = 0;
  EXPECT_EQ(RawUtimensat(AT_FDCWD, p.c_str(), BadPtr(), 0), -1);
  EXPECT_EQ(errno, EFAULT);
}

TEST_F(Utimensat, BadPathPointerIsEfault) {
  struct timespec ts[2] = {kAtime, kMtime};
  errno = 0;
  EXPECT_EQ(RawUtimensat(AT_FDCWD, static_cast<const char*>(BadPtr()), ts, 0),
            -1);
  EXPECT_EQ(errno, EFAULT);
}

TEST_F(Utimensat, NullPathWithAtFdcwdIsEfault) {
  struct timespec ts[2] = {kAtime, kMtime};
  errno = 0;
  EXPECT_EQ(RawUtimensat(AT_FDCWD, nullptr, ts, 0), -1);
  EXPECT_EQ(errno, EFAULT);
}

TEST_F(Utimensat, BadDirfdWithRelativePathIsEbadf) {
  struct timespec ts[2] = {kAtime, kMtime};
  errno = 0;
  EXPECT_EQ(utimensat(ClosedFd(), "rel", ts, 0), -1);
  EXPECT_EQ(errno, EBADF);
}

TEST_F(Utimensat, FileDirfdWithRelativePathIsEnotdir) {
  std::string p = MakeFile("f");
  int fd = open(p.c_str(), O_RDONLY);
  ASSERT_GE(fd, 0) << strerror(errno);
  struct timespec ts[2] = {kAtime, kMtime};
  errno = 0;
  EXPECT_EQ(utimensat(fd, "rel", ts, 0), -1);
  EXPECT_EQ(errno, ENOTDIR);
  close(fd);
}

TEST_F(Utimensat, NonOwnerExplicitTimesIsEperm) {
  if (geteuid() == 0) GTEST_SKIP() << "root (CAP_FOWNER) may set any times";
  struct stat st;
  ASSERT_EQ(stat("/etc/passwd", &st), 0);
  if (st.st_uid == geteuid()) GTEST_SKIP() << "/etc/passwd is owned by us";
  struct timespec ts[2] = {kAtime, kMtime};
  errno = 0;
  EXPECT_EQ(utimensat(AT_FDCWD, "/etc/passwd", ts, 0), -1);
  EXPECT_EQ(errno, EPERM);
}

TEST_F(Utimensat, NonOwnerWithoutWriteNullTimesIsEacces) {
  if (geteuid() == 0) GTEST_SKIP() << "root bypasses write permission";
  struct stat st;
  ASSERT_EQ(stat("/etc/passwd", &st), 0);
  if (st.st_uid == geteuid()) GTEST_SKIP() << "/etc/passwd is owned by us";
  if (access("/etc/passwd", W_OK) == 0) GTEST_SKIP() << "/etc/passwd writable";
  errno = 0;
  EXPECT_EQ(utimensat(AT_FDCWD, "/etc/passwd", nullptr, 0), -1);
  EXPECT_EQ(errno, EACCES);
}

TEST_F(Utimensat, OwnerWithoutWritePermissionMaySetNow) {
  if (geteuid() == 0) GTEST_SKIP() << "only meaningful without privileges";
  std::string p = MakeFile("ro", 0444);
  EXPECT_EQ(utimensat(AT_FDCWD, p.c_str(), nullptr, 0), 0) << strerror(errno);
  struct timespec ts[2] = {kAtime, kMtime};
  EXPECT_EQ(utimensat(AT_FDCWD, p.c_str(), ts, 0), 0) << strerror(errno);
}

TEST_F(Futimens, SetsExplicitTimesOnOpenFile) {
  std::string p = MakeFile("f");
  int fd = open(p.c_str(), O_RDWR);
  ASSERT_GE(fd, 0) << strerror(errno);
  struct timespec ts[2] = {kAtime, kMtime};
  EXPECT_EQ(futimens(fd, ts), 0) << strerror(errno);
  struct stat st;
  ASSERT_EQ(fstat(fd, &st), 0);
  EXPECT_EQ(Ns(st.st_atim), Ns(kAtime));
  EXPECT_EQ(Ns(st.st_mtim), Ns(kMtime));
  close(fd);
  ASSERT_EQ(stat(p.c_str(), &st), 0);
  EXPECT_EQ(Ns(st.st_atim), Ns(kAtime));
  EXPECT_EQ(Ns(st.st_mtim), Ns(kMtime));
}

TEST_F(Futimens, WorksOnReadOnlyFd) {
  std::string p = MakeFile("f");
  int fd = open(p.c_str(), O_RDONLY);
  ASSERT_GE(fd, 0) << strerror(errno);
  struct timespec ts[2] = {kAtime, kMtime};
  EXPECT_EQ(futimens(fd, ts), 0) << strerror(errno);
  struct stat st;
  ASSERT_EQ(fstat(fd, &st), 0);
  EXPECT_EQ(Ns(st.st_mtim), Ns(kMtime));
  close(fd);
}

TEST_F(Futimens, NullTimesSetsBothToNow) {
  std::string p = MakeFile("f");
  int fd = open(p.c_str(), O_RDWR);
  ASSERT_GE(fd, 0) << strerror(errno);
  struct timespec ts[2] = {kAtime, kMtime};
  ASSERT_EQ(futimens(fd, ts), 0) << strerror(errno);
  int64_t before = NowNs();
  EXPECT_EQ(futimens(fd, nullptr), 0) << strerror(errno);
  int64_t after = NowNs();
  struct stat st;
  ASSERT_EQ(fstat(fd, &st), 0);
  EXPECT_GE(Ns(st.st_atim), before - kSlack);
  EXPECT_LE(Ns(st.st_atim), after + kSlack);
  EXPECT_GE(Ns(st.st_mtim), before - kSlack);
  EXPECT_LE(Ns(st.st_mtim), after + kSlack);
  close(fd);
}

TEST_F(Futimens, UtimeOmitAndNow) {
  std::string p = MakeFile("f");
  int fd = open(p.c_str(), O_RDWR);
  ASSERT_GE(fd, 0) << strerror(errno);
  struct timespec ts[2] = {kAtime, kMtime};
  ASSERT_EQ(futimens(fd, ts), 0) << strerror(errno);
  int64_t before = NowNs();
  struct timespec omit_now[2] = {{0, UTIME_OMIT}, {0, UTIME_NOW}};
  EXPECT_EQ(futimens(fd, omit_now), 0) << strerror(errno);
  int64_t after = NowNs();
  struct stat st;
  ASSERT_EQ(fstat(fd, &st), 0);
  EXPECT_EQ(Ns(st.st_atim), Ns(kAtime));
  EXPECT_GE(Ns(st.st_mtim), before - kSlack);
  EXPECT_LE(Ns(st.st_mtim), after + kSlack);
  close(fd);
}

TEST_F(Futimens, WorksOnDirectoryFd) {
  int fd = open(dir_.c_str(), O_RDONLY | O_DIRECTORY);
  ASSERT_GE(fd, 0) << strerror(errno);
  struct timespec ts[2] = {kAtime, kMtime};
  EXPECT_EQ(futimens(fd, ts), 0) << strerror(errno);
  struct stat st;
  ASSERT_EQ(fstat(fd, &st), 0);
  EXPECT_EQ(Ns(st.st_mtim), Ns(kMtime));
  close(fd);
}

TEST_F(Futimens, WorksAfterUnlink) {
  std::string p = MakeFile("f");
  int fd = open(p.c_str(), O_RDWR);
  ASSERT_GE(fd, 0) << strerror(errno);
  ASSERT_EQ(unlink(p.c_str()), 0);
  struct timespec ts[2] = {kAtime, kMtime};
  EXPECT_EQ(futimens(fd, ts), 0) << strerror(errno);
  struct stat st;
  ASSERT_EQ(fstat(fd, &st), 0);
  EXPECT_EQ(Ns(st.st_atim), Ns(kAtime));
  EXPECT_EQ(Ns(st.st_mtim), Ns(kMtime));
  close(fd);
}

TEST_F(Futimens, ChangesCtime) {
  std::string p = MakeFile("f");
  int fd = open(p.c_str(), O_RDWR);
  ASSERT_GE(fd, 0) << strerror(errno);
  struct stat before;
  ASSERT_EQ(fstat(fd, &before), 0);
  SleepMs(50);
  struct timespec ts[2] = {kAtime, kMtime};
  ASSERT_EQ(futimens(fd, ts), 0) << strerror(errno);
  struct stat st;
  ASSERT_EQ(fstat(fd, &st), 0);
  EXPECT_GT(Ns(st.st_ctim), Ns(before.st_ctim));
  close(fd);
}

TEST_F(Futimens, BadFdIsEbadf) {
  struct timespec ts[2] = {kAtime, kMtime};
  errno = 0;
  EXPECT_EQ(futimens(ClosedFd(), ts), -1);
  EXPECT_EQ(errno, EBADF);
}

TEST_F(Futimens, NsecOutOfRangeIsEinval) {
  std::string p = MakeFile("f");
  int fd = open(p.c_str(), O_RDWR);
  ASSERT_GE(fd, 0) << strerror(errno);
  struct timespec ts[2] = {kAtime, {0, 1000000000}};
  errno = 0;
  EXPECT_EQ(futimens(fd, ts), -1);
  EXPECT_EQ(errno, EINVAL);
  close(fd);
}

TEST_F(Futimens, BadTimesPointerIsEfault) {
  std::string p = MakeFile("f");
  int fd = open(p.c_str(), O_RDWR);
  ASSERT_GE(fd, 0) << strerror(errno);
  errno = 0;
  EXPECT_EQ(RawUtimensat(fd, nullptr, BadPtr(), 0), -1);
  EXPECT_EQ(errno, EFAULT);
  close(fd);
}

}  // namespace
