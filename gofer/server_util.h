// Helpers the gofer's request handlers share (server.cc, server_write.cc).
#pragma once

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <climits>
#include <string>

#include "base/result.h"
#include "base/scoped_fd.h"
#include "gofer/protocol/messages.h"
#include "gofer/protocol/wire.h"

namespace husk::gofer {

// Open flags the sentry may ask for, in Open and Create. O_CREAT, O_EXCL,
// O_TMPFILE and O_PATH are not open operations of this protocol (Create
// adds O_CREAT|O_EXCL itself).
inline constexpr int kAllowedOpenFlags = O_ACCMODE | O_TRUNC | O_APPEND | O_NONBLOCK |
                                         O_DIRECTORY | O_NOFOLLOW | O_SYNC | O_DSYNC | O_DIRECT |
                                         O_NOATIME | O_LARGEFILE | O_NOCTTY | O_CLOEXEC;

// Reads a request body of exactly `Body`, or `Body` followed by a tail when
// `tail_allowed`. Anything else is a malformed request: EINVAL.
template <class Body>
Result<Body> ReadBody(WireReader& in, bool tail_allowed = false) {
  Body body;
  if (!in.Read(&body) || (!tail_allowed && in.remaining() != 0)) return Errno(EINVAL);
  return body;
}

// Every open in the gofer: relative to an fd we hold, never following a
// final symlink, and never leaking into a child or becoming a controlling tty.
inline Result<ScopedFd> OpenAt(int dir_fd, const char* name, int flags, mode_t mode = 0) {
  int fd = ::openat(dir_fd, name, flags | O_NOFOLLOW | O_CLOEXEC | O_NOCTTY, mode);
  if (fd < 0) return Errno(errno);
  return ScopedFd(fd);
}

// The target of the link that an O_PATH|O_NOFOLLOW fd holds (the empty
// path names the fd itself).
inline Result<std::string> ReadLinkFd(int fd) {
  char target[PATH_MAX];
  ssize_t n = ::readlinkat(fd, "", target, sizeof(target));
  if (n < 0) return Errno(errno);
  if (static_cast<size_t>(n) == sizeof(target)) return Errno(ENAMETOOLONG);
  return std::string(target, n);
}

inline Result<struct stat> StatFd(int fd) {
  struct stat st;
  if (::fstatat(fd, "", &st, AT_EMPTY_PATH | AT_SYMLINK_NOFOLLOW) != 0) return Errno(errno);
  return st;
}

inline WireAttr ToWire(const struct stat& st) {
  WireAttr w = {};
  w.dev = st.st_dev;
  w.ino = st.st_ino;
  w.nlink = st.st_nlink;
  w.mode = st.st_mode;
  w.uid = st.st_uid;
  w.gid = st.st_gid;
  w.rdev = st.st_rdev;
  w.size = st.st_size;
  w.blksize = st.st_blksize;
  w.blocks = st.st_blocks;
  w.atime_sec = st.st_atim.tv_sec;
  w.atime_nsec = st.st_atim.tv_nsec;
  w.mtime_sec = st.st_mtim.tv_sec;
  w.mtime_nsec = st.st_mtim.tv_nsec;
  w.ctime_sec = st.st_ctim.tv_sec;
  w.ctime_nsec = st.st_ctim.tv_nsec;
  return w;
}

}  // namespace husk::gofer
