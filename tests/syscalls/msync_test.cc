// msync(2).
#include <fcntl.h>
#include <sys/mman.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <string>

#include <gtest/gtest.h>

namespace {

constexpr size_t kPage = 4096;

class SharedFileMapping : public ::testing::Test {
 protected:
  void SetUp() override {
    char tmpl[] = "/tmp/husk_XXXXXX";
    fd_ = mkstemp(tmpl);
    ASSERT_GE(fd_, 0);
    path_ = tmpl;
    ASSERT_EQ(ftruncate(fd_, 2 * kPage), 0);
    map_ = static_cast<char*>(mmap(nullptr, 2 * kPage, PROT_READ | PROT_WRITE, MAP_SHARED, fd_, 0));
    ASSERT_NE(map_, MAP_FAILED);
  }
  void TearDown() override {
    munmap(map_, 2 * kPage);
    close(fd_);
    unlink(path_.c_str());
  }
  int fd_ = -1;
  std::string path_;
  char* map_ = nullptr;
};

TEST_F(SharedFileMapping, SyncMakesStoresVisibleToRead) {
  memcpy(map_, "hello", 5);
  ASSERT_EQ(msync(map_, 2 * kPage, MS_SYNC), 0);
  char buf[5];
  ASSERT_EQ(pread(fd_, buf, 5, 0), 5);
  EXPECT_EQ(memcmp(buf, "hello", 5), 0);
}

TEST_F(SharedFileMapping, AsyncAndInvalidateSucceed) {
  EXPECT_EQ(msync(map_, kPage, MS_ASYNC), 0);
  EXPECT_EQ(msync(map_, kPage, MS_INVALIDATE), 0);
  EXPECT_EQ(msync(map_, kPage, MS_SYNC | MS_INVALIDATE), 0);
}

TEST_F(SharedFileMapping, ZeroLengthSucceeds) { EXPECT_EQ(msync(map_, 0, MS_SYNC), 0); }

TEST_F(SharedFileMapping, AsyncWithSyncIsEinval) {
  errno = 0;
  EXPECT_EQ(msync(map_, kPage, MS_ASYNC | MS_SYNC), -1);
  EXPECT_EQ(errno, EINVAL);
}

TEST_F(SharedFileMapping, UnknownFlagIsEinval) {
  errno = 0;
  EXPECT_EQ(msync(map_, kPage, 0x100), -1);
  EXPECT_EQ(errno, EINVAL);
}

TEST_F(SharedFileMapping, UnalignedAddressIsEinval) {
  errno = 0;
  EXPECT_EQ(msync(map_ + 1, kPage, MS_SYNC), -1);
  EXPECT_EQ(errno, EINVAL);
}

TEST(Msync, UnmappedRangeIsEnomem) {
  void* p = mmap(nullptr, 2 * kPage, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  ASSERT_NE(p, MAP_FAILED);
  ASSERT_EQ(munmap(static_cast<char*>(p) + kPage, kPage), 0);
  errno = 0;
  EXPECT_EQ(msync(p, 2 * kPage, MS_SYNC), -1);
  EXPECT_EQ(errno, ENOMEM);
  munmap(p, kPage);
}

TEST(Msync, AnonymousPrivateMappingSucceeds) {
  void* p = mmap(nullptr, kPage, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  ASSERT_NE(p, MAP_FAILED);
  EXPECT_EQ(msync(p, kPage, MS_SYNC), 0);
  munmap(p, kPage);
}

}  // namespace
