// /dev/tty, and the caller's terminal: when `sentry run` is started on a
// terminal, its stdio stays the host's files, but the sandbox keeps the job
// control of it (session, foreground group) to itself.

#include <poll.h>
#include <signal.h>
#include <sys/ioctl.h>
#include <sys/sysmacros.h>
#include <termios.h>
#include <unistd.h>

#include <array>
#include <cstring>
#include <string_view>

#include "sentry/kernel/kernel.h"
#include "sentry/kernel/tty/line_discipline.h"
#include "sentry/kernel/tty/tty.h"

namespace husk::kernel::tty {
namespace {

Task* Caller() { return dynamic_cast<Task*>(vfs::CurrentWaiter()); }

// Sentry memory posing as application memory, to ask a file's ioctl for
// something the sentry itself wants to know: addresses are pointers.
class SentryMemory final : public vfs::UserMemory {
 public:
  Result<void> CopyIn(uint64_t addr, std::span<uint8_t> dst) override {
    memcpy(dst.data(), reinterpret_cast<const void*>(addr), dst.size());
    return Ok();
  }
  Result<void> CopyOut(uint64_t addr, std::span<const uint8_t> src) override {
    memcpy(reinterpret_cast<void*>(addr), src.data(), src.size());
    return Ok();
  }
};

// The host terminal `sentry run` was started on.
class HostTty final : public Tty, public std::enable_shared_from_this<HostTty> {
 public:
  explicit HostTty(std::shared_ptr<vfs::FileDescription> host) : host_(std::move(host)) {
    if (auto st = host_->Stat()) rdev_ = st->st_rdev;
  }
  bool IsPty() const override { return false; }
  dev_t Rdev() const override { return rdev_; }
  Result<std::shared_ptr<vfs::FileDescription>> OpenDevTty(const vfs::Path& path, int flags) override;
  const std::shared_ptr<vfs::FileDescription>& host() const { return host_; }

 private:
  std::shared_ptr<vfs::FileDescription> host_;
  dev_t rdev_ = 0;
};

// A file on the host terminal: reads, writes and the terminal's settings
// go to the host; job control is the sandbox's.
class HostTtyFile final : public vfs::FileDescription {
 public:
  HostTtyFile(std::shared_ptr<HostTty> tty, std::shared_ptr<vfs::FileDescription> host,
              vfs::Path path, int flags)
      : FileDescription(std::move(path), flags), tty_(std::move(tty)), host_(std::move(host)) {}

  Result<size_t> Read(const vfs::IoVecs& dst) override {
    if (Task* t = Caller()) TRY(CheckChange(*t, *tty_, SIGTTIN));
    // This description's O_NONBLOCK, not the host file's (which /dev/tty
    // opens share).
    if ((flags() & O_NONBLOCK) && host_->Readiness(POLLIN) == 0) return Errno(EAGAIN);
    return host_->Read(dst);
  }
  Result<size_t> Write(const vfs::IoVecs& src) override {
    Task* t = Caller();
    if (t != nullptr) {
      KernelTermios tio;
      SentryMemory mem;
      if (host_->Ioctl(mem, TCGETS, reinterpret_cast<uint64_t>(&tio)) && (tio.c_lflag & TOSTOP)) {
        TRY(CheckChange(*t, *tty_, SIGTTOU));
      }
    }
    if ((flags() & O_NONBLOCK) && host_->Readiness(POLLOUT) == 0) return Errno(EAGAIN);
    return host_->Write(src);
  }
  Result<uint64_t> Seek(int64_t, int) override { return Errno(ESPIPE); }
  Result<struct stat> Stat() override {
    // An open of /dev/tty is that node's; stdio is the host terminal's.
    if (path_.valid()) return FileDescription::Stat();
    return host_->Stat();
  }
  short Readiness(short events) override { return host_->Readiness(events); }
  vfs::WaitQueue* ReadinessQueue() override { return host_->ReadinessQueue(); }
  int HostPollFd() const override { return host_->HostPollFd(); }
  bool IsTerminal() const override { return true; }
  bool Mappable() const override { return false; }

  Result<uint64_t> Ioctl(vfs::UserMemory& mem, uint64_t cmd, uint64_t arg) override {
    Task* t = Caller();
    if (t != nullptr) {
      if (auto r = JobControlIoctl(*t, tty_, false, Readable(), mem, cmd, arg)) return *r;
      switch (cmd) {
        case TCSETS:
        case TCSETSW:
        case TCSETSF:
        case TIOCSWINSZ:
          if (cmd != TIOCSWINSZ) TRY(CheckChange(*t, *tty_, SIGTTOU));
          break;
      }
    }
    return host_->Ioctl(mem, cmd, arg);
  }

 private:
  std::shared_ptr<HostTty> tty_;
  std::shared_ptr<vfs::FileDescription> host_;
};

Result<std::shared_ptr<vfs::FileDescription>> HostTty::OpenDevTty(const vfs::Path& path, int flags) {
  // PARTIAL(tty): the host terminal cannot be opened again from inside
  // the sandbox; a /dev/tty open shares the host file (its offset and
  // status flags) with the stdio ones.
  return std::shared_ptr<vfs::FileDescription>(
      std::make_shared<HostTtyFile>(shared_from_this(), host_, path, flags));
}

class DevTtyInode final : public vfs::Inode {
 public:
  DevTtyInode(dev_t dev, ino_t ino, timespec time) : Inode(S_IFCHR) {
    st_.st_mode = S_IFCHR | 0666;
    st_.st_rdev = makedev(5, 0);
    st_.st_dev = dev;
    st_.st_ino = ino;
    st_.st_nlink = 1;
    st_.st_blksize = 4096;
    st_.st_atim = st_.st_mtim = st_.st_ctim = time;
  }
  Result<struct stat> Stat() override { return st_; }
  Result<std::shared_ptr<vfs::FileDescription>> Open(const vfs::Path& path, int flags) override {
    if (flags & O_PATH) return std::make_shared<vfs::FileDescription>(path, flags);
    Task* t = Caller();
    if (t == nullptr) return Errno(ENXIO);
    std::shared_ptr<Tty> tty;
    {
      absl::MutexLock lock(&t->kernel().mu());
      tty = t->thread_group().ctty;
    }
    if (tty == nullptr) return Errno(ENXIO);
    // /dev/tty never makes a terminal the controlling one.
    return tty->OpenDevTty(path, flags | O_NOCTTY);
  }

 private:
  struct stat st_ {};
};

// The host terminal's node in the sandbox's /dev.
class HostTtyNode final : public vfs::Inode {
 public:
  explicit HostTtyNode(std::shared_ptr<HostTty> tty) : Inode(S_IFCHR), tty_(std::move(tty)) {}
  Result<struct stat> Stat() override { return tty_->host()->Stat(); }
  Result<std::shared_ptr<vfs::FileDescription>> Open(const vfs::Path& path, int flags) override {
    if (flags & O_PATH) return std::make_shared<vfs::FileDescription>(path, flags);
    auto file = TRY(tty_->OpenDevTty(path, flags));
    if (Task* t = Caller()) MaybeAcquire(*t, tty_, flags);
    return file;
  }

 private:
  std::shared_ptr<HostTty> tty_;
};

}  // namespace

std::shared_ptr<vfs::Inode> NewHostTtyNode(const std::shared_ptr<Tty>& tty) {
  auto host = std::dynamic_pointer_cast<HostTty>(tty);
  if (host == nullptr) return nullptr;
  return std::make_shared<HostTtyNode>(std::move(host));
}

std::shared_ptr<vfs::Inode> NewDevTtyInode(dev_t dev, ino_t ino, timespec time) {
  return std::make_shared<DevTtyInode>(dev, ino, time);
}

std::shared_ptr<Tty> AdoptHostTerminal(vfs::FdTable& fds) {
  // Start-up only (before the sentry confines itself): which of our stdio
  // fds are on the controlling terminal of our session.
  const pid_t sid = getsid(0);
  std::shared_ptr<HostTty> tty;
  dev_t rdev = 0;
  for (int fd = 0; fd < 3; ++fd) {
    auto file = fds.Get(fd);
    if (!file || !(*file)->IsTerminal()) continue;
    pid_t tty_sid = 0;
    struct stat st;
    if (ioctl(fd, TIOCGSID, &tty_sid) != 0 || tty_sid != sid || fstat(fd, &st) != 0) continue;
    if (tty == nullptr) {
      tty = std::make_shared<HostTty>(*file);
      rdev = st.st_rdev;
    } else if (st.st_rdev != rdev) {
      continue;
    }
    const int flags = (*file)->flags();
    (void)fds.InstallAt(fd, std::make_shared<HostTtyFile>(tty, *file, vfs::Path{}, flags), false, 3);
  }
  return tty;
}

uint32_t TtyGroup(Kernel& k) {
  vfs::Credentials root;
  vfs::LookupContext ctx{k.vfs().Root(), k.vfs().Root(), &root};
  auto file = k.vfs().Open(ctx, k.vfs().Root(), "/etc/group", O_RDONLY, 0, 0);
  if (!file) return 0;
  std::string text;
  std::array<char, 4096> buf;
  while (text.size() < (1 << 20)) {
    vfs::IoVecs v{iovec{buf.data(), buf.size()}};
    auto n = (*file)->Read(v);
    if (!n || *n == 0) break;
    text.append(buf.data(), *n);
  }
  std::string_view rest = text;
  while (!rest.empty()) {
    const size_t eol = rest.find('\n');
    std::string_view line = rest.substr(0, eol);
    rest = eol == std::string_view::npos ? std::string_view() : rest.substr(eol + 1);
    // name:password:gid:members
    if (!line.starts_with("tty:")) continue;
    const size_t a = line.find(':', 4);
    if (a == std::string_view::npos) continue;
    uint32_t gid = 0;
    for (size_t i = a + 1; i < line.size() && line[i] >= '0' && line[i] <= '9'; ++i) {
      gid = gid * 10 + static_cast<uint32_t>(line[i] - '0');
    }
    return gid;
  }
  return 0;
}

}  // namespace husk::kernel::tty
