// Memory syscalls: mmap, munmap, mprotect, mremap, madvise, brk, mincore, and
// the mlock family.
#include <sys/mman.h>
#include <sys/resource.h>

#include <vector>

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
    // seal_check_write: a write-sealed memfd maps shared only read-only,
    // for good.
    if (type != MAP_PRIVATE) {
      if (auto seals = file->Seals(); seals && (*seals & (F_SEAL_WRITE | F_SEAL_FUTURE_WRITE))) {
        if (prot & PROT_WRITE) return Errno(EPERM);
        req.deny_write = true;
      }
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

namespace husk::syscalls {
namespace {

// The most pages one Mincore call of the memory manager looks at.
constexpr uint64_t kMincoreBatch = 64 * 1024;

// RLIMIT_MEMLOCK as mlock(2) applies it: none with CAP_IPC_LOCK, else in
// whole pages.
uint64_t MemlockLimit(Task& t) {
  if (t.creds().HasCapability(CAP_IPC_LOCK)) return UINT64_MAX;
  const rlim_t cur = t.thread_group().GetRlimit(RLIMIT_MEMLOCK).rlim_cur;
  return cur == RLIM_INFINITY ? UINT64_MAX : PageDown(cur);
}

// Linux's can_do_mlock: a limit above zero, or CAP_IPC_LOCK.
bool CanMlock(Task& t) {
  return t.creds().HasCapability(CAP_IPC_LOCK) ||
         t.thread_group().GetRlimit(RLIMIT_MEMLOCK).rlim_cur != 0;
}

// mlock(2)/munlock(2) of the pages [addr, addr+len) touches.
Result<uint64_t> DoMlock(Task& t, uint64_t addr, uint64_t len, bool lock) {
  if (lock && !CanMlock(t)) return Errno(EPERM);
  // As Linux: the length rounds up with the start's offset in its page
  // (and wraps to nothing when that overflows).
  const uint64_t plen = PageUp(len + (addr & (kPageSize - 1)));
  const uint64_t start = PageDown(addr);
  const uint64_t end = start + plen;
  if (end < start) return Errno(EINVAL);
  if (end == start) return 0;
  TRY(t.mm().Mlock(start, end, lock, MemlockLimit(t)));
  return 0;
}

}  // namespace

Result<uint64_t> Mincore(Task& t, const SyscallArgs& a) {
  const uint64_t addr = a.u64(0), len = a.size(1), vec = a.ptr(2);
  if (!PageAligned(addr)) return Errno(EINVAL);
  if (addr > mm::kTaskSize || len > mm::kTaskSize - addr) return Errno(ENOMEM);
  const uint64_t pages = len / kPageSize + (len % kPageSize != 0);
  if (vec > mm::kTaskSize || pages > mm::kTaskSize - vec) return Errno(EFAULT);
  for (uint64_t done = 0; done < pages;) {
    const uint64_t n = std::min(pages - done, kMincoreBatch);
    std::vector<uint8_t> resident;
    auto r = t.mm().Mincore(addr + done * kPageSize, n, resident);
    // What was found before an unmapped page is written, as Linux does.
    TRY(t.mm().CopyOut(vec + done, resident));
    if (!r) return r.error();
    done += n;
  }
  return 0;
}

Result<uint64_t> Mlock(Task& t, const SyscallArgs& a) { return DoMlock(t, a.u64(0), a.size(1), true); }

Result<uint64_t> Munlock(Task& t, const SyscallArgs& a) {
  return DoMlock(t, a.u64(0), a.size(1), false);
}

// mlock2(2): MLOCK_ONFAULT locks pages as they fault in; here every
// mapped page is already in memory, so it is mlock.
Result<uint64_t> Mlock2(Task& t, const SyscallArgs& a) {
  if (a.u32(2) & ~MLOCK_ONFAULT) return Errno(EINVAL);
  return DoMlock(t, a.u64(0), a.size(1), true);
}

Result<uint64_t> Mlockall(Task& t, const SyscallArgs& a) {
  const int flags = a.i32(0);
  if (flags == 0 || (flags & ~(MCL_CURRENT | MCL_FUTURE | MCL_ONFAULT)) || flags == MCL_ONFAULT) {
    return Errno(EINVAL);
  }
  if (!CanMlock(t)) return Errno(EPERM);
  TRY(t.mm().MlockAll(flags, MemlockLimit(t)));
  return 0;
}

Result<uint64_t> Munlockall(Task& t, const SyscallArgs&) {
  t.mm().MunlockAll();
  return 0;
}

}  // namespace husk::syscalls
