// The older and the newer forms of open and getdents: creat, getdents (the
// old struct linux_dirent) and openat2 (struct open_how, RESOLVE_*).
#include <fcntl.h>
#include <linux/openat2.h>

#include <algorithm>
#include <cstring>
#include <vector>

#include "sentry/syscalls/handlers.h"
#include "sentry/syscalls/util.h"

namespace husk::syscalls {
namespace {

constexpr uint64_t kOLargefile = 0100000;  // the kernel's; glibc's is 0 on x86-64
constexpr uint64_t kOTmpfileBit = 020000000;  // __O_TMPFILE
// Linux's VALID_OPEN_FLAGS: what openat2 accepts (open and openat drop
// anything else silently).
constexpr uint64_t kValidOpenFlags =
    O_ACCMODE | O_CREAT | O_EXCL | O_NOCTTY | O_TRUNC | O_APPEND | O_NONBLOCK | O_SYNC | O_DSYNC |
    O_ASYNC | O_DIRECT | kOLargefile | O_DIRECTORY | O_NOFOLLOW | O_NOATIME | O_CLOEXEC | O_PATH |
    kOTmpfileBit;
constexpr uint64_t kValidResolve = RESOLVE_NO_XDEV | RESOLVE_NO_MAGICLINKS | RESOLVE_NO_SYMLINKS |
                                   RESOLVE_BENEATH | RESOLVE_IN_ROOT | RESOLVE_CACHED;

// Linux's build_open_flags for openat2: every argument is checked.
Result<void> CheckOpenHow(const open_how& how) {
  const uint64_t flags = how.flags & ~uint64_t{O_CLOEXEC};
  if (flags & ~kValidOpenFlags) return Errno(EINVAL);
  if (how.resolve & ~kValidResolve) return Errno(EINVAL);
  if ((how.resolve & RESOLVE_BENEATH) && (how.resolve & RESOLVE_IN_ROOT)) return Errno(EINVAL);
  if (flags & (O_CREAT | kOTmpfileBit)) {
    if (how.mode & ~uint64_t{07777}) return Errno(EINVAL);
  } else if (how.mode != 0) {
    return Errno(EINVAL);
  }
  if ((flags & O_CREAT) && (flags & O_DIRECTORY)) return Errno(EINVAL);
  if (flags & kOTmpfileBit) {
    if ((flags & (kOTmpfileBit | O_DIRECTORY | O_CREAT)) != (kOTmpfileBit | O_DIRECTORY)) {
      return Errno(EINVAL);
    }
    const uint64_t acc = flags & O_ACCMODE;
    if (acc != O_WRONLY && acc != O_RDWR) return Errno(EINVAL);
  }
  if ((flags & O_PATH) && (flags & ~uint64_t{O_PATH | O_DIRECTORY | O_NOFOLLOW})) return Errno(EINVAL);
  if ((how.resolve & RESOLVE_CACHED) && (flags & (O_TRUNC | O_CREAT | kOTmpfileBit))) {
    return Errno(EAGAIN);
  }
  return Ok();
}

// linux_dirent's header: d_ino, d_off, d_reclen; the name, its NUL and the
// type (the record's last byte) follow.
struct DirentHeader {
  uint64_t ino;
  int64_t off;
  uint16_t reclen;
} __attribute__((packed));
static_assert(sizeof(DirentHeader) == 18);

}  // namespace

Result<uint64_t> Creat(Task& t, const SyscallArgs& a) {
  SyscallArgs open;
  open.raw[0] = a.raw[0];
  open.raw[1] = O_CREAT | O_WRONLY | O_TRUNC;
  open.raw[2] = a.raw[1];
  return Open(t, open);
}

Result<uint64_t> Getdents(Task& t, const SyscallArgs& a) {
  auto file = TRY(t.fds().Get(a.fd(0)));
  if (file->flags() & O_PATH) return Errno(EBADF);
  auto entries = TRY(file->ReadDir());
  const uint64_t count = std::min<uint64_t>(a.size(2), INT32_MAX);
  std::vector<uint8_t> out;
  uint64_t index = file->offset();
  while (index < entries.size()) {
    const auto& e = entries[index];
    const size_t reclen = (sizeof(DirentHeader) + e.name.size() + 2 + 7) & ~size_t{7};
    if (out.size() + reclen > count) break;
    const size_t at = out.size();
    out.resize(at + reclen, 0);
    DirentHeader h{e.ino, static_cast<int64_t>(index + 1), static_cast<uint16_t>(reclen)};
    memcpy(out.data() + at, &h, sizeof(h));
    memcpy(out.data() + at + sizeof(h), e.name.data(), e.name.size());
    out[at + reclen - 1] = e.type;
    ++index;
  }
  if (out.empty() && index < entries.size()) return Errno(EINVAL);  // not even one fits
  TRY(t.mm().CopyOut(a.ptr(1), out));
  file->set_offset(index);
  return out.size();
}

Result<uint64_t> Openat2(Task& t, const SyscallArgs& a) {
  const int dirfd = a.fd(0);
  const uint64_t size = a.size(3);
  // An open_how of any later, larger version is taken if its extra fields
  // are zero (copy_struct_from_user).
  if (size < sizeof(open_how)) return Errno(EINVAL);
  if (size > 4096) return Errno(E2BIG);
  const open_how how = TRY(CopyInStruct<open_how>(t, a.ptr(2)));
  if (size > sizeof(open_how)) {
    std::vector<uint8_t> rest(size - sizeof(open_how));
    TRY(t.mm().CopyIn(a.ptr(2) + sizeof(open_how), rest));
    if (std::any_of(rest.begin(), rest.end(), [](uint8_t b) { return b != 0; })) {
      return Errno(E2BIG);
    }
  }
  TRY(CheckOpenHow(how));
  const int flags = static_cast<int>(how.flags);
  std::string path = TRY(CopyInPath(t, a.ptr(1)));
  if (path.empty()) return Errno(ENOENT);
  // PARTIAL(RESOLVE_CACHED): no lookup is known to need no I/O; the caller
  // retries without the flag, as it must be ready to.
  if (how.resolve & RESOLVE_CACHED) return Errno(EAGAIN);
  vfs::LookupContext ctx = t.Lookup();
  ctx.resolve = how.resolve;
  vfs::Path start;
  if (how.resolve & (RESOLVE_BENEATH | RESOLVE_IN_ROOT)) {
    // The lookup is scoped to the directory dirfd names, absolute or not.
    start = TRY(StartPath(t, dirfd, ""));
    ctx.root = start;
  } else {
    start = TRY(StartPath(t, dirfd, path));
  }
  auto file = TRY(t.kernel().vfs().Open(ctx, start, path, flags, static_cast<mode_t>(how.mode),
                                        t.fs().umask));
  return InstallFd(t, std::move(file), (flags & O_CLOEXEC) != 0);
}

}  // namespace husk::syscalls
