// Task (a thread) and ThreadGroup (a process), after Linux's task_struct
// and signal_struct. Each task runs on a host thread of its own (its task
// thread), which owns the task's platform Context.
#pragma once

#include <signal.h>
#include <sys/resource.h>

#include <array>
#include <atomic>
#include <cstdint>
#include <deque>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <thread>
#include <vector>

#include <absl/synchronization/mutex.h>
#include <absl/synchronization/notification.h>

#include "platform/platform.h"
#include "sentry/kernel/cputime.h"
#include "sentry/mm/memory_manager.h"
#include "vfs/fd_table.h"
#include "vfs/inode.h"
#include "vfs/vfs.h"
#include "vfs/wait.h"

namespace husk::kernel {

class Kernel;
class Task;
namespace tty {
class Tty;
}  // namespace tty

// A kernel-layout struct sigaction (what rt_sigaction(2) copies).
struct SigAction {
  uint64_t handler = 0;  // SIG_DFL = 0, SIG_IGN = 1
  uint64_t flags = 0;
  uint64_t restorer = 0;
  uint64_t mask = 0;
};
static_assert(sizeof(SigAction) == 32, "kernel struct sigaction is 32 bytes on x86-64");

inline constexpr int kNumSignals = 64;
// A thread name's length without its NUL (TASK_COMM_LEN - 1).
inline constexpr size_t kTaskNameMax = 15;
#ifndef SS_AUTODISARM
#define SS_AUTODISARM (1U << 31)  // linux/signal.h
#endif
constexpr uint64_t SigBit(int sig) { return 1ULL << (sig - 1); }
inline constexpr uint64_t kUnblockable = SigBit(SIGKILL) | SigBit(SIGSTOP);

// Signals whose default action is to do nothing (signal(7)).
bool DefaultIgnores(int sig);
// Signals whose default action dumps core.
bool DefaultCores(int sig);
// Signals whose default action stops the process.
bool DefaultStops(int sig);

// Pending signals: one instance of each standard signal, a queue of
// real-time ones (signal(7)).
// One queued real-time signal counted against its receiver's user
// (RLIMIT_SIGPENDING, Linux's per-user sigpending count): counted while it
// lives.
class SigqueueCharge {
 public:
  SigqueueCharge() = default;
  explicit SigqueueCharge(std::shared_ptr<std::atomic<int64_t>> count) : count_(std::move(count)) {
    if (count_) count_->fetch_add(1);
  }
  SigqueueCharge(SigqueueCharge&& o) noexcept : count_(std::move(o.count_)) {}
  SigqueueCharge& operator=(SigqueueCharge&& o) noexcept {
    Release();
    count_ = std::move(o.count_);
    return *this;
  }
  ~SigqueueCharge() { Release(); }

 private:
  void Release() {
    if (count_) count_->fetch_sub(1);
    count_.reset();
  }
  std::shared_ptr<std::atomic<int64_t>> count_;
};

struct PendingSignals {
  struct Queued {
    siginfo_t info;
    SigqueueCharge charge;
  };
  uint64_t mask = 0;
  std::deque<Queued> queue;

  void Add(const siginfo_t& info, SigqueueCharge charge = {});
  // The lowest pending signal not in `blocked`, removed.
  std::optional<siginfo_t> Take(uint64_t blocked);
  void Discard(int sig);
};

// dequeue_signal: the lowest pending signal of `set` for `t`, the thread's
// own before its process's, removed (rt_sigtimedwait, signalfd). Kernel
// lock held.
std::optional<siginfo_t> DequeueSignalLocked(Task& t, uint64_t set);

// Working directory, root and umask (Linux's fs_struct): shared by clone
// with CLONE_FS.
struct FsContext {
  vfs::Path root;
  vfs::Path cwd;
  mode_t umask = 022;
};

// How a process ended, as wait(2) reports it.
struct ExitStatus {
  int code = 0;
  int signal = 0;  // nonzero: killed by this signal
  bool core = false;
  // The status a shell reports: the code, or 128 + the signal.
  int ShellStatus() const { return signal ? 128 + signal : code; }
  // The wait(2) status word.
  int WaitStatus() const { return signal ? (signal | (core ? 0x80 : 0)) : (code & 0xff) << 8; }
};

// A process: what its threads share. The process-tree fields are guarded
// by the Kernel's lock.
class ThreadGroup {
 public:
  explicit ThreadGroup(int pid);

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
  // exec: caught signals go back to their default action.
  void ResetCaughtSignals();
  // fork: the child starts with the parent's limits and dispositions.
  void CopyFrom(ThreadGroup& parent);

  // --- Guarded by Kernel::mu_ ---
  ThreadGroup* parent = nullptr;
  std::vector<std::shared_ptr<ThreadGroup>> children;
  std::vector<Task*> tasks;  // live threads
  int pgid = 0;
  int sid = 0;
  int exit_signal = SIGCHLD;  // sent to the parent when the process ends
  bool exiting = false;       // exit_group or a fatal signal: every thread is leaving
  bool did_exec = false;      // has run execve (a parent's setpgid then fails)
  bool zombie = false;        // every thread has exited; waiting to be reaped
  ExitStatus status;
  PendingSignals pending;      // process-directed signals
  bool subreaper = false;      // PR_SET_CHILD_SUBREAPER
  // Job control: a stop signal's default action stops every thread until
  // a SIGCONT (a group stop); wait(2) reports each change once.
  bool stopped = false;
  int stop_signal = 0;            // the signal that stopped it
  bool report_stop = false;       // for WUNTRACED / WSTOPPED
  bool report_continued = false;  // for WCONTINUED
  // --- Credentials and prctl(2) state (sentry/kernel/credentials.cc) ---
  // PR_SET_DUMPABLE, 0 or 1 (Linux keeps it in the mm): a credential
  // change clears it, execve sets it again.
  int dumpable = 1;
  // Woken when a child changes state (for wait4/waitid), which also counts
  // the changes: a waiter whose child was reaped at once (SIGCHLD ignored)
  // must wake to find it gone.
  vfs::WaitQueue child_events;
  uint64_t child_changes = 0;
  // ITIMER_REAL (alarm, setitimer), ITIMER_VIRTUAL, ITIMER_PROF and the
  // POSIX timers by id.
  std::shared_ptr<struct Timer> itimer_real;
  std::shared_ptr<struct Timer> itimer_virtual;
  std::shared_ptr<struct Timer> itimer_prof;
  std::map<int, std::shared_ptr<struct Timer>> timers;
  // --- CPU time (sentry/kernel/cputime.h): this process's and its reaped
  // children's. Guarded by Kernel::mu_.
  GroupCpu cpu;
  // --- pidfds (sentry/kernel/pidfd.cc). Guarded by Kernel::mu_.
  // Notified when a thread of the process exits (the last one makes it a
  // zombie) and when it is reaped: what a pidfd's poll waits for.
  vfs::WaitQueue pidfd_events;
  bool reaped = false;
  // Its last thread's credentials: what kill(2) checks a zombie against.
  vfs::Credentials exit_creds;
  uint64_t pidfs_ino = 0;  // st_ino of its pidfds, given on first fstat
  // --- signalfd (sentry/kernel/signalfd.cc): notified, under Kernel::mu_,
  // whenever a signal is queued for the process or one of its threads
  // (Linux's sighand->signalfd_wqh).
  vfs::WaitQueue signalfd_events;
  // --- procfs (sentry/kernel/proc_source.cc) ---
  // When it was created (CLOCK_REALTIME ns): /proc/[pid]/stat's starttime.
  int64_t start_ns = 0;
  // /proc/[pid]/oom_score_adj; fork copies it.
  std::atomic<int> oom_score_adj{0};
  // Its last thread's name, for a zombie's /proc/[pid]/stat. Guarded by
  // Kernel::mu_.
  std::string exit_comm;
  // --- Terminals (sentry/kernel/tty/). Guarded by Kernel::mu_.
  // The controlling terminal (Linux's signal->tty): fork passes it on,
  // setsid(2) drops it.
  std::shared_ptr<tty::Tty> ctty;

 private:
  const int pid_;
  absl::Mutex mu_;
  std::array<rlimit, RLIM_NLIMITS> rlimits_ ABSL_GUARDED_BY(mu_);
  std::array<SigAction, kNumSignals> actions_ ABSL_GUARDED_BY(mu_){};
};

class Task : public vfs::Waiter {
 public:
  Task(Kernel& kernel, std::shared_ptr<ThreadGroup> tg, int tid);
  ~Task() override;

  Kernel& kernel() { return kernel_; }
  ThreadGroup& thread_group() { return *tg_; }
  const std::shared_ptr<ThreadGroup>& shared_thread_group() { return tg_; }
  int tid() const { return tid_.load(std::memory_order_relaxed); }
  int pid() const { return tg_->pid(); }
  int ppid();

  mm::MemoryManager& mm() { return *mm_; }
  const std::shared_ptr<mm::MemoryManager>& shared_mm() { return mm_; }
  vfs::FdTable& fds() { return *fds_; }
  const std::shared_ptr<vfs::FdTable>& shared_fds() { return fds_; }
  FsContext& fs() { return *fs_; }
  const std::shared_ptr<FsContext>& shared_fs() { return fs_; }
  vfs::Credentials& creds() { return creds_; }
  platform::Regs& regs() { return regs_; }
  platform::Context& context() { return *ctx_; }
  vfs::LookupContext Lookup() { return vfs::LookupContext{fs_->root, fs_->cwd, &creds_}; }

  void SetMemoryManager(std::shared_ptr<mm::MemoryManager> mm) { mm_ = std::move(mm); }
  void SetContext(std::unique_ptr<platform::Context> ctx) { ctx_ = std::move(ctx); }
  void set_fds(std::shared_ptr<vfs::FdTable> fds) { fds_ = std::move(fds); }
  void set_fs(std::shared_ptr<FsContext> fs) { fs_ = std::move(fs); }
  // After fork: the memory manager's pages are mapped once the context is
  // adopted on the task's own thread.
  void set_map_all_on_start() { map_all_on_start_ = true; }
  // Blocks until the task's thread has its stub and memory and is about to
  // run the application (or failed to).
  void WaitStarted() { started_.WaitForNotification(); }

  uint64_t signal_mask() const { return signal_mask_.load(); }
  void set_signal_mask(uint64_t m) { signal_mask_.store(m & ~kUnblockable); }
  // sigsuspend/pselect: the mask to restore once a handler has run.
  void set_saved_mask(uint64_t m) { saved_mask_ = m; }
  uint64_t clear_child_tid() const { return clear_child_tid_; }
  void set_clear_child_tid(uint64_t a) { clear_child_tid_ = a; }
  // set_robust_list(2)'s head (get_robust_list may read another task's).
  uint64_t robust_list() const { return robust_list_.load(std::memory_order_relaxed); }
  uint64_t robust_list_len() const { return robust_list_len_; }
  void set_robust_list(uint64_t head, uint64_t len) {
    robust_list_.store(head, std::memory_order_relaxed);
    robust_list_len_ = len;
  }
  stack_t& altstack() { return altstack_; }
  // restart_syscall(2): how a call that returned ERESTART_RESTARTBLOCK goes
  // on when no handler interrupted it (Linux's restart_block), e.g. a
  // relative sleep with the time it had left.
  using RestartBlock = std::function<Result<uint64_t>(Task&)>;
  void set_restart_block(RestartBlock fn) { restart_block_ = std::move(fn); }
  RestartBlock take_restart_block() { return std::exchange(restart_block_, nullptr); }

  // The path the task's image was loaded from (/proc/self/exe).
  const vfs::Path& exe() const { return exe_; }
  void set_exe(vfs::Path p) { exe_ = std::move(p); }

  // Guarded by Kernel::mu_.
  PendingSignals pending;
  bool exiting = false;  // this thread is to leave (exit, exit_group, fatal signal)
  // vfork: the parent sleeps until the child execs or exits.
  bool vfork_done = false;
  vfs::WaitQueue vfork_wait;
  // --- Credentials and prctl(2) state (sentry/kernel/credentials.cc).
  // Guarded by Kernel::mu_; the task's own thread may read them without it.
  // PR_SET_NAME, /proc/[tid]/comm: at most kTaskNameMax bytes; execve names
  // the thread after its file.
  std::string name;
  int pdeath_signal = 0;      // PR_SET_PDEATHSIG; fork and credential changes clear it
  bool no_new_privs = false;  // PR_SET_NO_NEW_PRIVS: inherited, never cleared
  // The thread whose exit sends pdeath_signal (Linux's real_parent): a
  // thread of the parent process; null after reparenting to a reaper, whose
  // last thread's exit sends it then.
  Task* parent_thread = nullptr;
  // --- CPU time and scheduling (sentry/kernel/cputime.h). `sched` and
  // `exit_cpu` are guarded by Kernel::mu_. host_tid: the task thread's host
  // tid (its CPU clock is the task's system time), 0 until it runs.
  SchedState sched;
  CpuTimes exit_cpu;  // what AccountThreadExit measured
  CpuTimes thread_reported;  // the most ThreadCpu has reported: it never goes back
  std::atomic<int> host_tid{0};
  // A CPU-time timer on this task's clocks wants them checked before it
  // next runs the application (TimerService::CheckCpuTimers).
  std::atomic<bool> cpu_timer_due{false};
  // Whether the task thread is running (or about to run) application code.
  bool in_app() const { return in_app_.load(); }
  // --- procfs (sentry/kernel/proc_source.cc): when the task was created
  // (CLOCK_REALTIME ns), and whether it is blocked in a wait (state S).
  int64_t start_ns = 0;
  std::atomic<bool> sleeping{false};

  // exit(2) of this thread alone / exit_group(2) of the process.
  void ExitThread(int code);
  void ExitGroup(ExitStatus status);
  bool ShouldExit();

  // Starts the task thread (Kernel::Start calls it).
  void Start(std::function<void()> before_run = nullptr);
  void Join();

  // Called with a signal pending for this task: gets it out of a blocking
  // wait or out of application code.
  void Kick();

  // vfs::Waiter
  void Wake() override;
  Result<void> Block(std::initializer_list<vfs::WaitQueue*> queues, absl::FunctionRef<bool()> ready,
                     std::optional<timespec> deadline = std::nullopt,
                     std::span<const vfs::HostWatch> host = {}) override;
  // Block on a run of queues known only at run time (poll, select).
  Result<void> BlockOn(std::span<vfs::WaitQueue* const> queues, absl::FunctionRef<bool()> ready,
                       std::optional<timespec> deadline, std::span<const vfs::HostWatch> host = {});

  // Whether a signal this task would act on now is pending.
  bool HasDeliverableSignal();

 private:
  void Main(std::function<void()> before_run);
  void RunLoop();
  void HandleFault(const siginfo_t& info);
  // BlockOn with host fds: a host ppoll over them and wake_fd_.
  Result<void> BlockOnHost(std::span<vfs::WaitQueue* const> queues, absl::FunctionRef<bool()> ready,
                           std::optional<timespec> deadline, std::span<const vfs::HostWatch> host);
  // Delivers pending signals (one handler frame at most); `syscall_result`
  // is the errno of the syscall just handled, for restart decisions.
  void DeliverSignals(int restart_errno);

  friend class Kernel;
  Kernel& kernel_;
  std::shared_ptr<ThreadGroup> tg_;
  std::atomic<int> tid_;  // changes once: exec from a non-leader thread takes the pid
  std::shared_ptr<mm::MemoryManager> mm_;
  std::unique_ptr<platform::Context> ctx_;
  std::shared_ptr<vfs::FdTable> fds_;
  std::shared_ptr<FsContext> fs_;
  vfs::Credentials creds_;
  platform::Regs regs_;
  std::atomic<uint64_t> signal_mask_{0};
  std::optional<uint64_t> saved_mask_;
  uint64_t clear_child_tid_ = 0;
  std::atomic<uint64_t> robust_list_{0};
  uint64_t robust_list_len_ = 0;
  stack_t altstack_{nullptr, SS_DISABLE, 0};
  RestartBlock restart_block_;
  vfs::Path exe_;
  bool map_all_on_start_ = false;
  absl::Notification started_;
  std::thread thread_;

  // Blocking: Wake bumps the sequence under wake_mu_.
  absl::Mutex wake_mu_;
  absl::CondVar wake_cv_;
  uint64_t wake_seq_ ABSL_GUARDED_BY(wake_mu_) = 0;
  // An eventfd Wake also writes to, made the first time the task waits on
  // host fds: that wait is a host ppoll over them and it.
  std::atomic<int> wake_fd_{-1};
  std::atomic<bool> in_app_{false};
};

}  // namespace husk::kernel
