// File descriptor syscalls: close, dup*, fcntl, ioctl.
#include <fcntl.h>
#include <linux/close_range.h>
#include <sys/ioctl.h>

#include "sentry/syscalls/handlers.h"
#include "vfs/pipe/pipe.h"
#include "sentry/syscalls/util.h"

namespace husk::syscalls {

constexpr int kOLargefile = 0100000;  // glibc defines O_LARGEFILE as 0 on x86-64

Result<uint64_t> Close(Task& t, const SyscallArgs& a) {
  TRY(t.fds().Close(a.fd(0)));
  return 0;
}

Result<uint64_t> Dup(Task& t, const SyscallArgs& a) {
  auto file = TRY(t.fds().Get(a.fd(0)));
  return InstallFd(t, std::move(file), false);
}

Result<uint64_t> Dup2(Task& t, const SyscallArgs& a) {
  const int oldfd = a.fd(0), newfd = a.fd(1);
  auto file = TRY(t.fds().Get(oldfd));
  if (oldfd == newfd) return static_cast<uint64_t>(newfd);
  TRY(t.fds().InstallAt(newfd, std::move(file), false, t.thread_group().GetRlimit(RLIMIT_NOFILE).rlim_cur));
  return static_cast<uint64_t>(newfd);
}

Result<uint64_t> Dup3(Task& t, const SyscallArgs& a) {
  const int oldfd = a.fd(0), newfd = a.fd(1), flags = a.i32(2);
  if (flags & ~O_CLOEXEC) return Errno(EINVAL);
  if (oldfd == newfd) return Errno(EINVAL);
  auto file = TRY(t.fds().Get(oldfd));
  TRY(t.fds().InstallAt(newfd, std::move(file), (flags & O_CLOEXEC) != 0,
                        t.thread_group().GetRlimit(RLIMIT_NOFILE).rlim_cur));
  return static_cast<uint64_t>(newfd);
}

// close_range(2): CLOSE_RANGE_UNSHARE first gives the caller a table of
// its own (as unshare(CLONE_FILES)); CLOSE_RANGE_CLOEXEC marks the fds
// close-on-exec instead of closing them.
Result<uint64_t> CloseRange(Task& t, const SyscallArgs& a) {
  const unsigned first = a.u32(0), last = a.u32(1), flags = a.u32(2);
  if (flags & ~(CLOSE_RANGE_UNSHARE | CLOSE_RANGE_CLOEXEC)) return Errno(EINVAL);
  if (first > last) return Errno(EINVAL);
  if ((flags & CLOSE_RANGE_UNSHARE) && t.shared_fds().use_count() > 1) {
    std::shared_ptr<vfs::FdTable> shared = t.shared_fds();  // released after the lock
    std::shared_ptr<vfs::FdTable> own = shared->Clone();
    // Others read a task's table under the kernel lock (procfs, pidfd_getfd).
    absl::MutexLock lock(&t.kernel().mu());
    t.set_fds(std::move(own));
  }
  t.fds().CloseRange(first, last, (flags & CLOSE_RANGE_CLOEXEC) != 0);
  return 0;
}

Result<uint64_t> Fcntl(Task& t, const SyscallArgs& a) {
  const int fd = a.fd(0);
  const int cmd = a.i32(1);
  auto file = TRY(t.fds().Get(fd));
  switch (cmd) {
    case F_DUPFD:
    case F_DUPFD_CLOEXEC: {
      const int min = a.i32(2);
      const rlimit lim = t.thread_group().GetRlimit(RLIMIT_NOFILE);
      if (min < 0 || static_cast<uint64_t>(min) >= lim.rlim_cur) return Errno(EINVAL);
      return InstallFd(t, std::move(file), cmd == F_DUPFD_CLOEXEC, min);
    }
    case F_GETFD:
      return TRY(t.fds().GetCloexec(fd)) ? FD_CLOEXEC : 0;
    case F_SETFD:
      TRY(t.fds().SetCloexec(fd, (a.u64(2) & FD_CLOEXEC) != 0));
      return 0;
    case F_GETFL:
      // x86-64 opens every file with O_LARGEFILE (force_o_largefile in
      // open(2)); files made otherwise (pipes, eventfds ...) lack it.
      return static_cast<uint64_t>((file->flags() & ~O_CLOEXEC) | (file->path().valid() ? kOLargefile : 0));
    case F_SETFL:
      if (file->flags() & O_PATH) return Errno(EBADF);
      file->SetStatusFlags(a.i32(2));
      return 0;
    case F_GETLK: case F_SETLK: case F_SETLKW:
    case F_OFD_GETLK: case F_OFD_SETLK: case F_OFD_SETLKW:
      return FcntlLock(t, *file, cmd, a.ptr(2));  // lock.cc
    case F_ADD_SEALS: case F_GET_SEALS:
      return FcntlSeals(t, *file, cmd, a.u32(2));  // memfd.cc
  }
  // PARTIAL(fcntl): record locks, leases, F_GETPIPE_SZ, seals and owners come
  // with the file and process work.
  return Errno(EINVAL);
}

// A vfs::UserMemory over the task's address space, for ioctl arguments.
class TaskMemory final : public vfs::UserMemory {
 public:
  explicit TaskMemory(Task& t) : t_(t) {}
  Result<void> CopyIn(uint64_t addr, std::span<uint8_t> dst) override { return t_.mm().CopyIn(addr, dst); }
  Result<void> CopyOut(uint64_t addr, std::span<const uint8_t> src) override {
    return t_.mm().CopyOut(addr, src);
  }

 private:
  Task& t_;
};

Result<uint64_t> Ioctl(Task& t, const SyscallArgs& a) {
  const int fd = a.fd(0);
  auto file = TRY(t.fds().Get(fd));
  if (file->flags() & O_PATH) return Errno(EBADF);
  const uint32_t cmd = a.u32(1);
  switch (cmd) {
    case FIOCLEX:
      TRY(t.fds().SetCloexec(fd, true));
      return 0;
    case FIONCLEX:
      TRY(t.fds().SetCloexec(fd, false));
      return 0;
    case FIONBIO: {
      int on = TRY(CopyInStruct<int>(t, a.ptr(2)));
      file->SetStatusFlags(on ? (file->flags() | O_NONBLOCK) : (file->flags() & ~O_NONBLOCK));
      return 0;
    }
    case FIONREAD: {
      vfs::Inode* inode = file->inode();
      if (inode != nullptr && inode->IsRegular()) {
        // i_size - f_pos, unclamped, as Linux reports it.
        int64_t size = static_cast<int64_t>(TRY(file->Size()));
        int n = static_cast<int>(size - static_cast<int64_t>(file->offset()));
        TRY(CopyOutStruct(t, a.ptr(2), n));
        return 0;
      }
      break;
    }
  }
  TaskMemory mem(t);
  return file->Ioctl(mem, cmd, a.u64(2));
}

}  // namespace husk::syscalls

namespace husk::syscalls {

// fadvise64(2): advice is only a hint; it is checked and has no effect.
Result<uint64_t> Fadvise64(Task& t, const SyscallArgs& a) {
  auto file = TRY(t.fds().Get(a.fd(0)));
  if (file->flags() & O_PATH) return Errno(EBADF);
  if (!file->Seekable() && !file->path().valid()) return Errno(ESPIPE);
  switch (a.i32(3)) {
    case POSIX_FADV_NORMAL: case POSIX_FADV_RANDOM: case POSIX_FADV_SEQUENTIAL:
    case POSIX_FADV_WILLNEED: case POSIX_FADV_DONTNEED: case POSIX_FADV_NOREUSE:
      break;
    default:
      return Errno(EINVAL);
  }
  return 0;
}

}  // namespace husk::syscalls

namespace husk::syscalls {

Result<uint64_t> Pipe2(Task& t, const SyscallArgs& a) {
  const int flags = a.i32(1);
  if (flags & ~(O_CLOEXEC | O_NONBLOCK | O_DIRECT)) return Errno(EINVAL);
  auto [r, w] = vfs::NewPipe(flags);
  const uint64_t limit = t.thread_group().GetRlimit(RLIMIT_NOFILE).rlim_cur;
  const bool cloexec = (flags & O_CLOEXEC) != 0;
  const int rfd = TRY(t.fds().Install(std::move(r), cloexec, 0, limit));
  auto wfd = t.fds().Install(std::move(w), cloexec, 0, limit);
  if (!wfd) {
    (void)t.fds().Close(rfd);
    return wfd.error();
  }
  const int32_t fds[2] = {rfd, *wfd};
  if (auto c = t.mm().CopyOut(a.ptr(0), std::span<const uint8_t>(reinterpret_cast<const uint8_t*>(fds), sizeof(fds))); !c) {
    (void)t.fds().Close(rfd);
    (void)t.fds().Close(*wfd);
    return c.error();
  }
  return 0;
}

Result<uint64_t> Pipe(Task& t, const SyscallArgs& a) {
  SyscallArgs b = a;
  b.raw[1] = 0;
  return Pipe2(t, b);
}

}  // namespace husk::syscalls
