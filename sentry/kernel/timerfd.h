// timerfd_create(2) (fs/timerfd.c): a timer that counts its expirations in
// a file instead of sending a signal; read(2) takes the count.
//
// The count is worked out from the clock whenever it is looked at (read,
// poll, timerfd_gettime), so it is exact however late the service thread
// runs; the TimerService only wakes waiters at the next expiry, and, as in
// Linux, a periodic timer is not re-armed until its count has been read.
#pragma once

#include <time.h>

#include <memory>
#include <utility>

#include <absl/synchronization/mutex.h>

#include "vfs/file.h"
#include "vfs/wait.h"

namespace husk::kernel {

class TimerService;
struct Timer;

// timerfd_settime(2)'s flags.
inline constexpr int kTfdTimerAbstime = 1;        // TFD_TIMER_ABSTIME
inline constexpr int kTfdTimerCancelOnSet = 2;    // TFD_TIMER_CANCEL_ON_SET

class TimerFd final : public vfs::FileDescription {
 public:
  // `clock`: CLOCK_REALTIME, CLOCK_MONOTONIC, CLOCK_BOOTTIME or an _ALARM
  // one (validated by the caller); `flags`: O_NONBLOCK.
  TimerFd(TimerService& service, clockid_t clock, int flags);

  clockid_t clock() const { return clock_; }
  bool IsAlarm() const { return clock_ == CLOCK_REALTIME_ALARM || clock_ == CLOCK_BOOTTIME_ALARM; }

  // timerfd_settime(2): arms the timer to expire after `value` ns, or with
  // `absolute` when the clock reads `value`, then every `interval` ns; a
  // `value` of 0 disarms it. The count starts again from 0. Returns the
  // old setting as Get would have: ns to the next expiry and the interval.
  std::pair<int64_t, int64_t> Set(int64_t value, int64_t interval, bool absolute);
  // timerfd_gettime(2): ns to the next expiry (0: disarmed) and the interval.
  std::pair<int64_t, int64_t> Get();

  // vfs::FileDescription. read(2) gives the expirations since the last
  // read as a u64, waiting for one; write(2) is EINVAL.
  Result<size_t> Read(const vfs::IoVecs& dst) override;
  Result<size_t> Write(const vfs::IoVecs& src) override;
  Result<struct stat> Stat() override;
  std::string AnonName() const override { return "anon_inode:[timerfd]"; }
  Result<uint64_t> Seek(int64_t offset, int whence) override;
  short Readiness(short events) override;
  vfs::WaitQueue* ReadinessQueue() override { return queue_.get(); }
  bool Mappable() const override { return false; }

 private:
  // Counts the expirations up to CLOCK_MONOTONIC `now` into ticks_ and
  // moves the deadline past it (or disarms a one-shot timer).
  void AdvanceLocked(int64_t now) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // Arms the service's wake-up for the next expiry while none is counted,
  // or cancels it.
  void ArmWakeLocked() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);

  TimerService& service_;
  const clockid_t clock_;
  // Notified at each expiry and when the setting or the count changes.
  // Shared with the wake-up's callback, which may outlive the file.
  const std::shared_ptr<vfs::WaitQueue> queue_;
  const std::shared_ptr<Timer> wake_;
  absl::Mutex mu_;  // before the TimerService's lock
  bool armed_ ABSL_GUARDED_BY(mu_) = false;
  int64_t deadline_ ABSL_GUARDED_BY(mu_) = 0;  // CLOCK_MONOTONIC ns of the next expiry
  int64_t interval_ ABSL_GUARDED_BY(mu_) = 0;  // ns; 0: one-shot
  uint64_t ticks_ ABSL_GUARDED_BY(mu_) = 0;    // expirations not yet read
};

// The timerfd `file` is, or null.
TimerFd* AsTimerFd(vfs::FileDescription& file);

}  // namespace husk::kernel
