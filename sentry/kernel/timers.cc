#include "sentry/kernel/timers.h"

#include <absl/time/time.h>

#include <vector>

#include "sentry/kernel/kernel.h"

namespace husk::kernel {

TimerService::TimerService(Kernel& k) : kernel_(k) {}

TimerService::~TimerService() {
  {
    absl::MutexLock lock(&mu_);
    stopping_ = true;
  }
  if (thread_.joinable()) thread_.join();
}

int64_t TimerService::Now() {
  timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

std::pair<int64_t, int64_t> TimerService::Set(const std::shared_ptr<Timer>& t, int64_t value,
                                              int64_t interval) {
  absl::MutexLock lock(&mu_);
  // The service thread starts with the first timer ever armed.
  if (!thread_.joinable() && value > 0) thread_ = std::thread([this] { Serve(); });
  const int64_t now = Now();
  std::pair<int64_t, int64_t> old{t->deadline ? std::max<int64_t>(1, t->deadline - now) : 0, t->interval};
  for (auto it = queue_.begin(); it != queue_.end(); ++it) {
    if (it->second == t) {
      queue_.erase(it);
      break;
    }
  }
  t->deadline = value > 0 ? now + value : 0;
  t->interval = value > 0 ? interval : 0;
  t->overrun = 0;
  if (t->deadline) queue_.emplace(t->deadline, t);
  return old;
}

std::pair<int64_t, int64_t> TimerService::Get(const std::shared_ptr<Timer>& t) {
  absl::MutexLock lock(&mu_);
  const int64_t now = Now();
  return {t->deadline ? std::max<int64_t>(1, t->deadline - now) : 0, t->interval};
}

int TimerService::Overrun(const std::shared_ptr<Timer>& t) {
  absl::MutexLock lock(&mu_);
  return t->overrun;
}

void TimerService::Serve() {
  for (;;) {
    std::vector<std::shared_ptr<Timer>> fired;
    {
      absl::MutexLock lock(&mu_);
      for (;;) {
        if (stopping_) return;
        const int64_t now = Now();
        if (!queue_.empty() && queue_.begin()->first <= now) break;
        const int64_t wait = queue_.empty() ? 1000000000LL : queue_.begin()->first - now;
        mu_.AwaitWithTimeout(absl::Condition(+[](bool* s) { return *s; }, &stopping_),
                             absl::Nanoseconds(wait));
      }
      const int64_t now = Now();
      while (!queue_.empty() && queue_.begin()->first <= now) {
        auto t = queue_.begin()->second;
        queue_.erase(queue_.begin());
        if (t->interval > 0) {
          // Expirations missed while the signal was pending count as overruns.
          const int64_t late = now - t->deadline;
          t->overrun = static_cast<int>(std::min<int64_t>(late / t->interval, INT32_MAX));
          t->deadline += (late / t->interval + 1) * t->interval;
          queue_.emplace(t->deadline, t);
        } else {
          t->deadline = 0;
        }
        fired.push_back(std::move(t));
      }
    }
    for (auto& t : fired) {
      if (t->info.si_signo == 0) continue;
      siginfo_t info = t->info;
      info.si_overrun = t->overrun;
      if (t->tid != 0) {
        (void)kernel_.SignalThread(t->pid, t->tid, info);
      } else {
        (void)kernel_.SignalProcess(t->pid, info);
      }
    }
  }
}

}  // namespace husk::kernel
