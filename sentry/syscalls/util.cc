#include "sentry/syscalls/util.h"

#include <vector>

#include <sys/uio.h>

#include <limits.h>

#include <fcntl.h>

namespace husk::syscalls {

Result<std::string> CopyInPath(Task& t, uint64_t addr) {
  return t.mm().CopyInString(addr, vfs::kPathMax);
}

Result<vfs::Path> StartPath(Task& t, int dirfd, std::string_view path) {
  if ((!path.empty() && path[0] == '/') || dirfd == AT_FDCWD) return t.fs().cwd;
  auto file = TRY(t.fds().Get(dirfd));
  const vfs::Path& p = file->path();
  if (!p.valid() || !p.dentry->inode()->IsDir()) return Errno(ENOTDIR);
  return p;
}

Result<vfs::Path> EmptyPathTarget(Task& t, int dirfd) {
  if (dirfd == AT_FDCWD) return t.fs().cwd;
  auto file = TRY(t.fds().Get(dirfd));
  return file->path();
}

Result<uint64_t> InstallFd(Task& t, std::shared_ptr<vfs::FileDescription> file, bool cloexec,
                           int min_fd) {
  const rlimit lim = t.thread_group().GetRlimit(RLIMIT_NOFILE);
  int fd = TRY(t.fds().Install(std::move(file), cloexec, min_fd, lim.rlim_cur));
  return static_cast<uint64_t>(fd);
}

// The application's iovec array as views of its memory, for a read
// (`out`) or a write: at most IOV_MAX buffers (else rules.too_many), none
// or their total negative (EINVAL), the total cut at MAX_RW_COUNT. A bad
// buffer ends the transfer there, or fails it if it is the first (or, with
// rules.whole_source, any buffer a write reads).
Result<vfs::IoVecs> ImportIovecs(Task& t, uint64_t addr, uint64_t count, bool out, IovecRules rules) {
  if (count > IOV_MAX) return rules.too_many;
  std::vector<iovec> iov(count);
  if (count > 0) {
    TRY(t.mm().CopyIn(addr, std::span<uint8_t>(reinterpret_cast<uint8_t*>(iov.data()),
                                                iov.size() * sizeof(iovec))));
  }
  uint64_t total = 0;
  for (const auto& v : iov) {
    if (static_cast<int64_t>(v.iov_len) < 0) return Errno(EINVAL);
    total += v.iov_len;
    if (static_cast<int64_t>(total) < 0) return Errno(EINVAL);
  }
  vfs::IoVecs result;
  uint64_t left = kMaxRwCount;
  for (const auto& v : iov) {
    const uint64_t len = std::min<uint64_t>(v.iov_len, left);
    if (len == 0) continue;
    const uint64_t base = reinterpret_cast<uint64_t>(v.iov_base);
    auto views = out ? t.mm().OutBuffer(base, len) : t.mm().InBuffer(base, len);
    if (!views) {
      if (result.empty() || (!out && rules.whole_source)) return views.error();
      break;  // a short transfer up to the bad buffer
    }
    const size_t got = vfs::TotalLength(*views);
    if (!out && rules.whole_source && got < len) return Errno(EFAULT);
    result.insert(result.end(), views->begin(), views->end());
    left -= got;
    if (got < len || left == 0) break;
  }
  return result;
}

}  // namespace husk::syscalls
