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

// utimensat(2)'s change of the times of the file at `p`, with its
// permission rules: `times` is {atime, mtime} (UTIME_NOW and UTIME_OMIT
// allowed), or null for now (file.cc).
Result<uint64_t> SetFileTimes(Task& t, const vfs::Path& p, const timespec* times);

// How ImportIovecs treats a bad vector: the errno for more than IOV_MAX
// buffers (readv(2): EINVAL, sendmsg(2): EMSGSIZE), and whether a write
// must be able to read every buffer in full (a send: EFAULT otherwise)
// rather than transfer up to the first bad one.
struct IovecRules {
  Errno too_many = Errno(EINVAL);
  bool whole_source = false;
};
// An application iovec array as views of its memory, for a read (`out`) or
// a write (util.cc).
Result<vfs::IoVecs> ImportIovecs(Task& t, uint64_t addr, uint64_t count, bool out,
                                 IovecRules rules = {});

// Installs `file` at the lowest free fd, honouring RLIMIT_NOFILE.
Result<uint64_t> InstallFd(Task& t, std::shared_ptr<vfs::FileDescription> file, bool cloexec,
                           int min_fd = 0);

// Sends `sig` to the calling task's thread group (signal.cc).
Result<uint64_t> SignalSelf(Task& t, int sig);

// clone(2)/clone3(2) with CLONE_PIDFD: the new process's (or thread's)
// pidfd is installed and its number written to `pidfd_addr` (pidfd.cc).
Result<uint64_t> CloneWithPidfd(Task& t, kernel::CloneArgs args, uint64_t pidfd_addr);
// waitid(P_PIDFD): the process pidfd `fd` names (null: a thread, which no
// child is) and whether the pidfd is nonblocking; EBADF if `fd` is not a
// pidfd (pidfd.cc).
struct PidfdWait {
  std::shared_ptr<kernel::ThreadGroup> group;
  bool nonblock = false;
};
Result<PidfdWait> PidfdWaitTarget(Task& t, int fd);

// A write that failed with EPIPE also raises SIGPIPE (pipe(7)).
template <class T>
Result<T> RaiseOnEpipe(Task& t, Result<T> r) {
  if (!r && r.error() == Errno(EPIPE)) (void)SignalSelf(t, SIGPIPE);
  return r;
}
// The same for a write to `file`, if its EPIPE raises SIGPIPE at all.
template <class T>
Result<T> RaiseOnEpipe(Task& t, const vfs::FileDescription& file, Result<T> r) {
  if (!file.EpipeRaisesSigpipe()) return r;
  return RaiseOnEpipe(t, std::move(r));
}

// fcntl(2)'s record-lock commands F_GETLK, F_SETLK, F_SETLKW and their
// F_OFD_ forms on `file`, with the struct flock at `addr` (lock.cc).
Result<uint64_t> FcntlLock(Task& t, vfs::FileDescription& file, int cmd, uint64_t addr);
// fcntl(2)'s F_ADD_SEALS (of `arg`) and F_GET_SEALS (memfd.cc).
Result<uint64_t> FcntlSeals(Task& t, vfs::FileDescription& file, int cmd, unsigned arg);

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
