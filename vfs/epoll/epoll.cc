#include "vfs/epoll/epoll.h"

#include <poll.h>

#include <algorithm>

#include "vfs/anon_inode.h"

namespace husk::vfs {
namespace {

// Linux's EP_MAX_NESTS: epoll instances watching epoll instances may nest
// this deep.
constexpr int kMaxNests = 4;

// The events a file reports whether asked or not.
constexpr uint32_t kAlways = EPOLLERR | EPOLLHUP;

}  // namespace

// One interest: a file watched under an fd number. It sits on the file's
// readiness queue; a notification there puts it on the ready list.
struct EpollFile::Entry final : Wakeable {
  Entry(EpollFile* owner, int fd, const std::shared_ptr<FileDescription>& file)
      : owner(owner), fd(fd), file(file), raw(file.get()), queue(file->ReadinessQueue()),
        host_fd(file->HostPollFd()) {}

  void Wake() override {
    {
      absl::MutexLock lock(&owner->mu_);
      if (removed) return;
      owner->QueueLocked(self.lock());
    }
    owner->queue_.NotifyAll();
  }

  // Takes the entry off its file's queue (not under the owner's lock: a
  // notification holds the queue's lock and then takes the owner's).
  void Detach() {
    if (queue == nullptr) return;
    if (auto alive = file.lock()) queue->Remove(this);
  }

  EpollFile* const owner;
  const int fd;
  const std::weak_ptr<FileDescription> file;
  const FileDescription* const raw;  // the key with `fd`; compared only
  WaitQueue* const queue;            // null for a host fd
  const int host_fd;                 // -1 unless the file is the host's
  std::weak_ptr<Entry> self;
  // Guarded by the owner's mu_:
  uint32_t events = 0;  // asked for, with EPOLLET/EPOLLONESHOT
  uint64_t data = 0;
  bool disabled = false;  // a one-shot entry that has reported
  bool queued = false;    // on the ready list
  bool removed = false;
};

std::shared_ptr<EpollFile> NewEpoll() { return std::make_shared<EpollFile>(); }

EpollFile* AsEpoll(FileDescription* file) { return dynamic_cast<EpollFile*>(file); }

EpollFile::EpollFile() : FileDescription(Path{}, O_RDWR) {}

EpollFile::~EpollFile() {
  std::vector<std::shared_ptr<Entry>> entries;
  {
    absl::MutexLock lock(&mu_);
    for (auto& e : entries_) e->removed = true;
    entries = std::move(entries_);
  }
  for (auto& e : entries) e->Detach();
}

Result<struct stat> EpollFile::Stat() { return AnonInodeStat(); }

void EpollFile::PurgeLocked() {
  std::erase_if(ready_, [](const auto& e) { return e->file.expired(); });
  std::erase_if(entries_, [](const auto& e) {
    if (!e->file.expired()) return false;
    e->removed = true;
    return true;
  });
}

std::shared_ptr<EpollFile::Entry> EpollFile::FindLocked(int fd, const FileDescription* file) {
  for (auto& e : entries_) {
    if (e->fd == fd && e->raw == file) return e;
  }
  return nullptr;
}

void EpollFile::QueueLocked(const std::shared_ptr<Entry>& e) {
  if (!e || e->queued || e->disabled) return;
  e->queued = true;
  ready_.push_back(e);
}

bool EpollFile::Reaches(const EpollFile* target, int* depth) {
  std::vector<std::shared_ptr<FileDescription>> nested;
  {
    absl::MutexLock lock(&mu_);
    for (auto& e : entries_) {
      auto f = e->file.lock();
      if (f && AsEpoll(f.get()) != nullptr) nested.push_back(std::move(f));
    }
  }
  *depth = 0;
  for (auto& f : nested) {
    EpollFile* inner = AsEpoll(f.get());
    if (inner == target) return true;
    int d = 0;
    if (inner->Reaches(target, &d)) return true;
    *depth = std::max(*depth, d + 1);
  }
  return false;
}

Result<void> EpollFile::Add(int fd, const std::shared_ptr<FileDescription>& file,
                            const epoll_event& ev) {
  if (file->ReadinessQueue() == nullptr && file->HostPollFd() < 0) return Errno(EPERM);
  if (EpollFile* inner = AsEpoll(file.get())) {
    int depth = 0;
    if (inner == this || inner->Reaches(this, &depth) || depth + 1 > kMaxNests) {
      return Errno(ELOOP);
    }
  }
  auto e = std::make_shared<Entry>(this, fd, file);
  e->self = e;
  {
    absl::MutexLock lock(&mu_);
    PurgeLocked();
    if (FindLocked(fd, file.get())) return Errno(EEXIST);
    e->events = ev.events;
    e->data = ev.data.u64;
    entries_.push_back(e);
    // Whether it is ready now is for the next Collect to see.
    QueueLocked(e);
  }
  if (e->queue != nullptr) e->queue->Add(e.get());
  queue_.NotifyAll();
  return Ok();
}

Result<void> EpollFile::Modify(int fd, FileDescription* file, const epoll_event& ev) {
  {
    absl::MutexLock lock(&mu_);
    PurgeLocked();
    auto e = FindLocked(fd, file);
    if (!e) return Errno(ENOENT);
    // An exclusive entry cannot be changed.
    if (e->events & EPOLLEXCLUSIVE) return Errno(EINVAL);
    e->events = ev.events;
    e->data = ev.data.u64;
    e->disabled = false;
    QueueLocked(e);
  }
  queue_.NotifyAll();
  return Ok();
}

Result<void> EpollFile::Remove(int fd, FileDescription* file) {
  std::shared_ptr<Entry> e;
  {
    absl::MutexLock lock(&mu_);
    PurgeLocked();
    e = FindLocked(fd, file);
    if (!e) return Errno(ENOENT);
    e->removed = true;
    std::erase(entries_, e);
    std::erase(ready_, e);
  }
  e->Detach();
  return Ok();
}

size_t EpollFile::Collect(std::span<epoll_event> out) {
  std::vector<std::shared_ptr<Entry>> taken;
  {
    absl::MutexLock lock(&mu_);
    PurgeLocked();
    taken.swap(ready_);
    for (auto& e : taken) e->queued = false;
  }
  // Readiness takes the files' own locks, and a file notifies its queue
  // (and so this instance) under them: it is asked with no lock held here.
  struct Seen {
    std::shared_ptr<Entry> entry;
    uint32_t revents = 0;
    bool skipped = false;  // not looked at: `out` was full
  };
  std::vector<Seen> seen;
  size_t n = 0;
  for (auto& e : taken) {
    if (n == out.size()) {
      seen.push_back({e, 0, true});
      continue;
    }
    auto file = e->file.lock();
    if (!file) continue;
    const uint32_t want = Wanted(*e);
    if (want == 0) continue;
    const uint32_t revents =
        static_cast<uint16_t>(file->Readiness(static_cast<short>(want))) & want;
    seen.push_back({e, revents, false});
    if (revents != 0) ++n;
  }
  size_t i = 0;
  absl::MutexLock lock(&mu_);
  // Those not looked at (`out` was full) stay first in line; entries that
  // go on being ready follow them.
  std::vector<std::shared_ptr<Entry>> again;
  for (auto& s : seen) {
    if (s.skipped) again.push_back(s.entry);
  }
  again.insert(again.end(), ready_.begin(), ready_.end());
  for (auto& e : ready_) e->queued = false;
  ready_.clear();
  for (auto& e : again) QueueLocked(e);
  for (auto& s : seen) {
    Entry& e = *s.entry;
    if (e.removed || e.disabled || s.skipped) continue;
    if (s.revents == 0) {
      // Not ready: off the list until its file notifies again, except a
      // host file, which has no queue to notify and is looked at every
      // time.
      if (e.host_fd >= 0) QueueLocked(s.entry);
      continue;
    }
    out[i].events = s.revents;
    out[i].data.u64 = e.data;
    ++i;
    if (e.events & EPOLLONESHOT) {
      e.disabled = true;
    } else if (!(e.events & EPOLLET) || e.host_fd >= 0) {
      // Level-triggered: it goes on being reported while it is ready.
      // PARTIAL(host fds): a host file's edges cannot be seen, so it is
      // level-triggered even with EPOLLET.
      QueueLocked(s.entry);
    }
  }
  return i;
}

uint32_t EpollFile::Wanted(Entry& e) {
  absl::MutexLock lock(&mu_);
  if (e.removed || e.disabled) return 0;
  return (e.events & ~(EPOLLET | EPOLLONESHOT | EPOLLEXCLUSIVE | EPOLLWAKEUP)) | kAlways;
}

std::vector<HostWatch> EpollFile::HostWatches() {
  std::vector<HostWatch> out;
  absl::MutexLock lock(&mu_);
  for (auto& e : entries_) {
    if (e->host_fd < 0 || e->disabled || e->file.expired()) continue;
    const uint32_t want = (e->events & (EPOLLIN | EPOLLOUT | EPOLLPRI | EPOLLRDNORM | EPOLLWRNORM)) | kAlways;
    out.push_back({e->host_fd, static_cast<short>(want)});
  }
  return out;
}

short EpollFile::Readiness(short events) {
  std::vector<std::shared_ptr<Entry>> queued;
  {
    absl::MutexLock lock(&mu_);
    queued = ready_;
  }
  for (auto& e : queued) {
    auto file = e->file.lock();
    const uint32_t want = Wanted(*e);
    if (!file || want == 0) continue;
    if (static_cast<uint16_t>(file->Readiness(static_cast<short>(want))) & want) {
      return events & (POLLIN | POLLRDNORM);
    }
  }
  return 0;
}

}  // namespace husk::vfs
