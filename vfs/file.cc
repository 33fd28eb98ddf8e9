#include "vfs/file.h"

#include <poll.h>

#include <sys/ioctl.h>

#include <cstring>

#include "vfs/inode.h"
#include "vfs/lock.h"

namespace husk::vfs {

size_t TotalLength(const IoVecs& v) {
  size_t n = 0;
  for (const auto& i : v) n += i.iov_len;
  return n;
}

size_t CopyToIoVecs(const IoVecs& dst, std::span<const uint8_t> data) {
  size_t done = 0;
  for (const auto& v : dst) {
    if (done == data.size()) break;
    size_t n = std::min(v.iov_len, data.size() - done);
    memcpy(v.iov_base, data.data() + done, n);
    done += n;
  }
  return done;
}

size_t CopyFromIoVecs(std::span<uint8_t> dst, const IoVecs& src) {
  size_t done = 0;
  for (const auto& v : src) {
    if (done == dst.size()) break;
    size_t n = std::min(v.iov_len, dst.size() - done);
    memcpy(dst.data() + done, v.iov_base, n);
    done += n;
  }
  return done;
}

// Linux keeps no creation flags in f_flags (do_dentry_open).
FileDescription::FileDescription(Path path, int flags)
    : path_(std::move(path)), flags_(flags & ~(O_CREAT | O_EXCL | O_NOCTTY | O_TRUNC)) {}
FileDescription::~FileDescription() {
  // locks_remove_file: the last close drops the description's flock(2)
  // and OFD locks.
  if (held_locks_) held_locks_->ReleaseFile(this);
}

Inode* FileDescription::inode() const {
  return path_.dentry ? path_.dentry->inode().get() : nullptr;
}

Result<size_t> FileDescription::Read(const IoVecs& dst) {
  absl::MutexLock lock(&pos_mu_);
  size_t n = TRY(PRead(dst, offset_.load()));
  offset_ += n;
  return n;
}

Result<size_t> FileDescription::Write(const IoVecs& src) {
  absl::MutexLock lock(&pos_mu_);
  uint64_t off = offset_.load();
  if (flags_ & O_APPEND) off = TRY(Size());
  size_t n = TRY(PWrite(src, off));
  offset_ = off + n;
  return n;
}

Result<size_t> FileDescription::PRead(const IoVecs&, uint64_t) { return Errno(ESPIPE); }
Result<size_t> FileDescription::PWrite(const IoVecs&, uint64_t) { return Errno(ESPIPE); }

Result<uint64_t> FileDescription::Size() {
  struct stat st = TRY(Stat());
  return static_cast<uint64_t>(st.st_size);
}

Result<uint64_t> FileDescription::Seek(int64_t offset, int whence) {
  if (!Seekable()) return Errno(ESPIPE);
  absl::MutexLock lock(&pos_mu_);
  int64_t base;
  switch (whence) {
    case SEEK_SET: base = 0; break;
    case SEEK_CUR: base = static_cast<int64_t>(offset_.load()); break;
    case SEEK_END: base = static_cast<int64_t>(TRY(Size())); break;
    case SEEK_DATA:
    case SEEK_HOLE: {
      // No holes are tracked: all data up to the end, one hole after it.
      int64_t size = static_cast<int64_t>(TRY(Size()));
      if (offset < 0 || offset >= size) return Errno(ENXIO);
      offset_ = static_cast<uint64_t>(whence == SEEK_DATA ? offset : size);
      return offset_.load();
    }
    default: return Errno(EINVAL);
  }
  int64_t pos;
  if (__builtin_add_overflow(base, offset, &pos)) return Errno(EOVERFLOW);
  if (pos < 0) return Errno(EINVAL);
  offset_ = static_cast<uint64_t>(pos);
  return offset_.load();
}

Result<struct stat> FileDescription::Stat() {
  if (Inode* i = inode()) return i->Stat();
  return Errno(EBADF);
}

Result<std::span<const DirEntry>> FileDescription::ReadDir() { return Errno(ENOTDIR); }

Result<void> FileDescription::Sync(bool) {
  // PARTIAL(host stdio): a regular file the user redirected stdio to is
  // left to the host's writeback.
  auto st = Stat();
  if (st && (S_ISREG(st->st_mode) || S_ISDIR(st->st_mode))) return Ok();
  return Errno(EINVAL);
}

Result<void> FileDescription::Allocate(int, uint64_t, uint64_t) { return Errno(EOPNOTSUPP); }

Result<uint64_t> FileDescription::Ioctl(UserMemory&, uint64_t, uint64_t) { return Errno(ENOTTY); }

short FileDescription::Readiness(short events) {
  return events & (POLLIN | POLLRDNORM | POLLOUT | POLLWRNORM);
}

bool FileDescription::Mappable() const { return inode() != nullptr && inode()->IsRegular(); }

void FileDescription::SetStatusFlags(int flags) {
  constexpr int kSettable = O_APPEND | O_NONBLOCK | O_ASYNC | O_DIRECT | O_NOATIME;
  flags_ = (flags_ & ~kSettable) | (flags & kSettable);
}

}  // namespace husk::vfs
