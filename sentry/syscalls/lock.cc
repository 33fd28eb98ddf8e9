// Advisory locks: flock(2), and fcntl(2)'s record-lock commands F_GETLK,
// F_SETLK, F_SETLKW and their open-file-description forms F_OFD_*. The
// locks themselves are vfs/lock.h's.
#include <fcntl.h>
#include <sys/file.h>

#include <cstddef>

#include "sentry/syscalls/handlers.h"
#include "sentry/syscalls/util.h"
#include "vfs/lock.h"

namespace husk::syscalls {
namespace {

// struct flock on x86-64 (flock64 is the same).
static_assert(sizeof(struct flock) == 32);
static_assert(offsetof(struct flock, l_start) == 8 && offsetof(struct flock, l_len) == 16 &&
              offsetof(struct flock, l_pid) == 24);

// flock_to_posix_lock: the byte range `fl` names, from its l_whence:
// EINVAL for a bad whence, type or a range starting before 0, EOVERFLOW
// for one ending past the largest offset.
Result<vfs::RecordLock> ToRecord(vfs::FileDescription& file, const struct flock& fl) {
  int64_t base;
  switch (fl.l_whence) {
    case SEEK_SET: base = 0; break;
    case SEEK_CUR: base = static_cast<int64_t>(file.offset()); break;
    case SEEK_END: base = static_cast<int64_t>(TRY(file.Size())); break;
    default: return Errno(EINVAL);
  }
  if (fl.l_start > INT64_MAX - base) return Errno(EOVERFLOW);
  vfs::RecordLock r;
  r.start = base + fl.l_start;
  if (r.start < 0) return Errno(EINVAL);
  // POSIX.1-2001: a negative length covers the bytes before the start.
  if (fl.l_len > 0) {
    if (fl.l_len - 1 > INT64_MAX - r.start) return Errno(EOVERFLOW);
    r.end = r.start + (fl.l_len - 1);
  } else if (fl.l_len < 0) {
    if (r.start + fl.l_len < 0) return Errno(EINVAL);
    r.end = r.start - 1;
    r.start += fl.l_len;
  } else {
    r.end = vfs::RecordLock::kEof;
  }
  if (fl.l_type != F_RDLCK && fl.l_type != F_WRLCK && fl.l_type != F_UNLCK) return Errno(EINVAL);
  r.type = fl.l_type;
  return r;
}

Result<uint64_t> GetLock(Task& t, vfs::FileDescription& file, int cmd, uint64_t addr) {
  struct flock fl = TRY(CopyInStruct<struct flock>(t, addr));
  // F_OFD_GETLK also takes F_UNLCK, and finds no lock with it.
  if (cmd != F_OFD_GETLK && fl.l_type != F_RDLCK && fl.l_type != F_WRLCK) return Errno(EINVAL);
  vfs::RecordLock req = TRY(ToRecord(file, fl));
  if (cmd == F_OFD_GETLK) {
    if (fl.l_pid != 0) return Errno(EINVAL);
    req.ofd = true;
    req.owner = &file;
  } else {
    req.owner = &t.fds();
  }
  auto locks = file.Locks(/*create=*/false);
  std::optional<vfs::RecordLock> held;
  if (locks && req.type != F_UNLCK) held = locks->Test(req);
  if (!held) {
    fl.l_type = F_UNLCK;  // the rest is left as it came
  } else {
    fl.l_type = held->type;
    fl.l_whence = SEEK_SET;
    fl.l_start = held->start;
    fl.l_len = held->end == vfs::RecordLock::kEof ? 0 : held->end - held->start + 1;
    fl.l_pid = held->ofd ? -1 : held->pid;
  }
  TRY(CopyOutStruct(t, addr, fl));
  return 0;
}

Result<uint64_t> SetLock(Task& t, vfs::FileDescription& file, int cmd, uint64_t addr) {
  const struct flock fl = TRY(CopyInStruct<struct flock>(t, addr));
  vfs::RecordLock req = TRY(ToRecord(file, fl));
  // check_fmode_for_setlk: a read lock needs a file open for reading, a
  // write lock one open for writing.
  if ((req.type == F_RDLCK && !file.Readable()) || (req.type == F_WRLCK && !file.Writable())) {
    return Errno(EBADF);
  }
  const bool ofd = cmd == F_OFD_SETLK || cmd == F_OFD_SETLKW;
  if (ofd) {
    if (fl.l_pid != 0) return Errno(EINVAL);
    req.ofd = true;
    req.owner = &file;
  } else {
    // A POSIX lock is the process's: its file table (threads share it).
    req.owner = &t.fds();
    req.pid = t.pid();
  }
  auto locks = file.Locks();
  if (ofd && req.type != F_UNLCK) file.HoldsLocksIn(locks);
  TRY(locks->SetRecord(req, cmd == F_SETLKW || cmd == F_OFD_SETLKW));
  return 0;
}

}  // namespace

Result<uint64_t> FcntlLock(Task& t, vfs::FileDescription& file, int cmd, uint64_t addr) {
  if (file.flags() & O_PATH) return Errno(EBADF);
  if (cmd == F_GETLK || cmd == F_OFD_GETLK) return GetLock(t, file, cmd, addr);
  return SetLock(t, file, cmd, addr);
}

// flock(2). LOCK_MAND was never enforced and is ignored, as Linux does
// since 5.18.
Result<uint64_t> Flock(Task& t, const SyscallArgs& a) {
  const unsigned cmd = a.u32(1);
  if (cmd & LOCK_MAND) return 0;
  const unsigned op = cmd & ~LOCK_NB;
  if (op != LOCK_SH && op != LOCK_EX && op != LOCK_UN) return Errno(EINVAL);
  auto file = TRY(t.fds().Get(a.fd(0)));
  if (file->flags() & O_PATH) return Errno(EBADF);
  auto locks = file->Locks();
  if (op != LOCK_UN) file->HoldsLocksIn(locks);
  TRY(locks->Flock(file.get(), static_cast<int>(op), (cmd & LOCK_NB) != 0));
  return 0;
}

}  // namespace husk::syscalls
