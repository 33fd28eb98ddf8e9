#include "sentry/kernel/timers.h"

#include <absl/time/time.h>

#include <algorithm>

#include "sentry/kernel/cputime.h"
#include "sentry/kernel/kernel.h"

namespace husk::kernel {
namespace {

// The value of CPU clock `c` as task `self` reads it; nullopt once the
// clock's process or thread is gone.
std::optional<int64_t> ReadCpuClock(Task& self, const CpuClockRef& c) {
  auto group = c.group.lock();
  if (!group) return std::nullopt;
  auto v = c.tid != 0 ? ThreadCpuById(self, c.tid) : ProcessCpuById(self, group->pid());
  if (!v) return std::nullopt;
  return c.user ? v->user_ns : v->total_ns();
}

}  // namespace

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
  if (t->cpu) {
    const std::pair<int64_t, int64_t> old{0, t->interval};
    DisarmCpuLocked(t);
    return old;
  }
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
  changed_ = true;  // it may be due before what the service thread sleeps for
  return old;
}

std::pair<int64_t, int64_t> TimerService::Get(const std::shared_ptr<Timer>& t) {
  absl::MutexLock lock(&mu_);
  const int64_t now = Now();
  return {t->deadline ? std::max<int64_t>(1, t->deadline - now) : 0, t->interval};
}

Result<std::pair<int64_t, int64_t>> TimerService::SetCpu(Task& self, const std::shared_ptr<Timer>& t,
                                                         int64_t value, int64_t interval,
                                                         bool absolute) {
  // The clock is read first: reading it takes the kernel's lock, which
  // comes before ours. PARTIAL(cpu clocks): another thread's clock reads
  // high here (OtherThreadCpu), so a timer armed on it may fire late; the
  // checks on that thread's own task thread read it exactly.
  const std::optional<int64_t> now = ReadCpuClock(self, *t->cpu);
  absl::MutexLock lock(&mu_);
  if (!now) {
    DisarmCpuLocked(t);
    return Errno(ESRCH);
  }
  if (!thread_.joinable() && value > 0) thread_ = std::thread([this] { Serve(); });
  std::pair<int64_t, int64_t> old{t->deadline ? std::max<int64_t>(1, t->deadline - *now) : 0, t->interval};
  DisarmCpuLocked(t);
  if (value > 0) {
    // An absolute time already past expires at the next check.
    t->deadline = absolute ? std::max<int64_t>(value, 1) : *now + value;
    t->interval = interval;
    if (cpu_timers_.empty()) next_tick_ = Now() + kCpuTick;
    cpu_timers_.push_back(t);
    changed_ = true;
  }
  return old;
}

Result<std::pair<int64_t, int64_t>> TimerService::GetCpu(Task& self, const std::shared_ptr<Timer>& t) {
  const std::optional<int64_t> now = ReadCpuClock(self, *t->cpu);
  absl::MutexLock lock(&mu_);
  if (!now) {
    // Linux reads a timer whose clock has gone as disarmed.
    DisarmCpuLocked(t);
    return std::pair<int64_t, int64_t>{0, 0};
  }
  return std::pair<int64_t, int64_t>{t->deadline ? std::max<int64_t>(1, t->deadline - *now) : 0,
                                     t->interval};
}

void TimerService::DisarmCpuLocked(const std::shared_ptr<Timer>& t) {
  std::erase(cpu_timers_, t);
  t->deadline = 0;
  t->interval = 0;
  t->overrun = 0;
}

int TimerService::Overrun(const std::shared_ptr<Timer>& t) {
  absl::MutexLock lock(&mu_);
  return t->overrun;
}

void TimerService::Expire(Timer& t, int64_t now) {
  if (t.interval > 0) {
    // Expirations missed while the signal was pending count as overruns.
    const int64_t late = now - t.deadline;
    t.overrun = static_cast<int>(std::min<int64_t>(late / t.interval, INT32_MAX));
    t.deadline += (late / t.interval + 1) * t.interval;
  } else {
    t.deadline = 0;
  }
}

void TimerService::Fire(const Timer& t) {
  if (t.on_expiry) {
    t.on_expiry();
    return;
  }
  if (t.info.si_signo == 0) return;
  siginfo_t info = t.info;
  {
    absl::MutexLock lock(&mu_);
    info.si_overrun = t.overrun;
  }
  if (t.tid != 0) {
    (void)kernel_.SignalThread(t.pid, t.tid, info);
  } else {
    (void)kernel_.SignalProcess(t.pid, info);
  }
}

bool TimerService::Poke(const Timer& t) {
  auto group = t.cpu->group.lock();
  if (!group) return false;
  absl::MutexLock lock(&kernel_.mu());
  Task* running = nullptr;
  bool found = false;
  for (Task* task : group->tasks) {
    if (t.cpu->tid != 0 && task->tid() != t.cpu->tid) continue;
    found = true;
    task->cpu_timer_due.store(true, std::memory_order_relaxed);
    if (running == nullptr && task->in_app()) running = task;
  }
  // A task in a syscall or asleep checks on its way back to the
  // application; one running it must be stopped to check.
  if (running != nullptr) running->Kick();
  return found;
}

void TimerService::CheckCpuTimers(Task& self) {
  self.cpu_timer_due.store(false, std::memory_order_relaxed);
  std::vector<std::shared_ptr<Timer>> mine;
  {
    absl::MutexLock lock(&mu_);
    for (const auto& t : cpu_timers_) {
      if (t->cpu->group.lock().get() != &self.thread_group()) continue;
      if (t->cpu->tid != 0 && t->cpu->tid != self.tid()) continue;
      mine.push_back(t);
    }
  }
  if (mine.empty()) return;
  // Each clock once: the process's, and this thread's if a timer counts it.
  std::optional<CpuTimes> process, thread;
  std::vector<int64_t> now;
  for (const auto& t : mine) {
    auto& c = t->cpu->tid != 0 ? thread : process;
    if (!c) c = t->cpu->tid != 0 ? ThreadCpu(self) : ProcessCpu(self);
    now.push_back(t->cpu->user ? c->user_ns : c->total_ns());
  }
  std::vector<std::shared_ptr<Timer>> fired;
  {
    absl::MutexLock lock(&mu_);
    for (size_t i = 0; i < mine.size(); ++i) {
      Timer& t = *mine[i];
      // Disarmed or re-armed meanwhile: the next tick looks again.
      if (t.deadline == 0 || now[i] < t.deadline) continue;
      Expire(t, now[i]);
      if (t.deadline == 0) std::erase(cpu_timers_, mine[i]);
      fired.push_back(mine[i]);
    }
  }
  for (const auto& t : fired) Fire(*t);
}

void TimerService::Serve() {
  for (;;) {
    std::vector<std::shared_ptr<Timer>> fired, poke;
    {
      absl::MutexLock lock(&mu_);
      for (;;) {
        if (stopping_) return;
        const int64_t now = Now();
        if (!queue_.empty() && queue_.begin()->first <= now) break;
        if (!cpu_timers_.empty() && next_tick_ <= now) break;
        int64_t wait = queue_.empty() ? 1000000000LL : queue_.begin()->first - now;
        if (!cpu_timers_.empty()) wait = std::min(wait, next_tick_ - now);
        changed_ = false;
        mu_.AwaitWithTimeout(
            absl::Condition(
                +[](TimerService* s) ABSL_NO_THREAD_SAFETY_ANALYSIS { return s->stopping_ || s->changed_; },
                this),
            absl::Nanoseconds(wait));
      }
      const int64_t now = Now();
      while (!queue_.empty() && queue_.begin()->first <= now) {
        auto t = queue_.begin()->second;
        queue_.erase(queue_.begin());
        Expire(*t, now);
        if (t->deadline) queue_.emplace(t->deadline, t);
        fired.push_back(std::move(t));
      }
      if (!cpu_timers_.empty() && next_tick_ <= now) {
        // Ticks that came late are not made up: a tick is a chance to look.
        next_tick_ = std::max(next_tick_ + kCpuTick, now + kCpuTick / 2);
        poke = cpu_timers_;
      }
    }
    for (auto& t : fired) Fire(*t);
    for (auto& t : poke) {
      if (Poke(*t)) continue;
      // Its process or thread is gone: the timer can never fire again.
      absl::MutexLock lock(&mu_);
      DisarmCpuLocked(t);
    }
  }
}

}  // namespace husk::kernel
