// Writing file data back and preparing it: fsync, fdatasync, sync,
// syncfs, sync_file_range, fallocate, readahead. Files kept in memory
// (tmpfs, the overlay's upper layer) have nothing to write back; files of
// a writable host mount are synced through the fd the gofer donated.
#include <fcntl.h>
#include <linux/falloc.h>

#include "sentry/syscalls/handlers.h"
#include "sentry/syscalls/util.h"

namespace husk::syscalls {
namespace {

// An fd the call acts on: O_PATH fds are EBADF (Linux's fdget).
Result<std::shared_ptr<vfs::FileDescription>> IoFile(Task& t, int fd) {
  auto file = TRY(t.fds().Get(fd));
  if (file->flags() & O_PATH) return Errno(EBADF);
  return file;
}

// The file type, for the calls that only take some: 0 for a file that has
// no attributes to show.
mode_t FileType(vfs::FileDescription& file) {
  auto st = file.Stat();
  return st ? st->st_mode & S_IFMT : 0;
}

Result<uint64_t> DoFsync(Task& t, int fd, bool data_only) {
  auto file = TRY(IoFile(t, fd));
  TRY(file->Sync(data_only));
  return 0;
}

// Linux's vfs_fallocate checks of `mode` (6.13 and later): one operation
// of FALLOC_FL_MODE_MASK, with FALLOC_FL_KEEP_SIZE where it means
// something. Whether the filesystem does it is its own answer.
constexpr int kFallocWriteZeroes = 0x80;  // FALLOC_FL_WRITE_ZEROES (Linux 6.17)
constexpr int kFallocModeMask = FALLOC_FL_PUNCH_HOLE | FALLOC_FL_COLLAPSE_RANGE |
                                FALLOC_FL_ZERO_RANGE | FALLOC_FL_INSERT_RANGE |
                                FALLOC_FL_UNSHARE_RANGE | kFallocWriteZeroes;

Result<void> CheckFallocateMode(int mode) {
  if (mode & ~(FALLOC_FL_KEEP_SIZE | kFallocModeMask)) return Errno(EOPNOTSUPP);
  switch (mode & kFallocModeMask) {
    case 0:  // FALLOC_FL_ALLOCATE_RANGE
    case FALLOC_FL_UNSHARE_RANGE:
    case FALLOC_FL_ZERO_RANGE:
      return Ok();
    case FALLOC_FL_PUNCH_HOLE:
      if (!(mode & FALLOC_FL_KEEP_SIZE)) return Errno(EOPNOTSUPP);
      return Ok();
    case FALLOC_FL_COLLAPSE_RANGE:
    case FALLOC_FL_INSERT_RANGE:
    case kFallocWriteZeroes:
      if (mode & FALLOC_FL_KEEP_SIZE) return Errno(EOPNOTSUPP);
      return Ok();
  }
  return Errno(EOPNOTSUPP);  // two operations at once
}

}  // namespace

Result<uint64_t> Fsync(Task& t, const SyscallArgs& a) { return DoFsync(t, a.fd(0), false); }

Result<uint64_t> Fdatasync(Task& t, const SyscallArgs& a) { return DoFsync(t, a.fd(0), true); }

// PARTIAL(sync): files written through a writable host mount are left to
// the host's own writeback; everything else lives in memory.
Result<uint64_t> Sync(Task&, const SyscallArgs&) { return 0; }

Result<uint64_t> Syncfs(Task& t, const SyscallArgs& a) {
  TRY(IoFile(t, a.fd(0)));
  return 0;  // PARTIAL(sync): as sync(2)
}

Result<uint64_t> SyncFileRange(Task& t, const SyscallArgs& a) {
  auto file = TRY(IoFile(t, a.fd(0)));
  const int64_t offset = a.i64(1), nbytes = a.i64(2);
  const unsigned flags = a.u32(3);
  constexpr unsigned kValid =
      SYNC_FILE_RANGE_WAIT_BEFORE | SYNC_FILE_RANGE_WRITE | SYNC_FILE_RANGE_WAIT_AFTER;
  if (flags & ~kValid) return Errno(EINVAL);
  int64_t end;
  if (offset < 0 || __builtin_add_overflow(offset, nbytes, &end) || end < 0 || end < offset) {
    return Errno(EINVAL);
  }
  const mode_t type = FileType(*file);
  if (type != S_IFREG && type != S_IFBLK && type != S_IFDIR && type != S_IFLNK) return Errno(ESPIPE);
  // Starting writeback is the most it promises; a data sync does that.
  if (flags & SYNC_FILE_RANGE_WRITE) TRY(file->Sync(/*data_only=*/true));
  return 0;
}

Result<uint64_t> Fallocate(Task& t, const SyscallArgs& a) {
  auto file = TRY(IoFile(t, a.fd(0)));
  const int mode = a.i32(1);
  const int64_t offset = a.i64(2), len = a.i64(3);
  if (offset < 0 || len <= 0) return Errno(EINVAL);
  TRY(CheckFallocateMode(mode));
  if (!file->Writable()) return Errno(EBADF);
  const mode_t type = FileType(*file);
  if (type == S_IFIFO) return Errno(ESPIPE);
  if (type == S_IFDIR) return Errno(EISDIR);
  if (type != S_IFREG) return Errno(ENODEV);
  int64_t end;
  if (__builtin_add_overflow(offset, len, &end)) return Errno(EFBIG);
  TRY(file->Allocate(mode, static_cast<uint64_t>(offset), static_cast<uint64_t>(len)));
  return 0;
}

// readahead(2): a hint (POSIX_FADV_WILLNEED), for regular files only.
Result<uint64_t> Readahead(Task& t, const SyscallArgs& a) {
  auto file = TRY(IoFile(t, a.fd(0)));
  if (!file->Readable()) return Errno(EBADF);
  const mode_t type = FileType(*file);
  if (type != S_IFREG && type != S_IFBLK) return Errno(EINVAL);
  if (a.i64(2) < 0) return Errno(EINVAL);  // generic_fadvise's negative length
  return 0;
}

}  // namespace husk::syscalls
