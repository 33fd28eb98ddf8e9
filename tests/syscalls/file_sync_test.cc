// fsync, fdatasync, sync, syncfs, sync_file_range, fallocate, readahead:
// which files they take and the errors the man pages list.

#include <errno.h>
#include <fcntl.h>
#include <linux/falloc.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <string>

#include <gtest/gtest.h>

#include "test_util.h"

namespace {

using husk_test::ClosedFd;

class FileSync : public husk_test::TempDirTest {
 protected:
  // A new file of `size` bytes of 'x', open O_RDWR.
  int MakeFile(const char* name, size_t size = 0) {
    int fd = open(Path(name).c_str(), O_RDWR | O_CREAT | O_TRUNC, 0644);
    EXPECT_GE(fd, 0) << strerror(errno);
    std::string data(size, 'x');
    if (size > 0) {
      EXPECT_EQ(write(fd, data.data(), size), static_cast<ssize_t>(size));
    }
    return fd;
  }
  off_t SizeOf(int fd) {
    struct stat st{};
    EXPECT_EQ(fstat(fd, &st), 0);
    return st.st_size;
  }
  std::string ReadAt(int fd, off_t off, size_t len) {
    std::string buf(len, '?');
    EXPECT_EQ(pread(fd, buf.data(), len, off), static_cast<ssize_t>(len));
    return buf;
  }
};

TEST_F(FileSync, FsyncAndFdatasyncOfFilesAndDirectories) {
  int fd = MakeFile("f", 10);
  EXPECT_EQ(fsync(fd), 0);
  EXPECT_EQ(fdatasync(fd), 0);
  int ro = open(Path("f").c_str(), O_RDONLY);
  ASSERT_GE(ro, 0);
  EXPECT_EQ(fsync(ro), 0);  // any access mode
  int dir = open(dir_.c_str(), O_RDONLY | O_DIRECTORY);
  ASSERT_GE(dir, 0);
  EXPECT_EQ(fsync(dir), 0);
  EXPECT_EQ(fdatasync(dir), 0);
  close(dir);
  close(ro);
  close(fd);
}

TEST_F(FileSync, FsyncOfAFileThatCannotSyncIsEinval) {
  int p[2];
  ASSERT_EQ(pipe(p), 0);
  EXPECT_FAILS_WITH(fsync(p[0]), EINVAL);
  EXPECT_FAILS_WITH(fsync(p[1]), EINVAL);
  EXPECT_FAILS_WITH(fdatasync(p[0]), EINVAL);
  close(p[0]);
  close(p[1]);
  int null = open("/dev/null", O_WRONLY);
  ASSERT_GE(null, 0);
  EXPECT_FAILS_WITH(fsync(null), EINVAL);
  close(null);
}

TEST_F(FileSync, BadFds) {
  EXPECT_FAILS_WITH(fsync(ClosedFd()), EBADF);
  EXPECT_FAILS_WITH(fdatasync(-1), EBADF);
  EXPECT_FAILS_WITH(syncfs(ClosedFd()), EBADF);
  close(MakeFile("f"));
  int path = open(Path("f").c_str(), O_PATH);
  ASSERT_GE(path, 0);
  EXPECT_FAILS_WITH(fsync(path), EBADF);
  EXPECT_FAILS_WITH(syncfs(path), EBADF);
  EXPECT_FAILS_WITH(sync_file_range(path, 0, 0, 0), EBADF);
  EXPECT_FAILS_WITH(fallocate(path, 0, 0, 10), EBADF);
  close(path);
}

TEST_F(FileSync, SyncAndSyncfsSucceed) {
  sync();
  int fd = MakeFile("f");
  EXPECT_EQ(syncfs(fd), 0);
  int p[2];
  ASSERT_EQ(pipe(p), 0);
  EXPECT_EQ(syncfs(p[0]), 0);  // any fd: its filesystem (pipefs) has nothing to write
  close(p[0]);
  close(p[1]);
  close(fd);
}

TEST_F(FileSync, SyncFileRange) {
  int fd = MakeFile("f", 100);
  constexpr unsigned kAll =
      SYNC_FILE_RANGE_WAIT_BEFORE | SYNC_FILE_RANGE_WRITE | SYNC_FILE_RANGE_WAIT_AFTER;
  EXPECT_EQ(sync_file_range(fd, 0, 0, 0), 0);
  EXPECT_EQ(sync_file_range(fd, 0, 100, kAll), 0);
  EXPECT_EQ(sync_file_range(fd, 50, 0, SYNC_FILE_RANGE_WRITE), 0);  // 0: to the end
  int dir = open(dir_.c_str(), O_RDONLY | O_DIRECTORY);
  ASSERT_GE(dir, 0);
  EXPECT_EQ(sync_file_range(dir, 0, 0, 0), 0);
  close(dir);
  close(fd);
}

TEST_F(FileSync, SyncFileRangeErrors) {
  int fd = MakeFile("f", 100);
  EXPECT_FAILS_WITH(sync_file_range(fd, 0, 0, 8), EINVAL);
  EXPECT_FAILS_WITH(sync_file_range(fd, -1, 0, 0), EINVAL);
  EXPECT_FAILS_WITH(sync_file_range(fd, 0, -2, 0), EINVAL);
  EXPECT_FAILS_WITH(sync_file_range(fd, INT64_MAX, 10, 0), EINVAL);  // the end overflows
  int p[2];
  ASSERT_EQ(pipe(p), 0);
  EXPECT_FAILS_WITH(sync_file_range(p[0], 0, 0, 0), ESPIPE);
  EXPECT_FAILS_WITH(sync_file_range(p[0], -1, 0, 0), EINVAL);  // arguments before the file type
  int null = open("/dev/null", O_RDONLY);
  ASSERT_GE(null, 0);
  EXPECT_FAILS_WITH(sync_file_range(null, 0, 0, 0), ESPIPE);
  EXPECT_FAILS_WITH(sync_file_range(ClosedFd(), 0, 0, 8), EBADF);  // the fd first
  close(null);
  close(p[0]);
  close(p[1]);
  close(fd);
}

TEST_F(FileSync, FallocateExtendsTheSize) {
  int fd = MakeFile("f", 10);
  ASSERT_EQ(fallocate(fd, 0, 0, 4096), 0);
  EXPECT_EQ(SizeOf(fd), 4096);
  EXPECT_EQ(ReadAt(fd, 0, 12), std::string(10, 'x') + std::string(2, '\0'));
  // Inside the file nothing changes.
  ASSERT_EQ(fallocate(fd, 0, 0, 10), 0);
  EXPECT_EQ(SizeOf(fd), 4096);
  EXPECT_EQ(ReadAt(fd, 0, 10), std::string(10, 'x'));
  // posix_fallocate is fallocate with mode 0.
  ASSERT_EQ(posix_fallocate(fd, 10000, 100), 0);
  EXPECT_EQ(SizeOf(fd), 10100);
  close(fd);
}

TEST_F(FileSync, FallocateKeepSizeLeavesTheSize) {
  int fd = MakeFile("f", 10);
  ASSERT_EQ(fallocate(fd, FALLOC_FL_KEEP_SIZE, 0, 1 << 20), 0);
  EXPECT_EQ(SizeOf(fd), 10);
  close(fd);
}

TEST_F(FileSync, PunchHoleZeroesWithoutChangingTheSize) {
  const size_t kSize = 3 * 4096 + 100;
  int fd = MakeFile("f", kSize);
  // A range from inside one page to inside another.
  ASSERT_EQ(fallocate(fd, FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE, 100, 2 * 4096), 0);
  EXPECT_EQ(SizeOf(fd), static_cast<off_t>(kSize));
  std::string all = ReadAt(fd, 0, kSize);
  EXPECT_EQ(all.substr(0, 100), std::string(100, 'x'));
  EXPECT_EQ(all.substr(100, 2 * 4096), std::string(2 * 4096, '\0'));
  EXPECT_EQ(all.substr(100 + 2 * 4096), std::string(kSize - 100 - 2 * 4096, 'x'));
  // Past the end: nothing to punch, the size stays.
  ASSERT_EQ(fallocate(fd, FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE, kSize, 4096), 0);
  EXPECT_EQ(SizeOf(fd), static_cast<off_t>(kSize));
  close(fd);
}

TEST_F(FileSync, ZeroRangeZeroesAndMayGrow) {
  int fd = MakeFile("f", 8192);
  ASSERT_EQ(fallocate(fd, FALLOC_FL_ZERO_RANGE, 4000, 200), 0);
  EXPECT_EQ(ReadAt(fd, 3999, 202), "x" + std::string(200, '\0') + "x");
  ASSERT_EQ(fallocate(fd, FALLOC_FL_ZERO_RANGE, 8000, 1000), 0);
  EXPECT_EQ(SizeOf(fd), 9000);
  EXPECT_EQ(ReadAt(fd, 7999, 1001), "x" + std::string(1000, '\0'));
  ASSERT_EQ(fallocate(fd, FALLOC_FL_ZERO_RANGE | FALLOC_FL_KEEP_SIZE, 8500, 4096), 0);
  EXPECT_EQ(SizeOf(fd), 9000);
  close(fd);
}

TEST_F(FileSync, FallocateArgumentErrors) {
  int fd = MakeFile("f", 10);
  EXPECT_FAILS_WITH(fallocate(fd, 0, 0, 0), EINVAL);
  EXPECT_FAILS_WITH(fallocate(fd, 0, 0, -1), EINVAL);
  EXPECT_FAILS_WITH(fallocate(fd, 0, -1, 10), EINVAL);
  // Hole punching must keep the size; two operations at once; unknown bits.
  EXPECT_FAILS_WITH(fallocate(fd, FALLOC_FL_PUNCH_HOLE, 0, 10), EOPNOTSUPP);
  EXPECT_FAILS_WITH(fallocate(fd, FALLOC_FL_PUNCH_HOLE | FALLOC_FL_ZERO_RANGE | FALLOC_FL_KEEP_SIZE, 0, 10),
                    EOPNOTSUPP);
  EXPECT_FAILS_WITH(fallocate(fd, 0x1000, 0, 10), EOPNOTSUPP);
  EXPECT_FAILS_WITH(fallocate(fd, FALLOC_FL_COLLAPSE_RANGE | FALLOC_FL_KEEP_SIZE, 0, 4096), EOPNOTSUPP);
  // offset + len past what a file can hold.
  EXPECT_FAILS_WITH(fallocate(fd, 0, INT64_MAX - 10, 100), EFBIG);
  EXPECT_EQ(SizeOf(fd), 10);
  close(fd);
}

TEST_F(FileSync, FallocateNeedsAWritableRegularFile) {
  close(MakeFile("f", 10));
  int ro = open(Path("f").c_str(), O_RDONLY);
  ASSERT_GE(ro, 0);
  EXPECT_FAILS_WITH(fallocate(ro, 0, 0, 10), EBADF);
  EXPECT_FAILS_WITH(fallocate(ro, 0, -1, 10), EINVAL);  // arguments before the access mode
  close(ro);
  int p[2];
  ASSERT_EQ(pipe(p), 0);
  EXPECT_FAILS_WITH(fallocate(p[1], 0, 0, 10), ESPIPE);
  EXPECT_FAILS_WITH(fallocate(p[0], 0, 0, 10), EBADF);
  close(p[0]);
  close(p[1]);
  int dir = open(dir_.c_str(), O_RDONLY | O_DIRECTORY);
  ASSERT_GE(dir, 0);
  EXPECT_FAILS_WITH(fallocate(dir, 0, 0, 10), EBADF);
  close(dir);
  int null = open("/dev/null", O_RDWR);
  ASSERT_GE(null, 0);
  EXPECT_FAILS_WITH(fallocate(null, 0, 0, 10), ENODEV);
  close(null);
  EXPECT_FAILS_WITH(fallocate(ClosedFd(), 0, 0, 10), EBADF);
}

TEST_F(FileSync, FallocatedSpaceIsSeenThroughASharedMapping) {
  int fd = MakeFile("f", 8192);
  void* m = mmap(nullptr, 8192, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
  ASSERT_NE(m, MAP_FAILED);
  char* c = static_cast<char*>(m);
  ASSERT_EQ(c[0], 'x');
  ASSERT_EQ(fallocate(fd, FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE, 0, 8192), 0);
  EXPECT_EQ(c[0], '\0');
  EXPECT_EQ(c[5000], '\0');
  c[1] = 'y';
  EXPECT_EQ(ReadAt(fd, 0, 2), std::string("\0y", 2));
  munmap(m, 8192);
  close(fd);
}

TEST_F(FileSync, Readahead) {
  int fd = MakeFile("f", 100);
  EXPECT_EQ(readahead(fd, 0, 100), 0);
  EXPECT_EQ(readahead(fd, 1 << 20, 100), 0);  // past the end
  EXPECT_EQ(readahead(fd, -1, 100), 0);
  EXPECT_FAILS_WITH(readahead(fd, 0, SIZE_MAX), EINVAL);
  int wo = open(Path("f").c_str(), O_WRONLY);
  ASSERT_GE(wo, 0);
  EXPECT_FAILS_WITH(readahead(wo, 0, 10), EBADF);
  close(wo);
  int p[2];
  ASSERT_EQ(pipe(p), 0);
  EXPECT_FAILS_WITH(readahead(p[0], 0, 10), EINVAL);
  close(p[0]);
  close(p[1]);
  int dir = open(dir_.c_str(), O_RDONLY | O_DIRECTORY);
  ASSERT_GE(dir, 0);
  EXPECT_FAILS_WITH(readahead(dir, 0, 10), EINVAL);
  close(dir);
  EXPECT_FAILS_WITH(readahead(ClosedFd(), 0, 10), EBADF);
  close(fd);
}

}  // namespace
