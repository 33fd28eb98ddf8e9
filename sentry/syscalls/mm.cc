// Memory syscalls: mmap, munmap, mprotect, mremap, madvise, brk.
#include <sys/mman.h>

#include "base/align.h"
#include "sentry/syscalls/handlers.h"
#include "sentry/syscalls/util.h"

namespace husk::syscalls {

Result<uint64_t> Mmap(Task& t, const SyscallArgs& a) {
  const uint64_t addr = a.u64(0), len = a.size(1), off = a.u64(5);
  const int prot = a.i32(2), flags = a.i32(3), fd = a.fd(4);
  if (!PageAligned(off)) return Errno(EINVAL);
  const bool anonymous = (flags & MAP_ANONYMOUS) != 0;
  std::shared_ptr<vfs::FileDescription> file;
  if (!anonymous) file = TRY(t.fds().Get(fd));
  if (len == 0) return Errno(EINVAL);
  if (PageUp(len) == 0 || PageUp(len) > mm::kTaskSize) return Errno(ENOMEM);
  if ((off >> 12) + (PageUp(len) >> 12) < (off >> 12)) return Errno(EOVERFLOW);
  const int type = flags & MAP_TYPE;
  if (type != MAP_SHARED && type != MAP_PRIVATE && (anonymous || type != MAP_SHARED_VALIDATE)) {
    return Errno(EINVAL);
  }
  if (type == MAP_SHARED_VALIDATE) {
    constexpr int kLegacy = MAP_TYPE | MAP_FIXED | MAP_ANONYMOUS | MAP_DENYWRITE | MAP_EXECUTABLE |
                            MAP_GROWSDOWN | MAP_LOCKED | MAP_NORESERVE | MAP_POPULATE |
                            MAP_NONBLOCK | MAP_STACK | MAP_HUGETLB | MAP_FIXED_NOREPLACE |
                            (0x3f << MAP_HUGE_SHIFT) | MAP_32BIT;
    if (flags & ~kLegacy) return Errno(EOPNOTSUPP);  // MAP_SYNC and unknown bits
  }
  if ((flags & (MAP_FIXED | MAP_FIXED_NOREPLACE)) && !PageAligned(addr)) return Errno(EINVAL);
  mm::MapRequest req;
  req.addr = addr;
  req.len = len;
  req.prot = prot;
  req.flags = flags;
  req.offset = off;
  if (file) {
    if (!file->Mappable()) {
      if (file->flags() & O_PATH) return Errno(EBADF);
      return Errno(ENODEV);
    }
    if (!file->Readable()) return Errno(EACCES);
    if (type != MAP_PRIVATE && (prot & PROT_WRITE) &&
        (!file->Writable() || (file->flags() & O_APPEND))) {
      return Errno(EACCES);
    }
    req.file = file;
    if (file->path().valid()) req.name = t.kernel().vfs().PathOf(t.fs().root, file->path());
  } else if (type != MAP_PRIVATE) {
    req.name = "/dev/zero (deleted)";
  }
  return t.mm().MMap(req);
}

Result<uint64_t> Munmap(Task& t, const SyscallArgs& a) {
  TRY(t.mm().MUnmap(a.u64(0), a.size(1)));
  return 0;
}

Result<uint64_t> Mprotect(Task& t, const SyscallArgs& a) {
  TRY(t.mm().MProtect(a.u64(0), a.size(1), a.i32(2)));
  return 0;
}

Result<uint64_t> Mremap(Task& t, const SyscallArgs& a) {
  return t.mm().MRemap(a.u64(0), a.size(1), a.size(2), a.i32(3), a.u64(4));
}

Result<uint64_t> Madvise(Task& t, const SyscallArgs& a) {
  TRY(t.mm().MAdvise(a.u64(0), a.size(1), a.i32(2)));
  return 0;
}

Result<uint64_t> Msync(Task& t, const SyscallArgs& a) {
  TRY(t.mm().MSync(a.u64(0), a.size(1), a.i32(2)));
  return 0;
}

Result<uint64_t> Brk(Task& t, const SyscallArgs& a) { return t.mm().Brk(a.u64(0)); }

}  // namespace husk::syscalls
