// CPU time and scheduling syscalls: getrusage, times, getpriority,
// setpriority, sched_{get,set}{param,scheduler,affinity},
// sched_get_priority_{max,min}, sched_rr_get_interval.
//
// The CPU-time model is in sentry/kernel/cputime.h. Scheduling attributes
// are recorded per task and reported back, with Linux's checks and
// permission rules; PARTIAL(sched): the host schedules the sandbox's
// threads as it likes (nice, policies and affinity masks change nothing
// there).
#include <sys/resource.h>
#include <sys/syscall.h>
#include <sys/times.h>
#include <time.h>
#include <unistd.h>

#include <algorithm>
#include <vector>

#include <absl/synchronization/mutex.h>

#include "sentry/kernel/cputime.h"
#include "sentry/syscalls/handlers.h"
#include "sentry/syscalls/util.h"

namespace husk::syscalls {
namespace {

using kernel::CpuTimes;
using kernel::kNsPerSec;
using kernel::SchedState;

constexpr int kMinNice = -20;
constexpr int kMaxNice = 19;
constexpr int kMaxRtPriority = 99;  // MAX_RT_PRIO - 1
constexpr int64_t kRrTimesliceNs = 100 * 1000000LL;  // sched_rr_timeslice_ms's default
constexpr int64_t kNsPerTick = kNsPerSec / 100;  // USER_HZ

timeval ToTimeval(int64_t ns) { return timeval{ns / kNsPerSec, (ns % kNsPerSec) / 1000}; }
timespec ToTimespec(int64_t ns) { return timespec{ns / kNsPerSec, ns % kNsPerSec}; }

rusage ToRusage(const CpuTimes& c) {
  // PARTIAL(rusage): only the CPU times; ru_maxrss, faults, block I/O and
  // context switches are 0.
  rusage ru{};
  ru.ru_utime = ToTimeval(c.user_ns);
  ru.ru_stime = ToTimeval(c.sys_ns);
  return ru;
}

// --- Who may change whose scheduling (sched(7), setpriority(2)) ---

// CAP_SYS_NICE: lower nice values, real-time policies, other users' tasks.
bool CapSysNice(const vfs::Credentials& c) { return c.HasCapability(CAP_SYS_NICE); }

// set_one_prio_perm / check_same_owner: the caller's effective uid is the
// target's real or effective one.
bool SameOwner(const vfs::Credentials& caller, const vfs::Credentials& target) {
  return caller.euid == target.uid || caller.euid == target.euid;
}

// Whether `target` may have nice value `nice` by its RLIMIT_NICE
// (is_nice_reduction: 20 - nice within the soft limit).
bool NiceAllowedByRlimit(Task& target, int nice) {
  return static_cast<rlim_t>(20 - nice) <= target.thread_group().GetRlimit(RLIMIT_NICE).rlim_cur;
}

// The task a sched_* call's pid names: 0 the caller. Kernel lock held.
kernel::Task* Target(Task& t, int pid) ABSL_EXCLUSIVE_LOCKS_REQUIRED(t.kernel().mu()) {
  return pid == 0 ? &t : t.kernel().LookupTaskLocked(pid);
}

// --- Affinity masks ---

// The CPUs the sandbox may use, as a kernel cpumask (whose size is what
// sched_getaffinity returns at most): the sentry's own mask, which its main
// thread keeps (task threads are pinned, see platform/ptrace).
const std::vector<uint8_t>& OnlineMask() {
  static const std::vector<uint8_t> online = [] {
    std::vector<uint8_t> mask(8192);
    const long n = ::syscall(SYS_sched_getaffinity, getpid(), mask.size(), mask.data());
    if (n <= 0) return std::vector<uint8_t>{1, 0, 0, 0, 0, 0, 0, 0};  // CPU 0
    mask.resize(static_cast<size_t>(n));
    return mask;
  }();
  return online;
}

// `requested` limited to the online CPUs, as a full-size mask.
std::vector<uint8_t> EffectiveMask(const std::vector<uint8_t>& requested) {
  std::vector<uint8_t> out = OnlineMask();
  if (requested.empty()) return out;
  for (size_t i = 0; i < out.size(); ++i) out[i] &= i < requested.size() ? requested[i] : 0;
  return out;
}

// --- Policies ---

bool RtPolicy(int policy) { return policy == SCHED_FIFO || policy == SCHED_RR; }
bool ValidPolicy(int policy) {
  return policy == SCHED_OTHER || policy == SCHED_BATCH || policy == SCHED_IDLE ||
         RtPolicy(policy) || policy == SCHED_DEADLINE;
}

// __sched_setscheduler for policy `policy` (-1: keep the current one, as
// sched_setparam) with priority `priority`, from `caller` on `p`. Kernel
// lock held.
Result<void> SetScheduler(Task& caller, Task& p, int policy, bool reset_on_fork, int64_t priority)
    ABSL_EXCLUSIVE_LOCKS_REQUIRED(caller.kernel().mu()) {
  SchedState& s = p.sched;
  if (policy < 0) {
    policy = s.policy;
    reset_on_fork = s.reset_on_fork;
  } else if (!ValidPolicy(policy)) {
    return Errno(EINVAL);
  }
  // FIFO and RR take 1..99; the others 0. SCHED_DEADLINE needs
  // sched_setattr's runtime/deadline/period, which this call cannot give.
  if (priority < 0 || priority > kMaxRtPriority) return Errno(EINVAL);
  if (RtPolicy(policy) != (priority != 0)) return Errno(EINVAL);
  if (policy == SCHED_DEADLINE) return Errno(EINVAL);
  if (!CapSysNice(caller.creds())) {
    // user_check_sched_setscheduler.
    bool privileged = false;
    if (RtPolicy(policy)) {
      const rlim_t rtprio = p.thread_group().GetRlimit(RLIMIT_RTPRIO).rlim_cur;
      if (policy != s.policy && rtprio == 0) privileged = true;
      if (priority > s.rt_priority && static_cast<rlim_t>(priority) > rtprio) privileged = true;
    }
    // Leaving SCHED_IDLE counts as lowering nice to the current value.
    if (s.policy == SCHED_IDLE && policy != SCHED_IDLE && !NiceAllowedByRlimit(p, s.nice)) {
      privileged = true;
    }
    if (!SameOwner(caller.creds(), p.creds())) privileged = true;
    if (s.reset_on_fork && !reset_on_fork) privileged = true;
    if (privileged) return Errno(EPERM);
  }
  s.policy = policy;
  s.rt_priority = static_cast<int>(priority);
  s.reset_on_fork = reset_on_fork;
  return Ok();
}

Result<uint64_t> DoSetScheduler(Task& t, int pid, int policy, uint64_t param_addr) {
  if (param_addr == 0 || pid < 0) return Errno(EINVAL);
  const sched_param param = TRY(CopyInStruct<sched_param>(t, param_addr));
  bool reset_on_fork = false;
  if (policy >= 0 && (policy & SCHED_RESET_ON_FORK)) {
    reset_on_fork = true;
    policy &= ~SCHED_RESET_ON_FORK;
  }
  absl::MutexLock lock(&t.kernel().mu());
  kernel::Task* p = Target(t, pid);
  if (p == nullptr) return Errno(ESRCH);
  // sched_priority is an int the kernel takes as unsigned: negative is out of range.
  TRY(SetScheduler(t, *p, policy, reset_on_fork, param.sched_priority));
  return 0;
}

// The tasks `which`/`who` of getpriority(2)/setpriority(2) name. Kernel
// lock held.
std::vector<kernel::Task*> PriorityTargets(Task& t, int which, int who)
    ABSL_EXCLUSIVE_LOCKS_REQUIRED(t.kernel().mu()) {
  std::vector<kernel::Task*> out;
  switch (which) {
    case PRIO_PROCESS:
      if (kernel::Task* p = Target(t, who)) out.push_back(p);
      break;
    case PRIO_PGRP: {
      const int pgid = who == 0 ? t.thread_group().pgid : who;
      t.kernel().ForEachTaskLocked([&](kernel::Task& p) {
        if (p.thread_group().pgid == pgid) out.push_back(&p);
      });
      break;
    }
    case PRIO_USER: {
      const uint32_t uid = who == 0 ? t.creds().uid : static_cast<uint32_t>(who);
      t.kernel().ForEachTaskLocked([&](kernel::Task& p) {
        if (p.creds().uid == uid) out.push_back(&p);
      });
      break;
    }
  }
  return out;
}

}  // namespace

// --- CPU time ---

Result<uint64_t> Getrusage(Task& t, const SyscallArgs& a) {
  CpuTimes c;
  switch (a.i32(0)) {
    case RUSAGE_SELF: c = kernel::ProcessCpu(t); break;
    case RUSAGE_CHILDREN: c = kernel::ChildrenCpu(t); break;
    case RUSAGE_THREAD: c = kernel::ThreadCpu(t); break;
    default: return Errno(EINVAL);
  }
  TRY(CopyOutStruct(t, a.ptr(1), ToRusage(c)));
  return 0;
}

Result<uint64_t> Times(Task& t, const SyscallArgs& a) {
  if (a.ptr(0) != 0) {
    const CpuTimes self = kernel::ProcessCpu(t);
    const CpuTimes children = kernel::ChildrenCpu(t);
    tms out{};
    out.tms_utime = self.user_ns / kNsPerTick;
    out.tms_stime = self.sys_ns / kNsPerTick;
    out.tms_cutime = children.user_ns / kNsPerTick;
    out.tms_cstime = children.sys_ns / kNsPerTick;
    TRY(CopyOutStruct(t, a.ptr(0), out));
  }
  // Clock ticks since boot: the host's, as sysinfo's uptime.
  timespec now;
  clock_gettime(CLOCK_BOOTTIME, &now);
  return static_cast<uint64_t>((now.tv_sec * kNsPerSec + now.tv_nsec) / kNsPerTick);
}

// --- Nice values ---

Result<uint64_t> Getpriority(Task& t, const SyscallArgs& a) {
  const int which = a.i32(0);
  if (which < PRIO_PROCESS || which > PRIO_USER) return Errno(EINVAL);
  absl::MutexLock lock(&t.kernel().mu());
  int best = -1;
  for (kernel::Task* p : PriorityTargets(t, which, a.i32(1))) best = std::max(best, 20 - p->sched.nice);
  // The raw syscall returns 20 - nice (1..40) so that no value looks like an error.
  if (best < 0) return Errno(ESRCH);
  return static_cast<uint64_t>(best);
}

Result<uint64_t> Setpriority(Task& t, const SyscallArgs& a) {
  const int which = a.i32(0);
  if (which < PRIO_PROCESS || which > PRIO_USER) return Errno(EINVAL);
  const int nice = std::clamp(a.i32(2), kMinNice, kMaxNice);
  absl::MutexLock lock(&t.kernel().mu());
  // set_one_prio: every target is tried; the last failure is reported,
  // ESRCH only if there was none.
  Result<void> result = Errno(ESRCH);
  for (kernel::Task* p : PriorityTargets(t, which, a.i32(1))) {
    if (!SameOwner(t.creds(), p->creds()) && !CapSysNice(t.creds())) {
      result = Errno(EPERM);
      continue;
    }
    if (nice < p->sched.nice && !NiceAllowedByRlimit(*p, nice) && !CapSysNice(t.creds())) {
      result = Errno(EACCES);
      continue;
    }
    if (!result && result.error() == Errno(ESRCH)) result = Ok();
    p->sched.nice = nice;
  }
  TRY(result);
  return 0;
}

// --- Policies and priorities ---

Result<uint64_t> SchedSetscheduler(Task& t, const SyscallArgs& a) {
  if (a.i32(1) < 0) return Errno(EINVAL);
  return DoSetScheduler(t, a.i32(0), a.i32(1), a.ptr(2));
}

Result<uint64_t> SchedSetparam(Task& t, const SyscallArgs& a) {
  return DoSetScheduler(t, a.i32(0), -1, a.ptr(1));
}

Result<uint64_t> SchedGetscheduler(Task& t, const SyscallArgs& a) {
  if (a.i32(0) < 0) return Errno(EINVAL);
  absl::MutexLock lock(&t.kernel().mu());
  kernel::Task* p = Target(t, a.i32(0));
  if (p == nullptr) return Errno(ESRCH);
  return static_cast<uint64_t>(p->sched.policy | (p->sched.reset_on_fork ? SCHED_RESET_ON_FORK : 0));
}

Result<uint64_t> SchedGetparam(Task& t, const SyscallArgs& a) {
  if (a.ptr(1) == 0 || a.i32(0) < 0) return Errno(EINVAL);
  sched_param param{};
  {
    absl::MutexLock lock(&t.kernel().mu());
    kernel::Task* p = Target(t, a.i32(0));
    if (p == nullptr) return Errno(ESRCH);
    param.sched_priority = p->sched.rt_priority;
  }
  TRY(CopyOutStruct(t, a.ptr(1), param));
  return 0;
}

// Linux 6.12 and later know SCHED_EXT here whatever their configuration;
// sched_setscheduler takes it only from a kernel built with sched_ext,
// which the sandbox is not.
constexpr int kSchedExt = 7;

Result<uint64_t> SchedGetPriorityMax(Task&, const SyscallArgs& a) {
  const int policy = a.i32(0);
  if (!ValidPolicy(policy) && policy != kSchedExt) return Errno(EINVAL);
  return RtPolicy(policy) ? kMaxRtPriority : 0;
}

Result<uint64_t> SchedGetPriorityMin(Task&, const SyscallArgs& a) {
  const int policy = a.i32(0);
  if (!ValidPolicy(policy) && policy != kSchedExt) return Errno(EINVAL);
  return RtPolicy(policy) ? 1 : 0;
}

Result<uint64_t> SchedRrGetInterval(Task& t, const SyscallArgs& a) {
  if (a.i32(0) < 0) return Errno(EINVAL);
  int policy;
  {
    absl::MutexLock lock(&t.kernel().mu());
    kernel::Task* p = Target(t, a.i32(0));
    if (p == nullptr) return Errno(ESRCH);
    policy = p->sched.policy;
  }
  // SCHED_RR's quantum; FIFO has none; for the fair classes Linux reports
  // the EEVDF base slice (0.75 ms) in whole jiffies, which is 0.
  const int64_t slice = policy == SCHED_RR ? kRrTimesliceNs : 0;
  TRY(CopyOutStruct(t, a.ptr(1), ToTimespec(slice)));
  return 0;
}

// --- Affinity ---

Result<uint64_t> SchedGetaffinity(Task& t, const SyscallArgs& a) {
  const uint32_t len = a.u32(1);
  if (len & (sizeof(long) - 1)) return Errno(EINVAL);
  // The host checks the length against nr_cpu_ids and says how much of a
  // cpumask it would copy.
  std::vector<uint8_t> probe(std::min<uint32_t>(len, 8192));
  const long n = ::syscall(SYS_sched_getaffinity, getpid(), probe.size(), probe.data());
  if (n < 0) return Errno(errno);
  std::vector<uint8_t> mask;
  {
    absl::MutexLock lock(&t.kernel().mu());
    kernel::Task* p = Target(t, a.i32(0));
    if (p == nullptr) return Errno(ESRCH);
    mask = EffectiveMask(p->sched.affinity);
  }
  mask.resize(static_cast<size_t>(n));
  TRY(t.mm().CopyOut(a.ptr(2), std::span<const uint8_t>(mask.data(), mask.size())));
  return mask.size();
}

Result<uint64_t> SchedSetaffinity(Task& t, const SyscallArgs& a) {
  const uint32_t len = a.u32(1);
  // get_user_cpu_mask: at most a cpumask's worth is read; a shorter one is
  // zero-extended.
  std::vector<uint8_t> requested(OnlineMask().size(), 0);
  const size_t n = std::min<size_t>(len, requested.size());
  TRY(t.mm().CopyIn(a.ptr(2), std::span<uint8_t>(requested.data(), n)));
  absl::MutexLock lock(&t.kernel().mu());
  kernel::Task* p = Target(t, a.i32(0));
  if (p == nullptr) return Errno(ESRCH);
  if (!SameOwner(t.creds(), p->creds()) && !CapSysNice(t.creds())) return Errno(EPERM);
  const std::vector<uint8_t> effective = EffectiveMask(requested);
  if (std::all_of(effective.begin(), effective.end(), [](uint8_t b) { return b == 0; })) {
    return Errno(EINVAL);
  }
  p->sched.affinity = effective;
  return 0;
}

}  // namespace husk::syscalls
