// FileDescription: an open file (Linux's struct file): offset, status
// flags, and the operations read/write/seek/stat/getdents/ioctl.
#pragma once

#include <fcntl.h>
#include <sys/stat.h>
#include <sys/uio.h>

#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <string_view>

#include <absl/container/inlined_vector.h>
#include <absl/synchronization/mutex.h>

#include "base/result.h"
#include "base/scoped_fd.h"

namespace husk::vfs {

class WaitQueue;

class Dentry;
class FileLocks;
class Inode;
class Mount;

// Sentry-side memory a read fills or a write drains (usually views of
// application memory inside the memory file).
using IoVecs = absl::InlinedVector<iovec, 4>;
size_t TotalLength(const IoVecs& v);
// Copies `data` into `dst` from byte `skip` on; returns bytes copied.
size_t CopyToIoVecs(const IoVecs& dst, std::span<const uint8_t> data);
// Gathers up to dst.size() bytes of `src`.
size_t CopyFromIoVecs(std::span<uint8_t> dst, const IoVecs& src);

// The application memory an ioctl reads or writes; implemented by the sentry.
class UserMemory {
 public:
  virtual ~UserMemory() = default;
  virtual Result<void> CopyIn(uint64_t addr, std::span<uint8_t> dst) = 0;
  virtual Result<void> CopyOut(uint64_t addr, std::span<const uint8_t> src) = 0;
};

// One directory entry as getdents64 reports it.
struct DirEntry {
  uint64_t ino = 0;
  uint8_t type = 0;  // DT_*
  std::string name;
};

// A path inside the mount tree: a mount and a dentry of it.
struct Path {
  std::shared_ptr<Mount> mount;
  std::shared_ptr<Dentry> dentry;
  bool valid() const { return mount && dentry; }
};

class FileDescription {
 public:
  FileDescription(Path path, int flags);
  virtual ~FileDescription();

  // read(2)/write(2) at the file offset. The defaults go through
  // PRead/PWrite and advance the offset; O_APPEND writes at the end.
  virtual Result<size_t> Read(const IoVecs& dst);
  virtual Result<size_t> Write(const IoVecs& src);
  // pread(2)/pwrite(2). Default: ESPIPE (not seekable).
  virtual Result<size_t> PRead(const IoVecs& dst, uint64_t offset);
  virtual Result<size_t> PWrite(const IoVecs& src, uint64_t offset);
  // lseek(2). Default: seekable over Size() when the file is seekable.
  virtual Result<uint64_t> Seek(int64_t offset, int whence);
  virtual Result<struct stat> Stat();
  // The next directory entries from the offset on; Default: ENOTDIR.
  virtual Result<std::span<const DirEntry>> ReadDir();
  virtual Result<uint64_t> Ioctl(UserMemory& mem, uint64_t cmd, uint64_t arg);
  // Whether mmap(2) may map the file.
  virtual bool Mappable() const;
  virtual bool Seekable() const { return false; }
  // Bytes, for the end of SEEK_END and for mappings.
  virtual Result<uint64_t> Size();
  virtual bool IsTerminal() const { return false; }
  // The pages a MAP_SHARED mapping of this file maps directly, if the file
  // keeps its data in the memory file (tmpfs); null otherwise.
  virtual std::shared_ptr<class SharedPages> SharedMemory() { return nullptr; }
  // The host fd whose pages a private mapping may share with the host's
  // page cache while nothing writes to it (files the gofer donated); null
  // if the file's content lives elsewhere.
  virtual std::shared_ptr<const ScopedFd> HostPages() { return nullptr; }
  // Whether writes are dropped unread (/dev/null).
  virtual bool DiscardsWrites() const { return false; }
  // fsync(2) (fdatasync(2) with `data_only`): the file's data, and its
  // metadata unless `data_only`, reach stable storage. Default: a regular
  // file or directory (by Stat()) kept in memory has nothing to write
  // back; anything else (pipes, sockets, devices) is EINVAL, as a Linux
  // file without an fsync operation.
  virtual Result<void> Sync(bool data_only);
  // fallocate(2) of a regular file open for writing, `mode` (FALLOC_FL_*)
  // checked by the caller. Default: EOPNOTSUPP (the filesystem has none).
  virtual Result<void> Allocate(int mode, uint64_t offset, uint64_t len);
  // Whether a write(2) failing with EPIPE raises SIGPIPE: pipes and stream
  // sockets do, datagram and seqpacket sockets do not.
  virtual bool EpipeRaisesSigpipe() const { return true; }
  // poll(2): the POLL* events that hold now (of `events`, plus POLLERR and
  // POLLHUP whether asked or not), and the queue notified when they may
  // change (null: they never do). Default: ready to read and to write, as
  // a regular file always is.
  virtual short Readiness(short events);
  virtual WaitQueue* ReadinessQueue() { return nullptr; }
  // A file that is the host's (the caller's terminal or stdio): the host fd
  // whose readiness a waiter watches instead of a queue; -1 otherwise.
  virtual int HostPollFd() const { return -1; }
  // A file with no path in the tree (pipe2, socket, eventfd, epoll ...):
  // the name /proc/[pid]/fd shows for it (Linux's d_dname), as
  // "anon_inode:[eventfd]". Empty: procfs names it by its type
  // ("pipe:[ino]", "socket:[ino]").
  virtual std::string AnonName() const { return ""; }
  // open(2) of /proc/[pid]/fd/N for such a file: a pipe gives a new open
  // of the same pipe; anything else cannot be reopened (ENXIO).
  virtual Result<std::shared_ptr<FileDescription>> Reopen(int) { return Errno(ENXIO); }
  // memfd seals (fcntl F_GET_SEALS, F_ADD_SEALS): the F_SEAL_* bits of a
  // tmpfs file; EINVAL for a file of any other filesystem. AddSeals: EPERM
  // once F_SEAL_SEAL is set; the caller checked the bits and the mappings.
  virtual Result<unsigned> Seals() { return Errno(EINVAL); }
  virtual Result<void> AddSeals(unsigned) { return Errno(EINVAL); }
  // The table of advisory locks (flock(2), fcntl(2) record locks) on the
  // file, vfs/lock.h: its inode's, a pipe's, or for another file with no
  // inode its own. Made on first use unless `create` is false (null then).
  virtual std::shared_ptr<FileLocks> Locks(bool create = true);
  // The description took a flock(2) or OFD lock in `locks`: its last close
  // releases them.
  void HoldsLocksIn(std::shared_ptr<FileLocks> locks);

  const Path& path() const { return path_; }
  Inode* inode() const;

  bool Readable() const { return (flags_ & O_PATH) == 0 && (flags_ & O_ACCMODE) != O_WRONLY; }
  bool Writable() const {
    int mode = flags_ & O_ACCMODE;
    return (flags_ & O_PATH) == 0 && (mode == O_WRONLY || mode == O_RDWR);
  }
  int flags() const { return flags_; }
  // F_SETFL: only O_APPEND, O_NONBLOCK, O_ASYNC, O_DIRECT, O_NOATIME change.
  void SetStatusFlags(int flags);

  // The directory-read cursor (an index into ReadDir()'s listing) and the
  // file offset.
  uint64_t offset() const { return offset_.load(); }
  void set_offset(uint64_t o) { offset_.store(o); }

 protected:
  Path path_;
  std::atomic<int> flags_;
  std::atomic<uint64_t> offset_{0};
  absl::Mutex pos_mu_;  // serializes read/write/lseek at the offset (f_pos_lock)

 private:
  absl::Mutex locks_mu_;
  std::shared_ptr<FileLocks> own_locks_ ABSL_GUARDED_BY(locks_mu_);   // see Locks()
  std::shared_ptr<FileLocks> held_locks_ ABSL_GUARDED_BY(locks_mu_);  // see HoldsLocksIn()
};

}  // namespace husk::vfs
