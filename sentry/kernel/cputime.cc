// CPU-time accounting (the model is in cputime.h) and the task lookups the
// scheduling syscalls use.
#include "sentry/kernel/cputime.h"

#include <time.h>

#include <algorithm>

#include "sentry/kernel/kernel.h"
#include "sentry/kernel/task.h"

namespace husk::kernel {
namespace {

int64_t Ns(const timespec& ts) { return ts.tv_sec * kNsPerSec + ts.tv_nsec; }

// The calling host thread's CPU time: the system time of the task it runs.
int64_t OwnThreadNs() {
  timespec ts;
  if (clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts) != 0) return 0;
  return Ns(ts);
}

// Another sentry thread's CPU time, MAKE_THREAD_CPUCLOCK(tid,
// CPUCLOCK_SCHED): the host lets a process read its own threads' clocks.
// 0 for a thread not yet running (tid 0) or gone.
int64_t SentryThreadNs(int host_tid) {
  if (host_tid == 0) return 0;
  const clockid_t id = static_cast<clockid_t>((~static_cast<unsigned>(host_tid) << 3) | 6);
  timespec ts;
  if (clock_gettime(id, &ts) != 0) return 0;
  return Ns(ts);
}

// The stub process's clock, -1 if it cannot be read (the stub died).
int64_t StubProcessNs(platform::Context& ctx) {
  auto ts = ctx.CpuTime(false);
  return ts ? Ns(*ts) : -1;
}

// Whether the process still runs in the stub process it was born in, which
// was its parent's (a CLONE_VM child).
bool InBorrowedStub(const GroupCpu& g, const std::shared_ptr<mm::MemoryManager>& mm) {
  const auto& base = g.stub_base_mm;
  return !base.owner_before(mm) && !mm.owner_before(base) && !base.expired();
}

// What of the stub process's clock is not this process's: what it had
// reached when the process was born in it (a CLONE_VM child still in its
// parent's address space), and what CLONE_VM children that exited in it
// used.
int64_t StubBase(const GroupCpu& g, const std::shared_ptr<mm::MemoryManager>& mm) {
  return (InBorrowedStub(g, mm) ? g.stub_base_ns : 0) + g.lent_user_ns;
}

}  // namespace

SchedState SchedState::ForChild() const {
  SchedState child = *this;
  if (reset_on_fork) {
    if (policy == SCHED_FIFO || policy == SCHED_RR) {
      child.policy = SCHED_OTHER;
      child.rt_priority = 0;
    }
    child.nice = std::max(nice, 0);
    child.reset_on_fork = false;
  }
  return child;
}

CpuTimes ThreadCpu(Task& self) {
  CpuTimes c;
  c.sys_ns = OwnThreadNs();
  // Alone in its process, a thread's stub time is its stub process's less
  // what the exited threads measured of theirs (one cheap host call);
  // otherwise the stub thread reads its own clock (an injected syscall).
  const int64_t stub = StubProcessNs(self.context());
  bool alone;
  {
    absl::MutexLock lock(&self.kernel().mu());
    ThreadGroup& tg = self.thread_group();
    alone = tg.tasks.size() == 1 && stub >= 0;
    if (alone) {
      c.user_ns = std::max<int64_t>(
          0, stub - StubBase(tg.cpu, self.shared_mm()) - tg.cpu.dead_user_ns);
    }
  }
  if (!alone) {
    if (auto ts = self.context().CpuTime(/*thread_only=*/true)) c.user_ns = Ns(*ts);
  }
  // The two ways differ by the little the stub process spent outside any
  // thread's measure; a clock must not step back when the first thread
  // starts another.
  absl::MutexLock lock(&self.kernel().mu());
  self.thread_reported.user_ns = c.user_ns = std::max(c.user_ns, self.thread_reported.user_ns);
  self.thread_reported.sys_ns = c.sys_ns = std::max(c.sys_ns, self.thread_reported.sys_ns);
  return c;
}

CpuTimes OtherThreadCpu(Task& self, Task& other) {
  const int64_t stub = StubProcessNs(self.context());
  int64_t mine = 0;
  if (auto ts = self.context().CpuTime(/*thread_only=*/true)) mine = Ns(*ts);
  absl::MutexLock lock(&self.kernel().mu());
  ThreadGroup& tg = self.thread_group();
  if (std::find(tg.tasks.begin(), tg.tasks.end(), &other) == tg.tasks.end()) return other.exit_cpu;
  CpuTimes c;
  c.sys_ns = SentryThreadNs(other.host_tid.load());
  if (stub >= 0) {
    const int64_t rest = stub - StubBase(tg.cpu, self.shared_mm()) - mine - tg.cpu.dead_user_ns;
    c.user_ns = std::max<int64_t>(0, rest);
  }
  return c;
}

CpuTimes ProcessCpu(Task& self) {
  const int64_t stub = StubProcessNs(self.context());
  const int64_t own = OwnThreadNs();
  absl::MutexLock lock(&self.kernel().mu());
  ThreadGroup& tg = self.thread_group();
  GroupCpu& g = tg.cpu;
  CpuTimes c;
  c.user_ns = std::max(g.stub_seen_ns, stub >= 0 ? stub - StubBase(g, self.shared_mm()) : 0);
  // The live task threads' clocks are read with the lock held, so none of
  // them can move its time into dead_sys_ns meanwhile.
  c.sys_ns = g.dead_sys_ns;
  for (Task* t : tg.tasks) c.sys_ns += t == &self ? own : SentryThreadNs(t->host_tid.load());
  g.reported.user_ns = c.user_ns = std::max(c.user_ns, g.reported.user_ns);
  g.reported.sys_ns = c.sys_ns = std::max(c.sys_ns, g.reported.sys_ns);
  return c;
}

std::optional<CpuTimes> ThreadCpuById(Task& self, int tid) {
  if (tid == 0 || tid == self.tid()) return ThreadCpu(self);
  Task* other;
  {
    absl::MutexLock lock(&self.kernel().mu());
    other = self.kernel().LookupTaskLocked(tid);
    if (other == nullptr || &other->thread_group() != &self.thread_group()) return std::nullopt;
  }
  // Task objects outlive their threads (Kernel::finished_).
  return OtherThreadCpu(self, *other);
}

std::optional<CpuTimes> ProcessCpuById(Task& self, int pid) {
  if (pid == 0 || pid == self.pid()) return ProcessCpu(self);
  absl::MutexLock lock(&self.kernel().mu());
  Task* leader = self.kernel().LookupTaskLocked(pid);
  if (leader == nullptr || leader->pid() != pid) return std::nullopt;
  ThreadGroup& tg = leader->thread_group();
  CpuTimes c;
  c.user_ns = std::max(tg.cpu.stub_seen_ns, tg.cpu.reported.user_ns);
  c.sys_ns = tg.cpu.dead_sys_ns;
  for (Task* t : tg.tasks) c.sys_ns += SentryThreadNs(t->host_tid.load());
  c.sys_ns = std::max(c.sys_ns, tg.cpu.reported.sys_ns);
  return c;
}

CpuTimes ChildrenCpu(Task& self) {
  absl::MutexLock lock(&self.kernel().mu());
  return self.thread_group().cpu.children;
}

void AccountSharedStubBirth(Task& parent, Task& child) {
  const int64_t stub = StubProcessNs(parent.context());
  absl::MutexLock lock(&parent.kernel().mu());
  GroupCpu& g = child.thread_group().cpu;
  g.stub_base_ns = std::max<int64_t>(stub, 0);
  g.stub_base_mm = child.shared_mm();
  g.stub_owner = parent.shared_thread_group();
}

void AccountThreadExit(Task& t, platform::Context* ctx) {
  CpuTimes mine;  // its system time is taken at the very end (AccountTaskExitedLocked)
  bool others;
  {
    absl::MutexLock lock(&t.kernel().mu());
    others = t.thread_group().tasks.size() > 1;
  }
  int64_t stub = -1;
  if (ctx != nullptr) {
    // A thread's own stub time matters only while others live on
    // (OtherThreadCpu); the process's total is its stub's clock.
    if (others) {
      if (auto ts = ctx->CpuTime(/*thread_only=*/true)) mine.user_ns = Ns(*ts);
    }
    stub = StubProcessNs(*ctx);
  }
  absl::MutexLock lock(&t.kernel().mu());
  t.exit_cpu = mine;
  GroupCpu& g = t.thread_group().cpu;
  if (stub >= 0) g.stub_seen_ns = std::max(g.stub_seen_ns, stub - StubBase(g, t.shared_mm()));
  g.borrowed_at_exit = InBorrowedStub(g, t.shared_mm());
}

void AccountTaskExitedLocked(ThreadGroup& tg, Task& t) {
  // On t's own thread, with the lock that ProcessCpu reads the live
  // threads' clocks under: its system time moves from live to banked at
  // one instant, and nothing it does later counts.
  t.exit_cpu.sys_ns = OwnThreadNs();
  GroupCpu& g = tg.cpu;
  g.dead_sys_ns += t.exit_cpu.sys_ns;
  g.dead_user_ns += t.exit_cpu.user_ns;
  if (!tg.tasks.empty()) return;
  g.final.user_ns = std::max({g.stub_seen_ns, g.dead_user_ns, g.reported.user_ns});
  g.final.sys_ns = std::max(g.dead_sys_ns, g.reported.sys_ns);
  // Born and ended in its parent's stub: that stub's clock no longer counts
  // this process's time for the parent.
  if (auto owner = g.stub_owner.lock(); owner && g.borrowed_at_exit) {
    owner->cpu.lent_user_ns += g.final.user_ns + g.lent_user_ns;
  }
}

CpuTimes ReapUsageLocked(ThreadGroup& child) {
  CpuTimes c = child.cpu.final;
  c += child.cpu.children;
  return c;
}

void AccountReapLocked(ThreadGroup& parent, ThreadGroup& child) {
  parent.cpu.children += ReapUsageLocked(child);
}

CpuTimes GroupCpuLocked(ThreadGroup& tg) {
  GroupCpu& g = tg.cpu;
  if (tg.zombie) return g.final;
  CpuTimes c;
  c.sys_ns = g.dead_sys_ns;
  Task* any = nullptr;
  for (Task* t : tg.tasks) {
    c.sys_ns += SentryThreadNs(t->host_tid.load());
    // A thread whose task thread runs has its context until it exits.
    if (!any && t->host_tid.load() != 0 && !t->exiting && !tg.exiting) any = t;
  }
  c.user_ns = g.stub_seen_ns;
  if (any != nullptr) {
    const int64_t stub = StubProcessNs(any->context());
    if (stub >= 0) c.user_ns = std::max(c.user_ns, stub - StubBase(g, any->shared_mm()));
  }
  g.reported.user_ns = c.user_ns = std::max(c.user_ns, g.reported.user_ns);
  g.reported.sys_ns = c.sys_ns = std::max(c.sys_ns, g.reported.sys_ns);
  return c;
}

CpuTimes TaskCpuLocked(Task& t) {
  CpuTimes c;
  c.sys_ns = std::max(SentryThreadNs(t.host_tid.load()), t.thread_reported.sys_ns);
  ThreadGroup& tg = t.thread_group();
  if (tg.tasks.size() == 1) c.user_ns = GroupCpuLocked(tg).user_ns - tg.cpu.dead_user_ns;
  c.user_ns = std::max<int64_t>({c.user_ns, t.thread_reported.user_ns, 0});
  return c;
}

Task* Kernel::LookupTaskLocked(int tid) { return FindTaskLocked(tid); }

void Kernel::ForEachTaskLocked(absl::FunctionRef<void(Task&)> fn) {
  for (auto& [tid, t] : tasks_) fn(*t);
}

}  // namespace husk::kernel
