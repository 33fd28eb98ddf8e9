#include "vfs/host/host_file.h"

#include <fcntl.h>
#include <poll.h>
#include <sys/ioctl.h>
#include <termios.h>
#include <unistd.h>

#include <array>

#include "vfs/wait.h"

namespace husk::vfs {
namespace {

// Size of the kernel's struct termios (asm/termbits.h), which TCGETS uses.
constexpr size_t kKernelTermiosSize = 36;

class HostFile final : public FileDescription {
 public:
  HostFile(ScopedFd fd, int flags, bool regular, bool tty)
      : FileDescription(Path{}, flags), fd_(std::move(fd)), regular_(regular), tty_(tty) {}

  // A pipe, terminal or socket may block: the task waits for it with the
  // host's poll, where a signal can reach it, and only then reads or
  // writes. The host fd itself stays blocking: its open file description is
  // the caller's too. PARTIAL(host fds): another reader of the same host
  // pipe or terminal can take the data between the poll and the read, which
  // then blocks uninterruptibly.
  Result<size_t> Read(const IoVecs& dst) override {
    TRY(AwaitHost(POLLIN));
    ssize_t n = readv(fd_.get(), dst.data(), static_cast<int>(dst.size()));
    if (n < 0) return Errno(errno);
    return static_cast<size_t>(n);
  }
  Result<size_t> Write(const IoVecs& src) override {
    TRY(AwaitHost(POLLOUT));
    ssize_t n = writev(fd_.get(), src.data(), static_cast<int>(src.size()));
    if (n < 0) return Errno(errno);
    return static_cast<size_t>(n);
  }
  short Readiness(short events) override {
    if (regular_) return FileDescription::Readiness(events);
    return PollHostFd(fd_.get(), events);
  }
  int HostPollFd() const override { return regular_ ? -1 : fd_.get(); }
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
  // open(2) of /proc/self/fd/N (/dev/stdout): the sandbox cannot open the
  // host file anew, so it gets the same host open file (its offset shared).
  Result<std::shared_ptr<FileDescription>> Reopen(int) override;

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
      case TIOCSWINSZ: {
        winsize ws;
        TRY(mem.CopyIn(arg, std::span<uint8_t>(reinterpret_cast<uint8_t*>(&ws), sizeof(ws))));
        if (ioctl(fd_.get(), TIOCSWINSZ, &ws) != 0) return Errno(errno);
        return 0;
      }
      case FIONREAD:
      case TIOCOUTQ: {
        int n;
        if (ioctl(fd_.get(), cmd, &n) != 0) return Errno(errno);
        TRY(mem.CopyOut(arg, std::span<const uint8_t>(reinterpret_cast<const uint8_t*>(&n), sizeof(n))));
        return 0;
      }
      case TCFLSH:
      case TCXONC:
      case TCSBRK:
        // Integer arguments; tcdrain (TCSBRK 1) waits for the host.
        if (ioctl(fd_.get(), cmd, static_cast<unsigned long>(arg)) != 0) return Errno(errno);
        return 0;
    }
    // PARTIAL(tty): job control is the sandbox's (sentry/kernel/tty wraps
    // the caller's terminal); other terminal ioctls are not passed on.
    return Errno(ENOTTY);
  }

 private:
  // Waits until the host fd is ready for `events`: EAGAIN at once if this
  // description is non-blocking, ERESTARTSYS on a signal.
  Result<void> AwaitHost(short events) {
    if (regular_ || PollHostFd(fd_.get(), events) != 0) return Ok();
    if (flags() & O_NONBLOCK) return Errno(EAGAIN);
    return WaitHostFd(fd_.get(), events);
  }

  ScopedFd fd_;
  bool regular_;
  bool tty_;
};

}  // namespace

Result<std::shared_ptr<FileDescription>> HostFile::Reopen(int) {
  auto f = NewHostFile(fd_.get());
  if (!f) return Errno(ENXIO);
  return f;
}

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
