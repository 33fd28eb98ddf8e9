// Helpers the syscall tests share.
#pragma once

#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <string>

#include <gtest/gtest.h>

// Expects `call` to fail with -1 and errno `err`.
#define EXPECT_FAILS_WITH(call, err)                        \
  do {                                                      \
    errno = 0;                                              \
    long _r = (long)(call);                                 \
    int _e = errno;                                         \
    EXPECT_EQ(_r, -1L) << #call;                            \
    EXPECT_EQ(_e, (err)) << #call << ": " << strerror(_e);  \
  } while (0)

namespace husk_test {

// A pointer into a PROT_NONE page: any kernel access to it faults.
inline void* BadPtr() {
  static void* page = [] {
    void* p = mmap(nullptr, 4096, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (p == MAP_FAILED) abort();
    return p;
  }();
  return page;
}

// Returns an fd number that is certainly not open.
inline int ClosedFd() {
  int fd = open("/dev/null", O_RDONLY);
  if (fd < 0) abort();
  close(fd);
  return fd;
}

// A fixture whose tests work in a fresh /tmp/husk_XXXXXX directory, removed
// with everything in it afterwards.
class TempDirTest : public ::testing::Test {
 protected:
  void SetUp() override {
    char tmpl[] = "/tmp/husk_XXXXXX";
    ASSERT_NE(mkdtemp(tmpl), nullptr) << strerror(errno);
    dir_ = tmpl;
  }
  void TearDown() override {
    std::error_code ec;
    std::filesystem::remove_all(dir_, ec);
  }

  std::string Path(const std::string& name) const { return dir_ + "/" + name; }

  std::string dir_;
};

}  // namespace husk_test
