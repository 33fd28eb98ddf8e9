// Platform: how application threads run and how their system calls and
// faults are caught. The sentry sees three objects:
//   Platform      one per sandbox; makes address spaces.
//   AddressSpace  one per application address space (one stub process);
//                 maps ranges of the memory file into it.
//   Context       one per application thread; runs it until the next Event.
#pragma once

#include <signal.h>
#include <sys/user.h>

#include <cstdint>
#include <memory>
#include <span>

#include "base/result.h"

namespace husk::platform {

// The application thread's registers: general purpose and FP/SSE state.
struct Regs {
  user_regs_struct gp{};
  // Loaded into the thread by its first Switch unless SetFp/SetXstate came
  // first; from then on the thread itself holds the current FP state.
  user_fpregs_struct fp{};

  uint64_t syscall_nr() const { return gp.orig_rax; }
  uint64_t arg(int i) const {
    switch (i) {
      case 0: return gp.rdi;
      case 1: return gp.rsi;
      case 2: return gp.rdx;
      case 3: return gp.r10;
      case 4: return gp.r8;
      default: return gp.r9;
    }
  }
  void set_return(uint64_t v) { gp.rax = v; }
};

// The host's XSAVE layout (Intel SDM vol. 1 ch. 13, standard format), the
// same for every thread of the sandbox.
struct XstateLayout {
  // Bytes of Context::GetXstate/SetXstate's area: every user state
  // component the host enables. 0: the CPU has no XSAVE, only FXSAVE.
  uint32_t size = 0;
  // The user state components the host enables (XCR0).
  uint64_t features = 0;
  // What a signal frame holds (Linux's default fpstate): the enabled
  // components but the dynamically enabled ones (AMX tile data), and the
  // bytes they take.
  uint64_t frame_features = 0;
  uint32_t frame_size = 0;
  // MXCSR bits the CPU implements (FXSAVE's MXCSR_MASK, 0xffbf if it says 0).
  uint32_t mxcsr_mask = 0xffbf;
  // Standard-format offset and size of each component from 2 on (CPUID
  // leaf 0xD); 0 for components the host does not enable.
  uint32_t offset[64] = {};
  uint32_t component_size[64] = {};
};

// Routines of the platform's, present in every address space, that signal
// delivery resumes a thread at so that the FP/extended state moves between
// the registers and an x86-64 rt_sigframe in application memory without a
// trip through the sentry (ptrace: stub.S). eax/r8d/r9d below are
// component masks, edx is 0; the masks must exclude components XFD guards
// (AMX).
struct SignalTrampolines {
  // A handler's entry: rsp at a written frame whose uc_mcontext.fpstate
  // points at an XSAVE area with sw bytes, a zeroed header and magic2 in
  // place, and whose uc_mcontext.__reserved1[0] holds the handler. Saves
  // the eax components there (XSTATE_BV's FP and SSE bits always set),
  // resets the r8d ones to their initial state (MXCSR 0x1f80), restores rcx
  // and r8 from uc_mcontext, and jumps to the handler with rdx = &uc and
  // rax = 0; RFLAGS untouched.
  uint64_t enter = 0;
  // rt_sigreturn's end: rcx at a valid XSAVE area, rsp at {rax, rdx, rcx,
  // r8, r9, then an IRET frame: rip, cs, rflags, rsp, ss}. Loads the r9d
  // components from the area (XRSTOR), resets the r8d ones, restores the
  // five registers and IRETs.
  uint64_t ret = 0;
};

// Why Context::Switch returned.
struct Event {
  enum class Kind {
    kSyscall,    // the thread executed `syscall`; regs hold its number and arguments
    kFault,      // a synchronous fault (SIGSEGV, SIGBUS, SIGFPE, SIGILL, SIGTRAP); see info
    kInterrupt,  // Context::Interrupt was called (or a stray host signal): nothing happened
    kDied,       // the stub died underneath us (killed from outside)
  };
  Kind kind = Kind::kSyscall;
  siginfo_t info{};
};

// A half-open range of application addresses that the platform itself
// occupies in every address space (stub code, vDSO/vvar).
struct ReservedRange {
  uint64_t start = 0;
  uint64_t end = 0;
};

class Context;

// Address spaces and contexts are made on one host thread and run on
// another: a new one is "pending" until the host thread that will run it
// calls Context::Adopt. Map/Unmap/Protect/Reset/Fork/NewThread act through
// the calling host thread's own (adopted) context in this address space.
class AddressSpace {
 public:
  virtual ~AddressSpace() = default;
  // Maps [addr, addr+len) to the memory file at `offset` with `prot`
  // (MAP_SHARED|MAP_FIXED), replacing what was there. `populate`: the pages
  // already hold data, so fill the page tables now instead of one fault per
  // page later.
  virtual Result<void> Map(uint64_t addr, uint64_t len, int prot, uint64_t offset,
                           bool populate = false) = 0;
  // Maps [addr, addr+len) to host file `fd` at `offset` (MAP_PRIVATE |
  // MAP_FIXED): the stub shares the host's page cache instead of a copy.
  // Only for mappings that are never written (the sentry would not see the
  // stub's private copies).
  virtual Result<void> MapFile(uint64_t addr, uint64_t len, int prot, int fd, uint64_t offset) = 0;
  virtual Result<void> Unmap(uint64_t addr, uint64_t len) = 0;
  virtual Result<void> Protect(uint64_t addr, uint64_t len, int prot) = 0;
  // Removes every application mapping (exec of a new image). The caller
  // must be the only thread left in the address space.
  virtual Result<void> Reset() = 0;
  // A new address space with no application mappings (fork), whose first
  // thread TakeFirstThread hands out.
  virtual Result<std::unique_ptr<AddressSpace>> Fork() = 0;
  // A new thread in this address space (clone with CLONE_VM).
  virtual Result<std::unique_ptr<Context>> NewThread() = 0;
  // The first thread of a new address space, once; null afterwards.
  virtual std::unique_ptr<Context> TakeFirstThread() = 0;
};

class Context {
 public:
  virtual ~Context() = default;
  // Binds the thread to the calling host thread, which from then on is the
  // only one to call Switch and the only one whose Map etc. go through it.
  virtual Result<void> Adopt() = 0;
  // Runs the thread from `regs` until the next event; `regs` is updated to
  // the thread's state at that event.
  virtual Event Switch(Regs& regs) = 0;
  // From any host thread: a Switch in progress (or the next one) returns
  // kInterrupt soon. Spurious interrupts are harmless.
  virtual void Interrupt() = 0;
  // Registers a fresh thread starts from: valid segment selectors, empty
  // general purpose registers, a reset FPU.
  virtual Regs InitialRegs() = 0;
  // Host CPU time (user + system) of the stub: of this thread alone
  // (`thread_only`), or of its whole stub process, every thread it has had
  // included. The process's is cheap and may be asked from any host thread
  // (ptrace: one clock_gettime on the stub process's CPU clock). A thread's
  // may be asked only on the adopting host thread while the thread is
  // stopped (between Switches): the host lets only a thread's own process
  // read its CPU clock, so the stub thread reads it itself (ptrace: one
  // injected clock_gettime, about a syscall round trip).
  virtual Result<timespec> CpuTime(bool thread_only) = 0;
  // The thread's legacy FXSAVE state (x87/SSE) now (fork), and setting it
  // (exec); the rest of the extended state is left as it is.
  virtual Result<void> GetFp(user_fpregs_struct& fp) = 0;
  virtual Result<void> SetFp(const user_fpregs_struct& fp) = 0;
  // The thread's whole FP/extended state as a standard-format XSAVE area of
  // Xstate().size bytes (ptrace NT_X86_XSTATE), and setting it (signal
  // frames, sigreturn). Before the thread's first run it is what the thread
  // inherited at clone. Setting needs a valid area: header reserved bytes
  // zero, no unknown component, MXCSR within the mask, else EINVAL.
  virtual const XstateLayout& Xstate() = 0;
  virtual Result<void> GetXstate(std::span<uint8_t> area) = 0;
  virtual Result<void> SetXstate(std::span<const uint8_t> area) = 0;
  // The platform's signal trampolines; zeros if it has none (then signal
  // frames go through GetXstate/SetXstate).
  virtual SignalTrampolines Trampolines() = 0;
};

class Platform {
 public:
  virtual ~Platform() = default;
  // A new, empty address space with one (pending) thread.
  virtual Result<std::unique_ptr<AddressSpace>> NewAddressSpace() = 0;
  // Address ranges every address space reserves for the platform; the
  // memory manager never maps application memory there.
  virtual std::span<const ReservedRange> Reserved() const = 0;
  // Start of the host vDSO image inside every address space (AT_SYSINFO_EHDR).
  virtual uint64_t VdsoBase() const = 0;
};

// The ptrace (PTRACE_SYSEMU) platform. `memory_fd` is the memory file every
// stub maps application memory from.
Result<std::unique_ptr<Platform>> NewPtracePlatform(int memory_fd);

}  // namespace husk::platform
