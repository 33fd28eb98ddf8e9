// memfd_create(2) and file seals (fcntl F_ADD_SEALS, F_GET_SEALS).
#include <fcntl.h>
#include <linux/magic.h>
#include <linux/memfd.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/vfs.h>
#include <sys/wait.h>
#include <unistd.h>

#include <string>

#include <gtest/gtest.h>

#include "test_util.h"

// Newer than some headers (Linux 6.3).
#ifndef MFD_NOEXEC_SEAL
#define MFD_NOEXEC_SEAL 0x0008U
#endif
#ifndef MFD_EXEC
#define MFD_EXEC 0x0010U
#endif
#ifndef F_SEAL_EXEC
#define F_SEAL_EXEC 0x0020
#endif

namespace {

using husk_test::BadPtr;
using husk_test::RunInChild;

constexpr int kAllSealsButExec = F_SEAL_SEAL | F_SEAL_SHRINK | F_SEAL_GROW | F_SEAL_WRITE | F_SEAL_FUTURE_WRITE;

class MemfdTest : public ::testing::Test {
 protected:
  void TearDown() override {
    for (int fd : fds_) close(fd);
  }
  int Memfd(const char* name, unsigned flags) {
    int fd = memfd_create(name, flags);
    EXPECT_GE(fd, 0) << strerror(errno);
    if (fd >= 0) fds_.push_back(fd);
    return fd;
  }
  // A sealable memfd of `size` bytes.
  int Sealable(off_t size = 4096) {
    int fd = Memfd("sealable", MFD_ALLOW_SEALING);
    EXPECT_EQ(ftruncate(fd, size), 0);
    return fd;
  }
  std::vector<int> fds_;
};

std::string FdLink(int fd) {
  char buf[512];
  const std::string path = "/proc/self/fd/" + std::to_string(fd);
  ssize_t n = readlink(path.c_str(), buf, sizeof(buf));
  return n < 0 ? "" : std::string(buf, n);
}

// --- memfd_create ---

TEST_F(MemfdTest, IsAnUnnamedExecutableRegularFile) {
  int fd = Memfd("hello", 0);
  struct stat st;
  ASSERT_EQ(fstat(fd, &st), 0);
  EXPECT_EQ(st.st_mode, S_IFREG | 0777);
  EXPECT_EQ(st.st_nlink, 0u);
  EXPECT_EQ(st.st_size, 0);
  EXPECT_EQ(st.st_uid, geteuid());
  EXPECT_EQ(FdLink(fd), "/memfd:hello (deleted)");
  EXPECT_EQ(fcntl(fd, F_GETFL), O_RDWR | 0100000 /* O_LARGEFILE */);
  EXPECT_EQ(fcntl(fd, F_GETFD), 0);
}

TEST_F(MemfdTest, CloexecFlag) {
  int fd = Memfd("c", MFD_CLOEXEC);
  EXPECT_EQ(fcntl(fd, F_GETFD), FD_CLOEXEC);
}

TEST_F(MemfdTest, EmptyNameIsAllowed) {
  int fd = Memfd("", 0);
  EXPECT_EQ(FdLink(fd), "/memfd: (deleted)");
}

TEST_F(MemfdTest, ReadWriteSeekTruncate) {
  int fd = Memfd("rw", 0);
  ASSERT_EQ(write(fd, "hello world", 11), 11);
  char buf[16] = {};
  EXPECT_EQ(pread(fd, buf, sizeof(buf), 6), 5);
  EXPECT_STREQ(buf, "world");
  EXPECT_EQ(lseek(fd, 0, SEEK_END), 11);
  ASSERT_EQ(ftruncate(fd, 5), 0);
  struct stat st;
  ASSERT_EQ(fstat(fd, &st), 0);
  EXPECT_EQ(st.st_size, 5);
  ASSERT_EQ(ftruncate(fd, 1 << 20), 0);
  EXPECT_EQ(pread(fd, buf, 4, 1000), 4);
  EXPECT_EQ(buf[0], 0);
}

TEST_F(MemfdTest, NameLimitIs249) {
  std::string name(249, 'a');
  Memfd(name.c_str(), 0);
  name += 'a';
  EXPECT_FAILS_WITH(memfd_create(name.c_str(), 0), EINVAL);
}

TEST_F(MemfdTest, BadNamePointerIsEfault) {
  EXPECT_FAILS_WITH(memfd_create(static_cast<const char*>(BadPtr()), 0), EFAULT);
  EXPECT_FAILS_WITH(memfd_create(nullptr, 0), EFAULT);
}

TEST_F(MemfdTest, BadFlagsAreEinval) {
  EXPECT_FAILS_WITH(memfd_create("x", 0x1000), EINVAL);
  EXPECT_FAILS_WITH(memfd_create("x", MFD_EXEC | MFD_NOEXEC_SEAL), EINVAL);
  // Huge page sizes only with MFD_HUGETLB.
  EXPECT_FAILS_WITH(memfd_create("x", 21U << MFD_HUGE_SHIFT), EINVAL);
}

// Whether MFD_HUGETLB works depends on hugetlbfs: a kernel without it says
// ENOSYS, and the sandbox has none.
TEST_F(MemfdTest, HugetlbWorksOrIsUnsupported) {
  int fd = memfd_create("huge", MFD_HUGETLB);
  if (fd >= 0) {
    close(fd);
    return;
  }
  EXPECT_TRUE(errno == ENOSYS || errno == ENODEV || errno == EINVAL) << strerror(errno);
}

TEST_F(MemfdTest, ReopenThroughProcSharesTheContent) {
  int fd = Memfd("shared", 0);
  ASSERT_EQ(write(fd, "abc", 3), 3);
  const std::string path = "/proc/self/fd/" + std::to_string(fd);
  int again = open(path.c_str(), O_RDONLY);
  ASSERT_GE(again, 0) << strerror(errno);
  char buf[4] = {};
  EXPECT_EQ(read(again, buf, 3), 3);
  EXPECT_STREQ(buf, "abc");
  close(again);
}

TEST_F(MemfdTest, SharedMappingIsSharedWithAChild) {
  int fd = Memfd("map", 0);
  ASSERT_EQ(ftruncate(fd, 8192), 0);
  char* p = static_cast<char*>(mmap(nullptr, 8192, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0));
  ASSERT_NE(p, MAP_FAILED);
  pid_t pid = fork();
  if (pid == 0) {
    strcpy(p, "from child");
    // A mapping of its own, made after the fork, is the same memory.
    char* q = static_cast<char*>(mmap(nullptr, 8192, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0));
    if (q == MAP_FAILED) _exit(1);
    strcpy(q + 4096, "second");
    _exit(0);
  }
  int status;
  ASSERT_EQ(waitpid(pid, &status, 0), pid);
  ASSERT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0);
  EXPECT_STREQ(p, "from child");
  EXPECT_STREQ(p + 4096, "second");
  char buf[11] = {};
  EXPECT_EQ(pread(fd, buf, 10, 0), 10);
  EXPECT_STREQ(buf, "from child");
  munmap(p, 8192);
}

// --- Seals ---

TEST_F(MemfdTest, WithoutAllowSealingOnlyFSealSeal) {
  int fd = Memfd("ns", 0);
  EXPECT_EQ(fcntl(fd, F_GET_SEALS), F_SEAL_SEAL);
  EXPECT_FAILS_WITH(fcntl(fd, F_ADD_SEALS, F_SEAL_WRITE), EPERM);
  EXPECT_FAILS_WITH(fcntl(fd, F_ADD_SEALS, 0), EPERM);
}

TEST_F(MemfdTest, AllowSealingStartsWithNoSeals) {
  int fd = Memfd("s", MFD_ALLOW_SEALING);
  EXPECT_EQ(fcntl(fd, F_GET_SEALS), 0);
  EXPECT_EQ(fcntl(fd, F_ADD_SEALS, F_SEAL_SHRINK), 0);
  EXPECT_EQ(fcntl(fd, F_ADD_SEALS, F_SEAL_GROW), 0);
  EXPECT_EQ(fcntl(fd, F_GET_SEALS), F_SEAL_SHRINK | F_SEAL_GROW);
  EXPECT_EQ(fcntl(fd, F_ADD_SEALS, F_SEAL_SEAL), 0);
  EXPECT_FAILS_WITH(fcntl(fd, F_ADD_SEALS, F_SEAL_WRITE), EPERM);
  EXPECT_EQ(fcntl(fd, F_GET_SEALS), F_SEAL_SHRINK | F_SEAL_GROW | F_SEAL_SEAL);
}

TEST_F(MemfdTest, UnknownSealIsEinval) {
  int fd = Memfd("s", MFD_ALLOW_SEALING);
  EXPECT_FAILS_WITH(fcntl(fd, F_ADD_SEALS, 0x1000), EINVAL);
  EXPECT_EQ(fcntl(fd, F_GET_SEALS), 0);
}

TEST_F(MemfdTest, AddingSealsNeedsAWritableFd) {
  int fd = Memfd("s", MFD_ALLOW_SEALING);
  const std::string path = "/proc/self/fd/" + std::to_string(fd);
  int ro = open(path.c_str(), O_RDONLY);
  ASSERT_GE(ro, 0);
  EXPECT_EQ(fcntl(ro, F_GET_SEALS), 0);
  EXPECT_FAILS_WITH(fcntl(ro, F_ADD_SEALS, F_SEAL_GROW), EPERM);
  close(ro);
}

TEST_F(MemfdTest, NoexecSealIsNotExecutableAndSealedSo) {
  int fd = Memfd("nx", MFD_NOEXEC_SEAL);
  struct stat st;
  ASSERT_EQ(fstat(fd, &st), 0);
  EXPECT_EQ(st.st_mode, S_IFREG | 0666);
  EXPECT_EQ(fcntl(fd, F_GET_SEALS), F_SEAL_EXEC);
  EXPECT_FAILS_WITH(fchmod(fd, 0777), EPERM);
  EXPECT_FAILS_WITH(fchmod(fd, 0744), EPERM);
  EXPECT_EQ(fchmod(fd, 0600), 0);  // no x bit changes
  EXPECT_EQ(write(fd, "x", 1), 1);  // implies sealing, not more seals
  EXPECT_EQ(fcntl(fd, F_ADD_SEALS, F_SEAL_GROW), 0);
}

TEST_F(MemfdTest, SealExecOnAnExecutableFileSealsItsContentToo) {
  int fd = Memfd("x", MFD_ALLOW_SEALING);
  EXPECT_EQ(fcntl(fd, F_ADD_SEALS, F_SEAL_EXEC), 0);
  EXPECT_EQ(fcntl(fd, F_GET_SEALS), F_SEAL_EXEC | F_SEAL_SHRINK | F_SEAL_GROW | F_SEAL_WRITE | F_SEAL_FUTURE_WRITE);
  EXPECT_FAILS_WITH(write(fd, "x", 1), EPERM);
}

TEST_F(MemfdTest, SealWriteStopsWritesNotTruncation) {
  int fd = Sealable();
  ASSERT_EQ(fcntl(fd, F_ADD_SEALS, F_SEAL_WRITE), 0);
  EXPECT_FAILS_WITH(write(fd, "x", 1), EPERM);
  EXPECT_FAILS_WITH(pwrite(fd, "x", 1, 0), EPERM);
  EXPECT_EQ(ftruncate(fd, 100), 0);
  EXPECT_EQ(ftruncate(fd, 10000), 0);
}

TEST_F(MemfdTest, SealWriteMapsSharedOnlyReadOnly) {
  int fd = Sealable();
  ASSERT_EQ(fcntl(fd, F_ADD_SEALS, F_SEAL_WRITE), 0);
  EXPECT_EQ(mmap(nullptr, 4096, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0), MAP_FAILED);
  EXPECT_EQ(errno, EPERM);
  void* ro = mmap(nullptr, 4096, PROT_READ, MAP_SHARED, fd, 0);
  ASSERT_NE(ro, MAP_FAILED);
  EXPECT_FAILS_WITH(mprotect(ro, 4096, PROT_READ | PROT_WRITE), EACCES);
  munmap(ro, 4096);
  // A private mapping may write: its pages are its own.
  char* priv = static_cast<char*>(mmap(nullptr, 4096, PROT_READ | PROT_WRITE, MAP_PRIVATE, fd, 0));
  ASSERT_NE(priv, MAP_FAILED);
  priv[0] = 'p';
  char c = 1;
  EXPECT_EQ(pread(fd, &c, 1, 0), 1);
  EXPECT_EQ(c, 0);
  munmap(priv, 4096);
}

TEST_F(MemfdTest, SealWriteIsBusyWhileASharedMappingMayWrite) {
  int fd = Sealable();
  void* rw = mmap(nullptr, 4096, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
  ASSERT_NE(rw, MAP_FAILED);
  EXPECT_FAILS_WITH(fcntl(fd, F_ADD_SEALS, F_SEAL_WRITE), EBUSY);
  munmap(rw, 4096);
  // Read-only, but through an O_RDWR fd: mprotect could make it writable.
  void* ro = mmap(nullptr, 4096, PROT_READ, MAP_SHARED, fd, 0);
  ASSERT_NE(ro, MAP_FAILED);
  EXPECT_FAILS_WITH(fcntl(fd, F_ADD_SEALS, F_SEAL_WRITE), EBUSY);
  munmap(ro, 4096);
  void* priv = mmap(nullptr, 4096, PROT_READ | PROT_WRITE, MAP_PRIVATE, fd, 0);
  ASSERT_NE(priv, MAP_FAILED);
  EXPECT_EQ(fcntl(fd, F_ADD_SEALS, F_SEAL_WRITE), 0);
  munmap(priv, 4096);
}

TEST_F(MemfdTest, SealWriteIsBusyWhileAChildMapsIt) {
  int fd = Sealable();
  int sync[2], done[2];
  ASSERT_EQ(pipe(sync), 0);
  ASSERT_EQ(pipe(done), 0);
  pid_t pid = fork();
  if (pid == 0) {
    void* rw = mmap(nullptr, 4096, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
    char c = rw == MAP_FAILED ? 0 : 1;
    (void)!write(sync[1], &c, 1);
    (void)!read(done[0], &c, 1);
    _exit(0);
  }
  char c = 0;
  ASSERT_EQ(read(sync[0], &c, 1), 1);
  ASSERT_EQ(c, 1);
  EXPECT_FAILS_WITH(fcntl(fd, F_ADD_SEALS, F_SEAL_WRITE), EBUSY);
  ASSERT_EQ(write(done[1], &c, 1), 1);
  ASSERT_EQ(waitpid(pid, nullptr, 0), pid);
  EXPECT_EQ(fcntl(fd, F_ADD_SEALS, F_SEAL_WRITE), 0);
  for (int p : {sync[0], sync[1], done[0], done[1]}) close(p);
}

TEST_F(MemfdTest, FutureWriteKeepsExistingMappingsWritable) {
  int fd = Sealable();
  char* rw = static_cast<char*>(mmap(nullptr, 4096, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0));
  ASSERT_NE(rw, MAP_FAILED);
  ASSERT_EQ(fcntl(fd, F_ADD_SEALS, F_SEAL_FUTURE_WRITE), 0);
  rw[0] = 'z';
  char c = 0;
  EXPECT_EQ(pread(fd, &c, 1, 0), 1);
  EXPECT_EQ(c, 'z');
  EXPECT_FAILS_WITH(write(fd, "x", 1), EPERM);
  EXPECT_EQ(mmap(nullptr, 4096, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0), MAP_FAILED);
  EXPECT_EQ(errno, EPERM);
  munmap(rw, 4096);
}

TEST_F(MemfdTest, SealShrinkAndGrowStopTruncation) {
  int fd = Sealable(4096);
  ASSERT_EQ(fcntl(fd, F_ADD_SEALS, F_SEAL_SHRINK | F_SEAL_GROW), 0);
  EXPECT_FAILS_WITH(ftruncate(fd, 4095), EPERM);
  EXPECT_FAILS_WITH(ftruncate(fd, 4097), EPERM);
  EXPECT_EQ(ftruncate(fd, 4096), 0);
}

TEST_F(MemfdTest, SealGrowShortensWritesAtTheEnd) {
  int fd = Sealable(4096);
  ASSERT_EQ(fcntl(fd, F_ADD_SEALS, F_SEAL_GROW), 0);
  EXPECT_EQ(pwrite(fd, "0123456789", 10, 4080), 10);
  EXPECT_EQ(pwrite(fd, "0123456789", 10, 4090), 6);
  EXPECT_FAILS_WITH(pwrite(fd, "0123456789", 10, 4096), EPERM);
  struct stat st;
  ASSERT_EQ(fstat(fd, &st), 0);
  EXPECT_EQ(st.st_size, 4096);
  EXPECT_EQ(ftruncate(fd, 100), 0);  // shrinking is still allowed
}

TEST_F(MemfdTest, SealsOfOtherFiles) {
  int p[2];
  ASSERT_EQ(pipe(p), 0);
  EXPECT_FAILS_WITH(fcntl(p[0], F_GET_SEALS), EINVAL);
  EXPECT_FAILS_WITH(fcntl(p[1], F_ADD_SEALS, F_SEAL_WRITE), EINVAL);
  EXPECT_FAILS_WITH(fcntl(p[0], F_ADD_SEALS, F_SEAL_WRITE), EPERM);  // not writable: first
  close(p[0]);
  close(p[1]);
}

class MemfdFileTest : public husk_test::TempDirTest {};

// Any tmpfs file has seals (F_SEAL_SEAL: none can be added); files of
// other filesystems have none (EINVAL).
TEST_F(MemfdFileTest, SealsOfARegularFile) {
  int fd = open(Path("f").c_str(), O_RDWR | O_CREAT, 0644);
  ASSERT_GE(fd, 0);
  struct statfs fs;
  ASSERT_EQ(fstatfs(fd, &fs), 0);
  if (fs.f_type == TMPFS_MAGIC) {
    EXPECT_EQ(fcntl(fd, F_GET_SEALS), F_SEAL_SEAL);
    EXPECT_FAILS_WITH(fcntl(fd, F_ADD_SEALS, F_SEAL_WRITE), EPERM);
  } else {
    EXPECT_FAILS_WITH(fcntl(fd, F_GET_SEALS), EINVAL);
    EXPECT_FAILS_WITH(fcntl(fd, F_ADD_SEALS, F_SEAL_WRITE), EINVAL);
  }
  close(fd);
  int ro = open(Path("f").c_str(), O_RDONLY);
  EXPECT_FAILS_WITH(fcntl(ro, F_ADD_SEALS, F_SEAL_WRITE), EPERM);
  close(ro);
}

TEST_F(MemfdTest, SealsAreSharedByEveryOpen) {
  int fd = Memfd("s", MFD_ALLOW_SEALING);
  const std::string path = "/proc/self/fd/" + std::to_string(fd);
  int again = open(path.c_str(), O_RDWR);
  ASSERT_GE(again, 0);
  ASSERT_EQ(fcntl(again, F_ADD_SEALS, F_SEAL_WRITE), 0);
  EXPECT_EQ(fcntl(fd, F_GET_SEALS), F_SEAL_WRITE);
  EXPECT_FAILS_WITH(write(fd, "x", 1), EPERM);
  close(again);
}

TEST_F(MemfdTest, AllSealsAtOnce) {
  int fd = Sealable();
  EXPECT_EQ(fcntl(fd, F_ADD_SEALS, kAllSealsButExec), 0);
  EXPECT_EQ(fcntl(fd, F_GET_SEALS), kAllSealsButExec);
}

}  // namespace
