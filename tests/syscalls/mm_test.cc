// Memory-management syscalls: mmap, munmap, mprotect, brk, mremap, madvise.
//
// Accessibility of memory is never probed by touching it (no segfaults):
// instead a syscall is asked to copy from / to the address, and EFAULT means
// inaccessible. Note that write() to /dev/null does NOT read its buffer on
// Linux (it succeeds for any pointer), so the probe writes to a regular file.

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "test_util.h"

namespace {

const size_t kPage = static_cast<size_t>(sysconf(_SC_PAGESIZE));

// Asserts that `call` returned -1 with errno `err`.
void* RawMmap(void* addr, size_t len, int prot, int flags, int fd, off_t off) {
  return reinterpret_cast<void*>(syscall(SYS_mmap, addr, len, prot, flags, fd, off));
}

void* RawMremap(void* old_addr, size_t old_len, size_t new_len, int flags,
                void* new_addr = nullptr) {
  return reinterpret_cast<void*>(
      syscall(SYS_mremap, old_addr, old_len, new_len, flags, new_addr));
}

// Maps `pages` fresh anonymous private read-write pages.
char* MapAnon(size_t pages, int prot = PROT_READ | PROT_WRITE,
              int flags = MAP_PRIVATE) {
  void* p = RawMmap(nullptr, pages * kPage, prot, flags | MAP_ANONYMOUS, -1, 0);
  EXPECT_NE(p, MAP_FAILED) << strerror(errno);
  return static_cast<char*>(p);
}

// Returns an address range of `pages` pages that is currently unmapped.
char* FreeRange(size_t pages) {
  char* p = MapAnon(pages, PROT_NONE);
  EXPECT_EQ(syscall(SYS_munmap, p, pages * kPage), 0);
  return p;
}

// A scratch directory under /tmp, removed (with its files) on destruction.
class TempDir {
 public:
  TempDir() {
    char tmpl[] = "/tmp/husk_XXXXXX";
    char* d = mkdtemp(tmpl);
    EXPECT_NE(d, nullptr) << strerror(errno);
    path_ = d ? d : "";
  }
  ~TempDir() {
    for (const auto& f : files_) unlink(f.c_str());
    rmdir(path_.c_str());
  }
  const std::string& path() const { return path_; }
  // Creates a file with `content` and returns its path.
  std::string MakeFile(const std::string& name, const std::string& content) {
    std::string p = path_ + "/" + name;
    int fd = open(p.c_str(), O_CREAT | O_TRUNC | O_WRONLY, 0644);
    EXPECT_GE(fd, 0) << strerror(errno);
    EXPECT_EQ(write(fd, content.data(), content.size()),
              static_cast<ssize_t>(content.size()));
    close(fd);
    files_.push_back(p);
    return p;
  }

 private:
  std::string path_;
  std::vector<std::string> files_;
};

// Scratch regular file used by the probes below.
int ScratchFd() {
  static int fd = [] {
    char tmpl[] = "/tmp/husk_XXXXXX";
    char* d = mkdtemp(tmpl);
    std::string path = std::string(d ? d : "/tmp") + "/probe";
    int f = open(path.c_str(), O_CREAT | O_RDWR | O_TRUNC, 0600);
    unlink(path.c_str());
    if (d) rmdir(d);
    return f;
  }();
  return fd;
}

// 0 if the kernel can read one byte at p, else the errno (EFAULT).
int ReadProbe(const void* p) {
  ssize_t r = pwrite(ScratchFd(), p, 1, 0);
  return r == 1 ? 0 : errno;
}

// 0 if the kernel can write one byte at p, else the errno (EFAULT).
// The scratch file always holds at least one byte after a ReadProbe.
int WriteProbe(void* p) {
  char c = 0;
  if (pwrite(ScratchFd(), &c, 1, 0) != 1) return -1;
  ssize_t r = pread(ScratchFd(), p, 1, 0);
  return r == 1 ? 0 : errno;
}

bool AllBytesAre(const char* p, size_t n, char v) {
  for (size_t i = 0; i < n; i++)
    if (p[i] != v) return false;
  return true;
}

// ---------------------------------------------------------------- mmap

TEST(Mmap, NewAnonymousMemoryIsZero) {
  char* p = MapAnon(4);
  EXPECT_TRUE(AllBytesAre(p, 4 * kPage, 0));
  EXPECT_EQ(munmap(p, 4 * kPage), 0);
}

TEST(Mmap, ResultIsPageAligned) {
  char* p = MapAnon(1);
  EXPECT_EQ(reinterpret_cast<uintptr_t>(p) % kPage, 0u);
  EXPECT_EQ(munmap(p, kPage), 0);
}

TEST(Mmap, LengthIsRoundedUpToPage) {
  void* p = RawMmap(nullptr, 1, PROT_READ | PROT_WRITE,
                    MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  ASSERT_NE(p, MAP_FAILED);
  char* c = static_cast<char*>(p);
  c[kPage - 1] = 7;  // the whole page is mapped
  EXPECT_EQ(c[kPage - 1], 7);
  EXPECT_EQ(munmap(p, kPage), 0);
}

TEST(Mmap, AnonymousPrivateReadWrite) {
  char* p = MapAnon(2);
  memset(p, 'x', 2 * kPage);
  EXPECT_TRUE(AllBytesAre(p, 2 * kPage, 'x'));
  EXPECT_EQ(ReadProbe(p + kPage), 0);
  EXPECT_EQ(WriteProbe(p + kPage), 0);
  EXPECT_EQ(munmap(p, 2 * kPage), 0);
}

TEST(Mmap, AnonymousSharedReadWrite) {
  char* p = MapAnon(2, PROT_READ | PROT_WRITE, MAP_SHARED);
  EXPECT_TRUE(AllBytesAre(p, 2 * kPage, 0));
  memset(p, 'y', 2 * kPage);
  EXPECT_TRUE(AllBytesAre(p, 2 * kPage, 'y'));
  EXPECT_EQ(munmap(p, 2 * kPage), 0);
}

TEST(Mmap, ProtNoneMemoryIsInaccessibleToSyscalls) {
  char* p = MapAnon(1, PROT_NONE);
  EXPECT_EQ(ReadProbe(p), EFAULT);
  EXPECT_EQ(WriteProbe(p), EFAULT);
  EXPECT_EQ(munmap(p, kPage), 0);
}

TEST(Mmap, MapFixedReplacesPartOfMapping) {
  char* p = MapAnon(3);
  memset(p, 'a', 3 * kPage);
  void* q = RawMmap(p + kPage, kPage, PROT_READ | PROT_WRITE,
                    MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED, -1, 0);
  ASSERT_EQ(q, p + kPage);
  EXPECT_TRUE(AllBytesAre(p, kPage, 'a'));
  EXPECT_TRUE(AllBytesAre(p + kPage, kPage, 0));
  EXPECT_TRUE(AllBytesAre(p + 2 * kPage, kPage, 'a'));
  EXPECT_EQ(munmap(p, 3 * kPage), 0);
}

TEST(Mmap, MapFixedCanChangeProtectionOfPart) {
  char* p = MapAnon(3);
  void* q = RawMmap(p + kPage, kPage, PROT_NONE,
                    MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED, -1, 0);
  ASSERT_EQ(q, p + kPage);
  EXPECT_EQ(ReadProbe(p), 0);
  EXPECT_EQ(ReadProbe(p + kPage), EFAULT);
  EXPECT_EQ(ReadProbe(p + 2 * kPage), 0);
  EXPECT_EQ(munmap(p, 3 * kPage), 0);
}

TEST(Mmap, MapFixedNoreplaceOverExistingMappingIsEexist) {
  char* p = MapAnon(3);
  p[kPage] = 'k';
  EXPECT_FAILS_WITH(RawMmap(p + kPage, kPage, PROT_READ | PROT_WRITE,
                            MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED_NOREPLACE,
                            -1, 0),
                    EEXIST);
  // Partial overlap is also refused.
  EXPECT_FAILS_WITH(RawMmap(p + 2 * kPage, 2 * kPage, PROT_READ | PROT_WRITE,
                            MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED_NOREPLACE,
                            -1, 0),
                    EEXIST);
  EXPECT_EQ(p[kPage], 'k');
  EXPECT_EQ(munmap(p, 3 * kPage), 0);
}

TEST(Mmap, MapFixedNoreplaceOnFreeRangeSucceeds) {
  char* want = FreeRange(2);
  void* q = RawMmap(want, 2 * kPage, PROT_READ | PROT_WRITE,
                    MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED_NOREPLACE, -1, 0);
  EXPECT_EQ(q, want);
  EXPECT_EQ(munmap(want, 2 * kPage), 0);
}

TEST(Mmap, FreeHintAddressIsUsed) {
  char* want = FreeRange(2);
  void* q = RawMmap(want, 2 * kPage, PROT_READ | PROT_WRITE,
                    MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  EXPECT_EQ(q, want);
  EXPECT_EQ(munmap(q, 2 * kPage), 0);
}

TEST(Mmap, OccupiedHintAddressIsNotReplaced) {
  char* p = MapAnon(2);
  memset(p, 'h', 2 * kPage);
  void* q = RawMmap(p, 2 * kPage, PROT_READ | PROT_WRITE,
                    MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  ASSERT_NE(q, MAP_FAILED);
  EXPECT_NE(q, p);
  EXPECT_TRUE(AllBytesAre(p, 2 * kPage, 'h'));
  EXPECT_EQ(munmap(q, 2 * kPage), 0);
  EXPECT_EQ(munmap(p, 2 * kPage), 0);
}

TEST(Mmap, UnalignedHintWithoutFixedGivesAlignedResult) {
  char* want = FreeRange(4);
  void* q = RawMmap(want + 1, kPage, PROT_READ | PROT_WRITE,
                    MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  ASSERT_NE(q, MAP_FAILED);
  EXPECT_EQ(reinterpret_cast<uintptr_t>(q) % kPage, 0u);
  EXPECT_EQ(munmap(q, kPage), 0);
}

TEST(Mmap, ZeroLengthIsEinval) {
  EXPECT_FAILS_WITH(RawMmap(nullptr, 0, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS,
                            -1, 0),
                    EINVAL);
}

TEST(Mmap, UnalignedAddrWithMapFixedIsEinval) {
  char* want = FreeRange(2);
  EXPECT_FAILS_WITH(RawMmap(want + 1, kPage, PROT_READ,
                            MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED, -1, 0),
                    EINVAL);
}

TEST(Mmap, UnalignedOffsetIsEinval) {
  TempDir dir;
  std::string path = dir.MakeFile("f", std::string(2 * kPage, 'o'));
  int fd = open(path.c_str(), O_RDONLY);
  ASSERT_GE(fd, 0);
  EXPECT_FAILS_WITH(RawMmap(nullptr, kPage, PROT_READ, MAP_PRIVATE, fd, 1),
                    EINVAL);
  EXPECT_FAILS_WITH(RawMmap(nullptr, kPage, PROT_READ, MAP_PRIVATE, fd,
                            static_cast<off_t>(kPage / 2)),
                    EINVAL);
  close(fd);
}

TEST(Mmap, UnalignedOffsetForAnonymousIsEinval) {
  EXPECT_FAILS_WITH(RawMmap(nullptr, kPage, PROT_READ,
                            MAP_PRIVATE | MAP_ANONYMOUS, -1, 1),
                    EINVAL);
}

TEST(Mmap, NeitherPrivateNorSharedIsEinval) {
  EXPECT_FAILS_WITH(RawMmap(nullptr, kPage, PROT_READ | PROT_WRITE,
                            MAP_ANONYMOUS, -1, 0),
                    EINVAL);
}

TEST(Mmap, SharedValidateAnonymousIsEinval) {
  // MAP_SHARED_VALIDATE (== MAP_SHARED|MAP_PRIVATE) is only accepted for file
  // mappings; anonymous mappings with that type are rejected.
  EXPECT_FAILS_WITH(RawMmap(nullptr, kPage, PROT_READ | PROT_WRITE,
                            MAP_SHARED_VALIDATE | MAP_ANONYMOUS, -1, 0),
                    EINVAL);
}

TEST(Mmap, SharedValidateFileMappingSucceeds) {
  TempDir dir;
  std::string path = dir.MakeFile("f", std::string(kPage, 'v'));
  int fd = open(path.c_str(), O_RDWR);
  ASSERT_GE(fd, 0);
  void* p = RawMmap(nullptr, kPage, PROT_READ | PROT_WRITE,
                    MAP_SHARED_VALIDATE, fd, 0);
  ASSERT_NE(p, MAP_FAILED) << strerror(errno);
  EXPECT_EQ(static_cast<char*>(p)[0], 'v');
  EXPECT_EQ(munmap(p, kPage), 0);
  close(fd);
}

TEST(Mmap, SharedValidateWithUnknownFlagIsEopnotsupp) {
  TempDir dir;
  std::string path = dir.MakeFile("f", std::string(kPage, 'v'));
  int fd = open(path.c_str(), O_RDWR);
  ASSERT_GE(fd, 0);
  // MAP_SYNC is not supported on ordinary (non-DAX) files.
  EXPECT_FAILS_WITH(RawMmap(nullptr, kPage, PROT_READ | PROT_WRITE,
                            MAP_SHARED_VALIDATE | MAP_SYNC, fd, 0),
                    EOPNOTSUPP);
  close(fd);
}

TEST(Mmap, BadFdForFileMappingIsEbadf) {
  EXPECT_FAILS_WITH(RawMmap(nullptr, kPage, PROT_READ, MAP_PRIVATE, -1, 0),
                    EBADF);
  int fd = open("/dev/null", O_RDONLY);
  ASSERT_GE(fd, 0);
  close(fd);
  EXPECT_FAILS_WITH(RawMmap(nullptr, kPage, PROT_READ, MAP_SHARED, fd, 0),
                    EBADF);
}

TEST(Mmap, DirectoryFdIsEnodev) {
  TempDir dir;
  int fd = open(dir.path().c_str(), O_RDONLY | O_DIRECTORY);
  ASSERT_GE(fd, 0);
  EXPECT_FAILS_WITH(RawMmap(nullptr, kPage, PROT_READ, MAP_PRIVATE, fd, 0),
                    ENODEV);
  close(fd);
}

TEST(Mmap, FileMappingContentMatchesRead) {
  TempDir dir;
  std::string content;
  for (size_t i = 0; i < 2 * kPage + 100; i++)
    content.push_back(static_cast<char>('A' + i % 26));
  std::string path = dir.MakeFile("f", content);
  int fd = open(path.c_str(), O_RDONLY);
  ASSERT_GE(fd, 0);
  std::string via_read(content.size(), '\0');
  ASSERT_EQ(read(fd, via_read.data(), via_read.size()),
            static_cast<ssize_t>(content.size()));
  void* p = RawMmap(nullptr, content.size(), PROT_READ, MAP_PRIVATE, fd, 0);
  ASSERT_NE(p, MAP_FAILED) << strerror(errno);
  EXPECT_EQ(memcmp(p, via_read.data(), via_read.size()), 0);
  // The tail of the last page past EOF reads as zero.
  size_t mapped = 3 * kPage;
  EXPECT_TRUE(AllBytesAre(static_cast<char*>(p) + content.size(),
                          mapped - content.size(), 0));
  EXPECT_EQ(munmap(p, content.size()), 0);
  close(fd);
}

TEST(Mmap, FileMappingAtOffset) {
  TempDir dir;
  std::string content = std::string(kPage, '1') + std::string(kPage, '2');
  std::string path = dir.MakeFile("f", content);
  int fd = open(path.c_str(), O_RDONLY);
  ASSERT_GE(fd, 0);
  void* p = RawMmap(nullptr, kPage, PROT_READ, MAP_SHARED, fd,
                    static_cast<off_t>(kPage));
  ASSERT_NE(p, MAP_FAILED) << strerror(errno);
  EXPECT_TRUE(AllBytesAre(static_cast<char*>(p), kPage, '2'));
  EXPECT_EQ(munmap(p, kPage), 0);
  close(fd);
}

TEST(Mmap, PrivateFileMappingWriteDoesNotChangeFile) {
  TempDir dir;
  std::string path = dir.MakeFile("f", std::string(kPage, 'p'));
  int fd = open(path.c_str(), O_RDWR);
  ASSERT_GE(fd, 0);
  char* p = static_cast<char*>(RawMmap(nullptr, kPage, PROT_READ | PROT_WRITE,
                                       MAP_PRIVATE, fd, 0));
  ASSERT_NE(p, MAP_FAILED) << strerror(errno);
  memset(p, 'W', kPage);
  EXPECT_TRUE(AllBytesAre(p, kPage, 'W'));
  std::string buf(kPage, '\0');
  ASSERT_EQ(pread(fd, buf.data(), kPage, 0), static_cast<ssize_t>(kPage));
  EXPECT_TRUE(AllBytesAre(buf.data(), kPage, 'p'));
  EXPECT_EQ(munmap(p, kPage), 0);
  close(fd);
}

TEST(Mmap, PrivateWritableMappingOfReadOnlyFdSucceeds) {
  TempDir dir;
  std::string path = dir.MakeFile("f", std::string(kPage, 'r'));
  int fd = open(path.c_str(), O_RDONLY);
  ASSERT_GE(fd, 0);
  char* p = static_cast<char*>(RawMmap(nullptr, kPage, PROT_READ | PROT_WRITE,
                                       MAP_PRIVATE, fd, 0));
  ASSERT_NE(p, MAP_FAILED) << strerror(errno);
  p[0] = 'X';
  EXPECT_EQ(p[0], 'X');
  EXPECT_EQ(munmap(p, kPage), 0);
  close(fd);
}

TEST(Mmap, SharedFileMappingWriteChangesFile) {
  TempDir dir;
  std::string path = dir.MakeFile("f", std::string(kPage, 's'));
  int fd = open(path.c_str(), O_RDWR);
  ASSERT_GE(fd, 0);
  char* p = static_cast<char*>(RawMmap(nullptr, kPage, PROT_READ | PROT_WRITE,
                                       MAP_SHARED, fd, 0));
  ASSERT_NE(p, MAP_FAILED) << strerror(errno);
  memcpy(p, "hello", 5);
  char buf[6] = {};
  ASSERT_EQ(pread(fd, buf, 5, 0), 5);
  EXPECT_STREQ(buf, "hello");
  // And write() is visible through the mapping.
  ASSERT_EQ(pwrite(fd, "WORLD", 5, 10), 5);
  EXPECT_EQ(memcmp(p + 10, "WORLD", 5), 0);
  EXPECT_EQ(munmap(p, kPage), 0);
  close(fd);
}

TEST(Mmap, SharedWritableMappingOfReadOnlyFdIsEacces) {
  TempDir dir;
  std::string path = dir.MakeFile("f", std::string(kPage, 'a'));
  int fd = open(path.c_str(), O_RDONLY);
  ASSERT_GE(fd, 0);
  EXPECT_FAILS_WITH(RawMmap(nullptr, kPage, PROT_READ | PROT_WRITE,
                            MAP_SHARED, fd, 0),
                    EACCES);
  close(fd);
}

TEST(Mmap, MappingWriteOnlyFdIsEacces) {
  TempDir dir;
  std::string path = dir.MakeFile("f", std::string(kPage, 'a'));
  int fd = open(path.c_str(), O_WRONLY);
  ASSERT_GE(fd, 0);
  EXPECT_FAILS_WITH(RawMmap(nullptr, kPage, PROT_READ, MAP_PRIVATE, fd, 0),
                    EACCES);
  EXPECT_FAILS_WITH(RawMmap(nullptr, kPage, PROT_WRITE, MAP_SHARED, fd, 0),
                    EACCES);
  close(fd);
}

TEST(Mmap, LengthOverflowIsEnomem) {
  // SIZE_MAX rounds up to 0 pages; Linux reports ENOMEM.
  EXPECT_FAILS_WITH(RawMmap(nullptr, SIZE_MAX, PROT_READ,
                            MAP_PRIVATE | MAP_ANONYMOUS, -1, 0),
                    ENOMEM);
  EXPECT_FAILS_WITH(RawMmap(nullptr, SIZE_MAX - kPage + 2, PROT_READ,
                            MAP_PRIVATE | MAP_ANONYMOUS, -1, 0),
                    ENOMEM);
  // Larger than the whole address space but not wrapping.
  EXPECT_FAILS_WITH(RawMmap(nullptr, SIZE_MAX / 2, PROT_READ,
                            MAP_PRIVATE | MAP_ANONYMOUS, -1, 0),
                    ENOMEM);
}

TEST(Mmap, MapFixedAboveUserSpaceIsEnomem) {
  // 0x800000000000 is the end of the 47-bit user address space.
  EXPECT_FAILS_WITH(RawMmap(reinterpret_cast<void*>(0x800000000000ULL), kPage,
                            PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED,
                            -1, 0),
                    ENOMEM);
}

// ---------------------------------------------------------------- munmap

TEST(Munmap, UnmappedMemoryIsEfaultForSyscalls) {
  char* p = MapAnon(1);
  ASSERT_EQ(syscall(SYS_munmap, p, kPage), 0);
  EXPECT_EQ(ReadProbe(p), EFAULT);
  EXPECT_EQ(WriteProbe(p), EFAULT);
}

TEST(Munmap, WriteToDevNullDoesNotReadBuffer) {
  // Linux's /dev/null write() never touches the buffer, so even an unmapped
  // address succeeds. (Probes must therefore use a regular file.)
  char* p = MapAnon(1);
  ASSERT_EQ(syscall(SYS_munmap, p, kPage), 0);
  int fd = open("/dev/null", O_WRONLY);
  ASSERT_GE(fd, 0);
  EXPECT_EQ(write(fd, p, 1), 1);
  close(fd);
}

TEST(Munmap, PartialUnmapSplitsMapping) {
  char* p = MapAnon(3);
  memset(p, 'm', 3 * kPage);
  ASSERT_EQ(syscall(SYS_munmap, p + kPage, kPage), 0);
  EXPECT_EQ(ReadProbe(p), 0);
  EXPECT_EQ(ReadProbe(p + kPage - 1), 0);
  EXPECT_EQ(ReadProbe(p + kPage), EFAULT);
  EXPECT_EQ(ReadProbe(p + 2 * kPage - 1), EFAULT);
  EXPECT_EQ(ReadProbe(p + 2 * kPage), 0);
  EXPECT_TRUE(AllBytesAre(p, kPage, 'm'));
  EXPECT_TRUE(AllBytesAre(p + 2 * kPage, kPage, 'm'));
  EXPECT_EQ(munmap(p, 3 * kPage), 0);
}

TEST(Munmap, UnmapSpanningSeveralMappings) {
  char* p = MapAnon(4);
  // Split into separate mappings with different protections.
  ASSERT_EQ(mprotect(p + kPage, kPage, PROT_READ), 0);
  ASSERT_EQ(syscall(SYS_munmap, p, 4 * kPage), 0);
  for (size_t i = 0; i < 4; i++) EXPECT_EQ(ReadProbe(p + i * kPage), EFAULT);
}

TEST(Munmap, LengthIsRoundedUp) {
  char* p = MapAnon(2);
  ASSERT_EQ(syscall(SYS_munmap, p, 1), 0);
  EXPECT_EQ(ReadProbe(p + kPage - 1), EFAULT);
  EXPECT_EQ(ReadProbe(p + kPage), 0);
  EXPECT_EQ(munmap(p + kPage, kPage), 0);
}

TEST(Munmap, UnalignedAddressIsEinval) {
  char* p = MapAnon(2);
  EXPECT_FAILS_WITH(syscall(SYS_munmap, p + 1, kPage), EINVAL);
  EXPECT_EQ(ReadProbe(p), 0);
  EXPECT_EQ(munmap(p, 2 * kPage), 0);
}

TEST(Munmap, ZeroLengthIsEinval) {
  char* p = MapAnon(1);
  EXPECT_FAILS_WITH(syscall(SYS_munmap, p, 0), EINVAL);
  EXPECT_EQ(munmap(p, kPage), 0);
}

TEST(Munmap, UnmappedRangeIsOk) {
  char* p = FreeRange(4);
  EXPECT_EQ(syscall(SYS_munmap, p, 4 * kPage), 0);
}

// ---------------------------------------------------------------- mprotect

TEST(Mprotect, ProtNoneMakesSyscallReadEfault) {
  char* p = MapAnon(1);
  p[0] = 'z';
  ASSERT_EQ(syscall(SYS_mprotect, p, kPage, PROT_NONE), 0);
  EXPECT_EQ(ReadProbe(p), EFAULT);
  ASSERT_EQ(syscall(SYS_mprotect, p, kPage, PROT_READ), 0);
  EXPECT_EQ(ReadProbe(p), 0);
  EXPECT_EQ(p[0], 'z');  // contents survive protection changes
  EXPECT_EQ(munmap(p, kPage), 0);
}

TEST(Mprotect, ReadOnlyPageAsReadDestinationIsEfault) {
  TempDir dir;
  std::string path = dir.MakeFile("f", "0123456789");
  int fd = open(path.c_str(), O_RDONLY);
  ASSERT_GE(fd, 0);
  char* p = MapAnon(1);
  ASSERT_EQ(syscall(SYS_mprotect, p, kPage, PROT_READ), 0);
  EXPECT_FAILS_WITH(read(fd, p, 10), EFAULT);
  EXPECT_TRUE(AllBytesAre(p, kPage, 0));
  ASSERT_EQ(syscall(SYS_mprotect, p, kPage, PROT_READ | PROT_WRITE), 0);
  EXPECT_EQ(read(fd, p, 10), 10);
  EXPECT_EQ(memcmp(p, "0123456789", 10), 0);
  EXPECT_EQ(munmap(p, kPage), 0);
  close(fd);
}

TEST(Mprotect, MiddlePageOnly) {
  char* p = MapAnon(3);
  ASSERT_EQ(syscall(SYS_mprotect, p + kPage, kPage, PROT_NONE), 0);
  EXPECT_EQ(WriteProbe(p), 0);
  EXPECT_EQ(WriteProbe(p + kPage), EFAULT);
  EXPECT_EQ(WriteProbe(p + 2 * kPage), 0);
  EXPECT_EQ(munmap(p, 3 * kPage), 0);
}

TEST(Mprotect, LengthIsRoundedUp) {
  char* p = MapAnon(2);
  ASSERT_EQ(syscall(SYS_mprotect, p, 1, PROT_NONE), 0);
  EXPECT_EQ(ReadProbe(p + kPage - 1), EFAULT);
  EXPECT_EQ(ReadProbe(p + kPage), 0);
  EXPECT_EQ(munmap(p, 2 * kPage), 0);
}

TEST(Mprotect, ZeroLengthSucceeds) {
  char* p = MapAnon(1);
  EXPECT_EQ(syscall(SYS_mprotect, p, 0, PROT_NONE), 0);
  EXPECT_EQ(ReadProbe(p), 0);
  EXPECT_EQ(munmap(p, kPage), 0);
}

TEST(Mprotect, UnalignedIsEinval) {
  char* p = MapAnon(2);
  EXPECT_FAILS_WITH(syscall(SYS_mprotect, p + 1, kPage, PROT_READ), EINVAL);
  EXPECT_EQ(munmap(p, 2 * kPage), 0);
}

TEST(Mprotect, UnmappedRangeIsEnomem) {
  char* p = FreeRange(2);
  EXPECT_FAILS_WITH(syscall(SYS_mprotect, p, 2 * kPage, PROT_READ), ENOMEM);
}

TEST(Mprotect, RangeWithHoleIsEnomem) {
  char* p = MapAnon(3);
  ASSERT_EQ(munmap(p + 2 * kPage, kPage), 0);
  EXPECT_FAILS_WITH(syscall(SYS_mprotect, p, 3 * kPage, PROT_READ), ENOMEM);
  EXPECT_EQ(munmap(p, 2 * kPage), 0);
}

TEST(Mprotect, BadProtBitsIsEinval) {
  char* p = MapAnon(1);
  EXPECT_FAILS_WITH(syscall(SYS_mprotect, p, kPage, 0x10), EINVAL);
  EXPECT_FAILS_WITH(syscall(SYS_mprotect, p, kPage, PROT_READ | 0x100), EINVAL);
  // Both growth directions at once are invalid too.
  EXPECT_FAILS_WITH(
      syscall(SYS_mprotect, p, kPage, PROT_READ | PROT_GROWSDOWN | PROT_GROWSUP),
      EINVAL);
  EXPECT_EQ(ReadProbe(p), 0);
  EXPECT_EQ(munmap(p, kPage), 0);
}

// ---------------------------------------------------------------- brk

uintptr_t Brk(uintptr_t addr) {
  return static_cast<uintptr_t>(syscall(SYS_brk, addr));
}

TEST(Brk, ZeroReturnsCurrentBreak) {
  uintptr_t a = Brk(0);
  uintptr_t b = Brk(0);
  EXPECT_NE(a, 0u);
  EXPECT_EQ(a, b);
}

TEST(Brk, GrowIsZeroedAndWritableThenShrink) {
  uintptr_t cur = Brk(0);
  uintptr_t base = (cur + kPage - 1) & ~(kPage - 1);
  uintptr_t want = base + 2 * kPage;
  ASSERT_EQ(Brk(want), want);
  EXPECT_EQ(Brk(0), want);
  char* p = reinterpret_cast<char*>(base);
  EXPECT_TRUE(AllBytesAre(p, 2 * kPage, 0));
  memset(p, 'b', 2 * kPage);
  EXPECT_EQ(WriteProbe(p + kPage), 0);
  // Shrink back: the pages disappear.
  ASSERT_EQ(Brk(cur), cur);
  EXPECT_EQ(Brk(0), cur);
  EXPECT_EQ(ReadProbe(p + kPage), EFAULT);
}

TEST(Brk, RegrowAfterShrinkIsZeroed) {
  uintptr_t cur = Brk(0);
  uintptr_t base = (cur + kPage - 1) & ~(kPage - 1);
  ASSERT_EQ(Brk(base + kPage), base + kPage);
  char* p = reinterpret_cast<char*>(base);
  memset(p, 'q', kPage);
  ASSERT_EQ(Brk(base), base);
  ASSERT_EQ(Brk(base + kPage), base + kPage);
  EXPECT_TRUE(AllBytesAre(p, kPage, 0));
  ASSERT_EQ(Brk(cur), cur);
}

TEST(Brk, UnalignedBreakIsKeptExactly) {
  uintptr_t cur = Brk(0);
  uintptr_t base = (cur + kPage - 1) & ~(kPage - 1);
  uintptr_t want = base + 123;
  ASSERT_EQ(Brk(want), want);
  EXPECT_EQ(Brk(0), want);
  // The whole page containing the break is usable.
  EXPECT_EQ(WriteProbe(reinterpret_cast<char*>(base + kPage - 1)), 0);
  ASSERT_EQ(Brk(cur), cur);
}

TEST(Brk, InvalidRequestReturnsCurrentBreak) {
  uintptr_t cur = Brk(0);
  // Below the start of the heap: refused, the old break is returned.
  EXPECT_EQ(Brk(1), cur);
  EXPECT_EQ(Brk(0), cur);
  // Growing over existing mappings (here: up to the stack) is refused the
  // same way.
  int on_stack = 0;
  EXPECT_EQ(Brk(reinterpret_cast<uintptr_t>(&on_stack)), cur);
  EXPECT_EQ(Brk(0), cur);
}

// ---------------------------------------------------------------- mremap

TEST(Mremap, GrowInPlace) {
  char* p = MapAnon(4);
  ASSERT_EQ(munmap(p + 2 * kPage, 2 * kPage), 0);
  memset(p, 'g', 2 * kPage);
  void* q = RawMremap(p, 2 * kPage, 4 * kPage, 0);
  ASSERT_EQ(q, p) << strerror(errno);
  EXPECT_TRUE(AllBytesAre(p, 2 * kPage, 'g'));
  EXPECT_TRUE(AllBytesAre(p + 2 * kPage, 2 * kPage, 0));
  EXPECT_EQ(munmap(p, 4 * kPage), 0);
}

TEST(Mremap, GrowWithoutMaymoveBlockedByNeighbourIsEnomem) {
  char* p = MapAnon(3);
  ASSERT_EQ(mprotect(p + 2 * kPage, kPage, PROT_NONE), 0);  // a neighbour
  EXPECT_FAILS_WITH(RawMremap(p, 2 * kPage, 3 * kPage, 0), ENOMEM);
  EXPECT_EQ(ReadProbe(p), 0);
  EXPECT_EQ(munmap(p, 3 * kPage), 0);
}

TEST(Mremap, MaymoveMovesAndKeepsContents) {
  char* p = MapAnon(3);
  ASSERT_EQ(mprotect(p + 2 * kPage, kPage, PROT_NONE), 0);  // blocks growth
  for (size_t i = 0; i < 2 * kPage; i++) p[i] = static_cast<char>(i * 7);
  char* q = static_cast<char*>(
      RawMremap(p, 2 * kPage, 8 * kPage, MREMAP_MAYMOVE));
  ASSERT_NE(q, MAP_FAILED) << strerror(errno);
  EXPECT_NE(q, p);
  bool same = true;
  for (size_t i = 0; i < 2 * kPage; i++) same &= q[i] == static_cast<char>(i * 7);
  EXPECT_TRUE(same);
  EXPECT_TRUE(AllBytesAre(q + 2 * kPage, 6 * kPage, 0));
  // The old range is gone.
  EXPECT_EQ(ReadProbe(p), EFAULT);
  EXPECT_EQ(ReadProbe(p + kPage), EFAULT);
  EXPECT_EQ(munmap(q, 8 * kPage), 0);
  EXPECT_EQ(munmap(p + 2 * kPage, kPage), 0);
}

TEST(Mremap, Shrink) {
  char* p = MapAnon(4);
  memset(p, 's', 4 * kPage);
  void* q = RawMremap(p, 4 * kPage, kPage, 0);
  ASSERT_EQ(q, p) << strerror(errno);
  EXPECT_TRUE(AllBytesAre(p, kPage, 's'));
  EXPECT_EQ(ReadProbe(p + kPage), EFAULT);
  EXPECT_EQ(ReadProbe(p + 3 * kPage), EFAULT);
  EXPECT_EQ(munmap(p, kPage), 0);
}

TEST(Mremap, FixedMovesToGivenAddress) {
  char* p = MapAnon(2);
  memset(p, 'f', 2 * kPage);
  char* target = MapAnon(4);  // MREMAP_FIXED replaces whatever is there
  memset(target, 't', 4 * kPage);
  void* q = RawMremap(p, 2 * kPage, 2 * kPage, MREMAP_MAYMOVE | MREMAP_FIXED,
                      target + kPage);
  ASSERT_EQ(q, target + kPage) << strerror(errno);
  EXPECT_TRUE(AllBytesAre(target, kPage, 't'));
  EXPECT_TRUE(AllBytesAre(target + kPage, 2 * kPage, 'f'));
  EXPECT_TRUE(AllBytesAre(target + 3 * kPage, kPage, 't'));
  EXPECT_EQ(ReadProbe(p), EFAULT);
  EXPECT_EQ(munmap(target, 4 * kPage), 0);
}

TEST(Mremap, FixedWithoutMaymoveIsEinval) {
  char* p = MapAnon(1);
  char* target = FreeRange(1);
  EXPECT_FAILS_WITH(RawMremap(p, kPage, kPage, MREMAP_FIXED, target), EINVAL);
  EXPECT_EQ(munmap(p, kPage), 0);
}

TEST(Mremap, FixedOverlappingOldRangeIsEinval) {
  char* p = MapAnon(4);
  EXPECT_FAILS_WITH(RawMremap(p, 2 * kPage, 2 * kPage,
                              MREMAP_MAYMOVE | MREMAP_FIXED, p + kPage),
                    EINVAL);
  EXPECT_EQ(munmap(p, 4 * kPage), 0);
}

TEST(Mremap, FixedUnalignedNewAddressIsEinval) {
  char* p = MapAnon(1);
  char* target = FreeRange(2);
  EXPECT_FAILS_WITH(RawMremap(p, kPage, kPage, MREMAP_MAYMOVE | MREMAP_FIXED,
                              target + 1),
                    EINVAL);
  EXPECT_EQ(munmap(p, kPage), 0);
}

TEST(Mremap, DontunmapLeavesEmptyOldMapping) {
  char* p = MapAnon(2);
  memset(p, 'd', 2 * kPage);
  char* q = static_cast<char*>(RawMremap(p, 2 * kPage, 2 * kPage,
                                         MREMAP_MAYMOVE | MREMAP_DONTUNMAP));
  ASSERT_NE(q, MAP_FAILED) << strerror(errno);
  EXPECT_NE(q, p);
  EXPECT_TRUE(AllBytesAre(q, 2 * kPage, 'd'));
  // The old range stays mapped, but its private anonymous pages are gone.
  EXPECT_EQ(ReadProbe(p), 0);
  EXPECT_TRUE(AllBytesAre(p, 2 * kPage, 0));
  EXPECT_EQ(munmap(p, 2 * kPage), 0);
  EXPECT_EQ(munmap(q, 2 * kPage), 0);
}

TEST(Mremap, DontunmapWithSizeChangeIsEinval) {
  char* p = MapAnon(2);
  EXPECT_FAILS_WITH(RawMremap(p, 2 * kPage, 4 * kPage,
                              MREMAP_MAYMOVE | MREMAP_DONTUNMAP),
                    EINVAL);
  EXPECT_FAILS_WITH(RawMremap(p, 2 * kPage, 2 * kPage, MREMAP_DONTUNMAP),
                    EINVAL);
  EXPECT_EQ(munmap(p, 2 * kPage), 0);
}

TEST(Mremap, OldSizeZeroOnPrivateMappingIsEinval) {
  char* p = MapAnon(1);
  EXPECT_FAILS_WITH(RawMremap(p, 0, kPage, MREMAP_MAYMOVE), EINVAL);
  EXPECT_EQ(munmap(p, kPage), 0);
}

TEST(Mremap, OldSizeZeroOnSharedMappingDuplicatesIt) {
  char* p = MapAnon(1, PROT_READ | PROT_WRITE, MAP_SHARED);
  p[0] = '1';
  char* q = static_cast<char*>(RawMremap(p, 0, kPage, MREMAP_MAYMOVE));
  ASSERT_NE(q, MAP_FAILED) << strerror(errno);
  EXPECT_NE(q, p);
  EXPECT_EQ(q[0], '1');
  q[0] = '2';  // both views share the pages; the old one is still mapped
  EXPECT_EQ(p[0], '2');
  EXPECT_EQ(munmap(q, kPage), 0);
  EXPECT_EQ(munmap(p, kPage), 0);
}

TEST(Mremap, BadFlagsIsEinval) {
  char* p = MapAnon(1);
  EXPECT_FAILS_WITH(RawMremap(p, kPage, kPage, 0x100), EINVAL);
  EXPECT_FAILS_WITH(RawMremap(p, kPage, kPage, MREMAP_MAYMOVE | 0x80), EINVAL);
  EXPECT_EQ(munmap(p, kPage), 0);
}

TEST(Mremap, UnalignedOldAddressIsEinval) {
  char* p = MapAnon(2);
  EXPECT_FAILS_WITH(RawMremap(p + 1, kPage, 2 * kPage, MREMAP_MAYMOVE), EINVAL);
  EXPECT_EQ(munmap(p, 2 * kPage), 0);
}

TEST(Mremap, NewSizeZeroIsEinval) {
  char* p = MapAnon(1);
  EXPECT_FAILS_WITH(RawMremap(p, kPage, 0, MREMAP_MAYMOVE), EINVAL);
  EXPECT_EQ(munmap(p, kPage), 0);
}

TEST(Mremap, UnmappedOldAddressIsEfault) {
  char* p = FreeRange(1);
  EXPECT_FAILS_WITH(RawMremap(p, kPage, 2 * kPage, MREMAP_MAYMOVE), EFAULT);
}

// ---------------------------------------------------------------- madvise

TEST(Madvise, DontneedZeroesAnonymousPrivateMemory) {
  char* p = MapAnon(3);
  memset(p, 'x', 3 * kPage);
  ASSERT_EQ(syscall(SYS_madvise, p + kPage, kPage, MADV_DONTNEED), 0);
  EXPECT_TRUE(AllBytesAre(p, kPage, 'x'));
  EXPECT_TRUE(AllBytesAre(p + kPage, kPage, 0));
  EXPECT_TRUE(AllBytesAre(p + 2 * kPage, kPage, 'x'));
  EXPECT_EQ(munmap(p, 3 * kPage), 0);
}

TEST(Madvise, DontneedKeepsAnonymousSharedMemory) {
  char* p = MapAnon(1, PROT_READ | PROT_WRITE, MAP_SHARED);
  memset(p, 'S', kPage);
  ASSERT_EQ(syscall(SYS_madvise, p, kPage, MADV_DONTNEED), 0);
  EXPECT_TRUE(AllBytesAre(p, kPage, 'S'));
  EXPECT_EQ(munmap(p, kPage), 0);
}

TEST(Madvise, DontneedOnPrivateFileMappingRestoresFileContent) {
  TempDir dir;
  std::string path = dir.MakeFile("f", std::string(kPage, 'F'));
  int fd = open(path.c_str(), O_RDONLY);
  ASSERT_GE(fd, 0);
  char* p = static_cast<char*>(RawMmap(nullptr, kPage, PROT_READ | PROT_WRITE,
                                       MAP_PRIVATE, fd, 0));
  ASSERT_NE(p, MAP_FAILED);
  memset(p, 'c', kPage);
  ASSERT_EQ(syscall(SYS_madvise, p, kPage, MADV_DONTNEED), 0);
  EXPECT_TRUE(AllBytesAre(p, kPage, 'F'));
  EXPECT_EQ(munmap(p, kPage), 0);
  close(fd);
}

TEST(Madvise, AccessPatternHintsSucceed) {
  char* p = MapAnon(2);
  p[0] = 'k';
  for (int advice : {MADV_NORMAL, MADV_RANDOM, MADV_SEQUENTIAL, MADV_WILLNEED}) {
    EXPECT_EQ(syscall(SYS_madvise, p, 2 * kPage, advice), 0) << advice;
  }
  EXPECT_EQ(p[0], 'k');
  EXPECT_EQ(munmap(p, 2 * kPage), 0);
}

TEST(Madvise, ZeroLengthSucceeds) {
  char* p = MapAnon(1);
  EXPECT_EQ(syscall(SYS_madvise, p, 0, MADV_DONTNEED), 0);
  EXPECT_EQ(munmap(p, kPage), 0);
}

TEST(Madvise, BadAdviceIsEinval) {
  char* p = MapAnon(1);
  EXPECT_FAILS_WITH(syscall(SYS_madvise, p, kPage, 999), EINVAL);
  EXPECT_FAILS_WITH(syscall(SYS_madvise, p, kPage, -1), EINVAL);
  EXPECT_EQ(munmap(p, kPage), 0);
}

TEST(Madvise, UnalignedIsEinval) {
  char* p = MapAnon(2);
  EXPECT_FAILS_WITH(syscall(SYS_madvise, p + 1, kPage, MADV_NORMAL), EINVAL);
  EXPECT_EQ(munmap(p, 2 * kPage), 0);
}

TEST(Madvise, UnmappedRangeIsEnomem) {
  char* p = FreeRange(2);
  EXPECT_FAILS_WITH(syscall(SYS_madvise, p, 2 * kPage, MADV_NORMAL), ENOMEM);
  EXPECT_FAILS_WITH(syscall(SYS_madvise, p, 2 * kPage, MADV_DONTNEED), ENOMEM);
}

TEST(Madvise, RangeWithHoleIsEnomemButAppliesToMappedPart) {
  char* p = MapAnon(3);
  memset(p, 'h', 3 * kPage);
  ASSERT_EQ(munmap(p + kPage, kPage), 0);
  EXPECT_FAILS_WITH(syscall(SYS_madvise, p, 3 * kPage, MADV_DONTNEED), ENOMEM);
  // Linux still applies the advice to the mapped parts.
  EXPECT_TRUE(AllBytesAre(p, kPage, 0));
  EXPECT_TRUE(AllBytesAre(p + 2 * kPage, kPage, 0));
  EXPECT_EQ(munmap(p, 3 * kPage), 0);
}

// A page of a file mapping wholly past the file's end: SIGBUS with
// BUS_ADRERR. The handler ends the child with 0 only for that signal.
TEST(MmapFault, PastEndOfFileIsSigbus) {
  husk_test::RunInChild([] {
    struct sigaction sa {};
    sa.sa_sigaction = [](int sig, siginfo_t* si, void*) {
      _exit(sig == SIGBUS && si->si_code == BUS_ADRERR ? 0 : 10 + sig);
    };
    sa.sa_flags = SA_SIGINFO;
    ASSERT_EQ(sigaction(SIGBUS, &sa, nullptr), 0);
    ASSERT_EQ(sigaction(SIGSEGV, &sa, nullptr), 0);
    char name[] = "/tmp/husk_sigbus_XXXXXX";
    int fd = mkstemp(name);
    ASSERT_GE(fd, 0);
    unlink(name);
    ASSERT_EQ(write(fd, "x", 1), 1);
    auto* p = static_cast<volatile char*>(mmap(nullptr, 8192, PROT_READ, MAP_SHARED, fd, 0));
    ASSERT_NE(p, MAP_FAILED);
    EXPECT_EQ(p[0], 'x');
    EXPECT_EQ(p[1], 0);  // the rest of the file's last page reads as zeros
    (void)p[4096];
    ADD_FAILURE() << "no fault past the end of the file";
  });
}

}  // namespace
