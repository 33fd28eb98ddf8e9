// Kernel: the sandbox's one kernel object. Owns the platform, the memory
// file, the mount tree and the tasks; there is no global mutable state
// outside it.
#pragma once

#include <time.h>

#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include <absl/functional/function_ref.h>
#include <absl/synchronization/mutex.h>

#include "platform/platform.h"
#include "sentry/kernel/futex.h"
#include "sentry/kernel/task.h"
#include "sentry/kernel/timers.h"
#include "sentry/mm/memory_file.h"
#include "vfs/vfs.h"

namespace husk::socket {
class UnixNamespace;
std::shared_ptr<UnixNamespace> NewUnixNamespace();
}  // namespace husk::socket

namespace husk::kernel {

class PidFd;

struct KernelOptions {
  bool strace = false;  // print every syscall in strace's format
  int strace_fd = 2;    // host fd the trace goes to
};

// The arguments of clone(2)/clone3(2) that Kernel::Clone acts on.
struct CloneArgs {
  uint64_t flags = 0;  // CLONE_* without the exit signal
  int exit_signal = 0;
  uint64_t stack = 0;  // new rsp, 0 for the caller's
  uint64_t parent_tid = 0;
  uint64_t child_tid = 0;
  uint64_t tls = 0;
  // CLONE_PIDFD: the pidfd (already installed in the parent) that comes to
  // name the child.
  std::shared_ptr<PidFd> pidfd;
};

// The file execve(2)/execveat(2) runs.
struct ExecFile {
  vfs::Path path;        // the resolved file
  std::string filename;  // its name for AT_EXECFN and an interpreter's argv
  // The name is a /dev/fd one the exec closes (execveat of a close-on-exec
  // fd): a script cannot be run, its interpreter could not open it.
  bool path_unreachable = false;
};

// Which children wait4/waitid look at.
struct WaitRequest {
  enum class Which { kAny, kPid, kPgid, kGroup } which = Which::kAny;
  int id = 0;
  const ThreadGroup* group = nullptr;  // kGroup: the process a pidfd names (P_PIDFD)
  int options = 0;  // WNOHANG, WEXITED, WNOWAIT, __WALL, __WCLONE ...
};
struct WaitResult {
  enum class Kind { kExited, kStopped, kContinued };
  int pid = 0;  // 0: WNOHANG and nothing to report
  int uid = 0;
  Kind kind = Kind::kExited;
  ExitStatus status;    // kExited
  int stop_signal = 0;  // kStopped
  CpuTimes usage;       // kExited: the child's and its reaped children's (rusage)
  // The wait4(2) status word.
  int WaitStatus() const {
    switch (kind) {
      case Kind::kStopped: return (stop_signal << 8) | 0x7f;
      case Kind::kContinued: return 0xffff;
      case Kind::kExited: break;
    }
    return status.WaitStatus();
  }
};

// The credentials a process is seen with from outside (kill permission,
// the si_uid of its SIGCHLD and wait): its leader's, or another thread's
// once the leader has gone, or its last thread's for a zombie. Kernel lock
// held.
const vfs::Credentials& GroupCredentials(ThreadGroup& tg);

class Kernel {
 public:
  Kernel(KernelOptions opts, std::unique_ptr<platform::Platform> platform,
         std::unique_ptr<mm::MemoryFile> memory);
  ~Kernel();

  platform::Platform& platform() { return *platform_; }
  mm::MemoryFile& memory_file() { return *memory_; }
  vfs::Vfs& vfs() { return vfs_; }
  const KernelOptions& options() const { return opts_; }
  const timespec& boot_time() const { return boot_time_; }
  const std::string& hostname() const { return hostname_; }
  Futexes& futexes() { return futexes_; }
  TimerService& timers() { return timers_; }
  // The AF_UNIX socket names (abstract names, bound socket inodes) of the
  // sandbox's network namespace (sentry/socket/unix).
  const std::shared_ptr<socket::UnixNamespace>& unix_sockets() { return unix_sockets_; }
  // The internal tmpfs memfd_create(2) makes its files on (Linux's
  // shm_mnt), mounted nowhere.
  const std::shared_ptr<vfs::Mount>& shm_mount() { return shm_mount_; }

  // Creates the first task (PID 1) with `fds` as its file table. It is
  // started with Start.
  std::shared_ptr<Task> NewInitTask(std::shared_ptr<vfs::FdTable> fds, vfs::Credentials creds);

  // Asks the platform for the address space the init task's first Exec
  // will use.
  Result<void> PrepareAddressSpace();
  // Takes the prepared address space's thread (for the init task).
  Result<void> AdoptPrepared(Task& t);

  // execve(2) of `path` (resolved from t's cwd) in task `t`: a new address
  // space with the program, its interpreter and its stack. On failure
  // t's old image is untouched.
  Result<void> Exec(Task& t, const std::string& path, std::vector<std::string> argv,
                    std::vector<std::string> envp);
  Result<void> Exec(Task& t, ExecFile file, std::vector<std::string> argv,
                    std::vector<std::string> envp);

  // clone(2): returns the new task's tid (in the caller's namespace).
  Result<int> Clone(Task& parent, const CloneArgs& args);

  // Starts `t`'s thread; `run` runs on it before the task's loop (the init
  // task's first exec).
  void Start(std::shared_ptr<Task> t, std::function<void()> before_run = nullptr);
  // Blocks until the init process has exited and every task is gone;
  // returns the init process's status.
  ExitStatus WaitForEnd();
  // Whether every task thread has finished (after WaitForEnd).
  bool AllGone();

  // Signals. `info.si_signo` 0 only checks that the target exists. A
  // `sender` (kill(2) and its kin) must have permission (CheckKillLocked);
  // none means the kernel sends.
  Result<void> SignalProcess(int pid, const siginfo_t& info, Task* sender = nullptr);
  Result<void> SignalThread(int tgid, int tid, const siginfo_t& info, Task* sender = nullptr);
  // kill(2) with pid 0, -1 or -pgid from `sender`.
  Result<void> SignalGroup(Task& sender, int pgid, const siginfo_t& info);
  Result<void> SignalAll(Task& sender, const siginfo_t& info);
  // A signal sent to `sentry run` on the host. SIGINT, SIGQUIT, SIGHUP and
  // SIGWINCH go, as from a terminal, to the foreground group of the
  // sandbox's terminal (the caller's, see tty/), or else to the init
  // process's group; SIGTERM ends every process of the sandbox as if by
  // that signal, handled or not.
  void HostSignal(int sig);
  // rt_sigaction(2)'s change: setting an action that ignores `sig`
  // discards it from every pending set of the process.
  void SetSigAction(ThreadGroup& tg, int sig, const SigAction& act);
  // Queues `info` to thread group `tg` (kernel lock held).
  void SendToGroupLocked(ThreadGroup& tg, const siginfo_t& info) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  void SendToTaskLocked(Task& t, const siginfo_t& info) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // Job control. A stop signal's default action stops `tg`; its tasks
  // then wait in WaitWhileStoppedLocked until a SIGCONT or
  // SIGKILL. Whether `pgid` is orphaned (no member has a parent in another
  // group of the same session), which makes SIGTSTP, SIGTTIN and SIGTTOU do
  // nothing.
  void GroupStopLocked(ThreadGroup& tg, int sig) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  void WaitWhileStoppedLocked(Task& t) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  bool PgrpOrphanedLocked(int pgid) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // Starts exit_group for `tg` with `status` (kernel lock held).
  void GroupExitLocked(ThreadGroup& tg, ExitStatus status) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);

  // wait4/waitid for the caller.
  Result<WaitResult> Wait(Task& t, const WaitRequest& req);

  // Process groups and sessions.
  Result<int> GetPgid(Task& t, int pid);
  Result<int> GetSid(Task& t, int pid);
  Result<void> SetPgid(Task& t, int pid, int pgid);
  Result<int> SetSid(Task& t);
  // The parent's pid of `t`'s process (0 for init).
  int ParentPid(Task& t);
  // Number of live tasks (sysinfo's procs).
  int TaskCount();
  // Whether a task `tid` exists; fills its tgid.
  bool FindTask(int tid, int* tgid);

  // A thread's exit: called on its task thread when it leaves.
  void TaskExited(Task& t, int code);

  absl::Mutex& mu() ABSL_LOCK_RETURNED(mu_) { return mu_; }

  // --- Task lookups for the scheduling syscalls (cputime.cc) ---
  // Live task `tid`, or null; every live task.
  Task* LookupTaskLocked(int tid) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  void ForEachTaskLocked(absl::FunctionRef<void(Task&)> fn) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);

  // --- Credentials and prctl state (credentials.cc) ---
  // clone(2): the thread name, no_new_privs, dumpable and the parent
  // thread a new task takes from `parent`; its parent-death signal is 0.
  void InheritTaskState(Task& parent, Task& child, uint64_t clone_flags);
  // Thread `t` is exiting (already out of its process's task list): sends
  // the parent-death signals (PR_SET_PDEATHSIG) of the children it was the
  // parent thread of and passes them to another thread.
  void ParentThreadExitedLocked(Task& t) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // A copy of thread `tid`'s credentials (capget of another task).
  std::optional<vfs::Credentials> TaskCredentials(int tid);

  // --- Process lookups for procfs (proc_source.cc) ---
  // Process `pid`, zombies too, or null; every process, by pid; the last
  // pid handed out.
  ThreadGroup* LookupProcessLocked(int pid) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  void ForEachProcessLocked(absl::FunctionRef<void(ThreadGroup&)> fn) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  int LastPidLocked() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) { return last_pid_; }

 private:
  // pidfds (pidfd.cc) reach the process tree and the signal senders directly.
  friend class PidFd;
  // --- kill(2)'s permission check (signal_permission.cc) ---
  // check_kill_permission: EINVAL for a signal number out of range, EPERM
  // if `sender` may not signal thread `target` of `tg` (null: the process
  // as a whole). A null sender is the kernel, always allowed.
  Result<void> CheckKillLocked(Task* sender, ThreadGroup& tg, Task* target, int sig)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);

  int AllocPidLocked() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // exec's de_thread: ends every other thread of t's process and waits for
  // them; t then takes the process's pid as its tid. EINTR if the process
  // is being killed meanwhile (or another thread's exec ends t).
  Result<void> DeThread(Task& t);
  // Reports `tg`'s end to its parent (SIGCHLD, wait) or reaps it.
  void NotifyParentLocked(ThreadGroup& tg) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // Tells `tg`'s parent that it stopped or continued (CLD_STOPPED,
  // CLD_CONTINUED with `status`).
  void NotifyParentStopLocked(ThreadGroup& tg, int why, int status) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // What every signal's arrival does first: SIGCONT continues the process
  // and discards pending stop signals; a stop signal discards SIGCONT.
  void PrepareSignalLocked(ThreadGroup& tg, int sig) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // After an exit: process group `pgid`, if now orphaned with stopped
  // members, gets SIGHUP and SIGCONT (POSIX).
  void HangUpOrphanedLocked(int pgid) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  void ReapLocked(ThreadGroup& tg) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  ThreadGroup* FindGroupLocked(int pid) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  Task* FindTaskLocked(int tid) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // Sends `info` to every process `chosen` picks (zombies take it and
  // ignore it): ESRCH if none, else success if any took it, as Linux's
  // __kill_pgrp_info; otherwise why the last one refused (CheckKillLocked).
  Result<void> SendToEachLocked(absl::FunctionRef<bool(ThreadGroup&)> chosen, const siginfo_t& info,
                                Task* sender = nullptr) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // RLIMIT_SIGPENDING: the charge a real-time signal queued to `tg` (or
  // thread `t`) carries against its receiver's user, and whether there is
  // room for `info` (EAGAIN for a sigqueue over the limit; false: a kill(2)
  // over the limit whose signal is already pending, so nothing is queued).
  SigqueueCharge ChargeLocked(ThreadGroup& tg, Task* t, int sig) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  Result<bool> SigqueueRoomLocked(ThreadGroup& tg, Task* t, const siginfo_t& info)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // Picks a thread of `tg` to handle a process-directed `sig` and kicks it.
  void WakeForSignalLocked(ThreadGroup& tg, int sig) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);

  KernelOptions opts_;
  std::unique_ptr<platform::Platform> platform_;
  std::unique_ptr<mm::MemoryFile> memory_;
  vfs::Vfs vfs_;
  std::unique_ptr<platform::AddressSpace> prepared_;
  timespec boot_time_{};
  std::string hostname_;
  Futexes futexes_;
  std::shared_ptr<socket::UnixNamespace> unix_sockets_ = socket::NewUnixNamespace();
  std::shared_ptr<vfs::Mount> shm_mount_;

  absl::Mutex mu_;  // the process tree and all signal state (tasklist_lock + siglock)
  std::map<int, std::shared_ptr<Task>> tasks_ ABSL_GUARDED_BY(mu_);
  std::map<int, std::shared_ptr<ThreadGroup>> groups_ ABSL_GUARDED_BY(mu_);
  int last_pid_ ABSL_GUARDED_BY(mu_) = 0;
  std::shared_ptr<ThreadGroup> init_ ABSL_GUARDED_BY(mu_);
  int running_ ABSL_GUARDED_BY(mu_) = 0;  // task threads not yet finished
  bool init_done_ ABSL_GUARDED_BY(mu_) = false;
  ExitStatus init_status_ ABSL_GUARDED_BY(mu_);
  std::vector<std::shared_ptr<Task>> finished_ ABSL_GUARDED_BY(mu_);  // to join
  // Real-time signals queued per real uid (RLIMIT_SIGPENDING).
  std::map<uint32_t, std::shared_ptr<std::atomic<int64_t>>> sigqueue_counts_ ABSL_GUARDED_BY(mu_);
  // Last: its thread signals through the members above.
  TimerService timers_{*this};
};

}  // namespace husk::kernel
