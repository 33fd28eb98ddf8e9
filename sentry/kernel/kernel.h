// Kernel: the sandbox's one kernel object. Owns the platform, the memory
// file, the mount tree and the tasks; there is no global mutable state
// outside it.
#pragma once

#include <time.h>

#include <memory>
#include <string>
#include <vector>

#include "platform/platform.h"
#include "sentry/kernel/task.h"
#include "sentry/mm/memory_file.h"
#include "vfs/vfs.h"

namespace husk::kernel {

struct KernelOptions {
  bool strace = false;  // print every syscall in strace's format
  int strace_fd = 2;    // host fd the trace goes to
};

// Why exec failed, with the errno the application (or `sentry run`) sees.
class Kernel {
 public:
  Kernel(KernelOptions opts, std::unique_ptr<platform::Platform> platform,
         std::unique_ptr<mm::MemoryFile> memory);

  platform::Platform& platform() { return *platform_; }
  mm::MemoryFile& memory_file() { return *memory_; }
  vfs::Vfs& vfs() { return vfs_; }
  const KernelOptions& options() const { return opts_; }
  const timespec& boot_time() const { return boot_time_; }
  const std::string& hostname() const { return hostname_; }

  // Creates the first task (PID 1) with `fds` as its file table.
  std::unique_ptr<Task> NewInitTask(std::shared_ptr<vfs::FdTable> fds, vfs::Credentials creds);

  // Creates the address space the next Exec will use, ahead of time (it
  // takes a few ms: new namespaces for the stub).
  Result<void> PrepareAddressSpace();

  // execve(2) of `path` (resolved from t's cwd) in task `t`: a new address
  // space with the program, its interpreter and its stack. On failure
  // t's old image is untouched.
  Result<void> Exec(Task& t, const std::string& path, std::vector<std::string> argv,
                    std::vector<std::string> envp);

 private:
  KernelOptions opts_;
  std::unique_ptr<platform::Platform> platform_;
  std::unique_ptr<mm::MemoryFile> memory_;
  vfs::Vfs vfs_;
  std::unique_ptr<platform::AddressSpace> prepared_;
  timespec boot_time_{};
  std::string hostname_;
};

}  // namespace husk::kernel
