// Task (a thread) and ThreadGroup (a process), after Linux's task_struct
// and signal_struct.
#pragma once

#include <sys/resource.h>

#include <array>
#include <cstdint>
#include <memory>
#include <string>

#include <absl/synchronization/mutex.h>

#include "platform/platform.h"
#include "sentry/mm/memory_manager.h"
#include "vfs/fd_table.h"
#include "vfs/inode.h"
#include "vfs/vfs.h"

namespace husk::kernel {

class Kernel;

// A kernel-layout struct sigaction (what rt_sigaction(2) copies).
struct SigAction {
  uint64_t handler = 0;  // SIG_DFL = 0, SIG_IGN = 1
  uint64_t flags = 0;
  uint64_t restorer = 0;
  uint64_t mask = 0;
};
static_assert(sizeof(SigAction) == 32, "kernel struct sigaction is 32 bytes on x86-64");

inline constexpr int kNumSignals = 64;

// Working directory, root and umask (Linux's fs_struct).
struct FsContext {
  vfs::Path root;
  vfs::Path cwd;
  mode_t umask = 022;
};

// A process: what its threads share.
class ThreadGroup {
 public:
  explicit ThreadGroup(int pid) : pid_(pid) {
    for (auto& r : rlimits_) r = {RLIM_INFINITY, RLIM_INFINITY};
    rlimits_[RLIMIT_STACK] = {8 << 20, RLIM_INFINITY};
    rlimits_[RLIMIT_NOFILE] = {1024, 1048576};
    rlimits_[RLIMIT_CORE] = {0, RLIM_INFINITY};
    rlimits_[RLIMIT_NPROC] = {63704, 63704};
    rlimits_[RLIMIT_SIGPENDING] = {63704, 63704};
    rlimits_[RLIMIT_MEMLOCK] = {8 << 20, 8 << 20};
    rlimits_[RLIMIT_MSGQUEUE] = {819200, 819200};
    rlimits_[RLIMIT_NICE] = {0, 0};
    rlimits_[RLIMIT_RTPRIO] = {0, 0};
  }

  int pid() const { return pid_; }
  rlimit GetRlimit(int resource) {
    absl::MutexLock lock(&mu_);
    return rlimits_[resource];
  }
  void SetRlimit(int resource, rlimit r) {
    absl::MutexLock lock(&mu_);
    rlimits_[resource] = r;
  }
  SigAction GetSigAction(int sig) {
    absl::MutexLock lock(&mu_);
    return actions_[sig - 1];
  }
  void SetSigAction(int sig, const SigAction& a) {
    absl::MutexLock lock(&mu_);
    actions_[sig - 1] = a;
  }

 private:
  const int pid_;
  absl::Mutex mu_;
  std::array<rlimit, RLIM_NLIMITS> rlimits_ ABSL_GUARDED_BY(mu_);
  std::array<SigAction, kNumSignals> actions_ ABSL_GUARDED_BY(mu_){};
};

// How a task's run ended: an exit status or a fatal signal.
struct ExitStatus {
  int code = 0;
  int signal = 0;   // nonzero: killed by this signal
  bool core = false;
  // The status a shell reports: the code, or 128 + the signal.
  int ShellStatus() const { return signal ? 128 + signal : code; }
};

class Task {
 public:
  Task(Kernel& kernel, std::shared_ptr<ThreadGroup> tg, int tid);

  Kernel& kernel() { return kernel_; }
  ThreadGroup& thread_group() { return *tg_; }
  int tid() const { return tid_; }
  int pid() const { return tg_->pid(); }
  int ppid() const { return ppid_; }

  mm::MemoryManager& mm() { return *mm_; }
  vfs::FdTable& fds() { return *fds_; }
  FsContext& fs() { return fs_; }
  vfs::Credentials& creds() { return creds_; }
  platform::Regs& regs() { return regs_; }
  vfs::LookupContext Lookup() { return vfs::LookupContext{fs_.root, fs_.cwd, &creds_}; }

  // Replaces the address space (exec) and resets the registers.
  void SetMemoryManager(std::unique_ptr<mm::MemoryManager> mm) { mm_ = std::move(mm); }
  void set_fds(std::shared_ptr<vfs::FdTable> fds) { fds_ = std::move(fds); }

  uint64_t signal_mask() const { return signal_mask_; }
  void set_signal_mask(uint64_t m) { signal_mask_ = m; }
  uint64_t clear_child_tid() const { return clear_child_tid_; }
  void set_clear_child_tid(uint64_t a) { clear_child_tid_ = a; }
  uint64_t robust_list() const { return robust_list_; }
  uint64_t robust_list_len() const { return robust_list_len_; }
  void set_robust_list(uint64_t head, uint64_t len) {
    robust_list_ = head;
    robust_list_len_ = len;
  }

  // The path the task's image was loaded from (/proc/self/exe).
  const vfs::Path& exe() const { return exe_; }
  void set_exe(vfs::Path p) { exe_ = std::move(p); }

  // Ends the thread group (exit_group or a fatal signal): Run returns.
  void Exit(ExitStatus status) {
    exiting_ = true;
    exit_status_ = status;
  }
  bool exiting() const { return exiting_; }

  // Runs the task until its thread group exits.
  ExitStatus Run();

 private:
  void HandleSyscall();
  void HandleFault(const siginfo_t& info);

  Kernel& kernel_;
  std::shared_ptr<ThreadGroup> tg_;
  const int tid_;
  int ppid_ = 0;
  std::unique_ptr<mm::MemoryManager> mm_;
  std::shared_ptr<vfs::FdTable> fds_;
  FsContext fs_;
  vfs::Credentials creds_;
  platform::Regs regs_;
  uint64_t signal_mask_ = 0;
  uint64_t clear_child_tid_ = 0;
  uint64_t robust_list_ = 0;
  uint64_t robust_list_len_ = 0;
  vfs::Path exe_;
  bool exiting_ = false;
  ExitStatus exit_status_;
};

}  // namespace husk::kernel
