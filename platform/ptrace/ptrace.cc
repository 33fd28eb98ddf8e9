// The ptrace platform: each address space is a stub process traced with
// PTRACE_SYSEMU, so every `syscall` the application executes stops the stub
// before the host kernel runs it and comes to the sentry instead.
#include <cpuid.h>
#include <elf.h>
#include <fcntl.h>
#include <linux/audit.h>
#include <linux/filter.h>
#include <linux/seccomp.h>
#include <sched.h>
#include <sys/mman.h>
#include <sys/rseq.h>
#include <sys/socket.h>
#include <sys/prctl.h>
#include <sys/ptrace.h>
#include <sys/syscall.h>
#include <sys/uio.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstddef>
#include <cstring>
#include <absl/synchronization/mutex.h>

#include <fstream>
#include <array>
#include <algorithm>
#include <map>
#include <mutex>
#include <optional>
#include <thread>
#include <sstream>
#include <string>
#include <utility>
#include <vector>

#include "base/log.h"
#include "base/packet.h"
#include "base/scoped_fd.h"
#include "absl/functional/function_ref.h"
#include "base/raw_syscall.h"
#include "platform/platform.h"

extern "C" char husk_stub_start[], husk_stub_scratch[], husk_stub_end[], husk_stub_entry[],
    husk_stub_syscall[], husk_stub_clone[], husk_stub_sigenter[], husk_stub_sigreturn[],
    husk_stub_map_fd[], husk_stub_map_fd_done[];

namespace husk::platform {
namespace {

// The fds of every stub: the memory file, the scratch memfd and the stub's
// end of the donor socket (FileDonor). A donated host fd arrives as the
// lowest free number and is closed once mapped.
constexpr int kStubMemoryFd = 0;
constexpr int kStubScratchFd = 1;
constexpr int kStubSocketFd = 2;
constexpr uint64_t kPageSize = 4096;
constexpr long kRseqFlagUnregister = 1;
constexpr long kRseqSig = 0x53053053;  // glibc's RSEQ_SIG on x86

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
  static_assert(kStubSocketFd >= 0);
  const uint32_t ip_hi = static_cast<uint32_t>(page_start >> 32);
  const uint32_t lo_start = static_cast<uint32_t>(page_start);
  const uint32_t lo_end = static_cast<uint32_t>(page_end - 1);
  const uint32_t allowed[] = {SYS_mmap, SYS_munmap, SYS_mprotect, SYS_clone, SYS_pause,
                              SYS_close, SYS_exit, SYS_exit_group, SYS_clock_gettime};
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
  // recvmsg only on the donor socket.
  f.push_back(BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, SYS_recvmsg, 0, 6));
  f.push_back(BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(seccomp_data, args[0]) + 4));
  f.push_back(BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, 0, 0, 2));
  f.push_back(BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(seccomp_data, args[0])));
  f.push_back(BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, kStubSocketFd, 1, 0));
  f.push_back(BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_KILL_PROCESS));
  f.push_back(BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW));
  f.push_back(BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_KILL_PROCESS));
  return f;
}

// The two ranges a stub keeps, in address order: its own pages from
// husk_stub_start to `stub_end`, and the vDSO/vvar.
struct KeptPair {
  uint64_t lo_start, lo_end, hi_start, hi_end;
};
KeptPair OrderKept(uint64_t stub_end, const KeptRange& kept) {
  const uint64_t stub_start = reinterpret_cast<uint64_t>(husk_stub_start);
  if (kept.start < stub_start) return {kept.start, kept.end, stub_start, stub_end};
  return {stub_start, stub_end, kept.start, kept.end};
}

// The sentry's fds that become a stub's kStubMemoryFd, kStubScratchFd and
// kStubSocketFd.
struct StubFds {
  int memory = -1;
  int scratch = -1;
  int socket = -1;
};

// What the child of clone() does before it becomes a stub. Only raw
// syscalls: see RawSyscall. The sentry attaches to it (PTRACE_SEIZE with
// PTRACE_O_EXITKILL) and then writes a byte to the pipe whose ends are
// `go_read` and `go_write`. Reading that byte first means the child never
// runs untraced past this point: if the sentry dies before attaching, the
// read sees EOF and the child leaves. (PTRACE_TRACEME from the child could
// instead, after a sentry death, make the host's init its tracer, and
// leave it stopped at its first int3 for ever.)
[[noreturn]] void StubChild(const StubFds& fds, int go_read, int go_write, const sock_fprog* filter,
                            const KeptRange& kept) {
  RawSyscall(SYS_prctl, PR_SET_PDEATHSIG, SIGKILL);
  RawSyscall(SYS_close, go_write);
  char go = 0;
  if (RawSyscall(SYS_read, go_read, reinterpret_cast<long>(&go), 1) != 1) RawSyscall(SYS_exit_group, 121);
  // The stub keeps its three fds at their fixed numbers (moved out of the
  // way first, since any of them may sit on a target number). Everything
  // else of the sentry's goes.
  const long memory = RawSyscall(SYS_fcntl, fds.memory, F_DUPFD, 16);
  const long scratch = RawSyscall(SYS_fcntl, fds.scratch, F_DUPFD, 16);
  const long socket = RawSyscall(SYS_fcntl, fds.socket, F_DUPFD, 16);
  RawSyscall(SYS_dup2, memory, kStubMemoryFd);
  RawSyscall(SYS_dup2, scratch, kStubScratchFd);
  RawSyscall(SYS_dup2, socket, kStubSocketFd);
  RawSyscall(SYS_close_range, kStubSocketFd + 1, ~0U, 0);
  // glibc registered an rseq area for the sentry thread that cloned us; the
  // registration survives clone, but the area is about to be unmapped, and
  // the kernel would SIGSEGV the stub on its next preemption.
  if (__rseq_size > 0) {
    long area = reinterpret_cast<long>(static_cast<char*>(__builtin_thread_pointer()) + __rseq_offset);
    if (RawSyscall(SYS_rseq, area, __rseq_size, kRseqFlagUnregister, kRseqSig) != 0) {
      RawSyscall(SYS_rseq, area, 32, kRseqFlagUnregister, kRseqSig);
    }
  }
  // Stubs are children of the zygote (the first stub), which reaps none:
  // ignoring SIGCHLD has the host reap them as they die.
  const uint64_t ignore[4] = {reinterpret_cast<uint64_t>(SIG_IGN), 0, 0, 0};
  RawSyscall(SYS_rt_sigaction, SIGCHLD, reinterpret_cast<long>(ignore), 0, 8);
  RawSyscall(SYS_prctl, PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0);
  if (RawSyscall(SYS_seccomp, SECCOMP_SET_MODE_FILTER, 0, reinterpret_cast<long>(filter)) != 0) {
    RawSyscall(SYS_exit_group, 120);
  }
  const KeptPair k = OrderKept(reinterpret_cast<uint64_t>(husk_stub_end), kept);
  register uint64_t rdi asm("rdi") = k.lo_start;
  register uint64_t rsi asm("rsi") = k.lo_end;
  register uint64_t rdx asm("rdx") = k.hi_start;
  register uint64_t rcx asm("rcx") = k.hi_end;
  asm volatile("jmp husk_stub_entry" : : "r"(rdi), "r"(rsi), "r"(rdx), "r"(rcx));
  __builtin_unreachable();
}

// Waits for the next stop (or death) of traced thread `tid`; returns the
// wait status, 0 if there is nothing to wait for.
int WaitStop(pid_t tid) {
  int status = 0;
  while (waitpid(tid, &status, __WALL) < 0) {
    if (errno != EINTR) return 0;
  }
  return status;
}

// Binds the calling host thread and stub thread `tid` to the CPU the host
// thread is on: a tracer and its tracee that share a CPU hand a syscall back
// and forth without a cross-CPU wakeup (~17 us here against ~25 us across
// two). PARTIAL(cpu binding): fixed at creation, never rebalanced.
void BindToThisCpu(pid_t tid) {
  int cpu = sched_getcpu();
  if (cpu < 0) return;
  cpu_set_t set;
  CPU_ZERO(&set);
  CPU_SET(cpu, &set);
  sched_setaffinity(0, sizeof(set), &set);
  sched_setaffinity(tid, sizeof(set), &set);
}

// Runs stopped, traced stub thread `tid` from registers `r` (rip at a stub
// entry) to the int3 that ends the entry's code; returns the registers
// there. A clone in that code sets `*cloned_out` to the child's host tid.
// `*died`: the stub is gone or unusable.
Result<user_regs_struct> RunStubCode(pid_t tid, user_regs_struct r, bool* died, pid_t* cloned_out) {
  const long nr = static_cast<long>(r.rax);
  if (ptrace(PTRACE_SETREGS, tid, 0, &r) != 0) return Errno(errno);
  pid_t cloned = 0;
  for (;;) {
    if (ptrace(PTRACE_CONT, tid, 0, 0) != 0) return Errno(errno);
    int status = WaitStop(tid);
    if (!WIFSTOPPED(status)) {
      *died = true;
      return Errno(EFAULT);
    }
    const int event = status >> 16;
    if (event == PTRACE_EVENT_CLONE || event == PTRACE_EVENT_FORK || event == PTRACE_EVENT_VFORK) {
      unsigned long msg = 0;
      ptrace(PTRACE_GETEVENTMSG, tid, 0, &msg);
      cloned = static_cast<pid_t>(msg);
      // The child came out traced by us; let it go (it spins) for the
      // thread that will run it to seize.
      int cs = WaitStop(cloned);
      if (WIFSTOPPED(cs)) ptrace(PTRACE_DETACH, cloned, 0, 0);
      continue;
    }
    if (WSTOPSIG(status) == SIGTRAP && event == 0) break;
    if (event != 0 || WSTOPSIG(status) == SIGSTOP || WSTOPSIG(status) == SIGURG ||
        WSTOPSIG(status) == SIGINT || WSTOPSIG(status) == SIGTERM) {
      // An interrupt or a host signal sent from outside: drop it and go on.
      continue;
    }
    HUSK_DEBUG("stub {}: signal {} while injecting syscall {}", tid, WSTOPSIG(status), nr);
    // The stub faulted running its own code: it is unusable.
    syscall(SYS_tgkill, tid, tid, SIGKILL);
    *died = true;
    return Errno(EFAULT);
  }
  if (ptrace(PTRACE_GETREGS, tid, 0, &r) != 0) return Errno(errno);
  *cloned_out = cloned;
  return r;
}

// Runs one host syscall in stopped, traced stub thread `tid` from the stub
// page: `entry` is husk_stub_syscall, or husk_stub_clone for a clone whose
// child must come out untraced and spinning. For clone the result is the
// child's host tid (the stub's own result is its pid in the stubs' pid
// namespace), learnt from the PTRACE_EVENT_CLONE/FORK stop.
Result<uint64_t> InjectSyscall(pid_t tid, const user_regs_struct& base, const char* entry, long nr,
                               std::array<uint64_t, 6> args, bool* died) {
  user_regs_struct r = base;
  r.rip = reinterpret_cast<uint64_t>(entry);
  r.rax = nr;
  r.orig_rax = -1;
  r.rdi = args[0];
  r.rsi = args[1];
  r.rdx = args[2];
  r.r10 = args[3];
  r.r8 = args[4];
  r.r9 = args[5];
  pid_t cloned = 0;
  r = TRY(RunStubCode(tid, r, died, &cloned));
  int64_t ret = static_cast<int64_t>(r.rax);
  if (ret < 0 && ret > -4096) return Errno(static_cast<int>(-ret));
  if (entry == husk_stub_clone) {
    if (cloned <= 0) return Errno(EAGAIN);
    return static_cast<uint64_t>(cloned);
  }
  return static_cast<uint64_t>(ret);
}

// The host's XSAVE layout, learnt once from the first stub thread adopted
// (ProbeXstate); every thread of every stub shares it.
XstateLayout& HostXstate() {
  static XstateLayout layout;
  return layout;
}

// Fills HostXstate from stopped, traced thread `tid`: the area's size is
// what PTRACE_GETREGSET returns of NT_X86_XSTATE, the enabled components
// are the XCR0 the kernel stores in the area's software bytes (464..471,
// for debuggers and core files), their places come from CPUID leaf 0xD.
void ProbeXstate(pid_t tid, uint32_t mxcsr_mask) {
  XstateLayout& l = HostXstate();
  if (mxcsr_mask != 0) l.mxcsr_mask = mxcsr_mask;
  std::vector<uint8_t> area(64 * 1024);  // more than any CPU's XSAVE area
  iovec iov{area.data(), area.size()};
  if (ptrace(PTRACE_GETREGSET, tid, NT_X86_XSTATE, &iov) != 0) return;  // no XSAVE
  constexpr uint32_t kLegacyAndHeader = 576;
  if (iov.iov_len < kLegacyAndHeader) return;
  uint64_t xcr0 = 0;
  memcpy(&xcr0, area.data() + 464, sizeof(xcr0));
  if (xcr0 == 0) {
    uint32_t lo, hi;
    asm volatile("xgetbv" : "=a"(lo), "=d"(hi) : "c"(0));
    xcr0 = (uint64_t{hi} << 32) | lo;
  }
  l.features = xcr0;
  // XFEATURE_MASK_USER_DYNAMIC: AMX tile data is in a task's state only
  // once it asks (arch_prctl ARCH_REQ_XCOMP_PERM), never in default frames.
  constexpr uint64_t kXtileData = uint64_t{1} << 18;
  l.frame_features = xcr0 & ~kXtileData;
  l.frame_size = kLegacyAndHeader;
  for (int i = 2; i < 63; i++) {
    if (!(xcr0 & (uint64_t{1} << i))) continue;
    uint32_t size, offset, ecx, edx;
    __cpuid_count(0xd, i, size, offset, ecx, edx);
    if (offset + size > iov.iov_len) continue;
    l.offset[i] = offset;
    l.component_size[i] = size;
    if (l.frame_features & (uint64_t{1} << i)) l.frame_size = std::max(l.frame_size, offset + size);
  }
  l.size = static_cast<uint32_t>(iov.iov_len);
}

// ptrace options of every stub thread: syscall stops marked, death with
// its tracer, and clone events to learn injected children's host tids.
constexpr long kStubOptions = PTRACE_O_TRACESYSGOOD | PTRACE_O_EXITKILL | PTRACE_O_TRACECLONE |
                              PTRACE_O_TRACEFORK | PTRACE_O_TRACEVFORK;

class PtraceAddressSpace;

// One stub thread, traced by the host thread that adopted it.
class PtraceThread final : public Context {
 public:
  PtraceThread(std::shared_ptr<PtraceAddressSpace> as, pid_t tid) : as_(std::move(as)), tid_(tid) {}
  ~PtraceThread() override;

  Result<void> Adopt() override;
  Event Switch(Regs& regs) override;
  void Interrupt() override;
  Regs InitialRegs() override;
  Result<timespec> CpuTime(bool thread_only) override;
  Result<void> GetFp(user_fpregs_struct& fp) override {
    if (!fp_loaded_) return Errno(EINVAL);
    if (ptrace(PTRACE_GETFPREGS, tid_, 0, &fp) != 0) return Errno(errno);
    return Ok();
  }
  Result<void> SetFp(const user_fpregs_struct& fp) override {
    if (ptrace(PTRACE_SETFPREGS, tid_, 0, &fp) != 0) return Errno(errno);
    fp_loaded_ = true;
    return Ok();
  }
  const XstateLayout& Xstate() override { return HostXstate(); }
  SignalTrampolines Trampolines() override {
    if (HostXstate().size == 0) return {};
    return {reinterpret_cast<uint64_t>(husk_stub_sigenter), reinterpret_cast<uint64_t>(husk_stub_sigreturn)};
  }
  Result<void> GetXstate(std::span<uint8_t> area) override {
    if (area.size() != HostXstate().size || area.empty()) return Errno(EINVAL);
    iovec iov{area.data(), area.size()};
    if (ptrace(PTRACE_GETREGSET, tid_, NT_X86_XSTATE, &iov) != 0) return Errno(errno);
    if (iov.iov_len != area.size()) return Errno(EIO);
    return Ok();
  }
  Result<void> SetXstate(std::span<const uint8_t> area) override {
    if (area.size() != HostXstate().size || area.empty()) return Errno(EINVAL);
    iovec iov{const_cast<uint8_t*>(area.data()), area.size()};
    if (ptrace(PTRACE_SETREGSET, tid_, NT_X86_XSTATE, &iov) != 0) return Errno(errno);
    fp_loaded_ = true;
    return Ok();
  }

  // Runs one host syscall in the (stopped) stub thread from its code page,
  // starting at `entry` (husk_stub_syscall or husk_stub_clone).
  Result<uint64_t> Inject(const char* entry, long nr, uint64_t a1 = 0, uint64_t a2 = 0,
                          uint64_t a3 = 0, uint64_t a4 = 0, uint64_t a5 = 0, uint64_t a6 = 0);
  // Runs stub code from `set` applied to the thread's resting registers;
  // returns the registers at the code's int3.
  Result<user_regs_struct> RunStub(absl::FunctionRef<void(user_regs_struct&)> set);

  pid_t tid() const { return tid_; }
  bool dead() const { return dead_; }

 private:
  std::shared_ptr<PtraceAddressSpace> as_;
  const pid_t tid_;
  pid_t tracer_ = 0;  // host tid of the adopting thread
  user_regs_struct stub_regs_{};  // segment selectors and flags of a stub thread
  user_fpregs_struct initial_fp_{};
  bool fp_loaded_ = false;
  bool dead_ = false;
};

// Hands host fds to stubs for MapFile, one at a time. The sentry sends the
// fd over a datagram socket whose other end every stub holds
// (kStubSocketFd); the stub takes it with recvmsg, whose header lives in the
// stub's scratch page. That page is the stub's own page ("slot") of a memfd
// the sentry maps too, so a stub's application threads can disturb only
// their own process's transfers. The stub receives, maps and closes the fd
// in one run of its code (husk_stub_map_fd).
class FileDonor {
 public:
  static Result<std::shared_ptr<FileDonor>> Create() {
    auto d = std::shared_ptr<FileDonor>(new FileDonor);
    d->scratch_ = ScopedFd(static_cast<int>(syscall(SYS_memfd_create, "husk-scratch", MFD_CLOEXEC)));
    if (!d->scratch_.valid()) return Errno(errno);
    if (ftruncate(d->scratch_.get(), kMaxSlots * kPageSize) != 0) return Errno(errno);
    void* view = mmap(nullptr, kMaxSlots * kPageSize, PROT_READ | PROT_WRITE,
                      MAP_SHARED | MAP_NORESERVE, d->scratch_.get(), 0);
    if (view == MAP_FAILED) return Errno(errno);
    d->view_ = static_cast<uint8_t*>(view);
    int pair[2];
    if (socketpair(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0, pair) != 0) return Errno(errno);
    d->sentry_end_ = ScopedFd(pair[0]);
    d->stub_end_ = ScopedFd(pair[1]);
    return d;
  }
  ~FileDonor() {
    if (view_ != nullptr) munmap(view_, kMaxSlots * kPageSize);
  }

  // What a new zygote inherits.
  int scratch_fd() const { return scratch_.get(); }
  int stub_socket() const { return stub_end_.get(); }

  Result<uint32_t> AllocateSlot() {
    absl::MutexLock lock(&mu_);
    if (!free_.empty()) {
      uint32_t slot = free_.back();
      free_.pop_back();
      return slot;
    }
    if (next_ == kMaxSlots) return Errno(ENOMEM);
    return next_++;
  }
  void FreeSlot(uint32_t slot) {
    absl::MutexLock lock(&mu_);
    free_.push_back(slot);
  }
  // The sentry's view of scratch page `slot`.
  const uint8_t* SlotView(uint32_t slot) const { return view_ + slot * kPageSize; }

  // Maps the scratch page of stub thread `t`'s process to `slot`.
  static Result<void> MapScratch(PtraceThread& t, uint32_t slot) {
    TRY(t.Inject(husk_stub_syscall, SYS_mmap, reinterpret_cast<uint64_t>(husk_stub_scratch),
                 kPageSize, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_FIXED, kStubScratchFd,
                 slot * kPageSize));
    return Ok();
  }

  // mmap(addr, len, prot, MAP_PRIVATE | MAP_FIXED, fd, offset) in `t`'s
  // process, whose scratch page maps `slot`.
  Result<void> Map(PtraceThread& t, uint32_t slot, uint64_t addr, uint64_t len, int prot, int fd,
                   uint64_t offset) {
    absl::MutexLock lock(&mu_);
    // The scratch page: the header, its iovec, one byte of data and room
    // for one fd, laid out at fixed offsets.
    constexpr uint64_t kIov = 64, kData = 128, kControl = 192;
    uint8_t* page = view_ + slot * kPageSize;
    const uint64_t stub = reinterpret_cast<uint64_t>(husk_stub_scratch);
    iovec iov{reinterpret_cast<void*>(stub + kData), 1};
    memcpy(page + kIov, &iov, sizeof(iov));
    msghdr header{};
    header.msg_iov = reinterpret_cast<iovec*>(stub + kIov);
    header.msg_iovlen = 1;
    header.msg_control = reinterpret_cast<void*>(stub + kControl);
    header.msg_controllen = CMSG_SPACE(sizeof(int));
    memcpy(page, &header, sizeof(header));
    memset(page + kControl, 0, CMSG_SPACE(sizeof(int)));
    // The fd's number lands here; without an fd, -1 makes mmap fail.
    constexpr uint64_t kReceived = kControl + CMSG_LEN(0);
    const int none = -1;
    memcpy(page + kReceived, &none, sizeof(none));

    char byte = 0;
    const iovec out{&byte, 1};
    TRY(SendPacket(sentry_end_.get(), std::span(&out, 1), fd, MSG_DONTWAIT));

    // recvmsg, mmap and close in one run of the stub (husk_stub_map_fd).
    auto r = t.RunStub([&](user_regs_struct& regs) {
      regs.rip = reinterpret_cast<uint64_t>(husk_stub_map_fd);
      regs.rdi = kStubSocketFd;
      regs.rsi = stub;
      regs.rdx = 0;
      regs.r8 = stub + kReceived;
      regs.r12 = addr;
      regs.r13 = len;
      regs.r14 = static_cast<uint64_t>(prot);
      regs.r15 = MAP_PRIVATE | MAP_FIXED;
      regs.rbp = offset;
    });
    if (!r) {
      Drain();
      return r.error();
    }
    const int64_t ret = static_cast<int64_t>(r->rax);
    if (r->rip != reinterpret_cast<uint64_t>(husk_stub_map_fd_done)) {
      // Nothing (or not the whole message) was received: whatever is still
      // queued must not reach the next transfer.
      Drain();
      return ret < 0 && ret > -4096 ? Errno(static_cast<int>(-ret)) : Errno(EIO);
    }
    if (ret < 0 && ret > -4096) return Errno(static_cast<int>(-ret));
    return Ok();
  }

 private:
  static constexpr uint64_t kMaxSlots = 16384;  // 64 MiB of address space, touched page by page

  FileDonor() = default;

  // Throws away every queued message and the fds it carries.
  void Drain() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
    std::byte byte;
    while (ReceivePacket(stub_end_.get(), std::span(&byte, 1), MSG_DONTWAIT)) {
    }
  }

  ScopedFd scratch_;
  uint8_t* view_ = nullptr;
  ScopedFd sentry_end_;
  ScopedFd stub_end_;  // the stubs' end; the sentry keeps it to drain
  absl::Mutex mu_;
  std::vector<uint32_t> free_ ABSL_GUARDED_BY(mu_);
  uint32_t next_ ABSL_GUARDED_BY(mu_) = 0;
};

// A stub process. Shared by its PtraceThreads (which keep it alive) and the
// AddressSpace handle the memory manager owns.
class PtraceAddressSpace : public std::enable_shared_from_this<PtraceAddressSpace> {
 public:
  PtraceAddressSpace(pid_t pid, const KeptRange& kept, std::shared_ptr<FileDonor> donor,
                     bool needs_reset)
      : pid_(pid), kept_(kept), donor_(std::move(donor)), needs_reset_(needs_reset) {}
  ~PtraceAddressSpace() {
    // Threads exit one by one; whatever is left (a thread never adopted)
    // goes now. The zygote reaps the process. A killed process never runs
    // again, so its scratch slot is free for the next one.
    kill(pid_, SIGKILL);
    if (slot_) donor_->FreeSlot(*slot_);
  }

  pid_t pid() const { return pid_; }
  const KeptRange& kept() const { return kept_; }
  const std::shared_ptr<FileDonor>& donor() const { return donor_; }

  Result<void> MapFile(PtraceThread& via, uint64_t addr, uint64_t len, int prot, int fd,
                       uint64_t offset) {
    absl::MutexLock lock(&scratch_mu_);
    TRY(MapScratchLocked(via));
    return donor_->Map(via, *slot_, addr, len, prot, fd, offset);
  }

  // CPU time of stub thread `via` (stopped, traced by the caller): the
  // host lets only the thread's own process read a thread's CPU clock, so
  // the stub runs clock_gettime(CLOCK_THREAD_CPUTIME_ID) into its scratch
  // page, past the fd donor's message area.
  Result<timespec> ThreadCpuTime(PtraceThread& via) {
    constexpr uint64_t kCpuTimeOffset = 2048;
    absl::MutexLock lock(&scratch_mu_);
    TRY(MapScratchLocked(via));
    TRY(via.Inject(husk_stub_syscall, SYS_clock_gettime, CLOCK_THREAD_CPUTIME_ID,
                   reinterpret_cast<uint64_t>(husk_stub_scratch) + kCpuTimeOffset));
    timespec ts;
    memcpy(&ts, donor_->SlotView(*slot_) + kCpuTimeOffset, sizeof(ts));
    return ts;
  }

  void Register(pid_t host_tid, PtraceThread* t) {
    absl::MutexLock lock(&mu_);
    threads_[host_tid] = t;
  }
  void Unregister(pid_t host_tid, PtraceThread* t) {
    absl::MutexLock lock(&mu_);
    auto it = threads_.find(host_tid);
    if (it != threads_.end() && it->second == t) threads_.erase(it);
  }
  // The calling host thread's stub thread in this process.
  Result<PtraceThread*> Mine() {
    absl::MutexLock lock(&mu_);
    auto it = threads_.find(static_cast<pid_t>(gettid()));
    if (it == threads_.end() || it->second->dead()) return Errno(EFAULT);
    return it->second;
  }
  // Once, on the first adoption of a forked process: drop the parent's
  // mappings that the host fork copied.
  bool TakeNeedsReset() {
    absl::MutexLock lock(&mu_);
    return std::exchange(needs_reset_, false);
  }

  // Unmaps everything but the stub's code page and the vDSO, the scratch
  // page too: a forked stub's still maps its parent's slot.
  Result<void> Reset(PtraceThread& via) {
    absl::MutexLock lock(&scratch_mu_);
    scratch_mapped_ = false;
    const KeptPair k = OrderKept(reinterpret_cast<uint64_t>(husk_stub_scratch), kept_);
    TRY(via.Inject(husk_stub_syscall, SYS_munmap, 0, k.lo_start));
    TRY(via.Inject(husk_stub_syscall, SYS_munmap, k.lo_end, k.hi_start - k.lo_end));
    TRY(via.Inject(husk_stub_syscall, SYS_munmap, k.hi_end, kTaskSizeMax - k.hi_end));
    return Ok();
  }

  static constexpr uint64_t kTaskSizeMax = 0x7ffffffff000;

 private:
  // Maps this process's scratch page (its slot of the donor's memfd) if it
  // is not yet.
  Result<void> MapScratchLocked(PtraceThread& via) ABSL_EXCLUSIVE_LOCKS_REQUIRED(scratch_mu_) {
    if (scratch_mapped_) return Ok();
    if (!slot_) slot_ = TRY(donor_->AllocateSlot());
    TRY(FileDonor::MapScratch(via, *slot_));
    scratch_mapped_ = true;
    return Ok();
  }

  const pid_t pid_;
  const KeptRange kept_;
  const std::shared_ptr<FileDonor> donor_;
  absl::Mutex mu_;
  std::map<pid_t, PtraceThread*> threads_ ABSL_GUARDED_BY(mu_);
  bool needs_reset_ ABSL_GUARDED_BY(mu_);
  // Serializes MapFile and Reset: whether the scratch page maps this
  // process's slot.
  absl::Mutex scratch_mu_;
  std::optional<uint32_t> slot_ ABSL_GUARDED_BY(scratch_mu_);
  bool scratch_mapped_ ABSL_GUARDED_BY(scratch_mu_) = false;
};

// The AddressSpace the memory manager holds.
class PtraceAddressSpaceHandle final : public AddressSpace {
 public:
  explicit PtraceAddressSpaceHandle(std::shared_ptr<PtraceAddressSpace> as)
      : as_(std::move(as)), first_(std::make_unique<PtraceThread>(as_, as_->pid())) {}

  Result<void> Map(uint64_t addr, uint64_t len, int prot, uint64_t offset, bool populate) override {
    const int flags = MAP_SHARED | MAP_FIXED | (populate ? MAP_POPULATE : 0);
    PtraceThread* t = TRY(as_->Mine());
    TRY(t->Inject(husk_stub_syscall, SYS_mmap, addr, len, prot, flags, kStubMemoryFd, offset));
    return Ok();
  }
  Result<void> MapFile(uint64_t addr, uint64_t len, int prot, int fd, uint64_t offset) override {
    PtraceThread* t = TRY(as_->Mine());
    return as_->MapFile(*t, addr, len, prot, fd, offset);
  }
  Result<void> Unmap(uint64_t addr, uint64_t len) override {
    PtraceThread* t = TRY(as_->Mine());
    TRY(t->Inject(husk_stub_syscall, SYS_munmap, addr, len));
    return Ok();
  }
  Result<void> Protect(uint64_t addr, uint64_t len, int prot) override {
    PtraceThread* t = TRY(as_->Mine());
    TRY(t->Inject(husk_stub_syscall, SYS_mprotect, addr, len, prot));
    return Ok();
  }
  Result<void> Reset() override { return as_->Reset(*TRY(as_->Mine())); }

  Result<std::unique_ptr<AddressSpace>> Fork() override {
    PtraceThread* t = TRY(as_->Mine());
    // CLONE_PARENT: the new stub is the zygote's child too, reaped by it.
    const long pid = static_cast<long>(
        TRY(t->Inject(husk_stub_clone, SYS_clone, CLONE_PARENT | SIGCHLD, 0, 0, 0, 0)));
    auto child = std::make_shared<PtraceAddressSpace>(static_cast<pid_t>(pid), as_->kept(),
                                                      as_->donor(), /*needs_reset=*/true);
    return std::unique_ptr<AddressSpace>(new PtraceAddressSpaceHandle(std::move(child)));
  }

  Result<std::unique_ptr<Context>> NewThread() override {
    PtraceThread* t = TRY(as_->Mine());
    constexpr long kFlags = CLONE_VM | CLONE_FS | CLONE_FILES | CLONE_SIGHAND | CLONE_THREAD |
                            CLONE_SYSVSEM;
    const long tid = static_cast<long>(TRY(t->Inject(husk_stub_clone, SYS_clone, kFlags, 0, 0, 0, 0)));
    return std::unique_ptr<Context>(new PtraceThread(as_, static_cast<pid_t>(tid)));
  }

  std::unique_ptr<Context> TakeFirstThread() override { return std::move(first_); }

 private:
  std::shared_ptr<PtraceAddressSpace> as_;
  std::unique_ptr<PtraceThread> first_;
};

PtraceThread::~PtraceThread() {
  if (tracer_ != 0) as_->Unregister(tracer_, this);
  if (tracer_ == 0) {
    // Never adopted: it spins untraced.
    syscall(SYS_tgkill, as_->pid(), tid_, SIGKILL);
    return;
  }
  if (dead_) return;
  // Let the thread go, pointed at exit(0): it leaves by itself, and the
  // last one takes its process with it (the zygote reaps it). Detaching
  // rather than waiting matters for a thread-group leader, whose death is
  // not reported while other threads live.
  user_regs_struct r = stub_regs_;
  r.rip = reinterpret_cast<uint64_t>(husk_stub_syscall);
  r.rax = SYS_exit;
  r.rdi = 0;
  r.orig_rax = -1;
  ptrace(PTRACE_SETOPTIONS, tid_, 0, PTRACE_O_TRACESYSGOOD);
  ptrace(PTRACE_SETREGS, tid_, 0, &r);
  ptrace(PTRACE_DETACH, tid_, 0, 0);
}

Result<void> PtraceThread::Adopt() {
  if (ptrace(PTRACE_SEIZE, tid_, 0, kStubOptions) != 0) {
    return Errno(errno);
  }
  tracer_ = static_cast<pid_t>(gettid());
  if (ptrace(PTRACE_INTERRUPT, tid_, 0, 0) != 0) return Errno(errno);
  for (;;) {
    int status = WaitStop(tid_);
    if (!WIFSTOPPED(status)) {
      dead_ = true;
      return Errno(ECHILD);
    }
    if ((status >> 16) == PTRACE_EVENT_STOP) break;
    // A signal on its way in: drop it and wait for the interrupt's stop.
    ptrace(PTRACE_CONT, tid_, 0, 0);
  }
  BindToThisCpu(tid_);
  ptrace(PTRACE_GETREGS, tid_, 0, &stub_regs_);
  user_fpregs_struct fp;
  ptrace(PTRACE_GETFPREGS, tid_, 0, &fp);
  // A fresh FPU as after execve: default control words, empty registers.
  initial_fp_ = user_fpregs_struct{};
  initial_fp_.cwd = 0x37f;
  initial_fp_.mxcsr = 0x1f80;
  initial_fp_.mxcr_mask = fp.mxcr_mask;
  static std::once_flag xstate_probed;
  std::call_once(xstate_probed, [&] { ProbeXstate(tid_, fp.mxcr_mask); });
  as_->Register(tracer_, this);
  if (as_->TakeNeedsReset()) TRY(as_->Reset(*this));
  return Ok();
}

Regs PtraceThread::InitialRegs() {
  Regs r;
  r.gp.cs = stub_regs_.cs;
  r.gp.ss = stub_regs_.ss;
  r.gp.ds = stub_regs_.ds;
  r.gp.es = stub_regs_.es;
  r.gp.fs = stub_regs_.fs;
  r.gp.gs = stub_regs_.gs;
  r.gp.eflags = 0x202;  // IF, and the reserved bit 1
  r.fp = initial_fp_;
  return r;
}

Result<timespec> PtraceThread::CpuTime(bool thread_only) {
  if (thread_only) {
    if (tracer_ == 0 || gettid() != tracer_) return Errno(EINVAL);
    return as_->ThreadCpuTime(*this);
  }
  // The stub process's host CPU clock, MAKE_PROCESS_CPUCLOCK(pid,
  // CPUCLOCK_SCHED): readable by any process, unlike a thread's.
  const clockid_t id = static_cast<clockid_t>((~static_cast<unsigned>(as_->pid()) << 3) | 2);
  timespec ts;
  if (clock_gettime(id, &ts) != 0) return Errno(errno);
  return ts;
}

void PtraceThread::Interrupt() {
  // Any signal stops a traced thread before delivery; Switch drops it.
  // SIGURG: ignored by default, so harmless to a thread on its way out.
  syscall(SYS_tgkill, as_->pid(), tid_, SIGURG);
}

Result<uint64_t> PtraceThread::Inject(const char* entry, long nr, uint64_t a1, uint64_t a2,
                                      uint64_t a3, uint64_t a4, uint64_t a5, uint64_t a6) {
  if (dead_) return Errno(EFAULT);
  bool died = false;
  auto r = InjectSyscall(tid_, stub_regs_, entry, nr, {a1, a2, a3, a4, a5, a6}, &died);
  if (died) dead_ = true;
  return r;
}

Result<user_regs_struct> PtraceThread::RunStub(absl::FunctionRef<void(user_regs_struct&)> set) {
  if (dead_) return Errno(EFAULT);
  user_regs_struct r = stub_regs_;
  r.orig_rax = -1;
  set(r);
  bool died = false;
  pid_t cloned = 0;
  auto out = RunStubCode(tid_, r, &died, &cloned);
  if (died) dead_ = true;
  return out;
}

Event PtraceThread::Switch(Regs& regs) {
  Event ev;
  if (dead_) {
    ev.kind = Event::Kind::kDied;
    return ev;
  }
  if (!fp_loaded_) {
    ptrace(PTRACE_SETFPREGS, tid_, 0, &regs.fp);
    fp_loaded_ = true;
  }
  regs.gp.orig_rax = -1;  // no host syscall-restart logic on our return values
  if (ptrace(PTRACE_SETREGS, tid_, 0, &regs.gp) != 0) {
    HUSK_ERROR("PTRACE_SETREGS: {}", ErrnoName(errno));
  }
  ptrace(static_cast<__ptrace_request>(PTRACE_SYSEMU), tid_, 0, 0);
  int status = WaitStop(tid_);
  if (!WIFSTOPPED(status)) {
    dead_ = true;
    ev.kind = Event::Kind::kDied;
    return ev;
  }
  int sig = WSTOPSIG(status);
  if (sig == (SIGTRAP | 0x80)) {
    ptrace(PTRACE_GETREGS, tid_, 0, &regs.gp);
    ev.kind = Event::Kind::kSyscall;
    return ev;
  }
  if ((status >> 16) == 0 &&
      (sig == SIGSEGV || sig == SIGBUS || sig == SIGFPE || sig == SIGILL || sig == SIGTRAP)) {
    ptrace(PTRACE_GETSIGINFO, tid_, 0, &ev.info);
    // Only faults raised by the CPU count; a kill() from outside is a
    // stray host signal (si_code <= 0).
    if (ev.info.si_code > 0) {
      ptrace(PTRACE_GETREGS, tid_, 0, &regs.gp);
      ev.kind = Event::Kind::kFault;
      return ev;
    }
  }
  // An interrupt (ours or a stray host signal): suppressed, since the next
  // resume passes no signal. The registers are unchanged.
  ptrace(PTRACE_GETREGS, tid_, 0, &regs.gp);
  ev.kind = Event::Kind::kInterrupt;
  return ev;
}

// The zygote: the first stub, created with the sandbox's namespaces and
// never running application code. Every address space's stub is its child
// (forks use CLONE_PARENT), so it reaps them all, and as init of their pid
// namespace it takes them all down when it dies, which it does when its
// tracer (this thread) does (PTRACE_O_EXITKILL).
class Zygote {
 public:
  Zygote(StubFds fds, const sock_fprog* filter, KeptRange kept)
      : fds_(fds), filter_(filter), kept_(kept), thread_([this] { Serve(); }) {}
  ~Zygote() {
    {
      absl::MutexLock lock(&mu_);
      stopping_ = true;
    }
    thread_.join();
  }

  // A new stub process, untraced and spinning, for some thread to adopt.
  // The zygote makes one in advance for the first address space. It makes
  // the next one only when asked: most sandboxes (a program that never
  // execs a child) would never use it, and the clone would compete with
  // the program for the CPU. From the second request on, it keeps one
  // spare, so each exec after a vfork need not wait for a clone.
  Result<pid_t> Clone() {
    absl::MutexLock lock(&mu_);
    ++waiting_;
    mu_.Await(absl::Condition(
        +[](Zygote* z) { return z->failed_ || !z->spawned_.empty(); }, this));
    --waiting_;
    if (spawned_.empty()) return Errno(error_);
    pid_t pid = spawned_.front();
    spawned_.erase(spawned_.begin());
    ++taken_;
    return pid;
  }

 private:
  void Serve();
  Result<pid_t> Create();

  const StubFds fds_;
  const sock_fprog* filter_;
  const KeptRange kept_;
  absl::Mutex mu_;
  static constexpr size_t kSpares = 1;
  std::vector<pid_t> spawned_ ABSL_GUARDED_BY(mu_);
  int waiting_ ABSL_GUARDED_BY(mu_) = 0;  // Clone calls waiting for a stub
  int taken_ ABSL_GUARDED_BY(mu_) = 0;    // stubs handed out
  bool stopping_ ABSL_GUARDED_BY(mu_) = false;
  bool failed_ ABSL_GUARDED_BY(mu_) = false;
  int error_ ABSL_GUARDED_BY(mu_) = 0;
  std::thread thread_;
};

Result<pid_t> Zygote::Create() {
  // Fresh, empty namespaces: even a host syscall that slipped through would
  // find nothing to act on.
  const long flags = CLONE_NEWUSER | CLONE_NEWNS | CLONE_NEWNET | CLONE_NEWIPC | CLONE_NEWPID |
                     CLONE_NEWUTS | SIGCHLD;
  int go[2];
  if (pipe2(go, O_CLOEXEC) != 0) return Errno(errno);
  const ScopedFd go_read(go[0]), go_write(go[1]);
  long pid = RawSyscall(SYS_clone, flags, 0, 0, 0, 0);
  if (pid == 0) StubChild(fds_, go[0], go[1], filter_, kept_);
  if (pid < 0) return Errno(static_cast<int>(-pid));
  const char byte = 1;
  int status = 0;
  if (ptrace(PTRACE_SEIZE, pid, 0, kStubOptions) == 0 && write(go_write.get(), &byte, 1) == 1) {
    status = WaitStop(static_cast<pid_t>(pid));
  }
  if (!WIFSTOPPED(status) || WSTOPSIG(status) != SIGTRAP) {
    HUSK_ERROR("zygote {} did not start: status {:#x}", pid, status);
    kill(static_cast<pid_t>(pid), SIGKILL);
    waitpid(static_cast<pid_t>(pid), nullptr, __WALL);
    return Errno(ECHILD);
  }
  return static_cast<pid_t>(pid);
}

void Zygote::Serve() {
  auto zygote = Create();
  user_regs_struct base{};
  if (zygote) ptrace(PTRACE_GETREGS, *zygote, 0, &base);
  for (;;) {
    {
      absl::MutexLock lock(&mu_);
      if (!zygote) {
        failed_ = true;
        error_ = zygote.error().value();
        break;
      }
      mu_.Await(absl::Condition(
          +[](Zygote* z) {
            return z->stopping_ || static_cast<size_t>(z->waiting_) > z->spawned_.size() ||
                   (z->spawned_.size() < kSpares && z->taken_ != 1);
          },
          this));
      if (stopping_) break;
    }
    bool died = false;
    auto pid = InjectSyscall(*zygote, base, husk_stub_clone, SYS_clone, {SIGCHLD, 0, 0, 0, 0, 0}, &died);
    absl::MutexLock lock(&mu_);
    if (!pid) {
      failed_ = true;
      error_ = pid.error().value();
      break;
    }
    spawned_.push_back(static_cast<pid_t>(*pid));
  }
  // Leaving kills the zygote (PTRACE_O_EXITKILL) and with it every stub.
  if (zygote) {
    kill(*zygote, SIGKILL);
    waitpid(*zygote, nullptr, __WALL);
  }
}

class PtracePlatform final : public Platform {
 public:
  PtracePlatform(int memory_fd, KeptRange kept, std::shared_ptr<FileDonor> donor)
      : kept_(kept), donor_(std::move(donor)) {
    reserved_.push_back({reinterpret_cast<uint64_t>(husk_stub_start),
                         reinterpret_cast<uint64_t>(husk_stub_end)});
    reserved_.push_back({kept.start, kept.end});
    // Only the code page may make syscalls, not the scratch page.
    filter_ = StubFilter(reinterpret_cast<uint64_t>(husk_stub_start),
                         reinterpret_cast<uint64_t>(husk_stub_scratch));
    fprog_.len = static_cast<unsigned short>(filter_.size());
    fprog_.filter = filter_.data();
    zygote_ = std::make_unique<Zygote>(
        StubFds{memory_fd, donor_->scratch_fd(), donor_->stub_socket()}, &fprog_, kept_);
  }

  Result<std::unique_ptr<AddressSpace>> NewAddressSpace() override {
    pid_t pid = TRY(zygote_->Clone());
    auto as = std::make_shared<PtraceAddressSpace>(pid, kept_, donor_, /*needs_reset=*/false);
    return std::unique_ptr<AddressSpace>(new PtraceAddressSpaceHandle(std::move(as)));
  }
  std::span<const ReservedRange> Reserved() const override { return reserved_; }
  uint64_t VdsoBase() const override { return kept_.vdso; }

 private:
  KeptRange kept_;
  std::shared_ptr<FileDonor> donor_;
  std::vector<ReservedRange> reserved_;
  std::vector<sock_filter> filter_;
  sock_fprog fprog_{};
  std::unique_ptr<Zygote> zygote_;
};

}  // namespace

Result<std::unique_ptr<Platform>> NewPtracePlatform(int memory_fd) {
  KeptRange kept = TRY(FindVdso());
  uint64_t page_start = reinterpret_cast<uint64_t>(husk_stub_start);
  uint64_t page_end = reinterpret_cast<uint64_t>(husk_stub_end);
  if (kept.start < page_end && page_start < kept.end) {
    HUSK_ERROR("vDSO overlaps the stub page");
    return Errno(EINVAL);
  }
  auto donor = TRY(FileDonor::Create());
  return std::unique_ptr<Platform>(new PtracePlatform(memory_fd, kept, std::move(donor)));
}

}  // namespace husk::platform
