#include "sentry/kernel/timerfd.h"

#include <poll.h>

#include <limits>

#include "sentry/kernel/timers.h"
#include "vfs/anon_inode.h"

namespace husk::kernel {
namespace {

constexpr int64_t kForever = std::numeric_limits<int64_t>::max();  // KTIME_MAX

int64_t SaturatingAdd(int64_t a, int64_t b) {
  int64_t r;
  return __builtin_add_overflow(a, b, &r) ? (b > 0 ? kForever : std::numeric_limits<int64_t>::min()) : r;
}

// The clock's value in ns; an _ALARM clock reads as the clock it wakes on.
int64_t ReadClock(clockid_t clock) {
  if (clock == CLOCK_REALTIME_ALARM) clock = CLOCK_REALTIME;
  if (clock == CLOCK_BOOTTIME_ALARM) clock = CLOCK_BOOTTIME;
  timespec ts;
  clock_gettime(clock, &ts);
  return ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

}  // namespace

TimerFd::TimerFd(TimerService& service, clockid_t clock, int flags)
    : FileDescription(vfs::Path{}, O_RDWR | (flags & O_NONBLOCK)),
      service_(service),
      clock_(clock),
      queue_(std::make_shared<vfs::WaitQueue>()),
      wake_(std::make_shared<Timer>()) {
  // The wake-up only tells waiters to look at the clock again. It holds
  // the queue weakly: a closed timerfd's last wake-up finds nothing.
  wake_->on_expiry = [queue = std::weak_ptr<vfs::WaitQueue>(queue_)] {
    if (auto q = queue.lock()) q->NotifyAll();
  };
}

void TimerFd::AdvanceLocked(int64_t now) {
  if (!armed_ || now < deadline_) return;
  if (interval_ == 0) {
    ++ticks_;
    armed_ = false;
    return;
  }
  // hrtimer_forward: every period that has begun since the deadline counts.
  const uint64_t periods = static_cast<uint64_t>(now - deadline_) / static_cast<uint64_t>(interval_) + 1;
  ticks_ += periods;
  deadline_ = SaturatingAdd(deadline_, static_cast<int64_t>(
                                           std::min<uint64_t>(periods * static_cast<uint64_t>(interval_),
                                                              static_cast<uint64_t>(kForever))));
  if (deadline_ <= now) armed_ = false;  // saturated: it will never expire again
}

void TimerFd::ArmWakeLocked() {
  if (armed_ && ticks_ == 0 && deadline_ != kForever) {
    // The service's deadline is its clock read after ours, plus what is
    // left: never before ours, so a woken waiter finds the expiry.
    service_.Set(wake_, std::max<int64_t>(1, deadline_ - TimerService::Now()), 0);
  } else {
    service_.Set(wake_, 0, 0);
  }
}

std::pair<int64_t, int64_t> TimerFd::Set(int64_t value, int64_t interval, bool absolute) {
  std::pair<int64_t, int64_t> old;
  {
    absl::MutexLock lock(&mu_);
    const int64_t now = TimerService::Now();
    AdvanceLocked(now);
    old = {armed_ ? deadline_ - now : 0, interval_};
    // timerfd_setup: the count restarts; the interval is kept even for a
    // disarmed timer (timerfd_gettime shows it).
    ticks_ = 0;
    interval_ = interval;
    armed_ = value != 0;
    if (armed_) {
      // PARTIAL(clocks): an absolute time becomes a CLOCK_MONOTONIC deadline
      // once; the sandbox cannot set its clocks, so they never move apart.
      deadline_ = absolute ? SaturatingAdd(now, value - ReadClock(clock_)) : SaturatingAdd(now, value);
    }
    ArmWakeLocked();
  }
  queue_->NotifyAll();
  return old;
}

std::pair<int64_t, int64_t> TimerFd::Get() {
  absl::MutexLock lock(&mu_);
  const int64_t now = TimerService::Now();
  AdvanceLocked(now);
  return {armed_ ? deadline_ - now : 0, interval_};
}

Result<size_t> TimerFd::Read(const vfs::IoVecs& dst) {
  if (vfs::TotalLength(dst) < sizeof(uint64_t)) return Errno(EINVAL);
  auto pending = [&] {
    absl::MutexLock lock(&mu_);
    AdvanceLocked(TimerService::Now());
    return ticks_ > 0;
  };
  uint64_t ticks;
  for (;;) {
    {
      absl::MutexLock lock(&mu_);
      AdvanceLocked(TimerService::Now());
      if (ticks_ > 0) {
        ticks = ticks_;
        ticks_ = 0;
        ArmWakeLocked();  // a periodic timer's next expiry
        break;
      }
    }
    if (flags() & O_NONBLOCK) return Errno(EAGAIN);
    TRY(vfs::BlockOn(*queue_, pending));
  }
  vfs::CopyToIoVecs(dst, std::span<const uint8_t>(reinterpret_cast<const uint8_t*>(&ticks), sizeof(ticks)));
  return sizeof(ticks);
}

Result<size_t> TimerFd::Write(const vfs::IoVecs&) { return Errno(EINVAL); }

Result<struct stat> TimerFd::Stat() { return vfs::AnonInodeStat(); }

// noop_llseek.
Result<uint64_t> TimerFd::Seek(int64_t, int) { return offset(); }

short TimerFd::Readiness(short events) {
  absl::MutexLock lock(&mu_);
  AdvanceLocked(TimerService::Now());
  return ticks_ > 0 ? static_cast<short>(POLLIN & events) : 0;
}

TimerFd* AsTimerFd(vfs::FileDescription& file) { return dynamic_cast<TimerFd*>(&file); }

}  // namespace husk::kernel
