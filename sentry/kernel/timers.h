// Interval timers (alarm, setitimer ITIMER_REAL) and POSIX timers
// (timer_create): one service thread sleeps until the earliest deadline
// and sends each expired timer's signal.
#pragma once

#include <signal.h>
#include <time.h>

#include <map>
#include <memory>
#include <optional>
#include <thread>

#include <absl/synchronization/mutex.h>

namespace husk::kernel {

class Kernel;

struct Timer {
  int pid = 0;          // the process it signals
  int tid = 0;          // SIGEV_THREAD_ID: the thread; 0 for the process
  siginfo_t info{};     // what it sends (si_signo 0: SIGEV_NONE)
  // Guarded by TimerService's lock:
  int64_t deadline = 0;  // CLOCK_MONOTONIC ns; 0: disarmed
  int64_t interval = 0;  // ns; 0: one-shot
  int overrun = 0;
};

class TimerService {
 public:
  explicit TimerService(Kernel& k);
  ~TimerService();

  // Arms (value > 0) or disarms `t`; returns the old remaining value and
  // interval in ns.
  std::pair<int64_t, int64_t> Set(const std::shared_ptr<Timer>& t, int64_t value, int64_t interval);
  std::pair<int64_t, int64_t> Get(const std::shared_ptr<Timer>& t);
  int Overrun(const std::shared_ptr<Timer>& t);
  static int64_t Now();

 private:
  void Serve();

  Kernel& kernel_;
  absl::Mutex mu_;
  std::multimap<int64_t, std::shared_ptr<Timer>> queue_ ABSL_GUARDED_BY(mu_);
  bool stopping_ ABSL_GUARDED_BY(mu_) = false;
  std::thread thread_;
};

}  // namespace husk::kernel
