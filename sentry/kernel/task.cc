#include "sentry/kernel/task.h"

#include <poll.h>
#include <sys/eventfd.h>

#include <absl/time/time.h>

#include "base/log.h"
#include "sentry/kernel/kernel.h"
#include "sentry/kernel/signal_frame.h"
#include "sentry/syscalls/syscalls.h"

namespace husk::kernel {
namespace {

int64_t RealtimeNs() {
  timespec now;
  clock_gettime(CLOCK_REALTIME, &now);
  return now.tv_sec * 1000000000LL + now.tv_nsec;
}

// Marks a task blocked in a wait for as long as it waits (its procfs
// state is S).
class SleepingScope {
 public:
  explicit SleepingScope(std::atomic<bool>& flag) : flag_(flag) { flag_.store(true); }
  ~SleepingScope() { flag_.store(false); }

 private:
  std::atomic<bool>& flag_;
};

}  // namespace

bool DefaultIgnores(int sig) {
  return sig == SIGCHLD || sig == SIGCONT || sig == SIGURG || sig == SIGWINCH;
}

bool DefaultCores(int sig) {
  switch (sig) {
    case SIGQUIT: case SIGILL: case SIGTRAP: case SIGABRT: case SIGBUS: case SIGFPE:
    case SIGSEGV: case SIGXCPU: case SIGXFSZ: case SIGSYS:
      return true;
  }
  return false;
}

bool DefaultStops(int sig) {
  return sig == SIGSTOP || sig == SIGTSTP || sig == SIGTTIN || sig == SIGTTOU;
}

void PendingSignals::Add(const siginfo_t& info, SigqueueCharge charge) {
  const int sig = info.si_signo;
  // A standard signal is pending at most once; real-time ones queue.
  if (sig < SIGRTMIN && (mask & SigBit(sig))) return;
  mask |= SigBit(sig);
  queue.push_back(Queued{info, std::move(charge)});
}

std::optional<siginfo_t> PendingSignals::Take(uint64_t blocked) {
  const uint64_t ready = mask & ~blocked;
  if (ready == 0) return std::nullopt;
  const int sig = __builtin_ctzll(ready) + 1;
  std::optional<siginfo_t> out;
  bool more = false;
  for (auto it = queue.begin(); it != queue.end();) {
    if (it->info.si_signo != sig) {
      ++it;
      continue;
    }
    if (out) {
      more = true;
      break;
    }
    out = it->info;
    it = queue.erase(it);
  }
  if (!more) mask &= ~SigBit(sig);
  if (!out) {
    siginfo_t si{};
    si.si_signo = sig;
    out = si;
  }
  return out;
}

void PendingSignals::Discard(int sig) {
  mask &= ~SigBit(sig);
  std::erase_if(queue, [sig](const Queued& q) { return q.info.si_signo == sig; });
}

std::optional<siginfo_t> DequeueSignalLocked(Task& t, uint64_t set) {
  auto info = t.pending.Take(~set);
  if (!info) info = t.thread_group().pending.Take(~set);
  return info;
}

ThreadGroup::ThreadGroup(int pid) : pid_(pid) {
  for (auto& r : rlimits_) r = {RLIM_INFINITY, RLIM_INFINITY};
  rlimits_[RLIMIT_STACK] = {8 << 20, RLIM_INFINITY};
  rlimits_[RLIMIT_NOFILE] = {1024, 1048576};
  rlimits_[RLIMIT_CORE] = {0, RLIM_INFINITY};
  rlimits_[RLIMIT_NPROC] = {63704, 63704};
  rlimits_[RLIMIT_SIGPENDING] = {63704, 63704};
  rlimits_[RLIMIT_MEMLOCK] = {8 << 20, 8 << 20};
  rlimits_[RLIMIT_MSGQUEUE] = {819200, 819200};
  rlimits_[RLIMIT_NICE] = {0, 0};
  rlimits_[RLIMIT_RTPRIO] = {0, 0};
  start_ns = RealtimeNs();
}

void ThreadGroup::ResetCaughtSignals() {
  absl::MutexLock lock(&mu_);
  for (auto& a : actions_) {
    if (a.handler != reinterpret_cast<uint64_t>(SIG_IGN)) a = SigAction{};
  }
}

void ThreadGroup::CopyFrom(ThreadGroup& parent) {
  absl::MutexLock lock(&parent.mu_);
  absl::MutexLock mine(&mu_);
  rlimits_ = parent.rlimits_;
  actions_ = parent.actions_;
  oom_score_adj.store(parent.oom_score_adj.load());
}

Task::Task(Kernel& kernel, std::shared_ptr<ThreadGroup> tg, int tid)
    : kernel_(kernel), tg_(std::move(tg)), tid_(tid), fs_(std::make_shared<FsContext>()) {
  start_ns = RealtimeNs();
}

Task::~Task() {
  if (thread_.joinable()) thread_.detach();
  if (const int fd = wake_fd_.load(); fd >= 0) close(fd);
}

int Task::ppid() { return kernel_.ParentPid(*this); }

void Task::Start(std::function<void()> before_run) {
  thread_ = std::thread([this, before_run = std::move(before_run)] { Main(before_run); });
}

void Task::Join() {
  if (thread_.joinable()) thread_.join();
}

bool Task::ShouldExit() {
  absl::MutexLock lock(&kernel_.mu());
  return exiting || tg_->exiting;
}

bool Task::HasDeliverableSignal() {
  absl::MutexLock lock(&kernel_.mu());
  if (exiting || tg_->exiting || tg_->stopped) return true;
  return ((pending.mask | tg_->pending.mask) & ~signal_mask()) != 0;
}

void Task::Wake() {
  {
    absl::MutexLock lock(&wake_mu_);
    ++wake_seq_;
    wake_cv_.SignalAll();
  }
  if (const int fd = wake_fd_.load(); fd >= 0) {
    const uint64_t one = 1;
    (void)!write(fd, &one, sizeof(one));
  }
}

void Task::Kick() {
  Wake();
  if (in_app_.load() && ctx_) ctx_->Interrupt();
}

Result<void> Task::Block(std::initializer_list<vfs::WaitQueue*> queues,
                         absl::FunctionRef<bool()> ready, std::optional<timespec> deadline,
                         std::span<const vfs::HostWatch> host) {
  return BlockOn(std::span<vfs::WaitQueue* const>(queues.begin(), queues.size()), ready, deadline,
                 host);
}

Result<void> Task::BlockOn(std::span<vfs::WaitQueue* const> queues,
                           absl::FunctionRef<bool()> ready, std::optional<timespec> deadline,
                           std::span<const vfs::HostWatch> host) {
  if (!host.empty()) return BlockOnHost(queues, ready, deadline, host);
  SleepingScope sleeping_scope(sleeping);
  for (auto* q : queues) q->Add(this);
  Result<void> result = Ok();
  for (;;) {
    uint64_t seq;
    {
      absl::MutexLock lock(&wake_mu_);
      seq = wake_seq_;
    }
    if (ready()) break;
    if (HasDeliverableSignal()) {
      result = Errno(ERESTARTSYS);
      break;
    }
    absl::MutexLock lock(&wake_mu_);
    bool timed_out = false;
    while (wake_seq_ == seq) {
      if (!deadline) {
        wake_cv_.Wait(&wake_mu_);
        continue;
      }
      timespec now;
      clock_gettime(CLOCK_MONOTONIC, &now);
      const int64_t left = (deadline->tv_sec - now.tv_sec) * 1000000000LL +
                           (deadline->tv_nsec - now.tv_nsec);
      if (left <= 0) {
        timed_out = true;
        break;
      }
      wake_cv_.WaitWithTimeout(&wake_mu_, absl::Nanoseconds(left));
    }
    if (timed_out) {
      result = Errno(ETIMEDOUT);
      break;
    }
  }
  for (auto* q : queues) q->Remove(this);
  return result;
}

Result<void> Task::BlockOnHost(std::span<vfs::WaitQueue* const> queues,
                               absl::FunctionRef<bool()> ready, std::optional<timespec> deadline,
                               std::span<const vfs::HostWatch> host) {
  SleepingScope sleeping_scope(sleeping);
  if (wake_fd_.load() < 0) {
    const int fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
    if (fd < 0) return Errno(errno == EMFILE || errno == ENFILE ? ENOMEM : errno);
    wake_fd_.store(fd);
  }
  const int wake_fd = wake_fd_.load();
  std::vector<pollfd> fds;
  fds.reserve(host.size() + 1);
  for (const auto& h : host) fds.push_back(pollfd{h.fd, h.events, 0});
  fds.push_back(pollfd{wake_fd, POLLIN, 0});
  for (auto* q : queues) q->Add(this);
  Result<void> result = Ok();
  for (;;) {
    // A Wake from here on leaves the eventfd readable, so ppoll returns.
    if (ready()) break;
    if (HasDeliverableSignal()) {
      result = Errno(ERESTARTSYS);
      break;
    }
    std::optional<timespec> left;
    if (deadline) {
      timespec now;
      clock_gettime(CLOCK_MONOTONIC, &now);
      int64_t ns = (deadline->tv_sec - now.tv_sec) * 1000000000LL + (deadline->tv_nsec - now.tv_nsec);
      if (ns <= 0) {
        result = Errno(ETIMEDOUT);
        break;
      }
      left = timespec{ns / 1000000000LL, ns % 1000000000LL};
    }
    if (ppoll(fds.data(), fds.size(), left ? &*left : nullptr, nullptr) < 0 && errno != EINTR) {
      result = Errno(errno);
      break;
    }
    uint64_t count;
    (void)!read(wake_fd, &count, sizeof(count));
  }
  for (auto* q : queues) q->Remove(this);
  return result;
}

void Task::ExitThread(int code) {
  absl::MutexLock lock(&kernel_.mu());
  exiting = true;
  if (tg_->tasks.size() == 1 && !tg_->exiting) tg_->status = ExitStatus{code & 0xff, 0, false};
}

void Task::ExitGroup(ExitStatus status) {
  absl::MutexLock lock(&kernel_.mu());
  kernel_.GroupExitLocked(*tg_, status);
}

void Task::Main(std::function<void()> before_run) {
  vfs::SetCurrentWaiter(this);
  host_tid.store(static_cast<int>(gettid()));
  bool ok = true;
  if (ctx_) {
    if (auto r = ctx_->Adopt(); !r) {
      HUSK_ERROR("task {}: cannot adopt its stub thread: {}", tid_, ErrnoName(r.error().value()));
      ok = false;
    }
  }
  if (ok && map_all_on_start_) {
    if (auto r = mm_->MapAll(); !r) {
      HUSK_ERROR("task {}: cannot map its memory: {}", tid_, ErrnoName(r.error().value()));
      ok = false;
    }
  }
  started_.Notify();
  if (ok && before_run) before_run();
  if (!ok) ExitGroup(ExitStatus{0, SIGKILL, false});
  RunLoop();
  // exit_mm's futex release: the robust futexes this thread still holds
  // are marked FUTEX_OWNER_DIED and a waiter of each is woken.
  if (mm_) kernel_.futexes().ExitRobustList(*this);
  // CLONE_CHILD_CLEARTID: zero the tid word and wake its futex, which is
  // how pthread_join learns a thread is gone.
  if (clear_child_tid_ != 0 && mm_) {
    bool others;
    {
      absl::MutexLock lock(&kernel_.mu());
      others = !tg_->exiting && tg_->tasks.size() > 1;
    }
    if (others) {
      uint32_t zero = 0;
      if (mm_->CopyOut(mm::UserPtr<uint32_t>{clear_child_tid_}, zero)) {
        kernel_.futexes().Wake(*this, clear_child_tid_, /*shared=*/false, 1, ~0u);
      }
    }
  }
  AccountThreadExit(*this, ctx_.get());  // CPU time, while the stub is there to ask
  // exit_files, exit_fs, exit_mm: a pipe's other end sees EOF before the
  // parent hears of the exit.
  ctx_.reset();  // the stub thread exits
  fds_.reset();
  fs_.reset();
  mm_.reset();
  kernel_.TaskExited(*this, 0);
}

void Task::RunLoop() {
  while (!ShouldExit()) {
    DeliverSignals(0);
    if (ShouldExit()) break;
    if (cpu_timer_due.load(std::memory_order_relaxed)) kernel_.timers().CheckCpuTimers(*this);
    in_app_.store(true);
    if (HasDeliverableSignal()) {
      in_app_.store(false);
      continue;
    }
    platform::Event ev = ctx_->Switch(regs_);
    in_app_.store(false);
    switch (ev.kind) {
      case platform::Event::Kind::kSyscall: {
        syscalls::Dispatch(*this);
        const int64_t ret = static_cast<int64_t>(regs_.gp.rax);
        if (ret <= -ERESTARTSYS && ret >= -ERESTART_RESTARTBLOCK) DeliverSignals(static_cast<int>(-ret));
        break;
      }
      case platform::Event::Kind::kFault:
        HandleFault(ev.info);
        break;
      case platform::Event::Kind::kInterrupt:
        break;
      case platform::Event::Kind::kDied:
        ExitGroup(ExitStatus{0, SIGKILL, false});
        break;
    }
  }
}

void Task::HandleFault(const siginfo_t& host) {
  const uint64_t addr = reinterpret_cast<uint64_t>(host.si_addr);
  if (host.si_signo == SIGSEGV && mm_->HandleFault(addr)) return;
  siginfo_t info{};
  info.si_signo = host.si_signo;
  info.si_code = host.si_code;
  if (host.si_signo == SIGTRAP) {
    info.si_code = SI_KERNEL;  // int3
  } else {
    info.si_addr = host.si_addr;
  }
  // The stub maps nothing where no access is allowed (a PROT_NONE
  // reservation), so the host says "not mapped" where Linux says "not
  // allowed".
  if (info.si_signo == SIGSEGV && info.si_code == SEGV_MAPERR && mm_->Mapped(addr)) {
    info.si_code = SEGV_ACCERR;
    // A file mapping's page past the end of its file: SIGBUS.
    if (mm_->PastFileEnd(addr)) {
      info.si_signo = SIGBUS;
      info.si_code = BUS_ADRERR;
    }
  }
  // force_sig: a blocked or ignored fault signal kills the process.
  const SigAction act = tg_->GetSigAction(info.si_signo);
  const bool blocked = (signal_mask() & SigBit(info.si_signo)) != 0;
  if (blocked || act.handler == reinterpret_cast<uint64_t>(SIG_IGN)) {
    HUSK_INFO("fatal signal {} at {:#x} (rip {:#x})", info.si_signo, addr, regs_.gp.rip);
    ExitGroup(ExitStatus{0, info.si_signo, DefaultCores(info.si_signo)});
    return;
  }
  {
    absl::MutexLock lock(&kernel_.mu());
    pending.Add(info);
  }
}

void Task::DeliverSignals(int restart_errno) {
  for (;;) {
    std::optional<siginfo_t> info;
    SigAction act;
    {
      absl::MutexLock lock(&kernel_.mu());
      // A stopped process's threads wait here (do_signal_stop), each with
      // its interrupted syscall ready to restart.
      kernel_.WaitWhileStoppedLocked(*this);
      if (exiting || tg_->exiting) return;
      info = pending.Take(signal_mask());
      if (!info) info = tg_->pending.Take(signal_mask());
      if (!info) break;
      const int sig = info->si_signo;
      act = tg_->GetSigAction(sig);
      if (act.handler == reinterpret_cast<uint64_t>(SIG_IGN)) continue;
      if (act.handler == reinterpret_cast<uint64_t>(SIG_DFL)) {
        if (DefaultIgnores(sig)) continue;
        if (DefaultStops(sig)) {
          // The terminal stop signals do nothing to an orphaned group.
          if (sig == SIGSTOP || !kernel_.PgrpOrphanedLocked(tg_->pgid)) {
            kernel_.GroupStopLocked(*tg_, sig);
          }
          continue;
        }
        kernel_.GroupExitLocked(*tg_, ExitStatus{0, sig, DefaultCores(sig)});
        return;
      }
      if (act.flags & SA_RESETHAND) tg_->SetSigAction(sig, SigAction{});
    }
    // A handler runs: decide about the interrupted syscall.
    restart_block_ = nullptr;
    if (restart_errno != 0) {
      bool restart = restart_errno == ERESTARTNOINTR ||
                     (restart_errno == ERESTARTSYS && (act.flags & SA_RESTART));
      if (restart) {
        regs_.gp.rax = regs_.gp.orig_rax;
        regs_.gp.rip -= 2;
      } else {
        regs_.gp.rax = static_cast<uint64_t>(-EINTR);
      }
      restart_errno = 0;
    }
    const uint64_t frame_mask = saved_mask_.value_or(signal_mask());
    saved_mask_.reset();
    if (auto r = SetupSignalFrame(*this, *info, act, frame_mask); !r) {
      HUSK_INFO("task {}: cannot write the frame for signal {}: killed by SIGSEGV", tid_, info->si_signo);
      ExitGroup(ExitStatus{0, SIGSEGV, true});
      return;
    }
    uint64_t mask = frame_mask | act.mask;
    if (!(act.flags & SA_NODEFER)) mask |= SigBit(info->si_signo);
    set_signal_mask(mask);
    return;  // one frame at a time, as Linux
  }
  // No handler ran: an interrupted syscall restarts by itself.
  if (restart_errno != 0) {
    if (restart_errno == ERESTART_RESTARTBLOCK) {
      regs_.gp.rax = SYS_restart_syscall;
    } else {
      regs_.gp.rax = regs_.gp.orig_rax;
    }
    regs_.gp.rip -= 2;
  }
  if (saved_mask_) {
    set_signal_mask(*saved_mask_);
    saved_mask_.reset();
  }
}

}  // namespace husk::kernel
