#include "sentry/kernel/kernel.h"

#include <sched.h>
#include <sys/wait.h>
#include <unistd.h>

#include "base/log.h"
#include "sentry/kernel/pidfd.h"
#include "sentry/kernel/tty/tty.h"
#include "vfs/tmpfs/tmpfs.h"

namespace husk::kernel {

// The highest pid handed out before wrapping (pid_max's default).
constexpr int kPidMax = 4194304;

Kernel::Kernel(KernelOptions opts, std::unique_ptr<platform::Platform> platform,
               std::unique_ptr<mm::MemoryFile> memory)
    : opts_(opts), platform_(std::move(platform)), memory_(std::move(memory)),
      hostname_("husk") {
  clock_gettime(CLOCK_REALTIME, &boot_time_);
  shm_mount_ = vfs::NewTmpfsMount(01777, vfs::Credentials{}, "tmpfs", memory_.get());
}

Kernel::~Kernel() {
  std::vector<std::shared_ptr<Task>> finished;
  {
    absl::MutexLock lock(&mu_);
    finished.swap(finished_);
  }
  for (auto& t : finished) t->Join();
}

Result<void> Kernel::PrepareAddressSpace() {
  prepared_ = TRY(platform_->NewAddressSpace());
  return Ok();
}

Result<void> Kernel::AdoptPrepared(Task& t) {
  if (!prepared_) return Errno(EINVAL);
  auto ctx = prepared_->TakeFirstThread();
  TRY(ctx->Adopt());
  t.SetContext(std::move(ctx));
  return Ok();
}

int Kernel::AllocPidLocked() {
  for (int i = 0; i < kPidMax; ++i) {
    last_pid_ = last_pid_ >= kPidMax ? 1 : last_pid_ + 1;
    if (!tasks_.contains(last_pid_) && !groups_.contains(last_pid_)) return last_pid_;
  }
  return -1;
}

std::shared_ptr<Task> Kernel::NewInitTask(std::shared_ptr<vfs::FdTable> fds, vfs::Credentials creds) {
  absl::MutexLock lock(&mu_);
  const int pid = AllocPidLocked();
  auto tg = std::make_shared<ThreadGroup>(pid);
  tg->pgid = pid;
  tg->sid = pid;
  auto t = std::make_shared<Task>(*this, tg, pid);
  t->set_fds(std::move(fds));
  t->creds() = std::move(creds);
  t->fs().root = vfs_.Root();
  t->fs().cwd = vfs_.Root();
  tg->tasks.push_back(t.get());
  tasks_[pid] = t;
  groups_[pid] = tg;
  init_ = tg;
  return t;
}

void Kernel::Start(std::shared_ptr<Task> t, std::function<void()> before_run) {
  {
    absl::MutexLock lock(&mu_);
    ++running_;
  }
  t->Start(std::move(before_run));
}

ExitStatus Kernel::WaitForEnd() {
  absl::MutexLock lock(&mu_);
  mu_.Await(absl::Condition(+[](Kernel* k) ABSL_NO_THREAD_SAFETY_ANALYSIS {
    return k->init_done_;
  }, this));
  // Every other task has been killed; give them a moment to leave. One
  // stuck in a host read (a terminal) cannot be interrupted: AllGone says so.
  mu_.AwaitWithTimeout(absl::Condition(+[](Kernel* k) ABSL_NO_THREAD_SAFETY_ANALYSIS {
    return k->running_ == 0;
  }, this), absl::Seconds(2));
  return init_status_;
}

bool Kernel::AllGone() {
  absl::MutexLock lock(&mu_);
  return running_ == 0;
}

Result<int> Kernel::Clone(Task& parent, const CloneArgs& a) {
  const uint64_t f = a.flags;
  // Flag combinations clone(2) refuses.
  if ((f & CLONE_SIGHAND) && !(f & CLONE_VM)) return Errno(EINVAL);
  if ((f & CLONE_THREAD) && !(f & CLONE_SIGHAND)) return Errno(EINVAL);
  if ((f & CLONE_FS) && (f & CLONE_NEWNS)) return Errno(EINVAL);
  constexpr uint64_t kNamespaces = CLONE_NEWNS | CLONE_NEWUTS | CLONE_NEWIPC | CLONE_NEWUSER |
                                   CLONE_NEWPID | CLONE_NEWNET | CLONE_NEWCGROUP;
  // PARTIAL(namespaces): new namespaces inside the sandbox are refused as
  // for a process without CAP_SYS_ADMIN.
  if (f & kNamespaces) return Errno(EPERM);
  const bool thread = (f & CLONE_THREAD) != 0;

  // The address space: shared, or a copy in a forked stub.
  std::shared_ptr<mm::MemoryManager> mm;
  std::unique_ptr<platform::Context> ctx;
  bool map_all = false;
  if (f & CLONE_VM) {
    mm = parent.shared_mm();
    ctx = TRY(mm->address_space().NewThread());
  } else {
    std::shared_ptr<platform::AddressSpace> as = TRY(parent.mm().address_space().Fork());
    ctx = as->TakeFirstThread();
    mm = std::shared_ptr<mm::MemoryManager>(TRY(parent.mm().Fork(as)));
    map_all = true;
  }

  std::shared_ptr<Task> child;
  {
    absl::MutexLock lock(&mu_);
    if (parent.exiting || parent.thread_group().exiting) return Errno(EINTR);
    const int tid = AllocPidLocked();
    if (tid < 0) return Errno(EAGAIN);
    std::shared_ptr<ThreadGroup> tg;
    if (thread) {
      tg = parent.shared_thread_group();
    } else {
      tg = std::make_shared<ThreadGroup>(tid);
      tg->CopyFrom(parent.thread_group());
      ThreadGroup* p = (f & CLONE_PARENT) ? parent.thread_group().parent : &parent.thread_group();
      if (p == nullptr) return Errno(EINVAL);  // CLONE_PARENT from init
      tg->parent = p;
      tg->pgid = parent.thread_group().pgid;
      tg->sid = parent.thread_group().sid;
      tg->ctty = parent.thread_group().ctty;
      tg->exit_signal = a.exit_signal;
      groups_[tid] = tg;
      p->children.push_back(tg);
    }
    child = std::make_shared<Task>(*this, tg, tid);
    // Before the task is visible: kill(2)'s permission check reads them.
    child->creds() = parent.creds();
    child->sched = parent.sched.ForChild();
    tg->tasks.push_back(child.get());
    tasks_[tid] = child;
    if (a.pidfd) a.pidfd->BindLocked(tg, child);
  }
  child->SetMemoryManager(mm);
  child->SetContext(std::move(ctx));
  if ((f & CLONE_VM) && !thread) AccountSharedStubBirth(parent, *child);
  if (map_all) child->set_map_all_on_start();
  child->set_fds((f & CLONE_FILES) ? parent.shared_fds() : parent.fds().Clone());
  child->set_fs((f & CLONE_FS) ? parent.shared_fs() : std::make_shared<FsContext>(parent.fs()));
  InheritTaskState(parent, *child, f);
  child->set_signal_mask(parent.signal_mask());
  child->set_exe(parent.exe());
  if (!(f & CLONE_VM) || (f & CLONE_VFORK)) {
    // The alternate stack is inherited except by threads (and vfork children keep it too).
    child->altstack() = parent.altstack();
  }

  // Registers: the parent's at the syscall, returning 0 in the child.
  platform::Regs& r = child->regs();
  r = parent.regs();
  (void)parent.context().GetFp(r.fp);
  r.gp.rax = 0;
  if (a.stack != 0) r.gp.rsp = a.stack;
  if (f & CLONE_SETTLS) {
    r.gp.fs_base = a.tls;
    r.gp.fs = 0;
  }
  const int tid = child->tid();
  if (f & CLONE_PARENT_SETTID) (void)parent.mm().CopyOut(mm::UserPtr<int32_t>{a.parent_tid}, tid);
  if (f & CLONE_CHILD_SETTID) (void)mm->CopyOut(mm::UserPtr<int32_t>{a.child_tid}, tid);
  if (f & CLONE_CHILD_CLEARTID) child->set_clear_child_tid(a.child_tid);

  Start(child);
  // As in Linux, fork returns once the child exists whole: with its
  // memory mapped, it runs as soon as it is scheduled, and a signal the
  // parent sends it next finds it running the image it was forked with.
  if (!(f & CLONE_VM)) child->WaitStarted();
  if (f & CLONE_VFORK) {
    // The parent sleeps until the child execs or exits (not interruptibly
    // in Linux either, short of a fatal signal).
    (void)parent.Block({&child->vfork_wait}, [&] {
      absl::MutexLock lock(&mu_);
      return child->vfork_done;
    });
  }
  return tid;
}

Result<void> Kernel::DeThread(Task& t) {
  absl::MutexLock lock(&mu_);
  ThreadGroup& tg = t.thread_group();
  if (tg.exiting || t.exiting) return Errno(EINTR);
  if (tg.tasks.size() > 1) {
    // Like a SIGKILL to each of them, but the process lives on.
    for (Task* other : tg.tasks) {
      if (other == &t) continue;
      other->exiting = true;
      other->Kick();
    }
    auto alone = [&]() ABSL_NO_THREAD_SAFETY_ANALYSIS {
      return tg.tasks.size() == 1 || tg.exiting || t.exiting;
    };
    mu_.Await(absl::Condition(&alone));
    if (tg.exiting || t.exiting) return Errno(EINTR);
  }
  // POSIX timers do not survive exec (ITIMER_REAL does).
  for (auto& [id, tm] : tg.timers) timers_.Set(tm, 0, 0);
  tg.timers.clear();
  if (t.tid() != tg.pid()) {
    // The leader's thread is gone; this one becomes it, with its tid.
    auto it = tasks_.find(t.tid());
    std::shared_ptr<Task> self = it->second;
    tasks_.erase(it);
    t.tid_.store(tg.pid());
    tasks_[tg.pid()] = std::move(self);
  }
  return Ok();
}

void Kernel::GroupExitLocked(ThreadGroup& tg, ExitStatus status) {
  if (tg.exiting) return;
  tg.exiting = true;
  tg.status = status;
  for (Task* t : tg.tasks) t->Kick();
}

void Kernel::TaskExited(Task& t, int) {
  std::shared_ptr<Task> self;
  {
    absl::MutexLock lock(&mu_);
    ThreadGroup& tg = t.thread_group();
    std::erase(tg.tasks, &t);
    // A thread pidfd's thread is gone; the last thread leaves its
    // credentials for kill(2)'s check on the zombie.
    if (tg.tasks.empty()) {
      tg.exit_creds = t.creds();
      tg.exit_comm = t.name;
    }
    tg.pidfd_events.NotifyAll();
    AccountTaskExitedLocked(tg, t);
    ParentThreadExitedLocked(t);
    auto it = tasks_.find(t.tid());
    if (it != tasks_.end() && it->second.get() == &t) {
      self = it->second;
      tasks_.erase(it);
    }
    if (!t.vfork_done) {
      t.vfork_done = true;
      t.vfork_wait.NotifyAll();
    }
    if (tg.tasks.empty()) {
      tg.zombie = true;
      if (tg.sid == tg.pid()) tty::SessionLeaderExitedLocked(*this, tg);
      tg.ctty.reset();
      // Its timers stop with it.
      if (tg.itimer_real) timers_.Set(tg.itimer_real, 0, 0);
      for (auto& [id, tm] : tg.timers) timers_.Set(tm, 0, 0);
      // Orphans go to init (or the nearest subreaper).
      ThreadGroup* reaper = init_.get();
      for (ThreadGroup* p = tg.parent; p != nullptr; p = p->parent) {
        if (p->subreaper && !p->zombie) {
          reaper = p;
          break;
        }
      }
      if (&tg != init_.get()) {
        // Process groups this exit leaves orphaned: ours, if we linked it
        // to the session, and our children's (after they move).
        ThreadGroup* parent = tg.parent;
        if (parent && parent->pgid != tg.pgid && parent->sid == tg.sid) HangUpOrphanedLocked(tg.pgid);
        std::vector<int> linked;
        for (auto& c : tg.children) {
          if (c->pgid != tg.pgid && c->sid == tg.sid) linked.push_back(c->pgid);
          c->parent = reaper;
          reaper->children.push_back(c);
          if (c->zombie) {
            ++reaper->child_changes;
            reaper->child_events.NotifyAll();
          }
        }
        tg.children.clear();
        for (int pgid : linked) HangUpOrphanedLocked(pgid);
      }
      if (&tg == init_.get()) {
        // PID 1 is gone: so is everything else in the sandbox.
        init_done_ = true;
        init_status_ = tg.status;
        for (auto& [pid, g] : groups_) {
          if (g.get() != &tg && !g->zombie) GroupExitLocked(*g, ExitStatus{0, SIGKILL, false});
        }
      } else {
        NotifyParentLocked(tg);
      }
    }
    --running_;
    if (self) finished_.push_back(self);
  }
  // The Task object lives on in finished_ until the kernel goes: its thread
  // is still running this function.
}

void Kernel::NotifyParentLocked(ThreadGroup& tg) {
  ThreadGroup* p = tg.parent;
  if (p == nullptr) return;
  const SigAction act = p->GetSigAction(SIGCHLD);
  const bool ignored = act.handler == reinterpret_cast<uint64_t>(SIG_IGN) || (act.flags & SA_NOCLDWAIT);
  if (tg.exit_signal > 0 && !(ignored && tg.exit_signal == SIGCHLD)) {
    siginfo_t si{};
    si.si_signo = tg.exit_signal;
    si.si_code = tg.status.signal ? (tg.status.core ? CLD_DUMPED : CLD_KILLED) : CLD_EXITED;
    si.si_pid = tg.pid();
    si.si_uid = GroupCredentials(tg).uid;
    si.si_status = tg.status.signal ? tg.status.signal : tg.status.code;
    SendToGroupLocked(*p, si);
  }
  if (ignored && tg.exit_signal == SIGCHLD) {
    // Nobody will wait: the child is reaped at once (SA_NOCLDWAIT).
    ReapLocked(tg);
  }
  ++p->child_changes;
  p->child_events.NotifyAll();
}

void Kernel::ReapLocked(ThreadGroup& tg) {
  std::shared_ptr<ThreadGroup> keep;
  if (ThreadGroup* p = tg.parent) {
    for (auto it = p->children.begin(); it != p->children.end(); ++it) {
      if (it->get() == &tg) {
        keep = *it;
        p->children.erase(it);
        break;
      }
    }
  }
  groups_.erase(tg.pid());
  tg.reaped = true;
  tg.pidfd_events.NotifyAll();
}

Result<WaitResult> Kernel::Wait(Task& t, const WaitRequest& req) {
  ThreadGroup& me = t.thread_group();
  for (;;) {
    bool any = false;
    uint64_t seen = 0;
    {
      absl::MutexLock lock(&mu_);
      seen = me.child_changes;
      for (auto& c : me.children) {
        switch (req.which) {
          case WaitRequest::Which::kAny: break;
          case WaitRequest::Which::kPid:
            if (c->pid() != req.id) continue;
            break;
          case WaitRequest::Which::kPgid:
            if (c->pgid != req.id) continue;
            break;
          case WaitRequest::Which::kGroup:
            if (c.get() != req.group) continue;
            break;
        }
        // __WCLONE: only children that report with another signal than
        // SIGCHLD; __WALL: both.
        const bool clone_child = c->exit_signal != SIGCHLD;
        if (!(req.options & __WALL) && clone_child != ((req.options & __WCLONE) != 0)) continue;
        any = true;
        WaitResult r;
        r.pid = c->pid();
        r.uid = static_cast<int>(GroupCredentials(*c).uid);
        const bool consume = !(req.options & WNOWAIT);
        if (c->zombie) {
          if (!(req.options & WEXITED)) continue;
          r.status = c->status;
          r.usage = ReapUsageLocked(*c);
          if (consume) {
            std::shared_ptr<ThreadGroup> keep = c;
            AccountReapLocked(me, *c);
            ReapLocked(*c);
          }
          return r;
        }
        if ((req.options & WSTOPPED) && c->stopped && c->report_stop) {
          r.kind = WaitResult::Kind::kStopped;
          r.stop_signal = c->stop_signal;
          if (consume) c->report_stop = false;
          return r;
        }
        if ((req.options & WCONTINUED) && c->report_continued) {
          r.kind = WaitResult::Kind::kContinued;
          if (consume) c->report_continued = false;
          return r;
        }
      }
    }
    if (!any) return Errno(ECHILD);
    if (req.options & WNOHANG) return WaitResult{};
    TRY(t.Block({&me.child_events}, [&] {
      absl::MutexLock lock(&mu_);
      return me.child_changes != seen;
    }));
  }
}

ThreadGroup* Kernel::FindGroupLocked(int pid) {
  auto it = groups_.find(pid);
  if (it == groups_.end() || it->second->zombie) return nullptr;
  return it->second.get();
}

Task* Kernel::FindTaskLocked(int tid) {
  auto it = tasks_.find(tid);
  return it == tasks_.end() ? nullptr : it->second.get();
}

bool Kernel::FindTask(int tid, int* tgid) {
  absl::MutexLock lock(&mu_);
  Task* t = FindTaskLocked(tid);
  if (t == nullptr) return false;
  if (tgid) *tgid = t->pid();
  return true;
}

int Kernel::ParentPid(Task& t) {
  absl::MutexLock lock(&mu_);
  ThreadGroup* p = t.thread_group().parent;
  return p ? p->pid() : 0;
}

int Kernel::TaskCount() {
  absl::MutexLock lock(&mu_);
  return static_cast<int>(tasks_.size());
}

void Kernel::WakeForSignalLocked(ThreadGroup& tg, int sig) {
  // complete_signal: a thread that does not block it; the leader first.
  for (Task* t : tg.tasks) {
    if (!(t->signal_mask() & SigBit(sig))) {
      t->Kick();
      return;
    }
  }
}

namespace {

// Whether `tg` discards `sig` on arrival: SIG_IGN, or a default action of
// doing nothing.
bool Ignores(ThreadGroup& tg, int sig) {
  const SigAction act = tg.GetSigAction(sig);
  return act.handler == reinterpret_cast<uint64_t>(SIG_IGN) ||
         (act.handler == reinterpret_cast<uint64_t>(SIG_DFL) && DefaultIgnores(sig));
}

}  // namespace

void Kernel::SetSigAction(ThreadGroup& tg, int sig, const SigAction& act) {
  absl::MutexLock lock(&mu_);
  tg.SetSigAction(sig, act);
  if (!Ignores(tg, sig)) return;
  tg.pending.Discard(sig);
  for (Task* t : tg.tasks) t->pending.Discard(sig);
}

void Kernel::PrepareSignalLocked(ThreadGroup& tg, int sig) {
  auto discard = [&](int s) {
    tg.pending.Discard(s);
    for (Task* t : tg.tasks) t->pending.Discard(s);
  };
  if (DefaultStops(sig)) {
    discard(SIGCONT);
  } else if (sig == SIGCONT) {
    for (int s : {SIGSTOP, SIGTSTP, SIGTTIN, SIGTTOU}) discard(s);
    if (tg.stopped) {
      // Every thread waiting in WaitWhileStopped sees this when the lock
      // is released.
      tg.stopped = false;
      tg.report_stop = false;
      tg.report_continued = true;
      NotifyParentStopLocked(tg, CLD_CONTINUED, SIGCONT);
    }
  }
}

void Kernel::GroupStopLocked(ThreadGroup& tg, int sig) {
  if (tg.stopped || tg.exiting) return;
  tg.stopped = true;
  tg.stop_signal = sig;
  tg.report_stop = true;
  tg.report_continued = false;
  for (Task* t : tg.tasks) t->Kick();
  NotifyParentStopLocked(tg, CLD_STOPPED, sig);
}

void Kernel::WaitWhileStoppedLocked(Task& t) {
  ThreadGroup& tg = t.thread_group();
  auto resumed = [&]() ABSL_NO_THREAD_SAFETY_ANALYSIS {
    return !tg.stopped || tg.exiting || t.exiting;
  };
  mu_.Await(absl::Condition(&resumed));
}

bool Kernel::PgrpOrphanedLocked(int pgid) {
  for (auto& [pid, g] : groups_) {
    if (g->pgid != pgid || g->zombie) continue;
    // The sandbox's init was started from outside, as by a shell in the
    // same session: its group stays connected while it lives.
    if (g->parent == nullptr) return false;
    if (g->parent->pgid != pgid && g->parent->sid == g->sid) return false;
  }
  return true;
}

void Kernel::HangUpOrphanedLocked(int pgid) {
  bool any_stopped = false;
  for (auto& [pid, g] : groups_) any_stopped |= g->pgid == pgid && !g->zombie && g->stopped;
  if (!any_stopped || !PgrpOrphanedLocked(pgid)) return;
  for (int sig : {SIGHUP, SIGCONT}) {
    siginfo_t si{};
    si.si_signo = sig;
    si.si_code = SI_KERNEL;
    (void)SendToEachLocked([pgid](ThreadGroup& g) { return g.pgid == pgid; }, si);
  }
}

void Kernel::NotifyParentStopLocked(ThreadGroup& tg, int why, int status) {
  ThreadGroup* p = tg.parent;
  if (p == nullptr) return;
  const SigAction act = p->GetSigAction(SIGCHLD);
  if (act.handler != reinterpret_cast<uint64_t>(SIG_IGN) && !(act.flags & SA_NOCLDSTOP)) {
    siginfo_t si{};
    si.si_signo = SIGCHLD;
    si.si_code = why;
    si.si_pid = tg.pid();
    si.si_uid = GroupCredentials(tg).uid;
    si.si_status = status;
    SendToGroupLocked(*p, si);
  }
  ++p->child_changes;
  p->child_events.NotifyAll();
}

void Kernel::SendToGroupLocked(ThreadGroup& tg, const siginfo_t& info) {
  const int sig = info.si_signo;
  if (tg.zombie || tg.exiting) return;
  if (sig == SIGKILL) {
    GroupExitLocked(tg, ExitStatus{0, SIGKILL, false});
    return;
  }
  PrepareSignalLocked(tg, sig);
  // An ignored signal is dropped unless every thread blocks it (it may be
  // unblocked after a handler is installed).
  bool blocked_everywhere = !tg.tasks.empty();
  for (Task* t : tg.tasks) blocked_everywhere &= (t->signal_mask() & SigBit(sig)) != 0;
  if (Ignores(tg, sig) && !blocked_everywhere) return;
  tg.pending.Add(info, ChargeLocked(tg, nullptr, sig));
  tg.signalfd_events.NotifyAll();
  WakeForSignalLocked(tg, sig);
}

void Kernel::SendToTaskLocked(Task& t, const siginfo_t& info) {
  const int sig = info.si_signo;
  ThreadGroup& tg = t.thread_group();
  if (tg.zombie || tg.exiting || t.exiting) return;
  if (sig == SIGKILL) {
    GroupExitLocked(tg, ExitStatus{0, SIGKILL, false});
    return;
  }
  PrepareSignalLocked(tg, sig);
  if (Ignores(tg, sig) && !(t.signal_mask() & SigBit(sig))) return;
  t.pending.Add(info, ChargeLocked(tg, &t, sig));
  tg.signalfd_events.NotifyAll();
  if (!(t.signal_mask() & SigBit(sig))) t.Kick();
}

SigqueueCharge Kernel::ChargeLocked(ThreadGroup& tg, Task* t, int sig) {
  if (sig < SIGRTMIN) return {};
  Task* owner = t != nullptr ? t : (tg.tasks.empty() ? nullptr : tg.tasks.front());
  if (owner == nullptr) return {};
  auto& count = sigqueue_counts_[owner->creds().uid];
  if (!count) count = std::make_shared<std::atomic<int64_t>>(0);
  return SigqueueCharge(count);
}

Result<bool> Kernel::SigqueueRoomLocked(ThreadGroup& tg, Task* t, const siginfo_t& info) {
  const int sig = info.si_signo;
  if (sig < SIGRTMIN) return true;
  Task* owner = t != nullptr ? t : (tg.tasks.empty() ? nullptr : tg.tasks.front());
  if (owner == nullptr) return true;
  auto it = sigqueue_counts_.find(owner->creds().uid);
  const int64_t queued = it == sigqueue_counts_.end() ? 0 : it->second->load();
  if (static_cast<uint64_t>(queued) < tg.GetRlimit(RLIMIT_SIGPENDING).rlim_cur) return true;
  // Over the limit: sigqueue(3) and the like fail; kill(2) still sends
  // the signal, without its information: one instance at most.
  if (info.si_code != SI_USER) return Errno(EAGAIN);
  const uint64_t pending = t != nullptr ? t->pending.mask : tg.pending.mask;
  return (pending & SigBit(sig)) == 0;
}

Result<void> Kernel::SignalProcess(int pid, const siginfo_t& info, Task* sender) {
  absl::MutexLock lock(&mu_);
  // The pid may name any thread: the signal goes to its process.
  ThreadGroup* tg = nullptr;
  if (auto it = groups_.find(pid); it != groups_.end()) {
    tg = it->second.get();
  } else if (Task* t = FindTaskLocked(pid)) {
    tg = &t->thread_group();
  } else {
    return Errno(ESRCH);
  }
  TRY(CheckKillLocked(sender, *tg, nullptr, info.si_signo));
  // A zombie still exists for kill(2): the signal is taken and ignored.
  if (info.si_signo != 0 && TRY(SigqueueRoomLocked(*tg, nullptr, info))) SendToGroupLocked(*tg, info);
  return Ok();
}

Result<void> Kernel::SignalThread(int tgid, int tid, const siginfo_t& info, Task* sender) {
  absl::MutexLock lock(&mu_);
  Task* t = FindTaskLocked(tid);
  if (t == nullptr || (tgid > 0 && t->pid() != tgid)) return Errno(ESRCH);
  TRY(CheckKillLocked(sender, t->thread_group(), t, info.si_signo));
  if (info.si_signo != 0 && TRY(SigqueueRoomLocked(t->thread_group(), t, info))) {
    SendToTaskLocked(*t, info);
  }
  return Ok();
}

Result<void> Kernel::SendToEachLocked(absl::FunctionRef<bool(ThreadGroup&)> chosen,
                                      const siginfo_t& info, Task* sender) {
  // Chosen first, sent after: sending may not change the set walked.
  std::vector<ThreadGroup*> targets;
  for (auto& [pid, g] : groups_) {
    if (chosen(*g)) targets.push_back(g.get());
  }
  if (targets.empty()) return Errno(ESRCH);
  bool any = false;
  Errno refused(EPERM);
  for (ThreadGroup* g : targets) {
    if (auto ok = CheckKillLocked(sender, *g, nullptr, info.si_signo); !ok) {
      refused = ok.error();
      continue;
    }
    any = true;
    // kill(2) (SI_USER) is never refused for want of room.
    if (info.si_signo != 0 && SigqueueRoomLocked(*g, nullptr, info).value_or(false)) {
      SendToGroupLocked(*g, info);
    }
  }
  if (!any) return refused;
  return Ok();
}

Result<void> Kernel::SignalGroup(Task& sender, int pgid, const siginfo_t& info) {
  absl::MutexLock lock(&mu_);
  if (pgid == 0) pgid = sender.thread_group().pgid;
  return SendToEachLocked([pgid](ThreadGroup& g) { return g.pgid == pgid; }, info, &sender);
}

Result<void> Kernel::SignalAll(Task& sender, const siginfo_t& info) {
  absl::MutexLock lock(&mu_);
  // Every process but init and the sender's own.
  ThreadGroup* init = init_.get();
  ThreadGroup* self = &sender.thread_group();
  auto r = SendToEachLocked([init, self](ThreadGroup& g) { return &g != init && &g != self; },
                            info, &sender);
  // kill(-1) means "every process I may signal": being allowed none is not
  // an error in Linux (kill_something_info counts only other failures).
  if (!r && r.error() == Errno(EPERM)) return Ok();
  return r;
}

void Kernel::HostSignal(int sig) {
  absl::MutexLock lock(&mu_);
  if (!init_ || init_done_) return;
  if (sig == SIGTERM) {
    for (auto& [pid, g] : groups_) {
      if (!g->zombie) GroupExitLocked(*g, ExitStatus{0, SIGTERM, false});
    }
    return;
  }
  siginfo_t si{};
  si.si_signo = sig;
  si.si_code = SI_KERNEL;  // what a terminal's signals carry
  // The foreground group of the terminal, if the sandbox has the caller's.
  const auto& tty = init_->ctty;
  const int pgid = tty && !tty->IsPty() && tty->pgrp != 0 ? tty->pgrp : init_->pgid;
  (void)SendToEachLocked([pgid](ThreadGroup& g) { return g.pgid == pgid; }, si);
}

Result<int> Kernel::GetPgid(Task& t, int pid) {
  absl::MutexLock lock(&mu_);
  if (pid == 0) return t.thread_group().pgid;
  ThreadGroup* g = FindGroupLocked(pid);
  if (g == nullptr) return Errno(ESRCH);
  return g->pgid;
}

Result<int> Kernel::GetSid(Task& t, int pid) {
  absl::MutexLock lock(&mu_);
  if (pid == 0) return t.thread_group().sid;
  ThreadGroup* g = FindGroupLocked(pid);
  if (g == nullptr) return Errno(ESRCH);
  return g->sid;
}

Result<void> Kernel::SetPgid(Task& t, int pid, int pgid) {
  absl::MutexLock lock(&mu_);
  ThreadGroup& me = t.thread_group();
  if (pgid < 0) return Errno(EINVAL);
  ThreadGroup* target = pid == 0 ? &me : FindGroupLocked(pid);
  if (target == nullptr) return Errno(ESRCH);
  if (target != &me) {
    // Only a child, in the caller's session, that has not exec'd yet.
    if (target->parent != &me) return Errno(ESRCH);
    if (target->sid != me.sid) return Errno(EPERM);
    if (target->did_exec) return Errno(EACCES);
  }
  if (target->sid == target->pid()) return Errno(EPERM);  // a session leader
  if (pgid == 0) pgid = target->pid();
  if (pgid != target->pid()) {
    // Joining a group: it must exist in the same session.
    bool exists = false;
    for (auto& [p, g] : groups_) {
      if (g->pgid == pgid && g->sid == me.sid && !g->zombie) exists = true;
    }
    if (!exists) return Errno(EPERM);
  }
  target->pgid = pgid;
  return Ok();
}

Result<int> Kernel::SetSid(Task& t) {
  absl::MutexLock lock(&mu_);
  ThreadGroup& me = t.thread_group();
  // A process group leader (or anyone whose pid is a group's id) cannot.
  for (auto& [p, g] : groups_) {
    if (g->pgid == me.pid() && !g->zombie) return Errno(EPERM);
  }
  me.sid = me.pid();
  me.pgid = me.pid();
  me.ctty.reset();  // proc_clear_tty: the new session has no terminal
  return me.pid();
}

}  // namespace husk::kernel
