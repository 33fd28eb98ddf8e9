// procfs's questions answered from the kernel's state (vfs/proc/source.h).
// Every answer is a snapshot taken under the kernel's lock; what another
// task owns (its memory manager, files, working directory, executable) is
// read only while that task runs and is not leaving, when it cannot
// change under us: exec, chdir and fchdir change them under the lock, and
// an exiting task drops them only after it was marked exiting.
#include "sentry/kernel/proc_source.h"

#include <sched.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <sys/sysmacros.h>
#include <sys/sysinfo.h>
#include <sys/utsname.h>
#include <unistd.h>

#include <algorithm>
#include <fstream>
#include <bit>
#include <sstream>

#include "sentry/kernel/kernel.h"
#include "sentry/kernel/tty/tty.h"
#include "vfs/wait.h"

namespace husk::kernel {
namespace {

using vfs::proc::Caller;
using vfs::proc::FdEntry;
using vfs::proc::Mapping;
using vfs::proc::MemoryLayout;
using vfs::proc::ProcessInfo;
using vfs::proc::SystemInfo;
using vfs::proc::ThreadInfo;

int64_t Ns(const timespec& ts) { return ts.tv_sec * kNsPerSec + ts.tv_nsec; }

// A live thread of `tg` whose files and memory another thread may read: it
// runs (everything clone sets is in place) and is not leaving.
Task* ReadableTaskLocked(ThreadGroup& tg) {
  if (tg.zombie || tg.exiting) return nullptr;
  for (Task* t : tg.tasks) {
    if (!t->exiting && t->host_tid.load() != 0) return t;
  }
  return nullptr;
}

bool IsCpu(const std::vector<uint8_t>& mask, int cpu) {
  const size_t byte = static_cast<size_t>(cpu / 8);
  return byte < mask.size() && (mask[byte] >> (cpu % 8)) & 1;
}

// The host's /proc/cpuinfo, the sandbox's CPUs only.
std::string ReadCpuInfo(const std::vector<uint8_t>& cpus) {
  std::ifstream in("/proc/cpuinfo");
  std::string out, block, line;
  bool keep = true;
  auto flush = [&] {
    if (keep && !block.empty()) out += block + "\n";
    block.clear();
    keep = true;
  };
  while (std::getline(in, line)) {
    if (line.empty()) {
      flush();
      continue;
    }
    if (line.starts_with("processor")) {
      if (size_t colon = line.find(':'); colon != std::string::npos) {
        keep = IsCpu(cpus, atoi(line.c_str() + colon + 1));
      }
    }
    block += line + "\n";
  }
  flush();
  return out;
}

class KernelProcSource final : public vfs::proc::ProcSource {
 public:
  KernelProcSource(Kernel& k, std::string cpuinfo)
      : k_(k), boot_ns_(Ns(k.boot_time())), cpuinfo_(std::move(cpuinfo)) {}

  Caller CurrentCaller() override {
    Caller c;
    Task* t = dynamic_cast<Task*>(vfs::CurrentWaiter());
    if (t == nullptr) return c;
    c.pid = t->pid();
    c.tid = t->tid();
    c.creds = t->creds();
    c.root = t->fs().root;
    return c;
  }

  std::vector<uint8_t> Cpus() override { return SandboxCpus(); }
  std::string CpuInfo() override { return cpuinfo_; }

  SystemInfo System() override {
    SystemInfo s;
    s.boot_time = k_.boot_time();
    s.uptime_ns = SandboxUptimeNs(k_);
    const SandboxMemory m = SandboxMemoryUsage(k_);
    s.mem_total = m.total;
    s.mem_free = m.free;
    s.mem_available = m.free;
    s.shmem = m.shared;
    s.swap_total = m.swap_total;
    s.swap_free = m.swap_free;
    // What uname(2) says (syscalls/process.cc passes the host's through).
    utsname u{};
    ::uname(&u);
    s.hostname = u.nodename;
    CpuTimes total;
    {
      absl::MutexLock lock(&k_.mu());
      k_.ForEachProcessLocked([&](ThreadGroup& tg) {
        total += GroupCpuLocked(tg);
        total += tg.cpu.children;
      });
      k_.ForEachTaskLocked([&](Task& t) {
        ++s.threads;
        if (!t.sleeping.load() && !t.thread_group().stopped) ++s.running;
      });
      s.last_pid = k_.LastPidLocked();
    }
    s.forks = static_cast<uint64_t>(s.last_pid);
    // A process's clock can step back a little as it ends (its live figure
    // becomes the banked one); the sandbox's never does.
    absl::MutexLock lock(&mu_);
    reported_.user_ns = s.user_ns = std::max(total.user_ns, reported_.user_ns);
    reported_.sys_ns = s.sys_ns = std::max(total.sys_ns, reported_.sys_ns);
    return s;
  }

  std::vector<int> Pids() override {
    std::vector<int> out;
    absl::MutexLock lock(&k_.mu());
    k_.ForEachProcessLocked([&](ThreadGroup& tg) { out.push_back(tg.pid()); });
    return out;
  }

  std::optional<ProcessInfo> Process(int pid, int tid, bool times) override {
    std::shared_ptr<vfs::FdTable> files;
    auto p = ProcessLocked(pid, tid, times, files);
    // The fd table's lock is not taken under the kernel's: closing a file
    // there may end up in the kernel (a pidfd).
    if (p && files) {
      const auto fds = files->OpenFds();
      if (!fds.empty() && fds.back() >= 64) {
        p->fd_slots = std::max(256, static_cast<int>(std::bit_ceil(static_cast<unsigned>(fds.back() + 1))));
      }
    }
    return p;
  }

  std::vector<int> Tids(int pid) override {
    std::vector<int> out;
    absl::MutexLock lock(&k_.mu());
    if (ThreadGroup* tg = k_.LookupProcessLocked(pid)) {
      for (Task* t : tg->tasks) out.push_back(t->tid());
    }
    std::sort(out.begin(), out.end());
    return out;
  }

  std::optional<int> ThreadGroupOf(int tid) override {
    absl::MutexLock lock(&k_.mu());
    Task* t = k_.LookupTaskLocked(tid);
    if (t == nullptr) return std::nullopt;
    return t->pid();
  }

  bool Alive(int pid, int64_t start_ns, int tid) override {
    absl::MutexLock lock(&k_.mu());
    ThreadGroup* tg = k_.LookupProcessLocked(pid);
    if (tg == nullptr || tg->start_ns - boot_ns_ != start_ns) return false;
    if (tid == 0) return true;
    Task* t = k_.LookupTaskLocked(tid);
    return t != nullptr && &t->thread_group() == tg;
  }

  Result<std::vector<Mapping>> Mappings(int pid) override {
    auto mm = TRY(MemoryOf(pid));
    std::vector<Mapping> out;
    for (auto& v : mm->VmaSnapshot()) {
      Mapping m;
      m.start = v.start;
      m.end = v.vma.end;
      m.prot = v.vma.prot;
      m.shared = v.vma.shared;
      m.growsdown = v.vma.growsdown;
      m.offset = v.vma.file_offset;
      m.file = std::move(v.vma.file);
      m.name = std::move(v.vma.name);
      m.rss = v.rss;
      m.rss_anon = v.rss_anon;
      m.rss_shmem = v.rss_shmem;
      out.push_back(std::move(m));
    }
    // The vDSO and its data pages, which every stub keeps where the host
    // put them (the stub's own code page is the platform's, not shown).
    const uint64_t vdso = k_.platform().VdsoBase();
    for (const auto& r : k_.platform().Reserved()) {
      if (vdso < r.start || vdso >= r.end) continue;
      if (r.start < vdso) out.push_back(Mapping{.start = r.start, .end = vdso, .prot = PROT_READ, .name = "[vvar]"});
      out.push_back(Mapping{.start = vdso, .end = r.end, .prot = PROT_READ | PROT_EXEC, .name = "[vdso]"});
    }
    std::sort(out.begin(), out.end(), [](const Mapping& a, const Mapping& b) { return a.start < b.start; });
    return out;
  }

  Result<MemoryLayout> Layout(int pid) override {
    std::string exe;
    if (auto p = PlaceOf(pid, Place::kExe)) exe = k_.vfs().PathOf(k_.vfs().Root(), *p);
    auto mm = TRY(MemoryOf(pid));
    MemoryLayout l;
    const auto args = mm->arg_region();
    l.arg_start = args.arg_start;
    l.arg_end = args.arg_end;
    l.env_start = args.env_start;
    l.env_end = args.env_end;
    l.start_stack = args.start_stack;
    std::tie(l.start_brk, l.brk) = mm->BrkRange();
    for (const auto& v : mm->VmaSnapshot()) {
      if (!v.vma.file || v.vma.name != exe) continue;
      if (v.vma.prot & PROT_EXEC) {
        if (l.start_code == 0) l.start_code = v.start;
        l.end_code = v.vma.end;
      } else if (v.vma.prot & PROT_WRITE) {
        if (l.start_data == 0) l.start_data = v.start;
        l.end_data = v.vma.end;
      }
    }
    return l;
  }

  Result<size_t> ReadMemory(int pid, uint64_t addr, std::span<uint8_t> buf) override {
    auto mm = TRY(MemoryOf(pid));
    Task* self = dynamic_cast<Task*>(vfs::CurrentWaiter());
    // Its own address space a task reads as it would with read(2); another
    // one, only what is resident.
    if (self != nullptr && self->shared_mm() == mm) return mm->CopyInPartial(addr, buf);
    return mm->Peek(addr, buf);
  }

  Result<size_t> WriteMemory(int pid, uint64_t addr, std::span<const uint8_t> buf) override {
    auto mm = TRY(MemoryOf(pid));
    Task* self = dynamic_cast<Task*>(vfs::CurrentWaiter());
    // PARTIAL(/proc/[pid]/mem): only a process's own memory can be written,
    // and only where it is writable.
    if (self == nullptr || self->shared_mm() != mm) return Errno(EPERM);
    size_t done = 0;
    while (done < buf.size()) {
      const size_t n = std::min<size_t>(buf.size() - done, 4096 - ((addr + done) & 4095));
      if (!mm->CopyOut(addr + done, buf.subspan(done, n))) break;
      done += n;
    }
    return done;
  }

  Result<std::vector<int>> Fds(int pid) override {
    auto fds = TRY(FilesOf(pid));
    return fds->OpenFds();
  }

  Result<FdEntry> Fd(int pid, int fd) override {
    auto fds = TRY(FilesOf(pid));
    FdEntry e;
    e.file = TRY(fds->Get(fd));
    e.cloexec = fds->GetCloexec(fd).value_or(false);
    return e;
  }

  Result<vfs::Path> PlaceOf(int pid, Place which) override {
    absl::MutexLock lock(&k_.mu());
    Task* t = ReadableLocked(pid);
    if (t == nullptr) return Errno(ENOENT);
    switch (which) {
      case Place::kCwd: return t->fs().cwd;
      case Place::kRoot: return t->fs().root;
      case Place::kExe:
        if (!t->exe().valid()) return Errno(ENOENT);
        return t->exe();
    }
    return Errno(ENOENT);
  }

  Result<void> SetComm(int pid, int tid, std::string name) override {
    const Caller c = CurrentCaller();
    // Linux's comm_write: only for a thread of the writer's own process.
    if (c.pid != pid) return Errno(EINVAL);
    absl::MutexLock lock(&k_.mu());
    Task* t = k_.LookupTaskLocked(tid);
    if (t == nullptr || t->pid() != pid) return Errno(ESRCH);
    t->name = std::move(name);
    return Ok();
  }

  Result<void> SetOomScoreAdj(int pid, int value) override {
    const Caller c = CurrentCaller();
    absl::MutexLock lock(&k_.mu());
    ThreadGroup* tg = k_.LookupProcessLocked(pid);
    if (tg == nullptr || tg->zombie) return Errno(ESRCH);
    // Below oom_score_adj_min (0 here) takes CAP_SYS_RESOURCE.
    if (value < 0 && value < tg->oom_score_adj.load() && c.pid != 0 &&
        !c.creds.HasCapability(CAP_SYS_RESOURCE)) {
      return Errno(EACCES);
    }
    tg->oom_score_adj.store(value);
    return Ok();
  }

 private:
  std::optional<ProcessInfo> ProcessLocked(int pid, int tid, bool times,
                                           std::shared_ptr<vfs::FdTable>& files) {
    absl::MutexLock lock(&k_.mu());
    ThreadGroup* tg = k_.LookupProcessLocked(pid);
    if (tg == nullptr) return std::nullopt;
    Task* leader = k_.LookupTaskLocked(pid);
    if (leader != nullptr && &leader->thread_group() != tg) leader = nullptr;
    if (leader == nullptr && !tg->tasks.empty()) leader = tg->tasks.front();
    Task* t = leader;
    if (tid != 0) {
      t = k_.LookupTaskLocked(tid);
      if (t == nullptr || &t->thread_group() != tg) return std::nullopt;
    }
    ProcessInfo p;
    p.pid = pid;
    p.ppid = tg->parent ? tg->parent->pid() : 0;
    p.comm = leader ? leader->name : tg->exit_comm;
    p.pgid = tg->pgid;
    p.sid = tg->sid;
    if (tg->ctty) {
      const dev_t d = tg->ctty->Rdev();
      p.tty_nr = (minor(d) & 0xff) | (major(d) << 8) | ((minor(d) & ~0xffu) << 12);
      if (tg->ctty->pgrp > 0) p.tpgid = tg->ctty->pgrp;
    }
    p.zombie = tg->zombie;
    p.state = tg->zombie ? 'Z' : StateLocked(*tg, leader);
    p.start_ns = tg->start_ns - boot_ns_;
    p.exit_signal = tg->exit_signal;
    if (tg->zombie) p.exit_code = tg->status.WaitStatus();
    if (times) {
      const CpuTimes c = GroupCpuLocked(*tg);
      p.user_ns = c.user_ns;
      p.sys_ns = c.sys_ns;
      p.children_user_ns = tg->cpu.children.user_ns;
      p.children_sys_ns = tg->cpu.children.sys_ns;
    }
    p.shared_pending = tg->pending.mask;
    for (int sig = 1; sig <= kNumSignals; ++sig) {
      const SigAction a = tg->GetSigAction(sig);
      if (a.handler == reinterpret_cast<uint64_t>(SIG_IGN)) {
        p.ignored |= SigBit(sig);
      } else if (a.handler != reinterpret_cast<uint64_t>(SIG_DFL)) {
        p.caught |= SigBit(sig);
      }
    }
    for (int r = 0; r < RLIM_NLIMITS; ++r) p.rlimits[static_cast<size_t>(r)] = tg->GetRlimit(r);
    p.dumpable = tg->dumpable;
    p.oom_score_adj = tg->oom_score_adj.load();
    p.creds = leader ? leader->creds() : tg->exit_creds;
    p.thread_count = static_cast<int>(tg->tasks.size());
    p.fd_slots = 64;
    if (Task* r = ReadableTaskLocked(*tg)) {
      p.umask = r->fs().umask;
      files = r->shared_fds();
    }
    if (t != nullptr) p.thread = ThreadLocked(*tg, *t, times);
    return p;
  }

  char StateLocked(ThreadGroup& tg, Task* t) {
    if (tg.stopped) return 'T';
    if (t == nullptr) return 'Z';
    return t->sleeping.load() ? 'S' : 'R';
  }

  ThreadInfo ThreadLocked(ThreadGroup& tg, Task& t, bool times) {
    ThreadInfo i;
    i.tid = t.tid();
    i.comm = t.name;
    i.state = StateLocked(tg, &t);
    i.start_ns = t.start_ns - boot_ns_;
    if (times) {
      const CpuTimes c = TaskCpuLocked(t);
      i.user_ns = c.user_ns;
      i.sys_ns = c.sys_ns;
    }
    i.pending = t.pending.mask;
    i.blocked = t.signal_mask();
    i.nice = t.sched.nice;
    i.policy = t.sched.policy;
    i.rt_priority = t.sched.rt_priority;
    i.cpus = SandboxCpus();
    const auto& want = t.sched.affinity;
    if (!want.empty()) {
      for (size_t b = 0; b < i.cpus.size(); ++b) i.cpus[b] &= b < want.size() ? want[b] : 0;
    }
    i.creds = t.creds();
    i.no_new_privs = t.no_new_privs;
    return i;
  }

  Task* ReadableLocked(int pid) ABSL_EXCLUSIVE_LOCKS_REQUIRED(k_.mu()) {
    ThreadGroup* tg = k_.LookupProcessLocked(pid);
    return tg ? ReadableTaskLocked(*tg) : nullptr;
  }

  Result<std::shared_ptr<mm::MemoryManager>> MemoryOf(int pid) {
    absl::MutexLock lock(&k_.mu());
    Task* t = ReadableLocked(pid);
    if (t == nullptr || !t->shared_mm()) return Errno(ESRCH);
    return t->shared_mm();
  }

  Result<std::shared_ptr<vfs::FdTable>> FilesOf(int pid) {
    absl::MutexLock lock(&k_.mu());
    Task* t = ReadableLocked(pid);
    if (t == nullptr || !t->shared_fds()) return Errno(ENOENT);
    return t->shared_fds();
  }

  Kernel& k_;
  const int64_t boot_ns_;
  const std::string cpuinfo_;
  absl::Mutex mu_;
  CpuTimes reported_ ABSL_GUARDED_BY(mu_);
};

}  // namespace

ThreadGroup* Kernel::LookupProcessLocked(int pid) {
  auto it = groups_.find(pid);
  return it == groups_.end() ? nullptr : it->second.get();
}

void Kernel::ForEachProcessLocked(absl::FunctionRef<void(ThreadGroup&)> fn) {
  for (auto& [pid, tg] : groups_) fn(*tg);
}

SandboxMemory SandboxMemoryUsage(Kernel& k) {
  SandboxMemory m;
  struct sysinfo si {};
  if (::sysinfo(&si) == 0) m.total = static_cast<uint64_t>(si.totalram) * si.mem_unit;
  const uint64_t used = k.memory_file().allocated();
  m.free = m.total - std::min(m.total, used);
  return m;
}

int64_t SandboxUptimeNs(Kernel& k) {
  timespec now;
  clock_gettime(CLOCK_REALTIME, &now);
  return std::max<int64_t>(0, Ns(now) - Ns(k.boot_time()));
}

const std::vector<uint8_t>& SandboxCpus() {
  static const std::vector<uint8_t> cpus = [] {
    std::vector<uint8_t> mask(8192);
    const long n = ::syscall(SYS_sched_getaffinity, getpid(), mask.size(), mask.data());
    if (n <= 0) return std::vector<uint8_t>{1, 0, 0, 0, 0, 0, 0, 0};  // CPU 0
    mask.resize(static_cast<size_t>(n));
    return mask;
  }();
  return cpus;
}

std::string HostCpuInfo() { return ReadCpuInfo(SandboxCpus()); }

std::shared_ptr<vfs::proc::ProcSource> NewProcSource(Kernel& k, std::string cpuinfo) {
  return std::make_shared<KernelProcSource>(k, std::move(cpuinfo));
}

}  // namespace husk::kernel
