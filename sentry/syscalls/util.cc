#include "sentry/syscalls/util.h"

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

}  // namespace husk::syscalls
