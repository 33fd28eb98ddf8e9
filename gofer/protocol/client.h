// Client: the sentry's side of the gofer protocol, used by vfs/goferfs.
#pragma once

#include <dirent.h>
#include <sys/statfs.h>
#include <time.h>

#include <atomic>
#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/synchronization/mutex.h"
#include "base/result.h"
#include "base/scoped_fd.h"
#include "gofer/protocol/channel.h"
#include "gofer/protocol/messages.h"

namespace husk::gofer {

// The content of a host struct stat.
struct Attr {
  uint64_t dev, ino, nlink;
  uint32_t mode, uid, gid;
  uint64_t rdev;
  int64_t size, blksize, blocks;
  timespec atime, mtime, ctime;
};

// One directory entry as getdents64(2) reports it.
struct DirEntry {
  uint64_t ino;
  uint8_t type;  // DT_*
  std::string name;
};

// Who a new file belongs to: the creator's filesystem ids.
struct Owner {
  uint32_t uid, gid;
};

// What Create makes: the new file's fid and attributes, and the open host fd.
struct Created {
  Fid fid;
  Attr attr;
  ScopedFd fd;
};

// SetAttr's changes: the fields `mask` (SetAttrMask bits) names. Times may
// be UTIME_NOW or UTIME_OMIT as for utimensat(2).
struct AttrChange {
  uint32_t mask = 0;
  uint32_t mode = 0;
  uint32_t uid = 0, gid = 0;
  uint64_t size = 0;
  timespec atime = {}, mtime = {};
};

// Talks to one gofer over a SOCK_SEQPACKET socket. Thread-safe: each call
// holds a mutex for its request/response pair. A gofer that dies or answers
// with a malformed packet makes calls fail with EIO, never crash; after a
// broken packet the connection is no longer trusted and every later call is
// EIO too.
class Client {
 public:
  explicit Client(ScopedFd sock);

  // The root directory of export number `export_index`.
  Result<std::pair<Fid, Attr>> Attach(uint32_t export_index);
  // Looks up ONE component in `dir` without following a symlink: walking to
  // a symlink returns the link itself. "", ".", "..", and names with '/' or
  // NUL are EINVAL; other errors are the host's (ENOENT, ENOTDIR, EACCES,
  // ENAMETOOLONG). A symlink's target, which the gofer sends with the walk,
  // is stored in `*link_target` when that is given.
  Result<std::pair<Fid, Attr>> Walk(Fid dir, std::string_view name,
                                    std::string* link_target = nullptr);
  Result<Attr> GetAttr(Fid fid);
  // Opens the file and returns the host fd (close-on-exec). `flags` are
  // open(2) flags: access mode plus O_TRUNC, O_APPEND, O_NONBLOCK,
  // O_DIRECTORY, O_SYNC...; no O_CREAT or O_PATH. Write access on a read-only
  // export is EROFS; a symlink is ELOOP.
  Result<ScopedFd> Open(Fid fid, int flags);
  // Every entry but "." and "..", over as many round trips as needed.
  Result<std::vector<DirEntry>> ReadDir(Fid fid);
  Result<std::string> ReadLink(Fid fid);
  Result<struct statfs> StatFs(Fid fid);

  // Writes; on a read-only export all are EROFS. Names are single
  // components as for Walk; other errors are the host's.
  //
  // open(2) with O_CREAT|O_EXCL of the regular file `name` in `dir`, with
  // permission bits `mode` as given (no umask), opened with `flags` (as for
  // Open; the new file opens whatever its mode). EEXIST if the name exists,
  // even as a dangling symlink.
  Result<Created> Create(Fid dir, std::string_view name, int flags, mode_t mode, Owner owner);
  Result<std::pair<Fid, Attr>> MkDir(Fid dir, std::string_view name, mode_t mode, Owner owner);
  // mknod(2) of a FIFO, a socket or a whiteout (`mode` with S_IFIFO,
  // S_IFSOCK, or S_IFCHR and `rdev` 0); other device nodes are EPERM.
  Result<std::pair<Fid, Attr>> MkNod(Fid dir, std::string_view name, mode_t mode, uint32_t rdev,
                                     Owner owner);
  Result<std::pair<Fid, Attr>> SymLink(Fid dir, std::string_view name, std::string_view target,
                                       Owner owner);
  // A new name `name` in `dir` for the non-directory `target` (EXDEV from
  // another export); returns a fid of the new name.
  Result<std::pair<Fid, Attr>> Link(Fid dir, std::string_view name, Fid target);
  // unlinkat(2); `flags` 0 or AT_REMOVEDIR.
  Result<void> Unlink(Fid dir, std::string_view name, int flags);
  // renameat2(2) within one export; `flags` 0, RENAME_NOREPLACE or
  // RENAME_EXCHANGE. Fids of the moved names follow them.
  Result<void> Rename(Fid old_dir, std::string_view old_name, Fid new_dir,
                      std::string_view new_name, unsigned flags);
  // chown, chmod, truncate and utimensat in one; returns the attributes
  // after the change.
  Result<Attr> SetAttr(Fid fid, const AttrChange& change);
  // "user." extended attributes of regular files and directories; other
  // names are EOPNOTSUPP. Values and lists beyond one message are E2BIG.
  Result<std::string> GetXattr(Fid fid, std::string_view name);
  Result<void> SetXattr(Fid fid, std::string_view name, std::string_view value, int flags);
  Result<std::vector<std::string>> ListXattr(Fid fid);
  Result<void> RemoveXattr(Fid fid, std::string_view name);
  // Releases the fid; errors are ignored.
  void Clunk(Fid fid);
  // The session is ending: fids need not be released one by one any more
  // (the gofer goes away with all of them).
  void Close();

 private:
  struct Reply {
    std::vector<std::byte> body;  // the bytes after the ResponseHeader
    std::vector<ScopedFd> fds;
  };

  // Sends one request (header filled in here) and waits for its reply. A
  // gofer errno comes back as that Errno; transport trouble as EIO.
  template <class Body>
  Result<Reply> Call(MessageType type, const Body& body, std::string_view tail = {});
  Result<Reply> Transact(MessageType type, std::span<const std::byte> body,
                         std::string_view tail) ABSL_LOCKS_EXCLUDED(mu_);
  Result<Reply> ParseReply(MessageType type, uint64_t tag, size_t size,
                           std::vector<ScopedFd> fds) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // Marks the connection unusable and returns EIO.
  Errno Broken() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);

  // One page of a directory: appends entries to `out`, returns {cookie, eof}.
  Result<std::pair<uint64_t, bool>> ReadDirPage(Fid fid, uint64_t cookie,
                                                std::vector<DirEntry>* out);

  std::atomic<bool> closing_{false};
  absl::Mutex mu_;
  ScopedFd sock_ ABSL_GUARDED_BY(mu_);
  uint64_t next_tag_ ABSL_GUARDED_BY(mu_) = 1;
  bool broken_ ABSL_GUARDED_BY(mu_) = false;
  // Receive buffer, reused so a call does not allocate 64 KiB.
  PacketBuffer recv_buf_ ABSL_GUARDED_BY(mu_);
};

}  // namespace husk::gofer
