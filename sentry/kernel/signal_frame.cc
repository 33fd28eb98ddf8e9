#include "sentry/kernel/signal_frame.h"

#include <sys/user.h>

#include <algorithm>
#include <cstring>
#include <span>
#include <vector>

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
  uint64_t fpstate;  // address of the FP state: an XSAVE area (or bare FXSAVE image)
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
constexpr uint64_t kUcFpXstate = 0x1;
constexpr uint64_t kUcSigcontextSs = 0x2;
constexpr uint64_t kUcStrictRestoreSs = 0x4;
constexpr uint64_t kSaRestorer = 0x04000000;
// EFLAGS bits sigreturn may change (FIX_EFLAGS): AC OF DF TF SF ZF AF PF CF RF.
constexpr uint64_t kFixEflags = 0x40000 | 0x800 | 0x400 | 0x100 | 0x80 | 0x40 | 0x10 | 0x4 | 0x1 | 0x10000;

// The FP state in a frame (arch/x86/kernel/fpu/signal.c): an XSAVE area,
// 64-byte aligned, whose FXSAVE part's software bytes (sw_reserved, 464..511)
// say what follows; FP_XSTATE_MAGIC2 right after the area marks it whole.
struct FpxSwBytes {
  uint32_t magic1;
  uint32_t extended_size;  // the area and magic2
  uint64_t xfeatures;      // the components the area holds
  uint32_t xstate_size;    // the area
  uint32_t padding[7];
};
static_assert(sizeof(FpxSwBytes) == 48);
struct XstateHeader {
  uint64_t xfeatures;  // XSTATE_BV: components not in their initial state
  uint64_t xcomp_bv;   // 0: standard format
  uint64_t reserved[6];
};
static_assert(sizeof(XstateHeader) == 64);

constexpr uint32_t kFpXstateMagic1 = 0x46505853;
constexpr uint32_t kFpXstateMagic2 = 0x46505845;
constexpr uint32_t kMagic2Size = 4;
constexpr size_t kFxsaveSize = sizeof(user_fpregs_struct);
constexpr size_t kSwBytesOffset = 464;
constexpr size_t kHeaderOffset = 512;
constexpr size_t kXsaveMinSize = kHeaderOffset + sizeof(XstateHeader);
constexpr uint64_t kXfeatureFp = 0x1;
constexpr uint64_t kXfeatureSse = 0x2;
constexpr uint64_t kXfeatureYmm = 0x4;
constexpr uint64_t kXfeaturePkru = 0x200;
// The FXSAVE image: x87 state, then MXCSR and its mask, the x87 registers,
// the XMM registers.
constexpr size_t kMxcsrOffset = offsetof(user_fpregs_struct, mxcsr);
constexpr size_t kStOffset = offsetof(user_fpregs_struct, st_space);
constexpr size_t kXmmOffset = offsetof(user_fpregs_struct, xmm_space);
constexpr size_t kXmmEnd = offsetof(user_fpregs_struct, padding);
static_assert(kMxcsrOffset == 24 && kStOffset == 32 && kXmmOffset == 160 && kXmmEnd == 416);
constexpr uint16_t kInitFcw = 0x37f;
constexpr uint32_t kInitMxcsr = 0x1f80;

template <typename T>
T Load(std::span<const uint8_t> area, size_t offset) {
  T v;
  memcpy(&v, area.data() + offset, sizeof(T));
  return v;
}
template <typename T>
void Store(std::span<uint8_t> area, size_t offset, const T& v) {
  memcpy(area.data() + offset, &v, sizeof(T));
}

// The clean state a handler (and a new image) starts from
// (fpu__clear_user_states): x87 and SSE at their reset values written out,
// so that MXCSR is set too, every other component in its initial state.
// PKRU stays what `current` has.
// PARTIAL(pkru): with no `current` (exec, a NULL fpstate) PKRU becomes 0
// where Linux writes init_pkru_value.
void CleanArea(const platform::XstateLayout& xl, std::span<uint8_t> out, const uint8_t* current) {
  std::fill(out.begin(), out.end(), 0);
  Store<uint16_t>(out, offsetof(user_fpregs_struct, cwd), kInitFcw);
  Store<uint32_t>(out, kMxcsrOffset, kInitMxcsr);
  Store<uint32_t>(out, offsetof(user_fpregs_struct, mxcr_mask), xl.mxcsr_mask);
  XstateHeader h{};
  h.xfeatures = kXfeatureFp | kXfeatureSse;
  if (current != nullptr && (xl.features & kXfeaturePkru) && xl.component_size[9] != 0) {
    const auto* cur = reinterpret_cast<const XstateHeader*>(current + kHeaderOffset);
    if (cur->xfeatures & kXfeaturePkru) {
      memcpy(out.data() + xl.offset[9], current + xl.offset[9], xl.component_size[9]);
      h.xfeatures |= kXfeaturePkru;
    }
  }
  Store(out, kHeaderOffset, h);
}

void SetRegsFp(platform::Regs& regs, std::span<const uint8_t> area) {
  memcpy(&regs.fp, area.data(), sizeof(regs.fp));
}

// The registers the signal trampolines (platform::SignalTrampolines) use
// and restore from memory.
struct TrampolineReturn {
  uint64_t rax, rdx, rcx, r8, r9;
  uint64_t rip, cs, rflags, rsp, ss;  // for IRET
};
static_assert(sizeof(TrampolineReturn) == 80);

// Whether the platform's trampolines can move the FP state for the task.
bool UseTrampolines(const platform::XstateLayout& xl, const platform::SignalTrampolines& tr) {
  return xl.size != 0 && tr.enter != 0 && tr.ret != 0 && (xl.frame_features >> 32) == 0;
}

// Finishes rt_sigreturn in the platform's trampoline, which loads the
// `restore` components of the (validated) XSAVE area at `addr` itself
// (XRSTOR, as fpu__restore_sig does) and resets the others: no trip
// through the sentry for the FP state. The registers, already restored,
// wait at `block` in the frame being returned from (dead once rt_sigreturn
// is done) for the trampoline to take them back. False if the platform has no
// trampoline or the frame is not writable: the caller loads the state.
bool ReturnThroughTrampoline(Task& t, uint64_t addr, uint64_t restore, uint64_t block) {
  platform::Context& ctx = t.context();
  const platform::XstateLayout& xl = ctx.Xstate();
  const platform::SignalTrampolines tr = ctx.Trampolines();
  if (!UseTrampolines(xl, tr)) return false;
  user_regs_struct& g = t.regs().gp;
  const TrampolineReturn back{g.rax, g.rdx, g.rcx, g.r8, g.r9, g.rip, g.cs, g.eflags, g.rsp, g.ss};
  if (!t.mm().CopyOut(block, std::span(reinterpret_cast<const uint8_t*>(&back), sizeof(back)))) {
    return false;
  }
  g.rip = tr.ret;
  g.rsp = block;
  g.rcx = addr;
  g.r9 = restore;
  g.r8 = xl.frame_features & ~restore & ~kXfeaturePkru;
  g.rdx = 0;  // rax stays the restored value: rt_sigreturn's result
  g.eflags = 0x202;  // IF; IRET loads the restored flags
  return true;
}

// fpu__restore_sig for a 64-bit frame: loads the FP state from the area at
// `addr`, an XSAVE area if both magic words say so, else a bare FXSAVE
// image (the rest of the extended state starts afresh). An error where
// Linux fails the sigreturn: an unreadable area, or one XRSTOR/FXRSTOR
// would fault on (misaligned, reserved header bits, components the CPU
// lacks, reserved MXCSR bits).
// The registers must already hold the restored values: with the
// platform's trampoline they are handed to it through `block`, the frame's
// ucontext (rt_sigreturn's rsp); rax, rt_sigreturn's result, stays.
// PARTIAL(xstate): a compacted-format area (XCOMP_BV bit 63, which XRSTOR
// would take on CPUs with XSAVEC) is refused; the whole default-size area
// must be readable even where only part of it is loaded.
Result<void> RestoreFpState(Task& t, uint64_t addr, uint64_t block) {
  platform::Context& ctx = t.context();
  const platform::XstateLayout& xl = ctx.Xstate();
  platform::Regs& regs = t.regs();
  if (xl.size == 0) {  // no XSAVE: the FXSAVE image alone
    user_fpregs_struct fp;
    if (!t.mm().CopyIn(addr, std::span<uint8_t>(reinterpret_cast<uint8_t*>(&fp), sizeof(fp)))) {
      return Errno(EFAULT);
    }
    if (fp.mxcsr & ~xl.mxcsr_mask) return Errno(EFAULT);
    fp.mxcr_mask = xl.mxcsr_mask;
    TRY(ctx.SetFp(fp));
    regs.fp = fp;
    return Ok();
  }
  if (addr > UINT64_MAX - xl.frame_size - kMagic2Size) return Errno(EFAULT);
  std::vector<uint8_t> in(xl.frame_size), out(xl.size);
  if (!t.mm().CopyIn(addr, std::span(in.data(), kFxsaveSize))) return Errno(EFAULT);
  // check_xstate_in_sigframe
  const FpxSwBytes sw = Load<FpxSwBytes>(in, kSwBytesOffset);
  bool fx_only = sw.magic1 != kFpXstateMagic1 || sw.xstate_size < kXsaveMinSize ||
                 sw.xstate_size > xl.frame_size || sw.xstate_size > sw.extended_size;
  if (!fx_only) {
    uint32_t magic2 = 0;
    if (!t.mm().CopyIn(addr + sw.xstate_size,
                       std::span(reinterpret_cast<uint8_t*>(&magic2), sizeof(magic2)))) {
      return Errno(EFAULT);
    }
    fx_only = magic2 != kFpXstateMagic2;
  }
  const uint32_t mxcsr = Load<uint32_t>(in, kMxcsrOffset);
  // Components loaded from the area; everything else starts afresh.
  uint64_t load = 0;
  if (fx_only) {
    if (mxcsr & ~xl.mxcsr_mask) return Errno(EFAULT);  // FXRSTOR's #GP
    load = kXfeatureFp | kXfeatureSse;
    CleanArea(xl, out, nullptr);
    memcpy(out.data(), in.data(), kXmmEnd);
  } else {
    if (addr % 64 != 0) return Errno(EFAULT);  // XRSTOR's #GP
    if (!t.mm().CopyIn(addr + kFxsaveSize, std::span(in.data() + kFxsaveSize, in.size() - kFxsaveSize))) {
      return Errno(EFAULT);
    }
    const XstateHeader h = Load<XstateHeader>(in, kHeaderOffset);
    // XRSTOR's #GP in the standard format: XCOMP_BV or the header's next 8
    // bytes set, a component the CPU has not enabled (the rest of the
    // header it ignores).
    if (h.xcomp_bv != 0 || h.reserved[0] != 0 || (h.xfeatures & ~xl.features)) return Errno(EFAULT);
    const uint64_t restore = sw.xfeatures & xl.frame_features;
    // MXCSR loads with SSE or AVX; otherwise it gets its reset value.
    const bool with_mxcsr = restore & (kXfeatureSse | kXfeatureYmm);
    if (with_mxcsr && (mxcsr & ~xl.mxcsr_mask)) return Errno(EFAULT);
    if (ReturnThroughTrampoline(t, addr, restore, block)) return Ok();
    load = restore & h.xfeatures;
    CleanArea(xl, out, nullptr);
    if (load & kXfeatureFp) {
      memcpy(out.data(), in.data(), kMxcsrOffset);
      memcpy(out.data() + kStOffset, in.data() + kStOffset, kXmmOffset - kStOffset);
    }
    if (load & kXfeatureSse) memcpy(out.data() + kXmmOffset, in.data() + kXmmOffset, kXmmEnd - kXmmOffset);
    if (with_mxcsr) Store<uint32_t>(out, kMxcsrOffset, mxcsr);
    XstateHeader oh{};
    oh.xfeatures = kXfeatureFp | kXfeatureSse;
    for (int i = 2; i < 64; i++) {
      const uint64_t bit = uint64_t{1} << i;
      if (!(load & bit) || xl.component_size[i] == 0) continue;
      memcpy(out.data() + xl.offset[i], in.data() + xl.offset[i], xl.component_size[i]);
      oh.xfeatures |= bit;
    }
    Store(out, kHeaderOffset, oh);
  }
  Store<uint32_t>(out, offsetof(user_fpregs_struct, mxcr_mask), xl.mxcsr_mask);
  if (!ctx.SetXstate(out)) return Errno(EFAULT);
  SetRegsFp(regs, out);
  return Ok();
}

}  // namespace

Result<void> ResetFpState(Task& t) {
  platform::Context& ctx = t.context();
  const platform::XstateLayout& xl = ctx.Xstate();
  if (xl.size == 0) {
    const user_fpregs_struct clean = ctx.InitialRegs().fp;
    TRY(ctx.SetFp(clean));
    t.regs().fp = clean;
    return Ok();
  }
  std::vector<uint8_t> area(xl.size);
  CleanArea(xl, area, nullptr);
  TRY(ctx.SetXstate(area));
  SetRegsFp(t.regs(), area);
  return Ok();
}

bool OnAltStack(Task& t, uint64_t sp) {
  const stack_t& ss = t.altstack();
  if (ss.ss_flags & SS_DISABLE) return false;
  const uint64_t base = reinterpret_cast<uint64_t>(ss.ss_sp);
  return sp > base && sp - base <= ss.ss_size;
}

Result<void> SetupSignalFrame(Task& t, const siginfo_t& info, const SigAction& act, uint64_t mask) {
  platform::Regs& regs = t.regs();
  platform::Context& ctx = t.context();
  const platform::XstateLayout& xl = ctx.Xstate();

  // The interrupted FP state, as the frame will hold it: the default
  // components' XSAVE area, its software bytes, magic2 after it (or, on a
  // CPU without XSAVE, the bare FXSAVE image).
  // With the platform's trampoline the thread saves it itself on the way
  // to the handler (XSAVE into the area, header zeroed first, as
  // copy_fpstate_to_sigframe does).
  const platform::SignalTrampolines tr = ctx.Trampolines();
  const bool trampoline = UseTrampolines(xl, tr);
  std::vector<uint8_t> saved;
  uint64_t fp_size = kFxsaveSize;
  if (xl.size != 0) {
    fp_size = xl.frame_size + kMagic2Size;
    saved.resize(std::max<size_t>(xl.size, fp_size));
    if (!trampoline) TRY(ctx.GetXstate(std::span(saved.data(), xl.size)));
    const std::span<uint8_t> area(saved);
    const FpxSwBytes sw{kFpXstateMagic1, xl.frame_size + kMagic2Size, xl.frame_features, xl.frame_size, {}};
    Store(area, kSwBytesOffset, sw);
    XstateHeader h = Load<XstateHeader>(area, kHeaderOffset);
    // FP and SSE always marked present, so that a handler that edits only
    // the legacy image gets its edit loaded.
    h.xfeatures = (h.xfeatures & xl.frame_features) | kXfeatureFp | kXfeatureSse;
    h.xcomp_bv = 0;
    std::fill(std::begin(h.reserved), std::end(h.reserved), 0);
    Store(area, kHeaderOffset, h);
    Store<uint32_t>(area, xl.frame_size, kFpXstateMagic2);
  } else {
    user_fpregs_struct fp = regs.fp;
    (void)ctx.GetFp(fp);  // before the first run the registers' copy is current
    saved.resize(sizeof(fp));
    memcpy(saved.data(), &fp, sizeof(fp));
  }

  uint64_t sp = regs.gp.rsp - kRedZone;
  const stack_t ss = t.altstack();
  const bool on_alt = OnAltStack(t, regs.gp.rsp);
  const bool entering_alt = (act.flags & SA_ONSTACK) && !(ss.ss_flags & SS_DISABLE) && !on_alt;
  if (entering_alt) sp = reinterpret_cast<uint64_t>(ss.ss_sp) + ss.ss_size;
  // get_sigframe: the FP area 64-byte aligned, then the frame, so that the
  // handler starts as after a call: rsp + 8 aligned to 16.
  const uint64_t fp_addr = (sp - fp_size) & ~63ULL;
  const uint64_t frame_addr = ((fp_addr - sizeof(RtSigFrame)) & ~15ULL) - 8;
  // A frame that would overflow the alternate stack is not written: the
  // task gets SIGSEGV instead.
  if ((on_alt || entering_alt) && !OnAltStack(t, frame_addr)) return Errno(EFAULT);

  RtSigFrame f{};
  f.pretcode = (act.flags & kSaRestorer) ? act.restorer : 0;
  f.uc.flags = (xl.size != 0 ? kUcFpXstate : 0) | kUcSigcontextSs | kUcStrictRestoreSs;
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
  if (trampoline) sc.reserved[0] = act.handler;  // where the trampoline goes (Linux leaves junk there)
  if (info.si_signo == SIGSEGV || info.si_signo == SIGBUS) {
    sc.cr2 = reinterpret_cast<uint64_t>(info.si_addr);
    sc.trapno = 14;  // page fault
  }
  f.uc.sigmask = mask;
  f.info = info;

  TRY(t.mm().CopyOut(fp_addr, std::span<const uint8_t>(saved.data(), fp_size)));
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
  if (trampoline) {
    r.rip = tr.enter;
    r.rax = xl.frame_features;                  // saved into the frame
    r.r8 = xl.frame_features & ~kXfeaturePkru;  // then reset
    r.rdx = 0;
  } else if (xl.size != 0) {
    std::vector<uint8_t> clean(xl.size);
    CleanArea(xl, clean, saved.data());
    TRY(ctx.SetXstate(clean));
    SetRegsFp(regs, clean);
  } else {
    TRY(ResetFpState(t));
  }
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
  // restore_altstack: like sigaltstack(2), errors ignored.
  if (!OnAltStack(t, g.rsp)) {
    const stack_t& ss = f.uc.stack;
    if (ss.ss_flags & SS_DISABLE) {
      t.altstack() = stack_t{nullptr, SS_DISABLE, 0};
    } else if (ss.ss_size >= kMinSigStackSize) {
      t.altstack() = stack_t{ss.ss_sp, static_cast<int>(ss.ss_flags & SS_AUTODISARM), ss.ss_size};
    }
  }
  // fpu__restore_sig, last since it may hand the registers to the
  // platform's trampoline: no area at all means a fresh FP state; a bad
  // one fails the sigreturn with the FP state reset.
  if (sc.fpstate == 0 || !RestoreFpState(t, sc.fpstate, frame_addr + 8)) {
    (void)ResetFpState(t);
    if (sc.fpstate != 0) return Errno(EFAULT);
  }
  return g.rax;
}

}  // namespace husk::kernel
