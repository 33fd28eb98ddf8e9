#include "vfs/fd_table.h"

#include "vfs/lock.h"

namespace husk::vfs {

// The process's end (exit_files): every fd closes, and with it the POSIX
// locks the process holds.
FdTable::~FdTable() {
  for (auto& e : fds_) {
    if (e.file) ReleasePosixLocks(*e.file, this);
  }
}

Result<int> FdTable::Install(std::shared_ptr<FileDescription> file, bool cloexec, int min_fd,
                             uint64_t limit) {
  absl::MutexLock lock(&mu_);
  for (uint64_t fd = static_cast<uint64_t>(min_fd); fd < limit; ++fd) {
    if (fd >= fds_.size()) fds_.resize(fd + 1);
    if (!fds_[fd].file) {
      fds_[fd] = Entry{std::move(file), cloexec};
      return static_cast<int>(fd);
    }
  }
  return Errno(EMFILE);
}

Result<void> FdTable::InstallAt(int fd, std::shared_ptr<FileDescription> file, bool cloexec,
                                uint64_t limit) {
  if (fd < 0 || static_cast<uint64_t>(fd) >= limit) return Errno(EBADF);
  std::shared_ptr<FileDescription> old;  // released after the lock
  absl::MutexLock lock(&mu_);
  if (static_cast<size_t>(fd) >= fds_.size()) fds_.resize(fd + 1);
  old = std::move(fds_[fd].file);
  if (old) ReleasePosixLocks(*old, this);
  fds_[fd] = Entry{std::move(file), cloexec};
  return Ok();
}

Result<std::shared_ptr<FileDescription>> FdTable::Get(int fd) const {
  absl::MutexLock lock(&mu_);
  if (fd < 0 || static_cast<size_t>(fd) >= fds_.size() || !fds_[fd].file) return Errno(EBADF);
  return fds_[fd].file;
}

Result<void> FdTable::Close(int fd) {
  std::shared_ptr<FileDescription> old;
  absl::MutexLock lock(&mu_);
  if (fd < 0 || static_cast<size_t>(fd) >= fds_.size() || !fds_[fd].file) return Errno(EBADF);
  old = std::move(fds_[fd].file);
  ReleasePosixLocks(*old, this);  // closing any fd of a file drops the process's locks on it
  fds_[fd].cloexec = false;
  return Ok();
}

Result<bool> FdTable::GetCloexec(int fd) const {
  absl::MutexLock lock(&mu_);
  if (fd < 0 || static_cast<size_t>(fd) >= fds_.size() || !fds_[fd].file) return Errno(EBADF);
  return fds_[fd].cloexec;
}

Result<void> FdTable::SetCloexec(int fd, bool cloexec) {
  absl::MutexLock lock(&mu_);
  if (fd < 0 || static_cast<size_t>(fd) >= fds_.size() || !fds_[fd].file) return Errno(EBADF);
  fds_[fd].cloexec = cloexec;
  return Ok();
}

void FdTable::CloseOnExec() {
  std::vector<std::shared_ptr<FileDescription>> closed;
  absl::MutexLock lock(&mu_);
  for (auto& e : fds_) {
    if (e.file && e.cloexec) {
      ReleasePosixLocks(*e.file, this);
      closed.push_back(std::move(e.file));
      e.cloexec = false;
    }
  }
}

void FdTable::CloseRange(unsigned first, unsigned last, bool cloexec) {
  std::vector<std::shared_ptr<FileDescription>> closed;  // released after the lock
  absl::MutexLock lock(&mu_);
  for (uint64_t fd = first; fd <= last && fd < fds_.size(); ++fd) {
    Entry& e = fds_[fd];
    if (!e.file) continue;
    if (cloexec) {
      e.cloexec = true;
    } else {
      ReleasePosixLocks(*e.file, this);
      closed.push_back(std::move(e.file));
      e.cloexec = false;
    }
  }
}

std::shared_ptr<FdTable> FdTable::Clone() const {
  auto copy = std::make_shared<FdTable>();
  absl::MutexLock lock(&mu_);
  absl::MutexLock copy_lock(&copy->mu_);
  copy->fds_ = fds_;
  return copy;
}

std::vector<int> FdTable::OpenFds() const {
  absl::MutexLock lock(&mu_);
  std::vector<int> out;
  for (size_t i = 0; i < fds_.size(); ++i) {
    if (fds_[i].file) out.push_back(static_cast<int>(i));
  }
  return out;
}

}  // namespace husk::vfs
