// CPU-time accounting and the recorded scheduling attributes of tasks,
// after Linux's task_struct/signal_struct utime, stime, cutime, cstime and
// sched(7).
//
// The model. An application thread runs on two host threads: its stub
// thread (the application's own code, plus what the host kernel does for
// it there: page faults, the mappings the platform injects) and its task
// thread in the sentry (everything the sentry does for it: syscalls,
// faults, signal delivery). We report
//   user time   = the stub thread's host CPU time (platform::Context::CpuTime),
//   system time = the task thread's host CPU time (its CLOCK_THREAD_CPUTIME_ID).
// Work done for the sandbox as a whole (the gofer, the timer thread) is
// nobody's.
//
// A process's user time is its stub process's CPU clock, which counts
// every stub thread it has had, live or gone (one host clock_gettime); its
// system time is the sum of its live task threads' clocks and of the
// exited ones' (banked at exit). A thread's own user time needs the stub
// thread to read its clock itself (one injected syscall). When the last
// thread exits, the process's total is frozen for wait(2), which adds it
// (and what the child had collected from its own children) to the
// parent's children's totals, like Linux's cutime/cstime.
//
// PARTIAL(vfork): a process born sharing its parent's stub process
// (clone with CLONE_VM but not CLONE_THREAD, as vfork) counts that stub's
// CPU time since its birth (exact for vfork, whose parent sleeps), and the
// parent stops counting it once the child exits there. The time such a
// child spends there before its execve moves it to a stub of its own
// stays its parent's.
#pragma once

#include <sched.h>

#include <cstdint>
#include <memory>
#include <optional>
#include <vector>

namespace husk::mm {
class MemoryManager;
}
namespace husk::platform {
class Context;
}

namespace husk::kernel {

class Task;
class ThreadGroup;

inline constexpr int64_t kNsPerSec = 1000000000;

// User and system CPU time, in nanoseconds.
struct CpuTimes {
  int64_t user_ns = 0;
  int64_t sys_ns = 0;

  CpuTimes& operator+=(const CpuTimes& o) {
    user_ns += o.user_ns;
    sys_ns += o.sys_ns;
    return *this;
  }
  int64_t total_ns() const { return user_ns + sys_ns; }
};

// A process's accounting (ThreadGroup::cpu; guarded by Kernel::mu_).
struct GroupCpu {
  // Reaped children, with what they had reaped themselves (cutime, cstime).
  CpuTimes children;
  // Task threads of exited threads; stub threads of threads that exited
  // while others lived on (as they measured themselves).
  int64_t dead_sys_ns = 0;
  int64_t dead_user_ns = 0;
  // The stub process's clock, less stub_base_ns, when an exiting thread
  // last read it: the process's user time once its stub is gone.
  int64_t stub_seen_ns = 0;
  // A process born in its parent's stub process (see PARTIAL(vfork)): that
  // stub's clock at its birth, while it still runs in that address space.
  int64_t stub_base_ns = 0;
  std::weak_ptr<mm::MemoryManager> stub_base_mm;
  std::weak_ptr<ThreadGroup> stub_owner;  // whose stub it is
  bool borrowed_at_exit = false;          // it exited in that stub
  // What such processes used of this process's stub, theirs, not ours.
  int64_t lent_user_ns = 0;
  // Once a zombie: everything it used.
  CpuTimes final;
  // The most reported so far: a process's clock never goes back, even as a
  // thread's live clock becomes the banked figure measured just before.
  CpuTimes reported;
};

// Scheduling attributes (sched(7), setpriority(2), sched_setaffinity(2)) of
// a task (Task::sched; guarded by Kernel::mu_). PARTIAL(sched): recorded
// and reported; the host schedules the sandbox's threads as it likes.
struct SchedState {
  int nice = 0;  // -20..19
  int policy = SCHED_OTHER;
  int rt_priority = 0;  // 1..99 for SCHED_FIFO and SCHED_RR, else 0
  bool reset_on_fork = false;
  // CPU mask bytes as sched_setaffinity(2) takes them; empty: every CPU.
  std::vector<uint8_t> affinity;

  // What a child (fork or thread) starts with: the same, unless
  // SCHED_RESET_ON_FORK asks for the defaults (sched(7)).
  SchedState ForChild() const;
};

// The calling task's own usage: RUSAGE_THREAD, CLOCK_THREAD_CPUTIME_ID.
CpuTimes ThreadCpu(Task& self);
// Another live thread of the caller's process (pthread_getcpuclockid).
// PARTIAL(cpu clocks): its system time is exact; its user time is an upper
// bound, what the stub process used beyond the caller's thread and the
// exited ones (exact when the process has just these two threads).
CpuTimes OtherThreadCpu(Task& self, Task& other);
// The caller's whole process: RUSAGE_SELF, CLOCK_PROCESS_CPUTIME_ID, times.
CpuTimes ProcessCpu(Task& self);
// CPU clocks by id (clock_getcpuclockid, pthread_getcpuclockid): thread
// `tid` of the caller's process, or process `pid`; nullopt if there is no
// such thread or process (EINVAL). PARTIAL(cpu clocks): another process's
// user time is only what its exited threads left (its stub is out of
// reach); its system time is exact.
std::optional<CpuTimes> ThreadCpuById(Task& self, int tid);
std::optional<CpuTimes> ProcessCpuById(Task& self, int pid);
// What the caller's process has collected from the children it waited
// for: RUSAGE_CHILDREN.
CpuTimes ChildrenCpu(Task& self);
// For /proc, from any thread, kernel lock held: process `tg`'s usage (a
// zombie's final figure), and live thread `t`'s. PARTIAL(cpu clocks): a
// thread's user time is exact only when it is alone in its process (the
// stub process's clock); otherwise it is not known from outside (0).
CpuTimes GroupCpuLocked(ThreadGroup& tg);
CpuTimes TaskCpuLocked(Task& t);

// A new process sharing its parent's stub process (clone with CLONE_VM,
// without CLONE_THREAD): called on the parent's thread before the child
// runs.
void AccountSharedStubBirth(Task& parent, Task& child);
// On an exiting task's own thread, before its context goes: measures what
// it used and what its stub process has used so far.
void AccountThreadExit(Task& t, platform::Context* ctx);
// Kernel::TaskExited on t's own thread, kernel lock held, `t` already out
// of `tg.tasks`: the thread's usage goes to its process; the last one
// freezes the total.
void AccountTaskExitedLocked(ThreadGroup& tg, Task& t);
// What wait(2) reports of zombie `child`: its usage and its children's
// (Linux's getrusage(RUSAGE_BOTH)). Kernel lock held.
CpuTimes ReapUsageLocked(ThreadGroup& child);
// wait(2) reaps `child`: its usage goes to `parent`'s children's totals.
// Kernel lock held.
void AccountReapLocked(ThreadGroup& parent, ThreadGroup& child);

}  // namespace husk::kernel
