#include "vfs/fd_table.h"

namespace husk::vfs {

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
