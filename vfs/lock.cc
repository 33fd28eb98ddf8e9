#include "vfs/lock.h"

#include <sys/file.h>

#include <algorithm>
#include <map>

#include "vfs/file.h"
#include "vfs/inode.h"

namespace husk::vfs {
namespace {

// The deadlock detector's view (Linux's blocked_hash): which POSIX owner
// sleeps on a lock of which other owner. It spans every file, so it is the
// one piece of lock state that is not per table. OFD owners are left out,
// as Linux leaves them out: a description is no process that could wait.
absl::Mutex g_blocked_mu;
std::map<const void*, const void*>& BlockedOn() ABSL_EXCLUSIVE_LOCKS_REQUIRED(g_blocked_mu) {
  static auto* blocked = new std::map<const void*, const void*>;
  return *blocked;
}

// Linux's MAX_DEADLK_ITERATIONS: how far a chain of waiters is followed.
constexpr int kMaxDeadlockHops = 10;

// posix_locks_deadlock: whether `caller`, about to wait for `holder`, would
// close a circle: `holder` waits for someone who waits ... for `caller`.
bool WouldDeadlock(const void* caller, const void* holder) ABSL_EXCLUSIVE_LOCKS_REQUIRED(g_blocked_mu) {
  auto& blocked = BlockedOn();
  for (int i = 0; i <= kMaxDeadlockHops; ++i) {
    auto it = blocked.find(holder);
    if (it == blocked.end()) return false;
    holder = it->second;
    if (holder == caller) return true;
  }
  return false;
}

void StopWaiting(const void* owner) {
  absl::MutexLock lock(&g_blocked_mu);
  BlockedOn().erase(owner);
}

bool Overlap(const RecordLock& a, const RecordLock& b) { return a.start <= b.end && b.start <= a.end; }

}  // namespace

bool FileLocks::FlockConflictLocked(const void* file, bool exclusive) const {
  for (const auto& f : flocks_) {
    if (f.file != file && (exclusive || f.exclusive)) return true;
  }
  return false;
}

Result<void> FileLocks::Flock(const void* file, int op, bool nonblock) {
  const bool exclusive = op == LOCK_EX;
  {
    absl::MutexLock lock(&mu_);
    auto it = std::find_if(flocks_.begin(), flocks_.end(), [&](const FlockEntry& f) { return f.file == file; });
    if (it != flocks_.end()) {
      if (op != LOCK_UN && it->exclusive == exclusive) return Ok();
      flocks_.erase(it);
      changed_.NotifyAll();
    }
    if (op == LOCK_UN) return Ok();
  }
  for (;;) {
    {
      absl::MutexLock lock(&mu_);
      if (!FlockConflictLocked(file, exclusive)) {
        flocks_.push_back(FlockEntry{file, exclusive});
        return Ok();
      }
    }
    if (nonblock) return Errno(EWOULDBLOCK);
    TRY(BlockOn(changed_, [&] {
      absl::MutexLock lock(&mu_);
      return !FlockConflictLocked(file, exclusive);
    }));
  }
}

const RecordLock* FileLocks::ConflictLocked(const RecordLock& req) const {
  for (const auto& l : records_) {
    if (l.start > req.end) break;
    if (l.owner == req.owner || !Overlap(l, req)) continue;
    if (l.type == F_WRLCK || req.type == F_WRLCK) return &l;
  }
  return nullptr;
}

std::optional<RecordLock> FileLocks::Test(const RecordLock& req) {
  absl::MutexLock lock(&mu_);
  if (const RecordLock* l = ConflictLocked(req)) return *l;
  return std::nullopt;
}

// posix_lock_inode's update: the owner's locks lose what `req` covers (a
// lock straddling an end is split), then `req` goes in, joined with the
// owner's locks of the same type that touch it.
void FileLocks::ApplyLocked(const RecordLock& req) {
  std::vector<RecordLock> out;
  out.reserve(records_.size() + 2);
  for (const auto& l : records_) {
    if (l.owner != req.owner || !Overlap(l, req)) {
      out.push_back(l);
      continue;
    }
    if (l.start < req.start) {
      RecordLock left = l;
      left.end = req.start - 1;
      out.push_back(left);
    }
    if (l.end > req.end) {
      RecordLock right = l;
      right.start = req.end + 1;
      out.push_back(right);
    }
  }
  if (req.type != F_UNLCK) {
    RecordLock merged = req;
    std::erase_if(out, [&](const RecordLock& l) {
      if (l.owner != req.owner || l.type != req.type) return false;
      const bool before = l.end != RecordLock::kEof && l.end + 1 == merged.start;
      const bool after = merged.end != RecordLock::kEof && merged.end + 1 == l.start;
      if (!before && !after) return false;
      merged.start = std::min(merged.start, l.start);
      merged.end = std::max(merged.end, l.end);
      return true;
    });
    out.push_back(merged);
  }
  std::sort(out.begin(), out.end(),
            [](const RecordLock& a, const RecordLock& b) { return a.start < b.start; });
  records_ = std::move(out);
}

Result<void> FileLocks::SetRecord(const RecordLock& req, bool wait) {
  for (;;) {
    {
      absl::MutexLock lock(&mu_);
      const RecordLock* conflict = req.type == F_UNLCK ? nullptr : ConflictLocked(req);
      if (conflict == nullptr) {
        ApplyLocked(req);
        changed_.NotifyAll();
        if (wait && !req.ofd) StopWaiting(req.owner);
        return Ok();
      }
      if (!wait) return Errno(EAGAIN);
      if (!req.ofd) {
        absl::MutexLock blocked_lock(&g_blocked_mu);
        if (WouldDeadlock(req.owner, conflict->owner)) {
          BlockedOn().erase(req.owner);
          return Errno(EDEADLK);
        }
        BlockedOn()[req.owner] = conflict->owner;
      }
    }
    auto r = BlockOn(changed_, [&] {
      absl::MutexLock lock(&mu_);
      return ConflictLocked(req) == nullptr;
    });
    if (!r) {
      if (!req.ofd) StopWaiting(req.owner);
      return r.error();
    }
  }
}

void FileLocks::ReleasePosix(const void* owner) {
  absl::MutexLock lock(&mu_);
  if (std::erase_if(records_, [&](const RecordLock& l) { return l.owner == owner && !l.ofd; }) > 0) {
    changed_.NotifyAll();
  }
}

void FileLocks::ReleaseFile(const void* file) {
  absl::MutexLock lock(&mu_);
  const size_t n = std::erase_if(flocks_, [&](const FlockEntry& f) { return f.file == file; }) +
                   std::erase_if(records_, [&](const RecordLock& l) { return l.owner == file && l.ofd; });
  if (n > 0) changed_.NotifyAll();
}

void ReleasePosixLocks(FileDescription& file, const void* owner) {
  if (file.flags() & O_PATH) return;  // filp_close leaves locks alone for an O_PATH fd
  if (auto locks = file.Locks(/*create=*/false)) locks->ReleasePosix(owner);
}

// Inode::Locks and FileDescription's lock bookkeeping (inode.h, file.h).

std::shared_ptr<FileLocks> Inode::Locks(bool create) {
  absl::MutexLock lock(&locks_mu_);
  if (!locks_ && create) locks_ = std::make_shared<FileLocks>();
  return locks_;
}

std::shared_ptr<FileLocks> FileDescription::Locks(bool create) {
  if (Inode* i = inode()) return i->Locks(create);
  // A file with no inode in the tree (a socket, an eventfd ...) keeps a
  // table of its own. PARTIAL(anon inodes): Linux's anon_inodefs files
  // all share one inode, and so one lock table.
  absl::MutexLock lock(&locks_mu_);
  if (!own_locks_ && create) own_locks_ = std::make_shared<FileLocks>();
  return own_locks_;
}

void FileDescription::HoldsLocksIn(std::shared_ptr<FileLocks> locks) {
  absl::MutexLock lock(&locks_mu_);
  held_locks_ = std::move(locks);
}

}  // namespace husk::vfs
