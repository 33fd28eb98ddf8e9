// read/write and their vectored and positional forms, and lseek.
#include <limits.h>
#include <poll.h>
#include <sys/uio.h>

#include "sentry/syscalls/handlers.h"
#include "sentry/syscalls/util.h"

namespace husk::syscalls {
namespace {

Result<std::shared_ptr<vfs::FileDescription>> ReadableFile(Task& t, int fd) {
  auto file = TRY(t.fds().Get(fd));
  if (!file->Readable()) return Errno(EBADF);
  return file;
}

Result<std::shared_ptr<vfs::FileDescription>> WritableFile(Task& t, int fd) {
  auto file = TRY(t.fds().Get(fd));
  if (!file->Writable()) return Errno(EBADF);
  return file;
}


// pwrite(2) BUGS: on Linux, an O_APPEND file is appended to whatever the
// offset.
Result<uint64_t> WriteOffset(vfs::FileDescription& file, uint64_t offset) {
  if (file.flags() & O_APPEND) return file.Size();
  return offset;
}

}  // namespace

Result<uint64_t> Read(Task& t, const SyscallArgs& a) {
  auto file = TRY(ReadableFile(t, a.fd(0)));
  const uint64_t len = std::min(a.size(2), kMaxRwCount);
  if (len == 0) return 0;
  vfs::IoVecs dst = TRY(t.mm().OutBuffer(a.ptr(1), len));
  return file->Read(dst);
}

Result<uint64_t> Write(Task& t, const SyscallArgs& a) {
  auto file = TRY(WritableFile(t, a.fd(0)));
  const uint64_t len = std::min(a.size(2), kMaxRwCount);
  if (len == 0) return 0;
  if (file->DiscardsWrites()) {
    // write_null() takes the count without touching the buffer; only the
    // range check (access_ok) applies.
    if (a.ptr(1) > mm::kTaskSize || len > mm::kTaskSize - a.ptr(1)) return Errno(EFAULT);
    return len;
  }
  vfs::IoVecs src = TRY(t.mm().InBuffer(a.ptr(1), len));
  return RaiseOnEpipe(t, *file, file->Write(src));
}

Result<uint64_t> Pread64(Task& t, const SyscallArgs& a) {
  auto file = TRY(ReadableFile(t, a.fd(0)));
  if (a.i64(3) < 0) return Errno(EINVAL);
  if (!file->Seekable()) return Errno(ESPIPE);
  const uint64_t len = std::min(a.size(2), kMaxRwCount);
  if (len == 0) return 0;
  vfs::IoVecs dst = TRY(t.mm().OutBuffer(a.ptr(1), len));
  return file->PRead(dst, a.u64(3));
}

Result<uint64_t> Pwrite64(Task& t, const SyscallArgs& a) {
  auto file = TRY(WritableFile(t, a.fd(0)));
  if (a.i64(3) < 0) return Errno(EINVAL);
  if (!file->Seekable()) return Errno(ESPIPE);
  const uint64_t len = std::min(a.size(2), kMaxRwCount);
  if (len == 0) return 0;
  vfs::IoVecs src = TRY(t.mm().InBuffer(a.ptr(1), len));
  return RaiseOnEpipe(t, file->PWrite(src, TRY(WriteOffset(*file, a.u64(3)))));
}

Result<uint64_t> Readv(Task& t, const SyscallArgs& a) {
  auto file = TRY(ReadableFile(t, a.fd(0)));
  vfs::IoVecs dst = TRY(ImportIovecs(t, a.ptr(1), a.i64(2), true));
  if (dst.empty()) return 0;
  return file->Read(dst);
}

Result<uint64_t> Writev(Task& t, const SyscallArgs& a) {
  auto file = TRY(WritableFile(t, a.fd(0)));
  vfs::IoVecs src = TRY(ImportIovecs(t, a.ptr(1), a.i64(2), false));
  if (src.empty()) return 0;
  return RaiseOnEpipe(t, *file, file->Write(src));
}

Result<uint64_t> Preadv(Task& t, const SyscallArgs& a) {
  auto file = TRY(ReadableFile(t, a.fd(0)));
  if (a.i64(3) < 0) return Errno(EINVAL);
  vfs::IoVecs dst = TRY(ImportIovecs(t, a.ptr(1), a.i64(2), true));
  if (!file->Seekable()) return Errno(ESPIPE);
  if (dst.empty()) return 0;
  return file->PRead(dst, a.u64(3));
}

Result<uint64_t> Pwritev(Task& t, const SyscallArgs& a) {
  auto file = TRY(WritableFile(t, a.fd(0)));
  if (a.i64(3) < 0) return Errno(EINVAL);
  vfs::IoVecs src = TRY(ImportIovecs(t, a.ptr(1), a.i64(2), false));
  if (!file->Seekable()) return Errno(ESPIPE);
  if (src.empty()) return 0;
  return RaiseOnEpipe(t, file->PWrite(src, TRY(WriteOffset(*file, a.u64(3)))));
}

namespace {

// preadv2(2)/pwritev2(2)'s RWF_* flags, as Linux 6.18 knows them.
constexpr int kRwfDsync = 0x2, kRwfSync = 0x4, kRwfNowait = 0x8, kRwfAppend = 0x10,
              kRwfNoappend = 0x20, kRwfAtomic = 0x40, kRwfDontcache = 0x80, kRwfNosignal = 0x100;
constexpr int kRwfKnown = 0x1ff;  // and RWF_HIPRI (0x1), a hint

// Linux's kiocb_set_rw_flags: a flag unknown, or one the file cannot
// honour, is EOPNOTSUPP. RWF_NOWAIT needs a file that can say it would
// block: one with readiness to poll (pipes, sockets, eventfds ...) or a
// device; for those a transfer that is not ready now is EAGAIN.
// PARTIAL(RWF_NOWAIT): readiness is checked before the transfer, so a
// racing reader or writer can still make it wait; regular files say
// EOPNOTSUPP, as Linux's tmpfs does (ext4 reads without waiting).
Result<void> CheckRwFlags(vfs::FileDescription& file, int flags, bool write) {
  if (flags & ~kRwfKnown) return Errno(EOPNOTSUPP);
  // No file here writes untorn blocks (RWF_ATOMIC) or drops cached pages.
  if (flags & (kRwfAtomic | kRwfDontcache)) return Errno(EOPNOTSUPP);
  if (flags & kRwfNowait) {
    vfs::Inode* inode = file.inode();
    const bool device = inode != nullptr && (inode->type() == S_IFCHR || inode->type() == S_IFBLK);
    if (file.ReadinessQueue() == nullptr && file.HostPollFd() < 0 && !device) return Errno(EOPNOTSUPP);
    const short want = write ? POLLOUT : POLLIN;
    if (!(file.Readiness(want) & (want | POLLERR | POLLHUP))) return Errno(EAGAIN);
  }
  return Ok();
}

// The file of a preadv2/pwritev2 at `pos` (-1: the file offset).
Result<std::shared_ptr<vfs::FileDescription>> V2File(Task& t, int fd, int64_t pos) {
  if (pos < -1) return Errno(EINVAL);
  auto file = TRY(t.fds().Get(fd));
  if (file->flags() & O_PATH) return Errno(EBADF);
  if (pos != -1 && !file->Seekable()) return Errno(ESPIPE);
  return file;
}

}  // namespace

// preadv2(2): preadv, or readv at offset -1, with RWF_* flags. The offset
// is one 64-bit register on x86-64 (pos_h is unused).
Result<uint64_t> Preadv2(Task& t, const SyscallArgs& a) {
  const int64_t pos = a.i64(3);
  const int flags = a.i32(5);
  auto file = TRY(V2File(t, a.fd(0), pos));
  if (!file->Readable()) return Errno(EBADF);
  vfs::IoVecs dst = TRY(ImportIovecs(t, a.ptr(1), a.i64(2), true));
  if (dst.empty()) return 0;  // nothing to transfer: the flags are not looked at
  TRY(CheckRwFlags(*file, flags, false));
  return pos == -1 ? file->Read(dst) : file->PRead(dst, static_cast<uint64_t>(pos));
}

// pwritev2(2): RWF_APPEND writes at the end whatever the offset,
// RWF_NOAPPEND where asked even on an O_APPEND file, RWF_DSYNC/RWF_SYNC
// sync what was written, RWF_NOSIGNAL raises no SIGPIPE.
Result<uint64_t> Pwritev2(Task& t, const SyscallArgs& a) {
  const int64_t pos = a.i64(3);
  const int flags = a.i32(5);
  auto file = TRY(V2File(t, a.fd(0), pos));
  if (!file->Writable()) return Errno(EBADF);
  vfs::IoVecs src = TRY(ImportIovecs(t, a.ptr(1), a.i64(2), false));
  if (src.empty()) return 0;
  TRY(CheckRwFlags(*file, flags, true));
  bool append = (file->flags() & O_APPEND) != 0;
  if (flags & kRwfAppend) append = true;
  if (flags & kRwfNoappend) append = false;
  Result<size_t> n = Errno(EINVAL);
  if (pos != -1) {
    n = file->PWrite(src, append ? TRY(file->Size()) : static_cast<uint64_t>(pos));
  } else if (file->Seekable() && append != ((file->flags() & O_APPEND) != 0)) {
    // The offset moves as write(2)'s would, with the other append mode.
    const uint64_t off = append ? TRY(file->Size()) : file->offset();
    n = file->PWrite(src, off);
    if (n) file->set_offset(off + *n);
  } else {
    n = file->Write(src);
  }
  if (n && *n > 0 && (flags & (kRwfDsync | kRwfSync)) && file->inode() != nullptr &&
      file->inode()->IsRegular()) {
    TRY(file->Sync(/*data_only=*/!(flags & kRwfSync)));
  }
  if (flags & kRwfNosignal) return n;
  return RaiseOnEpipe(t, *file, std::move(n));
}

Result<uint64_t> Lseek(Task& t, const SyscallArgs& a) {
  auto file = TRY(t.fds().Get(a.fd(0)));
  if (file->flags() & O_PATH) return Errno(EBADF);
  const int whence = a.i32(2);
  if (whence < SEEK_SET || whence > SEEK_HOLE) return Errno(EINVAL);
  return file->Seek(a.i64(1), whence);
}

}  // namespace husk::syscalls
