// The ptrace platform: each address space is a stub process traced with
// PTRACE_SYSEMU, so every `syscall` the application executes stops the stub
// before the host kernel runs it and comes to the sentry instead.
#include <elf.h>
#include <linux/audit.h>
#include <linux/filter.h>
#include <linux/seccomp.h>
#include <sched.h>
#include <sys/mman.h>
#include <sys/rseq.h>
#include <sys/prctl.h>
#include <sys/ptrace.h>
#include <sys/syscall.h>
#include <sys/uio.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstddef>
#include <fstream>
#include <sstream>
#include <string>
#include <utility>
#include <vector>

#include "base/log.h"
#include "platform/platform.h"

extern "C" char husk_stub_start[], husk_stub_end[], husk_stub_entry[], husk_stub_syscall[];

namespace husk::platform {
namespace {

constexpr int kStubMemoryFd = 0;
constexpr long kRseqFlagUnregister = 1;
constexpr long kRseqSig = 0x53053053;  // glibc's RSEQ_SIG on x86  // the memory file's fd number inside a stub

// Raw syscalls for the child between clone and the stub code: it shares no
// locks with libc's other threads, so it must not call into libc.
inline long RawSyscall(long nr, long a1 = 0, long a2 = 0, long a3 = 0, long a4 = 0,
                       long a5 = 0, long a6 = 0) {
  long ret;
  register long r10 asm("r10") = a4;
  register long r8 asm("r8") = a5;
  register long r9 asm("r9") = a6;
  asm volatile("syscall"
               : "=a"(ret)
               : "a"(nr), "D"(a1), "S"(a2), "d"(a3), "r"(r10), "r"(r8), "r"(r9)
               : "rcx", "r11", "memory");
  return ret;
}

struct KeptRange {
  uint64_t start = 0;
  uint64_t end = 0;
  uint64_t vdso = 0;
};

// Finds the vDSO and its data pages ([vvar], [vvar_vclock], [vdso]), which
// every stub keeps: the application calls the host vDSO for the fast
// clock_gettime/gettimeofday/time paths.
Result<KeptRange> FindVdso() {
  std::ifstream maps("/proc/self/maps");
  KeptRange kept;
  std::string line;
  while (std::getline(maps, line)) {
    bool vdso = line.ends_with("[vdso]");
    if (!vdso && !line.ends_with("[vvar]") && !line.ends_with("[vvar_vclock]")) continue;
    uint64_t start = 0, end = 0;
    if (sscanf(line.c_str(), "%lx-%lx", &start, &end) != 2) return Errno(EINVAL);
    if (kept.start == 0 || start < kept.start) kept.start = start;
    if (end > kept.end) kept.end = end;
    if (vdso) kept.vdso = start;
  }
  if (kept.vdso == 0) return Errno(ENOENT);
  return kept;
}

// seccomp filter of every stub: a host syscall is allowed only from the stub
// code page and only if it is one the platform itself issues. Application
// syscalls never reach it (PTRACE_SYSEMU stops them first); this is the net
// under that.
std::vector<sock_filter> StubFilter(uint64_t page_start, uint64_t page_end) {
  const uint32_t ip_hi = static_cast<uint32_t>(page_start >> 32);
  const uint32_t lo_start = static_cast<uint32_t>(page_start);
  const uint32_t lo_end = static_cast<uint32_t>(page_end - 1);
  const uint32_t allowed[] = {SYS_mmap, SYS_munmap, SYS_mprotect, SYS_exit_group};
  std::vector<sock_filter> f = {
      BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(seccomp_data, arch)),
      BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, AUDIT_ARCH_X86_64, 1, 0),
      BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_KILL_PROCESS),
      BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(seccomp_data, instruction_pointer) + 4),
      BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, ip_hi, 1, 0),
      BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_KILL_PROCESS),
      BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(seccomp_data, instruction_pointer)),
      BPF_JUMP(BPF_JMP | BPF_JGE | BPF_K, lo_start, 1, 0),
      BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_KILL_PROCESS),
      BPF_JUMP(BPF_JMP | BPF_JGT | BPF_K, lo_end, 0, 1),
      BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_KILL_PROCESS),
      BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(seccomp_data, nr)),
  };
  for (uint32_t nr : allowed) {
    f.push_back(BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, nr, 0, 1));
    f.push_back(BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW));
  }
  f.push_back(BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_KILL_PROCESS));
  return f;
}

// What the child of clone() does before it becomes a stub. Only raw
// syscalls: see RawSyscall.
[[noreturn]] void StubChild(int memory_fd, const sock_fprog* filter, const KeptRange& kept) {
  RawSyscall(SYS_prctl, PR_SET_PDEATHSIG, SIGKILL);
  RawSyscall(SYS_ptrace, PTRACE_TRACEME);
  // The stub keeps one fd: the memory file. Everything else of the sentry's
  // goes.
  RawSyscall(SYS_dup2, memory_fd, kStubMemoryFd);
  RawSyscall(SYS_close_range, kStubMemoryFd + 1, ~0U, 0);
  // glibc registered an rseq area for the sentry thread that cloned us; the
  // registration survives clone, but the area is about to be unmapped, and
  // the kernel would SIGSEGV the stub on its next preemption.
  if (__rseq_size > 0) {
    long area = reinterpret_cast<long>(static_cast<char*>(__builtin_thread_pointer()) + __rseq_offset);
    if (RawSyscall(SYS_rseq, area, __rseq_size, kRseqFlagUnregister, kRseqSig) != 0) {
      RawSyscall(SYS_rseq, area, 32, kRseqFlagUnregister, kRseqSig);
    }
  }
  RawSyscall(SYS_prctl, PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0);
  if (RawSyscall(SYS_seccomp, SECCOMP_SET_MODE_FILTER, 0, reinterpret_cast<long>(filter)) != 0) {
    RawSyscall(SYS_exit_group, 120);
  }
  uint64_t lo_start = reinterpret_cast<uint64_t>(husk_stub_start);
  uint64_t lo_end = reinterpret_cast<uint64_t>(husk_stub_end);
  uint64_t hi_start = kept.start, hi_end = kept.end;
  if (hi_start < lo_start) {
    std::swap(lo_start, hi_start);
    std::swap(lo_end, hi_end);
  }
  register uint64_t rdi asm("rdi") = lo_start;
  register uint64_t rsi asm("rsi") = lo_end;
  register uint64_t rdx asm("rdx") = hi_start;
  register uint64_t rcx asm("rcx") = hi_end;
  asm volatile("jmp husk_stub_entry" : : "r"(rdi), "r"(rsi), "r"(rdx), "r"(rcx));
  __builtin_unreachable();
}

class PtraceContext;

class PtraceAddressSpace final : public AddressSpace {
 public:
  PtraceAddressSpace(pid_t pid, const user_regs_struct& stub_regs, const user_fpregs_struct& fp);
  ~PtraceAddressSpace() override;

  Result<void> Map(uint64_t addr, uint64_t len, int prot, uint64_t offset, bool populate) override {
    const int flags = MAP_SHARED | MAP_FIXED | (populate ? MAP_POPULATE : 0);
    TRY(Inject(SYS_mmap, addr, len, prot, flags, kStubMemoryFd, offset));
    return Ok();
  }
  Result<void> Unmap(uint64_t addr, uint64_t len) override {
    TRY(Inject(SYS_munmap, addr, len));
    return Ok();
  }
  Result<void> Protect(uint64_t addr, uint64_t len, int prot) override {
    TRY(Inject(SYS_mprotect, addr, len, prot));
    return Ok();
  }
  Context& MainContext() override;

  // Runs one host syscall in the (stopped) stub from its code page.
  Result<uint64_t> Inject(long nr, uint64_t a1 = 0, uint64_t a2 = 0, uint64_t a3 = 0,
                          uint64_t a4 = 0, uint64_t a5 = 0, uint64_t a6 = 0);

  pid_t pid() const { return pid_; }
  const user_regs_struct& stub_regs() const { return stub_regs_; }
  const user_fpregs_struct& initial_fp() const { return initial_fp_; }
  bool dead() const { return dead_; }
  void set_dead() { dead_ = true; }

 private:
  pid_t pid_;
  user_regs_struct stub_regs_;   // segment selectors and flags of a stub thread
  user_fpregs_struct initial_fp_;
  std::unique_ptr<PtraceContext> main_;
  bool dead_ = false;
};

class PtraceContext final : public Context {
 public:
  explicit PtraceContext(PtraceAddressSpace& as) : as_(as) {}

  Regs InitialRegs() override {
    Regs r;
    const user_regs_struct& s = as_.stub_regs();
    r.gp.cs = s.cs;
    r.gp.ss = s.ss;
    r.gp.ds = s.ds;
    r.gp.es = s.es;
    r.gp.fs = s.fs;
    r.gp.gs = s.gs;
    r.gp.eflags = 0x202;  // IF, and the reserved bit 1
    r.fp = as_.initial_fp();
    return r;
  }

  Event Switch(Regs& regs) override;

  Result<timespec> CpuTime(bool thread_only) override {
    // The stub's host CPU clock (MAKE_PROCESS_CPUCLOCK / MAKE_THREAD_CPUCLOCK
    // with CPUCLOCK_SCHED).
    const clockid_t id = static_cast<clockid_t>((~static_cast<unsigned>(as_.pid()) << 3) |
                                                (thread_only ? 6 : 2));
    timespec ts;
    if (clock_gettime(id, &ts) != 0) return Errno(errno);
    return ts;
  }

 private:
  PtraceAddressSpace& as_;
  bool fp_loaded_ = false;
};

PtraceAddressSpace::PtraceAddressSpace(pid_t pid, const user_regs_struct& stub_regs,
                                       const user_fpregs_struct& fp)
    : pid_(pid), stub_regs_(stub_regs), initial_fp_(fp), main_(new PtraceContext(*this)) {}

PtraceAddressSpace::~PtraceAddressSpace() {
  kill(pid_, SIGKILL);
  int status;
  while (waitpid(pid_, &status, __WALL) < 0 && errno == EINTR) {
  }
}

Context& PtraceAddressSpace::MainContext() { return *main_; }

// Waits for the next stop of `pid` that is not a stray host signal.
// Returns the wait status.
int WaitStop(pid_t pid) {
  int status = 0;
  while (waitpid(pid, &status, __WALL) < 0) {
    if (errno != EINTR) return 0;
  }
  return status;
}

Result<uint64_t> PtraceAddressSpace::Inject(long nr, uint64_t a1, uint64_t a2, uint64_t a3,
                                            uint64_t a4, uint64_t a5, uint64_t a6) {
  if (dead_) return Errno(EFAULT);
  user_regs_struct r = stub_regs_;
  r.rip = reinterpret_cast<uint64_t>(husk_stub_syscall);
  r.rax = nr;
  r.orig_rax = -1;
  r.rdi = a1;
  r.rsi = a2;
  r.rdx = a3;
  r.r10 = a4;
  r.r8 = a5;
  r.r9 = a6;
  if (ptrace(PTRACE_SETREGS, pid_, 0, &r) != 0) return Errno(errno);
  for (;;) {
    if (ptrace(PTRACE_CONT, pid_, 0, 0) != 0) return Errno(errno);
    int status = WaitStop(pid_);
    if (!WIFSTOPPED(status)) {
      dead_ = true;
      return Errno(EFAULT);
    }
    if (WSTOPSIG(status) == SIGTRAP) break;
    {
      siginfo_t si{};
      user_regs_struct fr{};
      ptrace(PTRACE_GETSIGINFO, pid_, 0, &si);
      ptrace(PTRACE_GETREGS, pid_, 0, &fr);
      HUSK_DEBUG("stub {}: signal {} (code {} addr {}) at rip {:#x} while injecting syscall {}({:#x}, {:#x}, {:#x}, {:#x}, {:#x}, {:#x})",
                 pid_, WSTOPSIG(status), si.si_code, si.si_addr, fr.rip, nr, a1, a2, a3, a4, a5, a6);
    }
    if (WSTOPSIG(status) != SIGSTOP && WSTOPSIG(status) != SIGINT && WSTOPSIG(status) != SIGTERM) {
      // The stub faulted running its own code: it is unusable.
      kill(pid_, SIGKILL);
      dead_ = true;
      return Errno(EFAULT);
    }
    // A host signal sent to the stub from outside: drop it and go on.
  }
  if (ptrace(PTRACE_GETREGS, pid_, 0, &r) != 0) return Errno(errno);
  int64_t ret = static_cast<int64_t>(r.rax);
  if (ret < 0 && ret > -4096) return Errno(static_cast<int>(-ret));
  return static_cast<uint64_t>(ret);
}

Event PtraceContext::Switch(Regs& regs) {
  Event ev;
  const pid_t pid = as_.pid();
  if (as_.dead()) {
    ev.kind = Event::Kind::kDied;
    return ev;
  }
  if (!fp_loaded_) {
    ptrace(PTRACE_SETFPREGS, pid, 0, &regs.fp);
    fp_loaded_ = true;
  }
  regs.gp.orig_rax = -1;  // no host syscall-restart logic on our return values
  if (ptrace(PTRACE_SETREGS, pid, 0, &regs.gp) != 0) {
    HUSK_ERROR("PTRACE_SETREGS: {}", ErrnoName(errno));
  }
  for (;;) {
    ptrace(static_cast<__ptrace_request>(PTRACE_SYSEMU), pid, 0, 0);
    int status = WaitStop(pid);
    if (!WIFSTOPPED(status)) {
      as_.set_dead();
      ev.kind = Event::Kind::kDied;
      return ev;
    }
    int sig = WSTOPSIG(status);
    if (sig == (SIGTRAP | 0x80)) {
      ptrace(PTRACE_GETREGS, pid, 0, &regs.gp);
      ev.kind = Event::Kind::kSyscall;
      return ev;
    }
    if (sig == SIGSEGV || sig == SIGBUS || sig == SIGFPE || sig == SIGILL || sig == SIGTRAP) {
      ptrace(PTRACE_GETSIGINFO, pid, 0, &ev.info);
      // Only faults raised by the CPU count; a kill() from outside is a
      // stray host signal (si_code <= 0).
      if (ev.info.si_code > 0) {
        ptrace(PTRACE_GETREGS, pid, 0, &regs.gp);
        ev.kind = Event::Kind::kFault;
        return ev;
      }
    }
    // A stray host signal sent to the stub: suppress it and resume.
  }
}

class PtracePlatform final : public Platform {
 public:
  PtracePlatform(int memory_fd, KeptRange kept) : memory_fd_(memory_fd), kept_(kept) {
    uint64_t page_start = reinterpret_cast<uint64_t>(husk_stub_start);
    uint64_t page_end = reinterpret_cast<uint64_t>(husk_stub_end);
    reserved_.push_back({page_start, page_end});
    reserved_.push_back({kept.start, kept.end});
    filter_ = StubFilter(page_start, page_end);
    fprog_.len = static_cast<unsigned short>(filter_.size());
    fprog_.filter = filter_.data();
  }

  Result<std::unique_ptr<AddressSpace>> NewAddressSpace() override;
  std::span<const ReservedRange> Reserved() const override { return reserved_; }
  uint64_t VdsoBase() const override { return kept_.vdso; }

 private:
  int memory_fd_;
  KeptRange kept_;
  std::vector<ReservedRange> reserved_;
  std::vector<sock_filter> filter_;
  sock_fprog fprog_{};
};

Result<std::unique_ptr<AddressSpace>> PtracePlatform::NewAddressSpace() {
  // A tracer and its tracee that share a CPU hand a syscall back and forth
  // without a cross-CPU wakeup: here a ptrace round trip takes ~17 us on one
  // CPU against ~25 us across two. Bind this (task) thread to the CPU it is
  // on; the stub inherits the binding.
  // PARTIAL(cpu binding): the binding is fixed at creation; rebalancing
  // across CPUs comes with multi-threaded tasks.
  if (int cpu = sched_getcpu(); cpu >= 0) {
    cpu_set_t set;
    CPU_ZERO(&set);
    CPU_SET(cpu, &set);
    sched_setaffinity(0, sizeof(set), &set);
  }
  // Fresh, empty namespaces: even a host syscall that slipped through would
  // find nothing to act on.
  const long flags = CLONE_NEWUSER | CLONE_NEWNS | CLONE_NEWNET | CLONE_NEWIPC | CLONE_NEWPID |
                     CLONE_NEWUTS | SIGCHLD;
  long pid = RawSyscall(SYS_clone, flags, 0, 0, 0, 0);
  if (pid == 0) StubChild(memory_fd_, &fprog_, kept_);
  if (pid < 0) return Errno(static_cast<int>(-pid));
  int status = WaitStop(static_cast<pid_t>(pid));
  if (!WIFSTOPPED(status) || WSTOPSIG(status) != SIGTRAP) {
    HUSK_ERROR("stub {} did not start: status {:#x}", pid, status);
    if (WIFSTOPPED(status)) kill(static_cast<pid_t>(pid), SIGKILL);
    waitpid(static_cast<pid_t>(pid), nullptr, __WALL);
    return Errno(ECHILD);
  }
  if (ptrace(PTRACE_SETOPTIONS, pid, 0, PTRACE_O_TRACESYSGOOD | PTRACE_O_EXITKILL) != 0) {
    int err = errno;
    kill(static_cast<pid_t>(pid), SIGKILL);
    waitpid(static_cast<pid_t>(pid), nullptr, __WALL);
    return Errno(err);
  }
  user_regs_struct regs;
  user_fpregs_struct fp;
  if (LogEnabled(LogLevel::kDebug)) {
    std::ifstream maps("/proc/" + std::to_string(pid) + "/maps");
    std::stringstream ss;
    ss << maps.rdbuf();
    HUSK_DEBUG("stub {} maps:\n{}", pid, ss.str());
  }
  ptrace(PTRACE_GETREGS, pid, 0, &regs);
  ptrace(PTRACE_GETFPREGS, pid, 0, &fp);
  // A fresh FPU as after execve: default control words, empty registers.
  user_fpregs_struct clean{};
  clean.cwd = 0x37f;
  clean.mxcsr = 0x1f80;
  clean.mxcr_mask = fp.mxcr_mask;
  return std::unique_ptr<AddressSpace>(
      new PtraceAddressSpace(static_cast<pid_t>(pid), regs, clean));
}

}  // namespace

Result<std::unique_ptr<Platform>> NewPtracePlatform(int memory_fd) {
  KeptRange kept = TRY(FindVdso());
  uint64_t page_start = reinterpret_cast<uint64_t>(husk_stub_start);
  uint64_t page_end = reinterpret_cast<uint64_t>(husk_stub_end);
  if (kept.start < page_end && page_start < kept.end) {
    HUSK_ERROR("vDSO overlaps the stub page");
    return Errno(EINVAL);
  }
  return std::unique_ptr<Platform>(new PtracePlatform(memory_fd, kept));
}

}  // namespace husk::platform
