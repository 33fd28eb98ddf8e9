// Small helpers the handler families share: paths from application memory,
// dirfd resolution, fd installation.
#pragma once

#include <signal.h>

#include <string>

#include "sentry/kernel/kernel.h"
#include "sentry/syscalls/syscalls.h"
#include "vfs/vfs.h"

namespace husk::syscalls {

// A path argument: EFAULT if unreadable, ENAMETOOLONG if PATH_MAX or longer.
Result<std::string> CopyInPath(Task& t, uint64_t addr);

// Where a *at() lookup of `path` starts: the cwd for AT_FDCWD, else the
// directory `dirfd` names (EBADF, ENOTDIR). Absolute paths ignore dirfd.
Result<vfs::Path> StartPath(Task& t, int dirfd, std::string_view path);

// The file a *at() call with AT_EMPTY_PATH and "" acts on.
Result<vfs::Path> EmptyPathTarget(Task& t, int dirfd);

// Installs `file` at the lowest free fd, honouring RLIMIT_NOFILE.
Result<uint64_t> InstallFd(Task& t, std::shared_ptr<vfs::FileDescription> file, bool cloexec,
                           int min_fd = 0);

// Sends `sig` to the calling task's thread group (signal.cc).
Result<uint64_t> SignalSelf(Task& t, int sig);

// A write that failed with EPIPE also raises SIGPIPE (pipe(7)).
template <class T>
Result<T> RaiseOnEpipe(Task& t, Result<T> r) {
  if (!r && r.error() == Errno(EPIPE)) (void)SignalSelf(t, SIGPIPE);
  return r;
}

// Copies an ABI struct out; EFAULT on a bad pointer.
template <class T>
Result<void> CopyOutStruct(Task& t, uint64_t addr, const T& v) {
  return t.mm().CopyOut(mm::UserPtr<T>{addr}, v);
}
template <class T>
Result<T> CopyInStruct(Task& t, uint64_t addr) {
  return t.mm().CopyIn(mm::UserPtr<T>{addr});
}

}  // namespace husk::syscalls
