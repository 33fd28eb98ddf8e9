// epoll(7) (fs/eventpoll.c): an interest list of (fd, open file) pairs and
// a ready list. Each entry watches its file's readiness queue, so a change
// there (new data, a hang-up) puts it on the ready list: that is the edge
// EPOLLET reports. A level-triggered entry stays on the ready list while its
// file is ready.
#pragma once

#include <sys/epoll.h>

#include <memory>
#include <span>
#include <vector>

#include "base/result.h"
#include "vfs/file.h"
#include "vfs/wait.h"

namespace husk::vfs {

class EpollFile;

// epoll_create1(2); `flags` are the file's status flags (none today).
std::shared_ptr<EpollFile> NewEpoll();
// The epoll instance `file` is, or null.
EpollFile* AsEpoll(FileDescription* file);

class EpollFile final : public FileDescription {
 public:
  EpollFile();
  ~EpollFile() override;

  // epoll_ctl(2). `fd` and `file` name the entry. ADD: EEXIST if present,
  // EPERM if the file cannot be polled, ELOOP if `file` is an epoll
  // instance that watches this one or nests too deep. MOD, DEL: ENOENT if
  // absent. The events are validated by the caller.
  Result<void> Add(int fd, const std::shared_ptr<FileDescription>& file, const epoll_event& ev);
  Result<void> Modify(int fd, FileDescription* file, const epoll_event& ev);
  Result<void> Remove(int fd, FileDescription* file);

  // Takes up to out.size() events off the ready list without blocking;
  // returns how many. A level-triggered entry that reported goes back on
  // the list; a one-shot entry is disabled until its next Modify.
  size_t Collect(std::span<epoll_event> out);
  // The host fds (the caller's stdio) that entries watch: a waiter polls
  // them on the host, since no queue tells of their changes.
  std::vector<HostWatch> HostWatches();

  Result<size_t> Read(const IoVecs&) override { return Errno(EINVAL); }
  Result<size_t> Write(const IoVecs&) override { return Errno(EINVAL); }
  Result<struct stat> Stat() override;
  std::string AnonName() const override { return "anon_inode:[eventpoll]"; }
  bool Mappable() const override { return false; }
  // POLLIN while an event is ready (nested epoll, poll on the epoll fd).
  short Readiness(short events) override;
  WaitQueue* ReadinessQueue() override { return &queue_; }

 private:
  struct Entry;
  friend struct Entry;

  // Drops entries whose file is gone (closed in every process).
  void PurgeLocked() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  std::shared_ptr<Entry> FindLocked(int fd, const FileDescription* file)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  void QueueLocked(const std::shared_ptr<Entry>& e) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // The poll events `e` asks of its file now (0 if removed or disabled).
  uint32_t Wanted(Entry& e) ABSL_LOCKS_EXCLUDED(mu_);
  // Whether `target` is this instance or is reached from it through nested
  // epoll entries; `depth` is the deepest nesting below this one.
  bool Reaches(const EpollFile* target, int* depth);

  absl::Mutex mu_;
  std::vector<std::shared_ptr<Entry>> entries_ ABSL_GUARDED_BY(mu_);
  std::vector<std::shared_ptr<Entry>> ready_ ABSL_GUARDED_BY(mu_);  // FIFO
  WaitQueue queue_;  // notified when an entry becomes ready
};

}  // namespace husk::vfs
