// What the link, rename and mknod tests share: a scratch directory on each
// kind of filesystem the sandbox has, and a way to tell that the tests run
// inside the sandbox, where the host root is the read-only lower layer of an
// overlay and may be "changed" without touching the host.
#pragma once

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <unistd.h>

#include <filesystem>
#include <string>

#include <gtest/gtest.h>

namespace husk_test {

// Whether this process runs as the first process of a Husk sandbox: it is
// pid 1 and the root is an overlay, whose lower layer is the host's root.
// Natively a test is never pid 1 (CTest starts it), so tests that rename
// or link host files (in the sandbox, the read-only lower layer) run only
// in there; were one run as a container's first process, it would change
// the container's own upper layer, not the host. Erring on "no" only skips.
inline bool InHuskSandbox() {
  constexpr long kOverlayfsMagic = 0x794c7630;
  struct statfs fs {};
  return getpid() == 1 && statfs("/", &fs) == 0 && fs.f_type == kOverlayfsMagic;
}

// A fresh directory under `GetParam()` (/tmp: the overlay's upper layer in
// the sandbox; /dev/shm: a plain tmpfs in both worlds), removed with all
// in it afterwards.
class ScratchDirTest : public ::testing::TestWithParam<const char*> {
 protected:
  void SetUp() override {
    std::string tmpl = std::string(GetParam()) + "/husk_namei_XXXXXX";
    ASSERT_NE(mkdtemp(tmpl.data()), nullptr) << tmpl << ": " << strerror(errno);
    dir_ = tmpl;
    old_umask_ = umask(022);
  }
  void TearDown() override {
    umask(old_umask_);
    std::error_code ec;
    std::filesystem::remove_all(dir_, ec);
  }

  std::string Path(const std::string& name) const { return dir_ + "/" + name; }
  bool OnTmpfs() const { return std::string(GetParam()) == "/dev/shm"; }

  // A regular file `name` holding `content`; its path.
  std::string MakeFile(const std::string& name, const std::string& content = "data",
                       mode_t mode = 0644) {
    std::string path = Path(name);
    int fd = open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC, mode);
    EXPECT_GE(fd, 0) << path << ": " << strerror(errno);
    EXPECT_EQ(write(fd, content.data(), content.size()), static_cast<ssize_t>(content.size()));
    close(fd);
    return path;
  }
  // What the file at `path` holds (up to 256 bytes), or "errno N".
  std::string Read(const std::string& path) {
    int fd = open(path.c_str(), O_RDONLY);
    if (fd < 0) return "errno " + std::to_string(errno);
    char buf[256];
    ssize_t n = read(fd, buf, sizeof buf);
    close(fd);
    return n < 0 ? "read error" : std::string(buf, n);
  }
  struct stat Stat(const std::string& path) {
    struct stat st {};
    EXPECT_EQ(lstat(path.c_str(), &st), 0) << path << ": " << strerror(errno);
    return st;
  }

  std::string dir_;
  mode_t old_umask_ = 0;
};

inline std::string ScratchName(const ::testing::TestParamInfo<const char*>& info) {
  return std::string(info.param) == "/tmp" ? "Tmp" : "DevShm";
}

}  // namespace husk_test
