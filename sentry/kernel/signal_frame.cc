#include "sentry/kernel/signal_frame.h"

#include <sys/user.h>

#include <cstring>

#include "sentry/kernel/task.h"

#include "base/align.h"
#include "sentry/kernel/kernel.h"

namespace husk::kernel {
namespace {

// struct sigcontext (64-bit), as the kernel lays it out.
struct SigContext {
  uint64_t r8, r9, r10, r11, r12, r13, r14, r15;
  uint64_t rdi, rsi, rbp, rbx, rdx, rax, rcx, rsp, rip, eflags;
  uint16_t cs, gs, fs, ss;
  uint64_t err, trapno, oldmask, cr2;
  uint64_t fpstate;  // address of the FXSAVE area
  uint64_t reserved[8];
};
static_assert(sizeof(SigContext) == 256);

// The kernel's struct ucontext (glibc's ucontext_t starts the same way).
struct UContext {
  uint64_t flags;
  uint64_t link;
  stack_t stack;
  SigContext mcontext;
  uint64_t sigmask;
};
static_assert(sizeof(UContext) == 304);

struct RtSigFrame {
  uint64_t pretcode;  // the handler's return address: sa_restorer
  UContext uc;
  siginfo_t info;
};
static_assert(sizeof(RtSigFrame) == 440);

constexpr uint64_t kRedZone = 128;
constexpr uint64_t kUcSigcontextSs = 0x2;
constexpr uint64_t kUcStrictRestoreSs = 0x4;
constexpr uint64_t kSaRestorer = 0x04000000;
// EFLAGS bits sigreturn may change (FIX_EFLAGS): AC OF DF TF SF ZF AF PF CF RF.
constexpr uint64_t kFixEflags = 0x40000 | 0x800 | 0x400 | 0x100 | 0x80 | 0x40 | 0x10 | 0x4 | 0x1 | 0x10000;

}  // namespace

bool OnAltStack(Task& t, uint64_t sp) {
  const stack_t& ss = t.altstack();
  if (ss.ss_flags & SS_DISABLE) return false;
  const uint64_t base = reinterpret_cast<uint64_t>(ss.ss_sp);
  return sp > base && sp - base <= ss.ss_size;
}

Result<void> SetupSignalFrame(Task& t, const siginfo_t& info, const SigAction& act, uint64_t mask) {
  platform::Regs& regs = t.regs();
  user_fpregs_struct fp = regs.fp;
  (void)t.context().GetFp(fp);  // before the first run the registers' copy is current

  uint64_t sp = regs.gp.rsp - kRedZone;
  const stack_t ss = t.altstack();
  const bool on_alt = OnAltStack(t, regs.gp.rsp);
  if ((act.flags & SA_ONSTACK) && !(ss.ss_flags & SS_DISABLE) && !on_alt) {
    sp = reinterpret_cast<uint64_t>(ss.ss_sp) + ss.ss_size;
  }
  // The FP area, 64-byte aligned, then the frame, so that the handler
  // starts as after a call: rsp + 8 aligned to 16.
  const uint64_t fp_addr = (sp - sizeof(fp)) & ~63ULL;
  const uint64_t frame_addr = ((fp_addr - sizeof(RtSigFrame)) & ~15ULL) - 8;

  RtSigFrame f{};
  f.pretcode = (act.flags & kSaRestorer) ? act.restorer : 0;
  f.uc.flags = kUcSigcontextSs | kUcStrictRestoreSs;
  f.uc.stack = ss;
  if (ss.ss_flags & SS_DISABLE) {
    f.uc.stack.ss_flags = SS_DISABLE;
  } else {
    f.uc.stack.ss_flags = on_alt ? SS_ONSTACK : 0;
  }
  SigContext& sc = f.uc.mcontext;
  const user_regs_struct& g = regs.gp;
  sc.r8 = g.r8; sc.r9 = g.r9; sc.r10 = g.r10; sc.r11 = g.r11;
  sc.r12 = g.r12; sc.r13 = g.r13; sc.r14 = g.r14; sc.r15 = g.r15;
  sc.rdi = g.rdi; sc.rsi = g.rsi; sc.rbp = g.rbp; sc.rbx = g.rbx;
  sc.rdx = g.rdx; sc.rax = g.rax; sc.rcx = g.rcx; sc.rsp = g.rsp;
  sc.rip = g.rip; sc.eflags = g.eflags;
  sc.cs = static_cast<uint16_t>(g.cs);
  sc.ss = static_cast<uint16_t>(g.ss);
  sc.oldmask = mask;
  sc.fpstate = fp_addr;
  if (info.si_signo == SIGSEGV || info.si_signo == SIGBUS) {
    sc.cr2 = reinterpret_cast<uint64_t>(info.si_addr);
    sc.trapno = 14;  // page fault
  }
  f.uc.sigmask = mask;
  f.info = info;

  TRY(t.mm().CopyOut(fp_addr, std::span<const uint8_t>(reinterpret_cast<const uint8_t*>(&fp), sizeof(fp))));
  TRY(t.mm().CopyOut(frame_addr, std::span<const uint8_t>(reinterpret_cast<const uint8_t*>(&f), sizeof(f))));

  user_regs_struct& r = regs.gp;
  r.rsp = frame_addr;
  r.rip = act.handler;
  r.rdi = static_cast<uint64_t>(info.si_signo);
  r.rsi = frame_addr + offsetof(RtSigFrame, info);
  r.rdx = frame_addr + offsetof(RtSigFrame, uc);
  r.rax = 0;
  r.eflags &= ~(0x100ULL | 0x400ULL);  // TF, DF: handlers start with them clear
  // A fresh FP state for the handler (fpu__clear_user_states).
  user_fpregs_struct clean = t.context().InitialRegs().fp;
  (void)t.context().SetFp(clean);
  regs.fp = clean;
  return Ok();
}

Result<uint64_t> SignalReturn(Task& t) {
  platform::Regs& regs = t.regs();
  const uint64_t frame_addr = regs.gp.rsp - 8;
  RtSigFrame f{};
  if (!t.mm().CopyIn(frame_addr, std::span<uint8_t>(reinterpret_cast<uint8_t*>(&f), sizeof(f)))) {
    return Errno(EFAULT);
  }
  const SigContext& sc = f.uc.mcontext;
  user_regs_struct& g = regs.gp;
  g.r8 = sc.r8; g.r9 = sc.r9; g.r10 = sc.r10; g.r11 = sc.r11;
  g.r12 = sc.r12; g.r13 = sc.r13; g.r14 = sc.r14; g.r15 = sc.r15;
  g.rdi = sc.rdi; g.rsi = sc.rsi; g.rbp = sc.rbp; g.rbx = sc.rbx;
  g.rdx = sc.rdx; g.rax = sc.rax; g.rcx = sc.rcx; g.rsp = sc.rsp;
  g.rip = sc.rip;
  g.eflags = (g.eflags & ~kFixEflags) | (sc.eflags & kFixEflags);
  g.orig_rax = static_cast<uint64_t>(-1);  // no syscall restart
  t.set_signal_mask(f.uc.sigmask);
  if (sc.fpstate != 0) {
    user_fpregs_struct fp;
    if (!t.mm().CopyIn(sc.fpstate, std::span<uint8_t>(reinterpret_cast<uint8_t*>(&fp), sizeof(fp)))) {
      return Errno(EFAULT);
    }
    fp.mxcsr &= fp.mxcr_mask ? fp.mxcr_mask : 0xffbf;
    (void)t.context().SetFp(fp);
    regs.fp = fp;
  }
  // restore_altstack: like sigaltstack(2), errors ignored.
  if (!OnAltStack(t, g.rsp)) {
    const stack_t& ss = f.uc.stack;
    if (ss.ss_flags & SS_DISABLE) {
      t.altstack() = stack_t{nullptr, SS_DISABLE, 0};
    } else if (ss.ss_size >= static_cast<size_t>(MINSIGSTKSZ)) {
      t.altstack() = stack_t{ss.ss_sp, static_cast<int>(ss.ss_flags & SS_AUTODISARM), ss.ss_size};
    }
  }
  return g.rax;
}

}  // namespace husk::kernel
