// Advisory file locks (Linux's fs/locks.c): flock(2) locks, POSIX record
// locks (fcntl F_SETLK) and open file description locks (F_OFD_SETLK).
//
// Every lockable file has one FileLocks table (an inode's, or a pipe's).
// Its owners are opaque pointers: a flock(2) lock and an OFD lock belong to
// the FileDescription that took it and go with its last close; a POSIX
// lock belongs to the process's FdTable (Linux's fl_owner = current->files)
// and goes when that table closes any fd of the file. flock locks and
// record locks never conflict with each other; POSIX and OFD record locks
// share one list and do.
#pragma once

#include <fcntl.h>

#include <cstdint>
#include <memory>
#include <optional>
#include <vector>

#include <absl/synchronization/mutex.h>

#include "base/result.h"
#include "vfs/wait.h"

namespace husk::vfs {

class FileDescription;

// One byte-range lock, or a request for one. The range is inclusive, as
// Linux's fl_start/fl_end; kEof as `end` reaches past any end of file.
struct RecordLock {
  static constexpr int64_t kEof = INT64_MAX;  // OFFSET_MAX
  int64_t start = 0;
  int64_t end = kEof;
  short type = F_RDLCK;         // F_RDLCK or F_WRLCK (F_UNLCK in a request)
  const void* owner = nullptr;  // the FdTable (POSIX) or FileDescription (OFD)
  bool ofd = false;
  int pid = 0;  // the process that set a POSIX lock, which F_GETLK reports
};

class FileLocks {
 public:
  // flock(2) by open file description `file`: `op` is LOCK_SH, LOCK_EX or
  // LOCK_UN. A lock it already holds of the other kind is dropped first
  // (conversion is not atomic, flock(2) NOTES). A conflicting lock of
  // another description: EWOULDBLOCK with `nonblock`, else the caller
  // sleeps until it goes (ERESTARTSYS if a signal comes first).
  Result<void> Flock(const void* file, int op, bool nonblock);

  // F_GETLK, F_OFD_GETLK: the first lock of another owner that conflicts
  // with `req`, if any.
  std::optional<RecordLock> Test(const RecordLock& req);

  // F_SETLK(W), F_OFD_SETLK(W): `req`'s range becomes `req.type` for its
  // owner (F_UNLCK: unlocked), splitting and merging the owner's locks. A
  // conflicting lock of another owner: EAGAIN, or with `wait` the caller
  // sleeps until it goes (ERESTARTSYS on a signal), unless the wait would
  // close a circle of POSIX owners each waiting for the next (EDEADLK).
  Result<void> SetRecord(const RecordLock& req, bool wait);

  // close(2) of any fd of the file by process file table `owner`: its
  // POSIX locks go (locks_remove_posix).
  void ReleasePosix(const void* owner);
  // The last close of open file description `file`: its flock and OFD
  // locks go (locks_remove_file).
  void ReleaseFile(const void* file);

 private:
  struct FlockEntry {
    const void* file;
    bool exclusive;
  };
  bool FlockConflictLocked(const void* file, bool exclusive) const ABSL_SHARED_LOCKS_REQUIRED(mu_);
  const RecordLock* ConflictLocked(const RecordLock& req) const ABSL_SHARED_LOCKS_REQUIRED(mu_);
  void ApplyLocked(const RecordLock& req) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);

  absl::Mutex mu_;  // lock order: this, then the deadlock detector's (lock.cc)
  std::vector<FlockEntry> flocks_ ABSL_GUARDED_BY(mu_);
  std::vector<RecordLock> records_ ABSL_GUARDED_BY(mu_);  // sorted by start
  WaitQueue changed_;  // a lock went or shrank
};

// What a close(2) of `file` by process file table `owner` does to the
// file's locks: drops the owner's POSIX locks on it.
void ReleasePosixLocks(FileDescription& file, const void* owner);

}  // namespace husk::vfs
