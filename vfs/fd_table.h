// FdTable: a process's file descriptors (Linux's files_struct).
#pragma once

#include <memory>
#include <vector>

#include <absl/synchronization/mutex.h>

#include "base/result.h"
#include "vfs/file.h"

namespace husk::vfs {

class FdTable {
 public:
  FdTable() = default;
  ~FdTable();
  // The lowest free fd >= `min_fd` below `limit` (RLIMIT_NOFILE): EMFILE if none.
  Result<int> Install(std::shared_ptr<FileDescription> file, bool cloexec, int min_fd,
                      uint64_t limit);
  // Puts `file` at exactly `fd`, closing what was there (dup2/dup3).
  Result<void> InstallAt(int fd, std::shared_ptr<FileDescription> file, bool cloexec,
                         uint64_t limit);
  Result<std::shared_ptr<FileDescription>> Get(int fd) const;
  Result<void> Close(int fd);
  Result<bool> GetCloexec(int fd) const;
  Result<void> SetCloexec(int fd, bool cloexec);
  // Closes every close-on-exec fd (execve).
  void CloseOnExec();
  // close_range(2): closes the open fds in [first, last], or with
  // `cloexec` marks them close-on-exec instead.
  void CloseRange(unsigned first, unsigned last, bool cloexec);
  // A copy sharing the open files (fork without CLONE_FILES).
  std::shared_ptr<FdTable> Clone() const;
  // The open fds, ascending (for /proc/self/fd).
  std::vector<int> OpenFds() const;

 private:
  struct Entry {
    std::shared_ptr<FileDescription> file;
    bool cloexec = false;
  };
  mutable absl::Mutex mu_;
  std::vector<Entry> fds_ ABSL_GUARDED_BY(mu_);
};

}  // namespace husk::vfs
