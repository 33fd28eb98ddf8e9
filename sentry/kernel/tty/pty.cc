// Pseudo-terminals (drivers/tty/pty.c, fs/devpts): /dev/ptmx makes a
// master and a slave /dev/pts/N joined by a line discipline; devpts lists
// the slaves.

#include <dirent.h>
#include <poll.h>
#include <signal.h>
#include <sys/ioctl.h>
#include <sys/sysmacros.h>
#include <termios.h>
#include <time.h>

#include <map>
#include <set>
#include <string>
#include <vector>

#include "sentry/kernel/kernel.h"
#include "sentry/kernel/tty/line_discipline.h"
#include "sentry/kernel/tty/tty.h"
#include "vfs/dir_file.h"
#include "vfs/tmpfs/tmpfs.h"
#include "vfs/wait.h"

namespace husk::kernel::tty {
namespace {

constexpr long kDevptsMagic = 0x1cd1;
constexpr unsigned kDevptsMinor = 23;  // its anonymous device, beside procfs's and sysfs's
constexpr unsigned kPtyMajor = 136;    // UNIX98_PTY_SLAVE_MAJOR
constexpr int kPtyMax = 4096;          // /proc/sys/kernel/pty/max
// The kernel's termio (TCGETA), the ioctls of termios2 and the pty
// requests glibc's headers may lack.
struct KernelTermio {
  uint16_t c_iflag, c_oflag, c_cflag, c_lflag;
  uint8_t c_line;
  uint8_t c_cc[8];
};
static_assert(sizeof(KernelTermio) == 18, "kernel struct termio is 18 bytes");
constexpr uint64_t kTcgets2 = 0x802c542a, kTcsets2 = 0x402c542b, kTcsetsw2 = 0x402c542c,
                   kTcsetsf2 = 0x402c542d;
constexpr uint64_t kTiocgptn = 0x80045430, kTiocsptlck = 0x40045431, kTiocgptlck = 0x80045439,
                   kTiocgpkt = 0x80045438, kTiocgexcl = 0x80045440, kTiocgptpeer = 0x5441,
                   kTiocsig = 0x40045436;
constexpr uint32_t kBother = 010000;  // CBAUDEX alone: the speed is in c_ospeed

Task* Caller() { return dynamic_cast<Task*>(vfs::CurrentWaiter()); }

// A baud rate code of c_cflag (CBAUD) as bits per second.
uint32_t BaudOf(uint32_t code) {
  static constexpr uint32_t kLow[16] = {0,   50,   75,   110,  134,  150,  200,   300,
                                        600, 1200, 1800, 2400, 4800, 9600, 19200, 38400};
  static constexpr uint32_t kHigh[16] = {0,       57600,   115200,  230400,  460800,  500000,
                                         576000,  921600,  1000000, 1152000, 1500000, 2000000,
                                         2500000, 3000000, 3500000, 4000000};
  code &= CBAUD;
  return (code & CBAUDEX) ? kHigh[code & 15] : kLow[code & 15];
}

std::vector<uint8_t> Gather(const vfs::IoVecs& src) {
  std::vector<uint8_t> data(vfs::TotalLength(src));
  vfs::CopyFromIoVecs(data, src);
  return data;
}

template <class T>
Result<T> CopyInValue(vfs::UserMemory& mem, uint64_t addr) {
  T v{};
  TRY(mem.CopyIn(addr, std::span<uint8_t>(reinterpret_cast<uint8_t*>(&v), sizeof(v))));
  return v;
}
template <class T>
Result<void> CopyOutValue(vfs::UserMemory& mem, uint64_t addr, const T& v) {
  return mem.CopyOut(addr, std::span<const uint8_t>(reinterpret_cast<const uint8_t*>(&v), sizeof(v)));
}

timespec DeadlineIn(long ms) {
  timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  ts.tv_sec += ms / 1000;
  ts.tv_nsec += (ms % 1000) * 1000000L;
  if (ts.tv_nsec >= 1000000000L) {
    ts.tv_sec += 1;
    ts.tv_nsec -= 1000000000L;
  }
  return ts;
}

class Pty;
class PtsInode;

}  // namespace

// One devpts instance: the pty indexes in use and the slaves it shows.
class Devpts {
 public:
  Devpts(Kernel& k, uint32_t tty_gid) : kernel(k), tty_gid(tty_gid), dev(makedev(0, kDevptsMinor)) {
    clock_gettime(CLOCK_REALTIME, &created);
  }

  Kernel& kernel;
  const uint32_t tty_gid;
  const dev_t dev;
  timespec created{};
  std::weak_ptr<vfs::Mount> mount;
  std::shared_ptr<vfs::Inode> ptmx;  // /dev/pts/ptmx

  absl::Mutex mu;
  std::set<int> used ABSL_GUARDED_BY(mu);  // indexes until their pair is gone
  std::map<int, std::weak_ptr<Pty>> shown ABSL_GUARDED_BY(mu);  // /dev/pts/N until the master closes
  // The host terminal, when it is a host pty: its index is never handed out.
  int host_index = -1;
  std::shared_ptr<vfs::Inode> host_node;

  // The slave /dev/pts/`index` inside the mount.
  Result<vfs::Path> SlavePath(int index) {
    auto m = mount.lock();
    if (!m) return Errno(EIO);
    auto d = TRY(m->root()->Child(std::to_string(index)));
    return vfs::Path{m, d};
  }
};

namespace {

// The slave's device node /dev/pts/N.
class PtsInode final : public vfs::Inode {
 public:
  PtsInode(std::weak_ptr<Pty> pty, const Devpts& fs, int index, uint32_t uid, uint32_t gid)
      : Inode(S_IFCHR), pty_(std::move(pty)) {
    st_.st_mode = S_IFCHR | 0620;
    st_.st_uid = uid;
    st_.st_gid = gid;
    st_.st_rdev = makedev(kPtyMajor + index / 256, index % 256);
    st_.st_dev = fs.dev;
    st_.st_ino = static_cast<ino_t>(index) + 3;  // devpts: root 1, ptmx 2
    st_.st_nlink = 1;
    st_.st_blksize = 1024;
    clock_gettime(CLOCK_REALTIME, &st_.st_atim);
    st_.st_mtim = st_.st_ctim = st_.st_atim;
  }
  Result<struct stat> Stat() override {
    absl::MutexLock lock(&mu_);
    return st_;
  }
  Result<void> SetMode(mode_t mode) override {
    absl::MutexLock lock(&mu_);
    st_.st_mode = S_IFCHR | (mode & 07777);
    clock_gettime(CLOCK_REALTIME, &st_.st_ctim);
    return Ok();
  }
  Result<void> SetTimes(const timespec& atime, const timespec& mtime) override {
    absl::MutexLock lock(&mu_);
    st_.st_atim = atime;
    st_.st_mtim = mtime;
    clock_gettime(CLOCK_REALTIME, &st_.st_ctim);
    return Ok();
  }
  Result<struct statfs> StatFs() override {
    struct statfs s{};
    s.f_type = kDevptsMagic;
    s.f_bsize = 4096;
    s.f_namelen = 255;
    return s;
  }
  Result<std::shared_ptr<vfs::FileDescription>> Open(const vfs::Path& path, int flags) override;
  bool Revalidate() override;

 private:
  std::weak_ptr<Pty> pty_;
  absl::Mutex mu_;
  struct stat st_ ABSL_GUARDED_BY(mu_) {};
};

// A pseudo-terminal pair: the slave's terminal (job control, termios,
// window size) and the line discipline between the two ends.
class Pty final : public Tty, public std::enable_shared_from_this<Pty> {
 public:
  Pty(std::shared_ptr<Devpts> fs, int index) : index(index), devpts(std::move(fs)) {}
  ~Pty() override {
    absl::MutexLock lock(&devpts->mu);
    devpts->used.erase(index);
  }

  bool IsPty() const override { return true; }
  dev_t Rdev() const override { return makedev(kPtyMajor + index / 256, index % 256); }
  Result<std::shared_ptr<vfs::FileDescription>> OpenDevTty(const vfs::Path& path, int flags) override {
    return OpenSlave(path, flags);
  }
  // An open of the slave (pty_open): EIO while locked or once the master
  // is gone; EBUSY under TIOCEXCL.
  Result<std::shared_ptr<vfs::FileDescription>> OpenSlave(const vfs::Path& path, int flags);
  // The master's last close: the slave hangs up and leaves /dev/pts.
  void MasterClosed();
  bool Gone() {
    absl::MutexLock lock(&mu);
    return hung_up;
  }

  // The ioctls both ends share; `master`: on the master's file.
  Result<uint64_t> Ioctl(bool master, vfs::FileDescription& file, vfs::UserMemory& mem,
                         uint64_t cmd, uint64_t arg);
  // Wakes every reader, writer and poller of either end.
  void Notify() { events.NotifyAll(); }
  // Signals the slave's foreground group for the characters it was sent.
  void SendSignals(const std::vector<int>& sigs) {
    for (int sig : sigs) SignalForeground(devpts->kernel, *this, sig);
  }

  const int index;
  const std::shared_ptr<Devpts> devpts;
  std::shared_ptr<PtsInode> node;

  absl::Mutex mu;
  LineDiscipline ld ABSL_GUARDED_BY(mu);
  uint32_t ispeed ABSL_GUARDED_BY(mu) = 38400;
  uint32_t ospeed ABSL_GUARDED_BY(mu) = 38400;
  winsize ws ABSL_GUARDED_BY(mu){};
  bool locked ABSL_GUARDED_BY(mu) = true;     // TIOCSPTLCK
  bool exclusive ABSL_GUARDED_BY(mu) = false;  // TIOCEXCL
  bool packet ABSL_GUARDED_BY(mu) = false;     // TIOCPKT
  int slave_opens ABSL_GUARDED_BY(mu) = 0;
  // TTY_OTHER_CLOSED on the master: the last slave open closed (a master
  // read with nothing left is EIO); a new slave open clears it.
  bool slave_closed ABSL_GUARDED_BY(mu) = false;
  bool hung_up ABSL_GUARDED_BY(mu) = false;  // the master closed
  vfs::WaitQueue events;

 private:
  Result<uint64_t> SetTermios(Task* t, vfs::UserMemory& mem, uint64_t cmd, uint64_t arg);
};

// The master end: reads what the slave wrote (and echoes), writes what
// the slave will read.
class MasterFile final : public vfs::FileDescription {
 public:
  MasterFile(std::shared_ptr<Pty> pty, vfs::Path path, int flags)
      : FileDescription(std::move(path), flags), pty_(std::move(pty)) {}
  ~MasterFile() override { pty_->MasterClosed(); }

  Result<size_t> Read(const vfs::IoVecs& dst) override {
    const size_t want = vfs::TotalLength(dst);
    if (want == 0) return 0;
    std::vector<uint8_t> buf(std::min(want, LineDiscipline::kOutputCap + 1));
    for (;;) {
      {
        absl::MutexLock lock(&pty_->mu);
        if (pty_->ld.OutputBytes() > 0) {
          size_t n = 0;
          // Packet mode: a TIOCPKT_DATA byte before the data.
          if (pty_->packet) buf[n++] = TIOCPKT_DATA;
          n += pty_->ld.ReadOutput(std::span<uint8_t>(buf).subspan(n));
          pty_->Notify();
          return vfs::CopyToIoVecs(dst, std::span<const uint8_t>(buf.data(), n));
        }
        if (pty_->slave_closed) return Errno(EIO);
      }
      if (flags() & O_NONBLOCK) return Errno(EAGAIN);
      TRY(vfs::BlockOn(pty_->events, [&] {
        absl::MutexLock lock(&pty_->mu);
        return pty_->ld.OutputBytes() > 0 || pty_->slave_closed;
      }));
    }
  }

  Result<size_t> Write(const vfs::IoVecs& src) override {
    const std::vector<uint8_t> data = Gather(src);
    size_t done = 0;
    while (done < data.size()) {
      std::vector<int> sigs;
      {
        absl::MutexLock lock(&pty_->mu);
        done += pty_->ld.Receive(std::span<const uint8_t>(data).subspan(done), sigs);
      }
      pty_->Notify();
      pty_->SendSignals(sigs);
      if (done == data.size()) break;
      if (flags() & O_NONBLOCK) {
        if (done > 0) return done;
        return Errno(EAGAIN);
      }
      auto r = vfs::BlockOn(pty_->events, [&] {
        absl::MutexLock lock(&pty_->mu);
        return pty_->ld.InputRoom();
      });
      if (!r) {
        if (done > 0) return done;
        return r.error();
      }
    }
    return done;
  }

  short Readiness(short events) override {
    absl::MutexLock lock(&pty_->mu);
    short ready = 0;
    if (pty_->ld.OutputBytes() > 0) ready |= POLLIN | POLLRDNORM;
    if (pty_->ld.InputRoom()) ready |= POLLOUT | POLLWRNORM;
    if (pty_->slave_closed) ready |= POLLHUP;
    return ready & (events | POLLHUP | POLLERR);
  }
  vfs::WaitQueue* ReadinessQueue() override { return &pty_->events; }
  Result<uint64_t> Ioctl(vfs::UserMemory& mem, uint64_t cmd, uint64_t arg) override {
    return pty_->Ioctl(true, *this, mem, cmd, arg);
  }
  bool IsTerminal() const override { return true; }
  bool Mappable() const override { return false; }

 private:
  std::shared_ptr<Pty> pty_;
};

// An open of the slave: the terminal a program reads and writes.
class SlaveFile final : public vfs::FileDescription {
 public:
  SlaveFile(std::shared_ptr<Pty> pty, vfs::Path path, int flags)
      : FileDescription(std::move(path), flags), pty_(std::move(pty)) {
    absl::MutexLock lock(&pty_->mu);
    ++pty_->slave_opens;
    pty_->slave_closed = false;
  }
  ~SlaveFile() override {
    {
      absl::MutexLock lock(&pty_->mu);
      if (--pty_->slave_opens == 0) pty_->slave_closed = true;
    }
    pty_->Notify();
  }

  Result<size_t> Read(const vfs::IoVecs& dst) override {
    Task* t = Caller();
    if (t != nullptr) {
      // A read from the background stops the reader's group (SIGTTIN).
      bool gone;
      {
        absl::MutexLock lock(&pty_->mu);
        gone = pty_->hung_up;
      }
      if (!gone) TRY(CheckChange(*t, *pty_, SIGTTIN));
    }
    const size_t want = vfs::TotalLength(dst);
    std::vector<uint8_t> buf;
    size_t got = 0;
    // n_tty_read's VMIN/VTIME: at least `minimum` bytes; `timeout_ms` for
    // the first (MIN 0) or between bytes (MIN > 0, TIME > 0); -1: none.
    size_t minimum = 0;
    long timeout_ms = -1, inter_ms = 0;
    bool canonical;
    {
      absl::MutexLock lock(&pty_->mu);
      canonical = pty_->ld.canonical();
      if (!canonical) {
        const uint8_t vmin = pty_->ld.termios().c_cc[VMIN];
        const uint8_t vtime = pty_->ld.termios().c_cc[VTIME];
        if (vmin > 0) {
          minimum = vmin;
          inter_ms = vtime * 100L;
        } else {
          minimum = 1;
          timeout_ms = vtime * 100L;
        }
      }
    }
    buf.resize(std::min(want, canonical ? LineDiscipline::kMaxLine + 1 : LineDiscipline::kInputCap));
    if (want == 0) return 0;
    std::optional<timespec> deadline;
    if (timeout_ms > 0) deadline = DeadlineIn(timeout_ms);
    for (;;) {
      {
        absl::MutexLock lock(&pty_->mu);
        if (pty_->hung_up) return got;
        if (pty_->ld.Readable()) {
          const size_t n = pty_->ld.Read(std::span<uint8_t>(buf).subspan(got));
          got += n;
          pty_->Notify();
          if (canonical || got >= std::min(minimum, want)) break;
          if (inter_ms > 0) deadline = DeadlineIn(inter_ms);
          continue;
        }
      }
      if (timeout_ms == 0) break;  // MIN 0, TIME 0: what there is
      if (flags() & O_NONBLOCK) {
        if (got > 0) break;
        return Errno(EAGAIN);
      }
      vfs::Waiter* w = vfs::CurrentWaiter();
      if (w == nullptr) return Errno(EAGAIN);
      auto r = w->Block({&pty_->events},
                        [&] {
                          absl::MutexLock lock(&pty_->mu);
                          return pty_->hung_up || pty_->ld.Readable();
                        },
                        deadline);
      if (!r) {
        if (r.error() == Errno(ETIMEDOUT)) break;
        if (got > 0) break;
        return r.error();
      }
    }
    return vfs::CopyToIoVecs(dst, std::span<const uint8_t>(buf.data(), got));
  }

  Result<size_t> Write(const vfs::IoVecs& src) override {
    Task* t = Caller();
    {
      absl::MutexLock lock(&pty_->mu);
      if (pty_->hung_up) return Errno(EIO);
      t = (pty_->ld.termios().c_lflag & TOSTOP) ? t : nullptr;
    }
    // TOSTOP: a write from the background stops the writer's group.
    if (t != nullptr) TRY(CheckChange(*t, *pty_, SIGTTOU));
    const std::vector<uint8_t> data = Gather(src);
    size_t done = 0;
    while (done < data.size()) {
      {
        absl::MutexLock lock(&pty_->mu);
        if (pty_->hung_up) {
          if (done > 0) return done;
          return Errno(EIO);
        }
        if (!pty_->ld.stopped()) done += pty_->ld.Write(std::span<const uint8_t>(data).subspan(done));
      }
      pty_->Notify();
      if (done == data.size()) break;
      if (flags() & O_NONBLOCK) {
        if (done > 0) return done;
        return Errno(EAGAIN);
      }
      auto r = vfs::BlockOn(pty_->events, [&] {
        absl::MutexLock lock(&pty_->mu);
        return pty_->hung_up || (!pty_->ld.stopped() && pty_->ld.OutputRoom());
      });
      if (!r) {
        if (done > 0) return done;
        return r.error();
      }
    }
    return done;
  }

  short Readiness(short events) override {
    absl::MutexLock lock(&pty_->mu);
    short ready = 0;
    if (pty_->hung_up) {
      ready = POLLIN | POLLOUT | POLLERR | POLLHUP | POLLRDNORM | POLLWRNORM;
    } else {
      if (pty_->ld.Readable()) ready |= POLLIN | POLLRDNORM;
      if (!pty_->ld.stopped() && pty_->ld.OutputRoom()) ready |= POLLOUT | POLLWRNORM;
    }
    return ready & (events | POLLHUP | POLLERR);
  }
  vfs::WaitQueue* ReadinessQueue() override { return &pty_->events; }
  Result<uint64_t> Ioctl(vfs::UserMemory& mem, uint64_t cmd, uint64_t arg) override {
    return pty_->Ioctl(false, *this, mem, cmd, arg);
  }
  bool IsTerminal() const override { return true; }
  bool Mappable() const override { return false; }

 private:
  std::shared_ptr<Pty> pty_;
};

Result<std::shared_ptr<vfs::FileDescription>> Pty::OpenSlave(const vfs::Path& path, int flags) {
  Task* t = Caller();
  {
    absl::MutexLock lock(&mu);
    if (hung_up || locked) return Errno(EIO);
    if (exclusive && (t == nullptr || !t->creds().HasCapability(CAP_SYS_ADMIN))) return Errno(EBUSY);
  }
  auto file = std::make_shared<SlaveFile>(shared_from_this(), path, flags);
  Notify();
  if (t != nullptr) MaybeAcquire(*t, shared_from_this(), flags);
  return std::shared_ptr<vfs::FileDescription>(std::move(file));
}

void Pty::MasterClosed() {
  {
    absl::MutexLock lock(&mu);
    hung_up = true;
  }
  Notify();
  {
    absl::MutexLock lock(&devpts->mu);
    devpts->shown.erase(index);
  }
  HangUp(devpts->kernel, *this);
}

Result<uint64_t> Pty::SetTermios(Task* t, vfs::UserMemory& mem, uint64_t cmd, uint64_t arg) {
  if (t != nullptr) TRY(CheckChange(*t, *this, SIGTTOU));
  KernelTermios2 n;
  bool flush = false;
  bool with_speeds = false;
  switch (cmd) {
    case TCSETA:
    case TCSETAW:
    case TCSETAF: {
      // termio replaces the low 16 bits of each mode and the first 8
      // control characters.
      const auto o = TRY(CopyInValue<KernelTermio>(mem, arg));
      {
        absl::MutexLock lock(&mu);
        n.t = ld.termios();
      }
      n.t.c_iflag = (n.t.c_iflag & 0xffff0000u) | o.c_iflag;
      n.t.c_oflag = (n.t.c_oflag & 0xffff0000u) | o.c_oflag;
      n.t.c_cflag = (n.t.c_cflag & 0xffff0000u) | o.c_cflag;
      n.t.c_lflag = (n.t.c_lflag & 0xffff0000u) | o.c_lflag;
      n.t.c_line = o.c_line;
      std::copy(std::begin(o.c_cc), std::end(o.c_cc), n.t.c_cc);
      flush = cmd == TCSETAF;
      break;
    }
    case kTcsets2:
    case kTcsetsw2:
    case kTcsetsf2:
      n = TRY(CopyInValue<KernelTermios2>(mem, arg));
      with_speeds = true;
      flush = cmd == kTcsetsf2;
      break;
    default:
      n.t = TRY(CopyInValue<KernelTermios>(mem, arg));
      flush = cmd == TCSETSF;
      break;
  }
  // pty_set_termios: always 8 bits, receiver on, no parity.
  n.t.c_cflag = (n.t.c_cflag & ~static_cast<uint32_t>(CSIZE | PARENB)) | CS8 | CREAD;
  const uint32_t out_code = n.t.c_cflag & CBAUD;
  const uint32_t in_code = (n.t.c_cflag >> 16) & CBAUD;  // CIBAUD; 0: as the output
  {
    absl::MutexLock lock(&mu);
    ospeed = (with_speeds && out_code == kBother) ? n.c_ospeed : BaudOf(out_code);
    if (in_code == 0) {
      ispeed = ospeed;
    } else {
      ispeed = (with_speeds && in_code == kBother) ? n.c_ispeed : BaudOf(in_code);
    }
    if (flush) ld.FlushInput();
    ld.SetTermios(n.t);
  }
  Notify();
  return 0;
}

Result<uint64_t> Pty::Ioctl(bool master, vfs::FileDescription& file, vfs::UserMemory& mem,
                            uint64_t cmd, uint64_t arg) {
  Task* t = Caller();
  {
    absl::MutexLock lock(&mu);
    // A hung-up slave (hung_up_tty_ioctl).
    if (!master && hung_up) return cmd == TIOCSPGRP ? Errno(ENOTTY) : Errno(EIO);
  }
  if (t != nullptr) {
    if (auto r = JobControlIoctl(*t, shared_from_this(), master, file.Readable(), mem, cmd, arg)) {
      return *r;
    }
  }
  if (master) {
    switch (cmd) {
      case kTiocgptn:
        TRY(CopyOutValue<uint32_t>(mem, arg, static_cast<uint32_t>(index)));
        return 0;
      case kTiocsptlck: {
        const int v = TRY(CopyInValue<int>(mem, arg));
        absl::MutexLock lock(&mu);
        locked = v != 0;
        return 0;
      }
      case kTiocgptlck: {
        int v;
        {
          absl::MutexLock lock(&mu);
          v = locked ? 1 : 0;
        }
        TRY(CopyOutValue(mem, arg, v));
        return 0;
      }
      case TIOCPKT: {
        const int v = TRY(CopyInValue<int>(mem, arg));
        absl::MutexLock lock(&mu);
        // PARTIAL(tty): packet mode reports data; the flush and flow
        // control status packets are not sent.
        packet = v != 0;
        return 0;
      }
      case kTiocgpkt: {
        int v;
        {
          absl::MutexLock lock(&mu);
          v = packet ? 1 : 0;
        }
        TRY(CopyOutValue(mem, arg, v));
        return 0;
      }
      case kTiocgptpeer: {
        // A new open of the slave, as an fd (ptm_open_peer).
        if (t == nullptr) return Errno(EIO);
        const int flags = static_cast<int>(arg);
        vfs::Path path = TRY(devpts->SlavePath(index));
        auto slave = TRY(OpenSlave(path, flags & ~O_CLOEXEC));
        const rlimit lim = t->thread_group().GetRlimit(RLIMIT_NOFILE);
        return static_cast<uint64_t>(TRY(t->fds().Install(std::move(slave), (flags & O_CLOEXEC) != 0, 0, lim.rlim_cur)));
      }
      case kTiocsig: {
        const int sig = static_cast<int>(arg);
        if (sig <= 0 || sig > kNumSignals) return Errno(EINVAL);
        {
          absl::MutexLock lock(&mu);
          if ((sig == SIGINT || sig == SIGQUIT || sig == SIGTSTP) && !(ld.termios().c_lflag & NOFLSH)) {
            ld.FlushInput();
            ld.FlushOutput();
          }
        }
        Notify();
        SignalForeground(devpts->kernel, *this, sig);
        return 0;
      }
    }
  }
  switch (cmd) {
    case TCGETS: {
      KernelTermios v;
      {
        absl::MutexLock lock(&mu);
        v = ld.termios();
      }
      TRY(CopyOutValue(mem, arg, v));
      return 0;
    }
    case kTcgets2: {
      KernelTermios2 v;
      {
        absl::MutexLock lock(&mu);
        v.t = ld.termios();
        v.c_ispeed = ispeed;
        v.c_ospeed = ospeed;
      }
      TRY(CopyOutValue(mem, arg, v));
      return 0;
    }
    case TCGETA: {
      KernelTermio v{};
      {
        absl::MutexLock lock(&mu);
        const KernelTermios& k = ld.termios();
        v.c_iflag = static_cast<uint16_t>(k.c_iflag);
        v.c_oflag = static_cast<uint16_t>(k.c_oflag);
        v.c_cflag = static_cast<uint16_t>(k.c_cflag);
        v.c_lflag = static_cast<uint16_t>(k.c_lflag);
        v.c_line = k.c_line;
        std::copy_n(k.c_cc, 8, v.c_cc);
      }
      TRY(CopyOutValue(mem, arg, v));
      return 0;
    }
    case TCSETS:
    case TCSETSW:
    case TCSETSF:
    case kTcsets2:
    case kTcsetsw2:
    case kTcsetsf2:
    case TCSETA:
    case TCSETAW:
    case TCSETAF:
      return SetTermios(t, mem, cmd, arg);
    case TIOCGWINSZ: {
      winsize v;
      {
        absl::MutexLock lock(&mu);
        v = ws;
      }
      TRY(CopyOutValue(mem, arg, v));
      return 0;
    }
    case TIOCSWINSZ: {
      const auto v = TRY(CopyInValue<winsize>(mem, arg));
      {
        absl::MutexLock lock(&mu);
        if (memcmp(&v, &ws, sizeof(v)) == 0) return 0;
        ws = v;
      }
      // tty_do_resize: the foreground group hears of a change.
      SignalForeground(devpts->kernel, *this, SIGWINCH);
      return 0;
    }
    case FIONREAD: {
      int n;
      {
        absl::MutexLock lock(&mu);
        n = static_cast<int>(master ? ld.OutputBytes() : ld.InputBytes());
      }
      TRY(CopyOutValue(mem, arg, n));
      return 0;
    }
    case TIOCOUTQ:
      // What the slave wrote is the master's to read at once.
      TRY(CopyOutValue(mem, arg, 0));
      return 0;
    case TCFLSH: {
      if (t != nullptr && !master) TRY(CheckChange(*t, *this, SIGTTOU));
      if (arg > TCIOFLUSH) return Errno(EINVAL);
      {
        absl::MutexLock lock(&mu);
        const bool in = arg == TCIFLUSH || arg == TCIOFLUSH;
        const bool out = arg == TCOFLUSH || arg == TCIOFLUSH;
        // PARTIAL(tty): the master's output flush drops nothing (Linux
        // drops the slave's unprocessed flip buffers).
        if (master) {
          if (in) ld.FlushOutput();
        } else {
          if (in) ld.FlushInput();
          if (out) ld.FlushOutput();
        }
      }
      Notify();
      return 0;
    }
    case TCXONC: {
      if (t != nullptr && !master) TRY(CheckChange(*t, *this, SIGTTOU));
      {
        absl::MutexLock lock(&mu);
        switch (arg) {
          case TCOOFF: ld.set_stopped(true); break;
          case TCOON: ld.set_stopped(false); break;
          case TCIOFF:
          case TCION: {
            // The STOP or START character goes to the other end.
            const uint8_t c = ld.termios().c_cc[arg == TCIOFF ? VSTOP : VSTART];
            if (!master && c != 0) (void)ld.Write(std::span<const uint8_t>(&c, 1));
            break;
          }
          default: return Errno(EINVAL);
        }
      }
      Notify();
      return 0;
    }
    case TCSBRK:
    case TCSBRKP:
      // tcdrain and tcsendbreak: nothing waits on a pty's output.
      if (t != nullptr && !master) TRY(CheckChange(*t, *this, SIGTTOU));
      return 0;
    case TIOCSBRK:
    case TIOCCBRK:
      return 0;
    case TIOCEXCL:
    case TIOCNXCL: {
      absl::MutexLock lock(&mu);
      exclusive = cmd == TIOCEXCL;
      return 0;
    }
    case kTiocgexcl: {
      int v;
      {
        absl::MutexLock lock(&mu);
        v = exclusive ? 1 : 0;
      }
      TRY(CopyOutValue(mem, arg, v));
      return 0;
    }
    case TIOCGETD:
      TRY(CopyOutValue(mem, arg, 0));  // N_TTY
      return 0;
    case TIOCSETD: {
      // PARTIAL(tty): only the default line discipline, N_TTY.
      const int d = TRY(CopyInValue<int>(mem, arg));
      return d == 0 ? Result<uint64_t>(0) : Errno(EINVAL);
    }
    case TIOCSTI: {
      // Pushes a character into the input, as typed: the caller's own
      // terminal, or CAP_SYS_ADMIN.
      const auto c = TRY(CopyInValue<uint8_t>(mem, arg));
      bool own = false;
      if (t != nullptr) {
        absl::MutexLock lock(&devpts->kernel.mu());
        own = t->thread_group().ctty.get() == this;
      }
      if (!own && (t == nullptr || !t->creds().HasCapability(CAP_SYS_ADMIN))) return Errno(EPERM);
      std::vector<int> sigs;
      {
        absl::MutexLock lock(&mu);
        (void)ld.Receive(std::span<const uint8_t>(&c, 1), sigs);
      }
      Notify();
      SendSignals(sigs);
      return 0;
    }
  }
  // PARTIAL(tty): modem lines, serial settings, locked termios, TIOCCONS
  // and TIOCVHANGUP are not implemented.
  return Errno(ENOTTY);
}

Result<std::shared_ptr<vfs::FileDescription>> PtsInode::Open(const vfs::Path& path, int flags) {
  if (flags & O_PATH) return std::make_shared<vfs::FileDescription>(path, flags);
  auto pty = pty_.lock();
  if (pty == nullptr) return Errno(EIO);
  return pty->OpenSlave(path, flags);
}

bool PtsInode::Revalidate() {
  auto pty = pty_.lock();
  return pty != nullptr && !pty->Gone();
}

// /dev/ptmx and /dev/pts/ptmx: each open makes a new pair.
class PtmxInode final : public vfs::Inode {
 public:
  PtmxInode(std::shared_ptr<Devpts> fs, dev_t dev, ino_t ino, mode_t mode, timespec time)
      : Inode(S_IFCHR), fs_(std::move(fs)) {
    st_.st_mode = S_IFCHR | mode;
    st_.st_rdev = makedev(5, 2);
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
    const uint32_t uid = t != nullptr ? t->creds().fsuid : 0;
    int index = -1;
    auto pty = [&]() -> Result<std::shared_ptr<Pty>> {
      absl::MutexLock lock(&fs_->mu);
      for (int i = 0; i < kPtyMax; ++i) {
        if (!fs_->used.contains(i)) {
          index = i;
          break;
        }
      }
      if (index < 0) return Errno(ENOSPC);
      fs_->used.insert(index);
      auto p = std::make_shared<Pty>(fs_, index);
      fs_->shown[index] = p;
      return p;
    }();
    if (!pty) return pty.error();
    (*pty)->node = std::make_shared<PtsInode>(*pty, *fs_, index, uid, fs_->tty_gid);
    return std::shared_ptr<vfs::FileDescription>(std::make_shared<MasterFile>(*pty, path, flags));
  }

 private:
  std::shared_ptr<Devpts> fs_;
  struct stat st_ {};
};

// The root of devpts: ptmx and a node for each pty whose master is open.
class DevptsRoot final : public vfs::Inode {
 public:
  explicit DevptsRoot(std::shared_ptr<Devpts> fs) : Inode(S_IFDIR), fs_(std::move(fs)) {}
  Result<struct stat> Stat() override {
    struct stat st{};
    st.st_mode = S_IFDIR | 0755;
    st.st_ino = 1;
    st.st_nlink = 2;
    st.st_dev = fs_->dev;
    st.st_blksize = 1024;
    st.st_atim = st.st_mtim = st.st_ctim = fs_->created;
    return st;
  }
  Result<struct statfs> StatFs() override {
    struct statfs s{};
    s.f_type = kDevptsMagic;
    s.f_bsize = 4096;
    s.f_namelen = 255;
    return s;
  }
  Result<std::shared_ptr<vfs::FileDescription>> Open(const vfs::Path& path, int flags) override {
    return std::shared_ptr<vfs::FileDescription>(std::make_shared<vfs::DirectoryFile>(path, flags));
  }
  Result<std::shared_ptr<vfs::Inode>> Lookup(std::string_view name) override {
    if (name == "ptmx") return fs_->ptmx;
    if (fs_->host_node != nullptr && name == std::to_string(fs_->host_index)) return fs_->host_node;
    if (name.empty() || name.size() > 9 || (name[0] == '0' && name.size() > 1)) return Errno(ENOENT);
    int index = 0;
    for (char c : name) {
      if (c < '0' || c > '9') return Errno(ENOENT);
      index = index * 10 + (c - '0');
    }
    std::shared_ptr<Pty> pty;
    {
      absl::MutexLock lock(&fs_->mu);
      auto it = fs_->shown.find(index);
      if (it == fs_->shown.end()) return Errno(ENOENT);
      pty = it->second.lock();
    }
    if (pty == nullptr || pty->Gone() || pty->node == nullptr) return Errno(ENOENT);
    return std::shared_ptr<vfs::Inode>(pty->node);
  }
  Result<std::vector<vfs::DirEntry>> List() override {
    std::vector<vfs::DirEntry> out;
    out.push_back(vfs::DirEntry{2, DT_CHR, "ptmx"});
    std::map<int, uint64_t> nodes;
    if (fs_->host_node != nullptr) nodes[fs_->host_index] = fs_->host_node->Stat()->st_ino;
    {
      absl::MutexLock lock(&fs_->mu);
      for (const auto& [index, weak] : fs_->shown) nodes[index] = static_cast<uint64_t>(index) + 3;
    }
    for (const auto& [index, ino] : nodes) out.push_back(vfs::DirEntry{ino, DT_CHR, std::to_string(index)});
    return out;
  }

 private:
  std::shared_ptr<Devpts> fs_;
};

}  // namespace

std::shared_ptr<vfs::Mount> NewDevpts(Kernel& k, vfs::Inode& dev_dir, uint32_t tty_gid,
                                      const std::shared_ptr<Tty>& host_tty) {
  auto fs = std::make_shared<Devpts>(k, tty_gid);
  if (auto node = host_tty ? NewHostTtyNode(host_tty) : nullptr) {
    // The host terminal under the name procfs gives it (vfs/proc/pid.cc).
    const dev_t rdev = node->Stat()->st_rdev;
    const unsigned maj = major(rdev), min = minor(rdev);
    if (maj >= kPtyMajor && maj < kPtyMajor + 8) {
      fs->host_index = static_cast<int>((maj - kPtyMajor) * 256 + min);
      fs->host_node = node;
      absl::MutexLock lock(&fs->mu);
      fs->used.insert(fs->host_index);
    } else if (maj == 4) {
      (void)vfs::TmpfsAddNode(dev_dir, "tty" + std::to_string(min), node);
    } else if (maj == 5 && min == 1) {
      (void)vfs::TmpfsAddNode(dev_dir, "console", node);
    }
  }
  // ptmxmode=000, Linux's default: /dev/ptmx is the way in.
  fs->ptmx = std::make_shared<PtmxInode>(fs, fs->dev, 2, 0000, fs->created);
  auto root = std::make_shared<vfs::Dentry>(nullptr, "", std::make_shared<DevptsRoot>(fs));
  auto mount = std::make_shared<vfs::Mount>(std::move(root), "devpts", "devpts", false);
  fs->mount = mount;
  const dev_t dev = dev_dir.Stat()->st_dev;
  (void)vfs::TmpfsAddNode(dev_dir, "ptmx", std::make_shared<PtmxInode>(fs, dev, 2000, 0666, fs->created));
  (void)vfs::TmpfsAddNode(dev_dir, "tty", NewDevTtyInode(dev, 2001, fs->created));
  return mount;
}

}  // namespace husk::kernel::tty
