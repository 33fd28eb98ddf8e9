#include "sentry/kernel/signalfd.h"

#include <poll.h>

#include <algorithm>
#include <cstring>
#include <vector>

#include "sentry/kernel/kernel.h"
#include "vfs/anon_inode.h"
#include "vfs/wait.h"

namespace husk::kernel {
namespace {

// The task on whose thread the file is used: Linux's `current`.
Task* Caller() { return dynamic_cast<Task*>(vfs::CurrentWaiter()); }

// Whether a signal of `set` is pending for `t` (its own or its process's).
bool PendingIn(Task& t, uint64_t set) {
  absl::MutexLock lock(&t.kernel().mu());
  return ((t.pending.mask | t.thread_group().pending.mask) & set) != 0;
}

// Each signal's last kernel si_code (asm-generic/siginfo.h, Linux 6.x:
// SEGV_CPERR is 10, SYS_USER_DISPATCH 2).
constexpr int kLastIll = 11, kLastFpe = 15, kLastSegv = 10, kLastBus = 5, kLastTrap = 6,
              kLastChld = 6, kLastPoll = 6, kLastSys = 2;

// siginfo_layout's classes of siginfo_t (include/linux/signal.h).
enum class Layout { kKill, kTimer, kPoll, kFault, kChld, kRt, kSys };

// siginfo_layout: kernel codes (0 < code < SI_KERNEL) mean what the
// signal's own codes say, up to that signal's last code (sig_sicodes);
// the others are the sender's.
Layout LayoutOf(int sig, int code) {
  if (code > SI_USER && code < SI_KERNEL) {
    switch (sig) {
      case SIGILL: if (code <= kLastIll) return Layout::kFault; break;
      case SIGFPE: if (code <= kLastFpe) return Layout::kFault; break;
      case SIGSEGV: if (code <= kLastSegv) return Layout::kFault; break;
      case SIGBUS: if (code <= kLastBus) return Layout::kFault; break;
      case SIGTRAP: if (code <= kLastTrap) return Layout::kFault; break;
      case SIGCHLD: if (code <= kLastChld) return Layout::kChld; break;
      case SIGPOLL: if (code <= kLastPoll) return Layout::kPoll; break;
      case SIGSYS: if (code <= kLastSys) return Layout::kSys; break;
    }
    return code <= kLastPoll ? Layout::kPoll : Layout::kKill;
  }
  if (code == SI_TIMER) return Layout::kTimer;
  if (code == SI_SIGIO) return Layout::kPoll;
  if (code < 0) return Layout::kRt;
  return Layout::kKill;
}

}  // namespace

signalfd_siginfo SignalfdRecord(const siginfo_t& info) {
  signalfd_siginfo r{};
  r.ssi_signo = static_cast<uint32_t>(info.si_signo);
  r.ssi_errno = info.si_errno;
  r.ssi_code = info.si_code;
  switch (LayoutOf(info.si_signo, info.si_code)) {
    case Layout::kKill:
      r.ssi_pid = static_cast<uint32_t>(info.si_pid);
      r.ssi_uid = info.si_uid;
      break;
    case Layout::kTimer:
      r.ssi_tid = static_cast<uint32_t>(info.si_timerid);
      r.ssi_overrun = static_cast<uint32_t>(info.si_overrun);
      r.ssi_ptr = reinterpret_cast<uint64_t>(info.si_ptr);
      r.ssi_int = info.si_int;
      break;
    case Layout::kPoll:
      r.ssi_band = static_cast<uint32_t>(info.si_band);
      r.ssi_fd = info.si_fd;
      break;
    case Layout::kFault:
      r.ssi_addr = reinterpret_cast<uint64_t>(info.si_addr);
      if (info.si_signo == SIGBUS && (info.si_code == BUS_MCEERR_AR || info.si_code == BUS_MCEERR_AO)) {
        r.ssi_addr_lsb = static_cast<uint16_t>(info.si_addr_lsb);
      }
      break;
    case Layout::kChld:
      r.ssi_pid = static_cast<uint32_t>(info.si_pid);
      r.ssi_uid = info.si_uid;
      r.ssi_status = info.si_status;
      r.ssi_utime = static_cast<uint64_t>(info.si_utime);
      r.ssi_stime = static_cast<uint64_t>(info.si_stime);
      break;
    case Layout::kRt:
      r.ssi_pid = static_cast<uint32_t>(info.si_pid);
      r.ssi_uid = info.si_uid;
      r.ssi_ptr = reinterpret_cast<uint64_t>(info.si_ptr);
      r.ssi_int = info.si_int;
      break;
    case Layout::kSys:
      r.ssi_call_addr = reinterpret_cast<uint64_t>(info.si_call_addr);
      r.ssi_syscall = info.si_syscall;
      r.ssi_arch = info.si_arch;
      break;
  }
  return r;
}

SignalFd::SignalFd(Kernel& kernel, uint64_t mask, int flags)
    : FileDescription(vfs::Path{}, O_RDWR | (flags & O_NONBLOCK)),
      kernel_(kernel),
      mask_(mask & ~kUnblockable) {}

SignalFd::~SignalFd() {
  // After Remove no notification of that queue is still running Wake.
  absl::MutexLock lock(&mu_);
  for (auto& tg : watched_) tg->signalfd_events.Remove(this);
}

void SignalFd::SetMask(uint64_t mask) {
  mask_.store(mask & ~kUnblockable);
  // Readiness may have changed for everyone polling it, and a reader
  // blocked in this process may now have something to take.
  queue_.NotifyAll();
  if (Task* t = Caller()) t->thread_group().signalfd_events.NotifyAll();
}

Result<size_t> SignalFd::Read(const vfs::IoVecs& dst) {
  const size_t room = vfs::TotalLength(dst) / sizeof(signalfd_siginfo);
  if (room == 0) return Errno(EINVAL);
  Task* t = Caller();
  if (t == nullptr) return Errno(EAGAIN);
  std::vector<signalfd_siginfo> records;
  // signalfd_dequeue: the first record may be waited for, the rest not.
  for (;;) {
    const uint64_t set = mask();
    std::optional<siginfo_t> info;
    {
      absl::MutexLock lock(&kernel_.mu());
      info = DequeueSignalLocked(*t, set);
    }
    if (info) {
      records.push_back(SignalfdRecord(*info));
      if (records.size() == room) break;
      continue;
    }
    if (!records.empty()) break;
    if (flags() & O_NONBLOCK) return Errno(EAGAIN);
    TRY(t->Block({&t->thread_group().signalfd_events}, [&] { return PendingIn(*t, mask()); }));
  }
  const size_t bytes = records.size() * sizeof(signalfd_siginfo);
  vfs::CopyToIoVecs(dst, std::span<const uint8_t>(reinterpret_cast<const uint8_t*>(records.data()), bytes));
  return bytes;
}

Result<size_t> SignalFd::Write(const vfs::IoVecs&) { return Errno(EINVAL); }

Result<struct stat> SignalFd::Stat() { return vfs::AnonInodeStat(); }

// noop_llseek.
Result<uint64_t> SignalFd::Seek(int64_t, int) { return offset(); }

short SignalFd::Readiness(short events) {
  Task* t = Caller();
  if (t == nullptr || !PendingIn(*t, mask())) return 0;
  return static_cast<short>(POLLIN & events);
}

vfs::WaitQueue* SignalFd::ReadinessQueue() {
  if (Task* t = Caller()) {
    const std::shared_ptr<ThreadGroup>& tg = t->shared_thread_group();
    absl::MutexLock lock(&mu_);
    if (std::find(watched_.begin(), watched_.end(), tg) == watched_.end()) {
      watched_.push_back(tg);
      tg->signalfd_events.Add(this);
    }
  }
  return &queue_;
}

SignalFd* AsSignalFd(vfs::FileDescription& file) { return dynamic_cast<SignalFd*>(&file); }

}  // namespace husk::kernel
