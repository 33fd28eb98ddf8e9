// Interval timers (alarm, setitimer) and POSIX timers (timer_create): one
// service thread sleeps until the earliest deadline and sends each expired
// timer's signal.
//
// CPU-time timers (setitimer ITIMER_VIRTUAL and ITIMER_PROF, timer_create on
// a CPU clock) count a process's or a thread's CPU clock, which only the
// tasks themselves read cheaply and exactly (sentry/kernel/cputime.h). While
// any is armed the service thread ticks every kCpuTick, like Linux's
// scheduler tick that runs run_posix_cpu_timers: it marks the clock's tasks
// (Task::cpu_timer_due) and interrupts one that is running application
// code; that task reads its clocks on its own thread before it returns to
// the application (CheckCpuTimers) and fires what has expired. With no CPU
// timer armed nothing ticks.
#pragma once

#include <signal.h>
#include <time.h>

#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <thread>
#include <utility>
#include <vector>

#include <absl/synchronization/mutex.h>

#include "base/result.h"

namespace husk::kernel {

class Kernel;
class Task;
class ThreadGroup;

// The CPU clock a CPU-time timer counts.
struct CpuClockRef {
  std::weak_ptr<ThreadGroup> group;  // the process
  int tid = 0;                       // nonzero: this thread of it alone
  bool user = false;                 // user time only (CPUCLOCK_VIRT), else user + system
};

struct Timer {
  int pid = 0;          // the process it signals
  int tid = 0;          // SIGEV_THREAD_ID: the thread; 0 for the process
  siginfo_t info{};     // what it sends (si_signo 0: SIGEV_NONE)
  clockid_t clock = CLOCK_MONOTONIC;  // what timer_create named (TIMER_ABSTIME's scale)
  // Set: a CPU-time timer; its deadline is a value of this clock.
  std::optional<CpuClockRef> cpu;
  // Set: called at each expiry instead of sending a signal (a timerfd's
  // wake-up), on the service thread with no lock held. Set before arming.
  std::function<void()> on_expiry;
  // Guarded by TimerService's lock:
  int64_t deadline = 0;  // CLOCK_MONOTONIC (or the CPU clock's) ns; 0: disarmed
  int64_t interval = 0;  // ns; 0: one-shot
  int overrun = 0;
};

class TimerService {
 public:
  // How often armed CPU-time timers are checked (Linux: one tick).
  static constexpr int64_t kCpuTick = 5'000'000;

  explicit TimerService(Kernel& k);
  ~TimerService();

  // Arms (value > 0) or disarms `t`; returns the old remaining value and
  // interval in ns. A CPU-time timer is only disarmed here (its old value
  // reads 0); SetCpu arms it.
  std::pair<int64_t, int64_t> Set(const std::shared_ptr<Timer>& t, int64_t value, int64_t interval);
  std::pair<int64_t, int64_t> Get(const std::shared_ptr<Timer>& t);
  // The same for a CPU-time timer, whose clock the calling task `self`
  // reads. `absolute`: `value` is a time on that clock (TIMER_ABSTIME).
  // ESRCH once the clock's process or thread is gone.
  Result<std::pair<int64_t, int64_t>> SetCpu(Task& self, const std::shared_ptr<Timer>& t,
                                             int64_t value, int64_t interval, bool absolute);
  Result<std::pair<int64_t, int64_t>> GetCpu(Task& self, const std::shared_ptr<Timer>& t);
  int Overrun(const std::shared_ptr<Timer>& t);
  static int64_t Now();

  // On `t`'s own task thread between two runs of the application, when a
  // tick asked for it (Task::cpu_timer_due): fires the CPU-time timers on
  // t's clocks that those clocks have reached.
  void CheckCpuTimers(Task& t);

 private:
  void Serve();
  // Sends t's signal.
  void Fire(const Timer& t);
  // A tick for CPU-time timer `t`: marks its clock's tasks and interrupts
  // one running the application. False if the clock is gone.
  bool Poke(const Timer& t);
  // Expiry bookkeeping at clock value `now` >= t.deadline: reloads an
  // interval timer (counting the periods it missed as overruns) or disarms.
  static void Expire(Timer& t, int64_t now);
  void DisarmCpuLocked(const std::shared_ptr<Timer>& t) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);

  Kernel& kernel_;
  absl::Mutex mu_;
  std::multimap<int64_t, std::shared_ptr<Timer>> queue_ ABSL_GUARDED_BY(mu_);
  std::vector<std::shared_ptr<Timer>> cpu_timers_ ABSL_GUARDED_BY(mu_);  // armed CPU-time timers
  int64_t next_tick_ ABSL_GUARDED_BY(mu_) = 0;
  bool changed_ ABSL_GUARDED_BY(mu_) = false;  // the service thread must look again
  bool stopping_ ABSL_GUARDED_BY(mu_) = false;
  std::thread thread_;
};

}  // namespace husk::kernel
