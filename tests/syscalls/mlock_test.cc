// mincore and the mlock family: which ranges they take, RLIMIT_MEMLOCK for
// a process without CAP_IPC_LOCK, and the errors the man pages list.

#include <errno.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <vector>

#include <gtest/gtest.h>

#include "test_util.h"

namespace {

using husk_test::RunInChild;

constexpr size_t kPage = 4096;

// A private anonymous mapping of `pages` pages, unmapped at the end.
class Mapping {
 public:
  explicit Mapping(size_t pages, int prot = PROT_READ | PROT_WRITE) : len_(pages * kPage) {
    void* p = mmap(nullptr, len_, prot, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    EXPECT_NE(p, MAP_FAILED);
    addr_ = static_cast<char*>(p);
  }
  ~Mapping() { munmap(addr_, len_); }
  char* get() const { return addr_; }
  char* page(size_t i) const { return addr_ + i * kPage; }

 private:
  size_t len_;
  char* addr_;
};

// As a process with no capabilities (uid 1000) and a memory-lock limit of
// `limit` bytes.
void BecomeUnprivileged(rlim_t limit) {
  rlimit rl{limit, limit};
  ASSERT_EQ(setrlimit(RLIMIT_MEMLOCK, &rl), 0);
  ASSERT_EQ(setgid(1000), 0);
  ASSERT_EQ(setuid(1000), 0);
}

// ---- mincore -----------------------------------------------------------------

TEST(Mincore, TouchedPagesAreResident) {
  Mapping m(4);
  m.page(0)[0] = 1;
  m.page(2)[100] = 1;
  unsigned char vec[4] = {9, 9, 9, 9};
  ASSERT_EQ(mincore(m.get(), 4 * kPage, vec), 0);
  EXPECT_EQ(vec[0] & 1, 1);
  EXPECT_EQ(vec[2] & 1, 1);
  for (unsigned char v : vec) EXPECT_EQ(v & ~1, 0);  // only the low bit is defined
}

TEST(Mincore, LengthRoundsUpAndZeroIsNothing) {
  Mapping m(2);
  m.page(1)[0] = 1;
  unsigned char vec[3] = {9, 9, 9};
  ASSERT_EQ(mincore(m.get(), kPage + 1, vec), 0);
  EXPECT_EQ(vec[1] & 1, 1);
  EXPECT_EQ(vec[2], 9);  // two pages, two bytes
  EXPECT_EQ(mincore(m.get(), 0, vec), 0);
}

TEST(Mincore, AFileMappingReadIsResident) {
  char tmpl[] = "/tmp/husk_mincore_XXXXXX";
  int fd = mkstemp(tmpl);
  ASSERT_GE(fd, 0);
  unlink(tmpl);
  std::vector<char> data(2 * kPage, 'x');
  ASSERT_EQ(write(fd, data.data(), data.size()), static_cast<ssize_t>(data.size()));
  void* p = mmap(nullptr, 2 * kPage, PROT_READ, MAP_SHARED, fd, 0);
  ASSERT_NE(p, MAP_FAILED);
  volatile char c = static_cast<char*>(p)[0];
  (void)c;
  unsigned char vec[2] = {};
  ASSERT_EQ(mincore(p, 2 * kPage, vec), 0);
  EXPECT_EQ(vec[0] & 1, 1);
  munmap(p, 2 * kPage);
  close(fd);
}

TEST(Mincore, UnmappedIsEnomem) {
  Mapping m(3);
  m.page(0)[0] = 1;
  ASSERT_EQ(munmap(m.page(1), kPage), 0);
  unsigned char vec[3] = {9, 9, 9};
  EXPECT_FAILS_WITH(mincore(m.get(), 3 * kPage, vec), ENOMEM);
  EXPECT_EQ(vec[0] & 1, 1);  // the pages before the hole are reported
  EXPECT_FAILS_WITH(mincore(m.page(1), kPage, vec), ENOMEM);
  EXPECT_FAILS_WITH(mincore(reinterpret_cast<void*>(0x800000000000), kPage, vec), ENOMEM);
  EXPECT_FAILS_WITH(mincore(m.get(), static_cast<size_t>(-kPage), vec), ENOMEM);
}

TEST(Mincore, Errors) {
  Mapping m(1);
  unsigned char vec[1];
  EXPECT_FAILS_WITH(mincore(m.get() + 1, 10, vec), EINVAL);
  EXPECT_FAILS_WITH(mincore(m.get(), kPage, reinterpret_cast<unsigned char*>(1)), EFAULT);
  EXPECT_FAILS_WITH(mincore(m.get(), kPage, static_cast<unsigned char*>(husk_test::BadPtr())), EFAULT);
}

// ---- mlock, munlock, mlock2 ---------------------------------------------------

TEST(Mlock, LocksAndUnlocksMappedRanges) {
  Mapping m(4);
  EXPECT_EQ(mlock(m.get(), 4 * kPage), 0);
  EXPECT_EQ(mlock(m.get() + 1, 10), 0);  // the start rounds down to its page
  EXPECT_EQ(munlock(m.page(1), 2 * kPage), 0);
  EXPECT_EQ(munlock(m.get(), 4 * kPage), 0);
  EXPECT_EQ(mlock(m.get(), 0), 0);
  EXPECT_EQ(syscall(SYS_mlock2, m.get(), kPage, 0), 0);
  EXPECT_EQ(syscall(SYS_mlock2, m.get(), kPage, MLOCK_ONFAULT), 0);
  EXPECT_EQ(munlock(m.get(), kPage), 0);
  m.page(3)[0] = 7;  // locked memory stays usable
  EXPECT_EQ(m.page(3)[0], 7);
}

TEST(Mlock, AHoleIsEnomem) {
  Mapping m(3);
  ASSERT_EQ(munmap(m.page(1), kPage), 0);
  EXPECT_FAILS_WITH(mlock(m.get(), 3 * kPage), ENOMEM);
  EXPECT_FAILS_WITH(munlock(m.get(), 3 * kPage), ENOMEM);
  EXPECT_FAILS_WITH(mlock(m.page(1), 1), ENOMEM);
  EXPECT_FAILS_WITH(mlock(reinterpret_cast<void*>(0x1000), 1), ENOMEM);
}

TEST(Mlock, Errors) {
  Mapping m(1);
  EXPECT_FAILS_WITH(syscall(SYS_mlock2, m.get(), kPage, 2), EINVAL);
  EXPECT_FAILS_WITH(mlock(reinterpret_cast<void*>(-kPage), 2 * kPage), EINVAL);  // wraps
}

TEST(Mlock, UnprivilegedNeedsALimit) {
  RunInChild([] {
    Mapping m(4);
    BecomeUnprivileged(0);
    EXPECT_FAILS_WITH(mlock(m.get(), kPage), EPERM);
    EXPECT_FAILS_WITH(syscall(SYS_mlock2, m.get(), kPage, 0), EPERM);
    EXPECT_FAILS_WITH(mlockall(MCL_CURRENT), EPERM);
    EXPECT_EQ(munlock(m.get(), kPage), 0);  // unlocking needs nothing
    EXPECT_EQ(munlockall(), 0);
  });
}

TEST(Mlock, UnprivilegedStaysUnderTheLimit) {
  RunInChild([] {
    Mapping m(4);
    BecomeUnprivileged(2 * kPage);
    EXPECT_FAILS_WITH(mlock(m.get(), 3 * kPage), ENOMEM);
    ASSERT_EQ(mlock(m.get(), 2 * kPage), 0);
    EXPECT_FAILS_WITH(mlock(m.page(2), kPage), ENOMEM);
    // Locking what is locked again costs nothing more.
    EXPECT_EQ(mlock(m.page(1), kPage), 0);
    ASSERT_EQ(munlock(m.get(), kPage), 0);
    EXPECT_EQ(mlock(m.page(2), kPage), 0);
  });
}

TEST(Mlock, LocksAreNotInheritedAcrossFork) {
  RunInChild([] {
    Mapping m(2);
    ASSERT_EQ(mlock(m.get(), 2 * kPage), 0);
    pid_t pid = fork();
    ASSERT_GE(pid, 0);
    if (pid == 0) {
      // With a limit of one page, the child could not lock two.
      rlimit rl{kPage, kPage};
      if (setrlimit(RLIMIT_MEMLOCK, &rl) != 0 || setgid(1000) != 0 || setuid(1000) != 0) _exit(2);
      _exit(mlock(m.get(), kPage) == 0 ? 0 : 1);
    }
    int status = 0;
    ASSERT_EQ(waitpid(pid, &status, 0), pid);
    EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0) << status;
  });
}

// ---- mlockall, munlockall ------------------------------------------------------

TEST(Mlockall, FutureAndUnlock) {
  RunInChild([] {
    ASSERT_EQ(mlockall(MCL_FUTURE), 0);
    Mapping m(2);
    m.get()[0] = 1;
    EXPECT_EQ(munlockall(), 0);
    EXPECT_EQ(mlockall(MCL_FUTURE | MCL_ONFAULT), 0);
    EXPECT_EQ(munlockall(), 0);
  });
}

TEST(Mlockall, FutureMappingsCountAgainstTheLimit) {
  RunInChild([] {
    Mapping before(2);
    BecomeUnprivileged(4 * kPage);
    ASSERT_EQ(mlockall(MCL_FUTURE), 0);
    Mapping after(3);  // locked as it is made
    EXPECT_EQ(mlock(after.get(), 3 * kPage), 0);  // nothing more to lock
    EXPECT_FAILS_WITH(mlock(before.get(), 2 * kPage), ENOMEM);
    EXPECT_EQ(munlockall(), 0);
    EXPECT_EQ(mlock(before.get(), 2 * kPage), 0);
  });
}

TEST(Mlockall, Errors) {
  EXPECT_FAILS_WITH(mlockall(0), EINVAL);
  EXPECT_FAILS_WITH(mlockall(MCL_ONFAULT), EINVAL);
  EXPECT_FAILS_WITH(mlockall(0x100), EINVAL);
}

}  // namespace
