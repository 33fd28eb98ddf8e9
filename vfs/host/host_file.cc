#include "vfs/host/host_file.h"

#include <fcntl.h>
#include <sys/ioctl.h>
#include <termios.h>
#include <unistd.h>

#include <array>

namespace husk::vfs {
namespace {

// Size of the kernel's struct termios (asm/termbits.h), which TCGETS uses.
constexpr size_t kKernelTermiosSize = 36;

class HostFile final : public FileDescription {
 public:
  HostFile(ScopedFd fd, int flags, bool regular, bool tty)
      : FileDescription(Path{}, flags), fd_(std::move(fd)), regular_(regular), tty_(tty) {}

  Result<size_t> Read(const IoVecs& dst) override {
    ssize_t n = readv(fd_.get(), dst.data(), static_cast<int>(dst.size()));
    if (n < 0) return Errno(errno);
    return static_cast<size_t>(n);
  }
  Result<size_t> Write(const IoVecs& src) override {
    ssize_t n = writev(fd_.get(), src.data(), static_cast<int>(src.size()));
    if (n < 0) return Errno(errno);
    return static_cast<size_t>(n);
  }
  Result<size_t> PRead(const IoVecs& dst, uint64_t off) override {
    if (!regular_) return Errno(ESPIPE);
    ssize_t n = preadv(fd_.get(), dst.data(), static_cast<int>(dst.size()), static_cast<off_t>(off));
    if (n < 0) return Errno(errno);
    return static_cast<size_t>(n);
  }
  Result<size_t> PWrite(const IoVecs& src, uint64_t off) override {
    if (!regular_) return Errno(ESPIPE);
    ssize_t n = pwritev(fd_.get(), src.data(), static_cast<int>(src.size()), static_cast<off_t>(off));
    if (n < 0) return Errno(errno);
    return static_cast<size_t>(n);
  }
  Result<uint64_t> Seek(int64_t offset, int whence) override {
    off_t r = lseek(fd_.get(), offset, whence);
    if (r < 0) return Errno(errno);
    return static_cast<uint64_t>(r);
  }
  Result<struct stat> Stat() override {
    struct stat st;
    if (fstat(fd_.get(), &st) != 0) return Errno(errno);
    return st;
  }
  bool Seekable() const override { return regular_; }
  bool Mappable() const override { return false; }
  bool IsTerminal() const override { return tty_; }

  Result<uint64_t> Ioctl(UserMemory& mem, uint64_t cmd, uint64_t arg) override {
    if (!tty_) return Errno(ENOTTY);
    switch (cmd) {
      case TCGETS: {
        std::array<uint8_t, kKernelTermiosSize> t;
        if (ioctl(fd_.get(), TCGETS, t.data()) != 0) return Errno(errno);
        TRY(mem.CopyOut(arg, t));
        return 0;
      }
      case TCSETS:
      case TCSETSW:
      case TCSETSF: {
        std::array<uint8_t, kKernelTermiosSize> t;
        TRY(mem.CopyIn(arg, t));
        if (ioctl(fd_.get(), cmd, t.data()) != 0) return Errno(errno);
        return 0;
      }
      case TIOCGWINSZ: {
        winsize ws;
        if (ioctl(fd_.get(), TIOCGWINSZ, &ws) != 0) return Errno(errno);
        TRY(mem.CopyOut(arg, std::span<const uint8_t>(reinterpret_cast<const uint8_t*>(&ws), sizeof(ws))));
        return 0;
      }
    }
    // PARTIAL(tty): job control ioctls come with the terminal work.
    return Errno(ENOTTY);
  }

 private:
  ScopedFd fd_;
  bool regular_;
  bool tty_;
};

}  // namespace

std::shared_ptr<FileDescription> NewHostFile(int fd) {
  int flags = fcntl(fd, F_GETFL);
  if (flags < 0) return nullptr;
  ScopedFd dup(fcntl(fd, F_DUPFD_CLOEXEC, 100));
  if (!dup.valid()) return nullptr;
  struct stat st;
  bool regular = fstat(dup.get(), &st) == 0 && S_ISREG(st.st_mode);
  bool tty = isatty(dup.get()) != 0;
  return std::make_shared<HostFile>(std::move(dup), flags & ~O_CLOEXEC, regular, tty);
}

}  // namespace husk::vfs
