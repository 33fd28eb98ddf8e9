// FP and extended (XSAVE) state around signal handlers, as Linux lays it out
// in the signal frame (arch/x86/kernel/fpu/signal.c): the interrupted code's
// AVX/AVX-512 registers survive a handler that uses them, the frame holds an
// XSAVE area with the _fpx_sw_bytes magic, a handler may edit it and
// rt_sigreturn loads the edit, handlers start from a clean FP state, the
// frame fits AT_MINSIGSTKSZ, and a corrupt XSAVE area kills with SIGSEGV.

#include <cpuid.h>
#include <signal.h>
#include <stdint.h>
#include <string.h>
#include <sys/auxv.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <ucontext.h>
#include <unistd.h>

#include <functional>
#include <vector>

#include <gtest/gtest.h>

#include "test_util.h"

#ifndef AT_MINSIGSTKSZ
#define AT_MINSIGSTKSZ 51
#endif

namespace {

constexpr uint32_t kMagic1 = 0x46505853;  // FP_XSTATE_MAGIC1
constexpr uint32_t kMagic2 = 0x46505845;  // FP_XSTATE_MAGIC2
constexpr unsigned long kUcFpXstate = 0x1;
constexpr unsigned long kUcSigcontextSs = 0x2;
constexpr unsigned long kUcStrictRestoreSs = 0x4;
constexpr size_t kSwBytes = 464;  // _fpx_sw_bytes in the FXSAVE area's sw_reserved
constexpr size_t kHeader = 512;   // the XSAVE header
constexpr size_t kMxcsr = 24;
constexpr size_t kXmm = 160;
constexpr size_t kKernelMinsigstksz = 2048;  // sigaltstack's floor (the uapi MINSIGSTKSZ)
constexpr uint64_t kXtileData = uint64_t{1} << 18;  // dynamically enabled: not in frames

struct SwBytes {
  uint32_t magic1;
  uint32_t extended_size;
  uint64_t xfeatures;
  uint32_t xstate_size;
  uint32_t padding[7];
};
static_assert(sizeof(SwBytes) == 48);

struct alignas(32) Vec32 {
  uint8_t b[32];
};
struct alignas(64) Vec64 {
  uint8_t b[64];
};

bool HasXsave() {
  unsigned a, b, c, d;
  __cpuid(1, a, b, c, d);
  return (c & bit_OSXSAVE) != 0;
}

uint64_t Xcr0() {
  uint32_t lo, hi;
  asm volatile("xgetbv" : "=a"(lo), "=d"(hi) : "c"(0));
  return (uint64_t{hi} << 32) | lo;
}

// Where state component `i` starts in the standard XSAVE format, and its size.
uint32_t ComponentOffset(int i) {
  unsigned a, b, c, d;
  __cpuid_count(0xd, i, a, b, c, d);
  return b;
}
uint32_t ComponentSize(int i) {
  unsigned a, b, c, d;
  __cpuid_count(0xd, i, a, b, c, d);
  return a;
}

// The features and size of the XSAVE area Linux puts in a signal frame:
// every enabled user component but the dynamic ones, in standard format.
uint64_t FrameFeatures() { return Xcr0() & ~kXtileData; }
uint32_t FrameXstateSize() {
  uint32_t size = 576;
  const uint64_t f = FrameFeatures();
  for (int i = 2; i < 63; i++) {
    if (f & (uint64_t{1} << i)) size = std::max(size, ComponentOffset(i) + ComponentSize(i));
  }
  return size;
}

bool HasAvx() { return HasXsave() && __builtin_cpu_supports("avx") && (Xcr0() & 6) == 6; }
bool HasAvx512() { return HasAvx() && __builtin_cpu_supports("avx512f") && (Xcr0() & 0xe0) == 0xe0; }

void Fill(void* p, size_t n, uint8_t seed) {
  auto* b = static_cast<uint8_t*>(p);
  for (size_t i = 0; i < n; i++) b[i] = static_cast<uint8_t>(seed + i * 7 + (i >> 5));
}

// Installs `handler` for `sig` (SA_SIGINFO | extra flags) and restores the
// old disposition when it goes.
class ScopedHandler {
 public:
  ScopedHandler(int sig, void (*handler)(int, siginfo_t*, void*), int extra = 0) : sig_(sig) {
    struct sigaction sa {};
    sa.sa_sigaction = handler;
    sa.sa_flags = SA_SIGINFO | extra;
    sigemptyset(&sa.sa_mask);
    EXPECT_EQ(sigaction(sig, &sa, &old_), 0);
  }
  ~ScopedHandler() { sigaction(sig_, &old_, nullptr); }

 private:
  int sig_;
  struct sigaction old_ {};
};

// ---------------------------------------------------------------- registers

#define YMM_OP(op, i, off) op " " #off "(%[in]), %%ymm" #i "\n\t"
#define YMM_LOAD_ALL                                                                     \
  YMM_OP("vmovdqu", 0, 0) YMM_OP("vmovdqu", 1, 32) YMM_OP("vmovdqu", 2, 64)               \
  YMM_OP("vmovdqu", 3, 96) YMM_OP("vmovdqu", 4, 128) YMM_OP("vmovdqu", 5, 160)             \
  YMM_OP("vmovdqu", 6, 192) YMM_OP("vmovdqu", 7, 224) YMM_OP("vmovdqu", 8, 256)            \
  YMM_OP("vmovdqu", 9, 288) YMM_OP("vmovdqu", 10, 320) YMM_OP("vmovdqu", 11, 352)          \
  YMM_OP("vmovdqu", 12, 384) YMM_OP("vmovdqu", 13, 416) YMM_OP("vmovdqu", 14, 448)         \
  YMM_OP("vmovdqu", 15, 480)
#define YMM_ST(i, off) "vmovdqu %%ymm" #i ", " #off "(%[out])\n\t"
#define YMM_STORE_ALL                                                                     \
  YMM_ST(0, 0) YMM_ST(1, 32) YMM_ST(2, 64) YMM_ST(3, 96) YMM_ST(4, 128) YMM_ST(5, 160)     \
  YMM_ST(6, 192) YMM_ST(7, 224) YMM_ST(8, 256) YMM_ST(9, 288) YMM_ST(10, 320)             \
  YMM_ST(11, 352) YMM_ST(12, 384) YMM_ST(13, 416) YMM_ST(14, 448) YMM_ST(15, 480)
#define XMM_CLOBBERS                                                                       \
  "xmm0", "xmm1", "xmm2", "xmm3", "xmm4", "xmm5", "xmm6", "xmm7", "xmm8", "xmm9", "xmm10", \
      "xmm11", "xmm12", "xmm13", "xmm14", "xmm15"

// Loads ymm0..15 from in[], sends `sig` to this thread (its handler runs
// on the way back from the syscall), then stores ymm0..15 to out[].
__attribute__((target("avx"), noinline)) void YmmAroundSignal(const Vec32* in, Vec32* out, int sig) {
  const long pid = getpid(), tid = gettid();
  long ret;
  asm volatile(YMM_LOAD_ALL "syscall\n\t" YMM_STORE_ALL "vzeroupper\n\t"
               : "=a"(ret)
               : "a"(SYS_tgkill), "D"(pid), "S"(tid), "d"(static_cast<long>(sig)), [in] "r"(in),
                 [out] "r"(out)
               : "rcx", "r11", "memory", XMM_CLOBBERS);
  EXPECT_EQ(ret, 0);
}

// Overwrites every ymm register, and has the libc string functions (which
// use AVX/AVX-512 when the CPU has it) work on big buffers.
__attribute__((target("avx"), noinline)) void DirtyYmm() {
  static Vec32 junk[16];
  Fill(junk, sizeof(junk), 0xe1);
  const Vec32* in = junk;
  asm volatile(YMM_LOAD_ALL : : [in] "r"(in) : "memory", XMM_CLOBBERS);
  static char a[1 << 16], b[1 << 16];
  memset(a, 0x5a, sizeof(a) - 1);
  memcpy(b, a, sizeof(a));
  volatile size_t n = strlen(b);
  (void)n;
  asm volatile("vzeroupper" ::: "memory");
}

void DirtyingHandler(int, siginfo_t*, void*) { DirtyYmm(); }

TEST(Xstate, YmmUpperHalvesSurviveAHandlerThatUsesAvx) {
  if (!HasAvx()) GTEST_SKIP() << "no AVX";
  ScopedHandler h(SIGUSR1, DirtyingHandler);
  Vec32 in[16], out[16];
  Fill(in, sizeof(in), 0x11);
  memset(out, 0, sizeof(out));
  for (int round = 0; round < 3; round++) {
    YmmAroundSignal(in, out, SIGUSR1);
    for (int i = 0; i < 16; i++) EXPECT_EQ(memcmp(&in[i], &out[i], 32), 0) << "ymm" << i;
  }
}

TEST(Xstate, YmmSurviveASyscallWithoutSignal) {
  if (!HasAvx()) GTEST_SKIP() << "no AVX";
  Vec32 in[16], out[16];
  Fill(in, sizeof(in), 0x33);
  YmmAroundSignal(in, out, 0);  // tgkill with signal 0: a plain syscall
  for (int i = 0; i < 16; i++) EXPECT_EQ(memcmp(&in[i], &out[i], 32), 0) << "ymm" << i;
}

// Loads ymm0..15 from in[], makes syscall `nr`, stores ymm0..15 to out[].
__attribute__((target("avx"), noinline)) long YmmAroundSyscall(const Vec32* in, Vec32* out, long nr,
                                                               long a1, long a2, long a3, long a4) {
  register long r10 asm("r10") = a4;
  long ret;
  asm volatile(YMM_LOAD_ALL "syscall\n\t" YMM_STORE_ALL "vzeroupper\n\t"
               : "=a"(ret), "+r"(r10)
               : "a"(nr), "D"(a1), "S"(a2), "d"(a3), [in] "r"(in), [out] "r"(out)
               : "rcx", "r11", "memory", XMM_CLOBBERS);
  return ret;
}

int g_order[4];
int g_order_n;
void DirtyAndRecord(int sig, siginfo_t*, void*) {
  DirtyYmm();
  if (g_order_n < 4) g_order[g_order_n++] = sig;
}
void RaiseUsr2DirtyAndRecord(int sig, siginfo_t* si, void* uc) {
  raise(SIGUSR2);  // blocked here: delivered as this handler returns
  DirtyAndRecord(sig, si, uc);
}

TEST(Xstate, YmmSurviveASignalDeliveredAsTheHandlerReturns) {
  if (!HasAvx()) GTEST_SKIP() << "no AVX";
  struct sigaction sa {}, old1{}, old2{};
  sa.sa_sigaction = RaiseUsr2DirtyAndRecord;
  sa.sa_flags = SA_SIGINFO;
  sigemptyset(&sa.sa_mask);
  sigaddset(&sa.sa_mask, SIGUSR2);
  ASSERT_EQ(sigaction(SIGUSR1, &sa, &old1), 0);
  sa.sa_sigaction = DirtyAndRecord;
  sigemptyset(&sa.sa_mask);
  ASSERT_EQ(sigaction(SIGUSR2, &sa, &old2), 0);
  g_order_n = 0;
  Vec32 in[16], out[16];
  Fill(in, sizeof(in), 0x6b);
  YmmAroundSignal(in, out, SIGUSR1);
  sigaction(SIGUSR1, &old1, nullptr);
  sigaction(SIGUSR2, &old2, nullptr);
  ASSERT_EQ(g_order_n, 2);
  EXPECT_EQ(g_order[0], SIGUSR1);
  EXPECT_EQ(g_order[1], SIGUSR2);
  for (int i = 0; i < 16; i++) EXPECT_EQ(memcmp(&in[i], &out[i], 32), 0) << "ymm" << i;
}

TEST(Xstate, YmmSurviveTwoHandlersStartedAtOnce) {
  if (!HasAvx()) GTEST_SKIP() << "no AVX";
  ScopedHandler h1(SIGUSR1, DirtyAndRecord);
  ScopedHandler h2(SIGUSR2, DirtyAndRecord);
  sigset_t both, old;
  sigemptyset(&both);
  sigaddset(&both, SIGUSR1);
  sigaddset(&both, SIGUSR2);
  ASSERT_EQ(sigprocmask(SIG_BLOCK, &both, &old), 0);
  ASSERT_EQ(raise(SIGUSR1), 0);
  ASSERT_EQ(raise(SIGUSR2), 0);
  g_order_n = 0;
  Vec32 in[16], out[16];
  Fill(in, sizeof(in), 0x2d);
  uint64_t unblocked;
  memcpy(&unblocked, &old, sizeof(unblocked));
  // One rt_sigprocmask unblocks both: two frames before the code resumes.
  EXPECT_EQ(YmmAroundSyscall(in, out, SYS_rt_sigprocmask, SIG_SETMASK,
                             reinterpret_cast<long>(&unblocked), 0, 8),
            0);
  EXPECT_EQ(g_order_n, 2);
  for (int i = 0; i < 16; i++) EXPECT_EQ(memcmp(&in[i], &out[i], 32), 0) << "ymm" << i;
}

void* g_ro_stack;
size_t g_ro_stack_size;
void DirtyThenFreezeStack(int, siginfo_t*, void*) {
  DirtyYmm();
  mprotect(g_ro_stack, g_ro_stack_size, PROT_READ);  // the frame too: rt_sigreturn only reads it
}

TEST(Xstate, YmmSurviveReturnFromAReadOnlyFrame) {
  if (!HasAvx()) GTEST_SKIP() << "no AVX";
  g_ro_stack_size = 64 * 1024;
  g_ro_stack = mmap(nullptr, g_ro_stack_size, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  ASSERT_NE(g_ro_stack, MAP_FAILED);
  stack_t ss{}, old{};
  ss.ss_sp = g_ro_stack;
  ss.ss_size = g_ro_stack_size;
  ASSERT_EQ(sigaltstack(&ss, &old), 0);
  Vec32 in[16], out[16];
  Fill(in, sizeof(in), 0x4e);
  {
    ScopedHandler h(SIGUSR1, DirtyThenFreezeStack, SA_ONSTACK);
    YmmAroundSignal(in, out, SIGUSR1);
  }
  ASSERT_EQ(sigaltstack(&old, nullptr), 0);
  munmap(g_ro_stack, g_ro_stack_size);
  for (int i = 0; i < 16; i++) EXPECT_EQ(memcmp(&in[i], &out[i], 32), 0) << "ymm" << i;
}

// A handler's edits of the general registers and flags in the frame are
// what the interrupted code finds.
void EditGeneralRegisters(int, siginfo_t*, void* ucv) {
  auto* uc = static_cast<ucontext_t*>(ucv);
  greg_t* r = uc->uc_mcontext.gregs;
  r[REG_RAX] = 0x1a;
  r[REG_RDX] = 0x2d;
  r[REG_RCX] = 0x3c;
  r[REG_R8] = 0x48;
  r[REG_R9] = 0x59;
  r[REG_R10] = 0x610;
  r[REG_EFL] |= 1;  // CF
}

TEST(Xstate, HandlerEditsOfGeneralRegistersAndFlagsAreRestored) {
  ScopedHandler h(SIGUSR1, EditGeneralRegisters);
  long rax = SYS_tgkill, rdi = getpid(), rsi = gettid(), rdx = SIGUSR1, rcx;
  register long r8 asm("r8") = 1;
  register long r9 asm("r9") = 2;
  register long r10 asm("r10") = 3;
  bool cf;
  asm volatile("clc\n\tsyscall"
               : "+a"(rax), "+d"(rdx), "=c"(rcx), "+r"(r8), "+r"(r9), "+r"(r10), "=@ccc"(cf)
               : "D"(rdi), "S"(rsi)
               : "r11", "memory");
  const long r8_after = r8, r9_after = r9, r10_after = r10;  // before any call
  EXPECT_EQ(rax, 0x1a);
  EXPECT_EQ(rdx, 0x2d);
  EXPECT_EQ(rcx, 0x3c);
  EXPECT_EQ(r8_after, 0x48);
  EXPECT_EQ(r9_after, 0x59);
  EXPECT_EQ(r10_after, 0x610);
  EXPECT_TRUE(cf);
}

#define ZMM_OP(i) "vmovdqu64 " #i "*64(%[in]), %%zmm" #i "\n\t"
#define ZMM_ST(i) "vmovdqu64 %%zmm" #i ", " #i "*64(%[out])\n\t"
#define ZMM_ALL(M)                                                                       \
  M(0) M(1) M(2) M(3) M(4) M(5) M(6) M(7) M(8) M(9) M(10) M(11) M(12) M(13) M(14) M(15)   \
  M(16) M(17) M(18) M(19) M(20) M(21) M(22) M(23) M(24) M(25) M(26) M(27) M(28) M(29)     \
  M(30) M(31)
#define K_LD(i) "kmovw " #i "*2(%[kin]), %%k" #i "\n\t"
#define K_ST(i) "kmovw %%k" #i ", " #i "*2(%[kout])\n\t"
#define K_ALL(M) M(1) M(2) M(3) M(4) M(5) M(6) M(7)
#define ZMM_CLOBBERS                                                                       \
  XMM_CLOBBERS, "xmm16", "xmm17", "xmm18", "xmm19", "xmm20", "xmm21", "xmm22", "xmm23",    \
      "xmm24", "xmm25", "xmm26", "xmm27", "xmm28", "xmm29", "xmm30", "xmm31", "k1", "k2", \
      "k3", "k4", "k5", "k6", "k7"

__attribute__((target("avx512f"), noinline)) void ZmmAroundSignal(const Vec64* in, Vec64* out,
                                                                  const uint16_t* kin,
                                                                  uint16_t* kout, int sig) {
  const long pid = getpid(), tid = gettid();
  long ret;
  asm volatile(ZMM_ALL(ZMM_OP) K_ALL(K_LD) "syscall\n\t" ZMM_ALL(ZMM_ST) K_ALL(K_ST)
               "vzeroupper\n\t"
               : "=a"(ret)
               : "a"(SYS_tgkill), "D"(pid), "S"(tid), "d"(static_cast<long>(sig)), [in] "r"(in),
                 [out] "r"(out), [kin] "r"(kin), [kout] "r"(kout)
               : "rcx", "r11", "memory", ZMM_CLOBBERS);
  EXPECT_EQ(ret, 0);
}

__attribute__((target("avx512f"), noinline)) void DirtyZmmHandler(int, siginfo_t*, void*) {
  static Vec64 junk[32];
  static uint16_t kjunk[8];
  Fill(junk, sizeof(junk), 0x99);
  Fill(kjunk, sizeof(kjunk), 0x42);
  const Vec64* in = junk;
  const uint16_t* kin = kjunk;
  asm volatile(ZMM_ALL(ZMM_OP) K_ALL(K_LD) "vzeroupper\n\t"
               :
               : [in] "r"(in), [kin] "r"(kin)
               : "memory", ZMM_CLOBBERS);
  DirtyYmm();
}

TEST(Xstate, Avx512RegistersAndMasksSurviveAHandler) {
  if (!HasAvx512()) GTEST_SKIP() << "no AVX-512";
  ScopedHandler h(SIGUSR1, DirtyZmmHandler);
  static Vec64 in[32], out[32];
  uint16_t kin[8] = {}, kout[8] = {};
  Fill(in, sizeof(in), 0x21);
  Fill(kin, sizeof(kin), 0x70);
  ZmmAroundSignal(in, out, kin, kout, SIGUSR1);
  for (int i = 0; i < 32; i++) EXPECT_EQ(memcmp(&in[i], &out[i], 64), 0) << "zmm" << i;
  for (int i = 1; i < 8; i++) EXPECT_EQ(kin[i], kout[i]) << "k" << i;
}

// fork() in the middle of AVX work: the child starts with the parent's
// registers, extended halves included.
__attribute__((target("avx"), noinline)) long YmmAroundFork(const Vec32* in, Vec32* out) {
  long ret;
  asm volatile(YMM_LOAD_ALL "syscall\n\t" YMM_STORE_ALL "vzeroupper\n\t"
               : "=a"(ret)
               : "a"(SYS_fork), [in] "r"(in), [out] "r"(out)
               : "rcx", "r11", "memory", XMM_CLOBBERS);
  return ret;
}

TEST(Xstate, ForkedChildInheritsYmm) {
  if (!HasAvx()) GTEST_SKIP() << "no AVX";
  Vec32 in[16], out[16];
  Fill(in, sizeof(in), 0x57);
  memset(out, 0, sizeof(out));
  fflush(stdout);
  fflush(stderr);
  const long pid = YmmAroundFork(in, out);
  if (pid == 0) _exit(memcmp(in, out, sizeof(in)) == 0 ? 0 : 1);
  ASSERT_GT(pid, 0);
  EXPECT_EQ(memcmp(in, out, sizeof(in)), 0);
  int status = 0;
  ASSERT_EQ(waitpid(static_cast<pid_t>(pid), &status, 0), pid);
  EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0) << status;
}

// ---------------------------------------------------------------- the frame

struct FrameSeen {
  unsigned long uc_flags = 0;
  uintptr_t fpstate = 0;
  uintptr_t uc = 0;
  SwBytes sw{};
  uint32_t magic2 = 0;
  uint64_t xstate_bv = 0;
  uint64_t xcomp_bv = 0;
  uint64_t reserved_or = 0;
  Vec32 ymm[16]{};  // as saved in the frame: xmm low halves and the YMM_Hi128 component
};
FrameSeen g_seen;

void RecordFrame(int, siginfo_t*, void* ucv) {
  auto* uc = static_cast<ucontext_t*>(ucv);
  g_seen.uc_flags = uc->uc_flags;
  g_seen.uc = reinterpret_cast<uintptr_t>(uc);
  g_seen.fpstate = reinterpret_cast<uintptr_t>(uc->uc_mcontext.fpregs);
  const auto* fp = reinterpret_cast<const uint8_t*>(uc->uc_mcontext.fpregs);
  if (fp == nullptr) return;
  memcpy(&g_seen.sw, fp + kSwBytes, sizeof(g_seen.sw));
  if (g_seen.sw.magic1 != kMagic1) return;
  memcpy(&g_seen.magic2, fp + g_seen.sw.xstate_size, 4);
  memcpy(&g_seen.xstate_bv, fp + kHeader, 8);
  memcpy(&g_seen.xcomp_bv, fp + kHeader + 8, 8);
  for (int i = 0; i < 6; i++) {
    uint64_t r;
    memcpy(&r, fp + kHeader + 16 + 8 * i, 8);
    g_seen.reserved_or |= r;
  }
  const uint32_t hi = ComponentOffset(2);
  for (int i = 0; i < 16; i++) {
    memcpy(g_seen.ymm[i].b, fp + kXmm + 16 * i, 16);
    memcpy(g_seen.ymm[i].b + 16, fp + hi + 16 * i, 16);
  }
}

TEST(Xstate, FrameHoldsXsaveAreaWithMagic) {
  if (!HasXsave()) GTEST_SKIP() << "no XSAVE";
  ScopedHandler h(SIGUSR1, RecordFrame);
  g_seen = FrameSeen{};
  ASSERT_EQ(raise(SIGUSR1), 0);
  EXPECT_EQ(g_seen.uc_flags, kUcFpXstate | kUcSigcontextSs | kUcStrictRestoreSs);
  ASSERT_NE(g_seen.fpstate, 0u);
  EXPECT_EQ(g_seen.fpstate % 64, 0u);
  ASSERT_EQ(g_seen.sw.magic1, kMagic1);
  const uint32_t size = FrameXstateSize();
  EXPECT_EQ(g_seen.sw.xstate_size, size);
  EXPECT_EQ(g_seen.sw.extended_size, size + 4);
  EXPECT_EQ(g_seen.sw.xfeatures, FrameFeatures());
  for (uint32_t p : g_seen.sw.padding) EXPECT_EQ(p, 0u);
  EXPECT_EQ(g_seen.magic2, kMagic2);
  // FP and SSE are always marked present, so a legacy handler's edits load.
  EXPECT_EQ(g_seen.xstate_bv & 3, 3u);
  EXPECT_EQ(g_seen.xstate_bv & ~FrameFeatures(), 0u);
  EXPECT_EQ(g_seen.xcomp_bv, 0u);
  EXPECT_EQ(g_seen.reserved_or, 0u);
  // The XSAVE area sits right below the frame's start, the ucontext above
  // the return address: the handler's stack is as after a call.
  EXPECT_GT(g_seen.fpstate, g_seen.uc);
  EXPECT_EQ((g_seen.uc - 8 + 8) % 16, 0u);
}

TEST(Xstate, FrameHoldsTheInterruptedYmmValues) {
  if (!HasAvx()) GTEST_SKIP() << "no AVX";
  ScopedHandler h(SIGUSR1, RecordFrame);
  g_seen = FrameSeen{};
  Vec32 in[16], out[16];
  Fill(in, sizeof(in), 0x3c);
  YmmAroundSignal(in, out, SIGUSR1);
  EXPECT_TRUE(g_seen.xstate_bv & 4) << std::hex << g_seen.xstate_bv;
  for (int i = 0; i < 16; i++) EXPECT_EQ(memcmp(&g_seen.ymm[i], &in[i], 32), 0) << "ymm" << i;
}

// ---------------------------------------------------------------- editing the frame

Vec32 g_new_ymm3;

void EditYmm3(int, siginfo_t*, void* ucv) {
  auto* uc = static_cast<ucontext_t*>(ucv);
  auto* fp = reinterpret_cast<uint8_t*>(uc->uc_mcontext.fpregs);
  memcpy(fp + kXmm + 16 * 3, g_new_ymm3.b, 16);
  memcpy(fp + ComponentOffset(2) + 16 * 3, g_new_ymm3.b + 16, 16);
  uint64_t bv;
  memcpy(&bv, fp + kHeader, 8);
  bv |= 4;  // YMM state present
  memcpy(fp + kHeader, &bv, 8);
}

TEST(Xstate, SigreturnLoadsTheHandlersEditOfTheFrame) {
  if (!HasAvx()) GTEST_SKIP() << "no AVX";
  ScopedHandler h(SIGUSR1, EditYmm3);
  Vec32 in[16], out[16];
  Fill(in, sizeof(in), 0x01);
  Fill(&g_new_ymm3, sizeof(g_new_ymm3), 0xa0);
  YmmAroundSignal(in, out, SIGUSR1);
  for (int i = 0; i < 16; i++) {
    const Vec32& want = i == 3 ? g_new_ymm3 : in[i];
    EXPECT_EQ(memcmp(&out[i], &want, 32), 0) << "ymm" << i;
  }
}

void EditMxcsr(int, siginfo_t*, void* ucv) {
  auto* uc = static_cast<ucontext_t*>(ucv);
  uc->uc_mcontext.fpregs->mxcsr = 0x1f80 | 0x6000;  // round toward zero
}

TEST(Xstate, SigreturnLoadsAnEditedMxcsr) {
  ScopedHandler h(SIGUSR1, EditMxcsr);
  uint32_t before, after;
  asm volatile("stmxcsr %0" : "=m"(before));
  ASSERT_EQ(raise(SIGUSR1), 0);
  asm volatile("stmxcsr %0" : "=m"(after));
  uint32_t restore = before;
  asm volatile("ldmxcsr %0" : : "m"(restore));
  EXPECT_EQ(after, 0x7f80u);
}

// ---------------------------------------------------------------- a clean state for handlers

}  // namespace

// What husk_xs_clean_handler (in assembly: a C handler could touch the
// registers before looking) finds on entry.
extern "C" {
__attribute__((used)) uint32_t husk_xs_mxcsr;
__attribute__((used)) uint16_t husk_xs_fcw;
__attribute__((used)) uint8_t husk_xs_has_avx;
__attribute__((used)) alignas(32) uint8_t husk_xs_ymm[16 * 32];
void husk_xs_clean_handler(int, siginfo_t*, void*);
}
asm(R"(
  .text
  .globl husk_xs_clean_handler
  .type husk_xs_clean_handler, @function
husk_xs_clean_handler:
  stmxcsr husk_xs_mxcsr(%rip)
  fnstcw husk_xs_fcw(%rip)
  cmpb $0, husk_xs_has_avx(%rip)
  je 1f
  vmovdqu %ymm0, husk_xs_ymm+0(%rip)
  vmovdqu %ymm1, husk_xs_ymm+32(%rip)
  vmovdqu %ymm2, husk_xs_ymm+64(%rip)
  vmovdqu %ymm3, husk_xs_ymm+96(%rip)
  vmovdqu %ymm4, husk_xs_ymm+128(%rip)
  vmovdqu %ymm5, husk_xs_ymm+160(%rip)
  vmovdqu %ymm6, husk_xs_ymm+192(%rip)
  vmovdqu %ymm7, husk_xs_ymm+224(%rip)
  vmovdqu %ymm8, husk_xs_ymm+256(%rip)
  vmovdqu %ymm9, husk_xs_ymm+288(%rip)
  vmovdqu %ymm10, husk_xs_ymm+320(%rip)
  vmovdqu %ymm11, husk_xs_ymm+352(%rip)
  vmovdqu %ymm12, husk_xs_ymm+384(%rip)
  vmovdqu %ymm13, husk_xs_ymm+416(%rip)
  vmovdqu %ymm14, husk_xs_ymm+448(%rip)
  vmovdqu %ymm15, husk_xs_ymm+480(%rip)
1:
  ret
  .size husk_xs_clean_handler, .-husk_xs_clean_handler
)");

namespace {

// Sets MXCSR and the x87 control word to non-default values, sends `sig`,
// and reports what they were after the handler returned.
__attribute__((target("avx"), noinline)) void ControlWordsAroundSignal(const Vec32* in, int sig,
                                                                     uint32_t* mxcsr_after,
                                                                     uint16_t* fcw_after) {
  const long pid = getpid(), tid = gettid();
  uint32_t mxcsr = 0x7f80;  // round toward zero
  uint16_t fcw = 0x27f;     // 53-bit precision
  uint32_t default_mxcsr = 0x1f80;
  uint16_t default_fcw = 0x37f;
  long ret;
  asm volatile("ldmxcsr %[mx]\n\t"
               "fldcw %[cw]\n\t" YMM_LOAD_ALL
               "syscall\n\t"
               "stmxcsr %[mxo]\n\t"
               "fnstcw %[cwo]\n\t"
               "ldmxcsr %[dmx]\n\t"
               "fldcw %[dcw]\n\t"
               "vzeroupper\n\t"
               : "=a"(ret), [mxo] "=m"(*mxcsr_after), [cwo] "=m"(*fcw_after)
               : "a"(SYS_tgkill), "D"(pid), "S"(tid), "d"(static_cast<long>(sig)), [in] "r"(in),
                 [mx] "m"(mxcsr), [cw] "m"(fcw), [dmx] "m"(default_mxcsr), [dcw] "m"(default_fcw)
               : "rcx", "r11", "memory", XMM_CLOBBERS);
  EXPECT_EQ(ret, 0);
}

TEST(Xstate, HandlerStartsWithCleanFpState) {
  if (!HasAvx()) GTEST_SKIP() << "no AVX";
  husk_xs_has_avx = 1;
  ScopedHandler h(SIGUSR1, husk_xs_clean_handler);
  Vec32 in[16];
  Fill(in, sizeof(in), 0x77);
  memset(husk_xs_ymm, 0xff, sizeof(husk_xs_ymm));
  husk_xs_mxcsr = 0;
  husk_xs_fcw = 0;
  uint32_t mxcsr_after = 0;
  uint16_t fcw_after = 0;
  ControlWordsAroundSignal(in, SIGUSR1, &mxcsr_after, &fcw_after);
  EXPECT_EQ(husk_xs_mxcsr, 0x1f80u);
  EXPECT_EQ(husk_xs_fcw, 0x37f);
  for (int i = 0; i < 16 * 32; i++) ASSERT_EQ(husk_xs_ymm[i], 0) << "ymm" << i / 32 << " byte " << i % 32;
  // ... and the interrupted code gets its own back.
  EXPECT_EQ(mxcsr_after, 0x7f80u);
  EXPECT_EQ(fcw_after, 0x27f);
}

// ---------------------------------------------------------------- size

uintptr_t g_alt_uc;
uintptr_t g_alt_fpstate;

void RecordAltFrame(int, siginfo_t*, void* ucv) {
  auto* uc = static_cast<ucontext_t*>(ucv);
  g_alt_uc = reinterpret_cast<uintptr_t>(uc);
  g_alt_fpstate = reinterpret_cast<uintptr_t>(uc->uc_mcontext.fpregs);
}

TEST(Xstate, FrameOnAltStackFitsMinsigstkszWithLinuxLayout) {
  if (!HasXsave()) GTEST_SKIP() << "no XSAVE";
  const unsigned long minsig = getauxval(AT_MINSIGSTKSZ);
  ASSERT_GT(minsig, 0u);
  std::vector<uint8_t> mem(1 << 16);
  for (size_t skew : {0, 8, 24, 40}) {
    stack_t ss{};
    ss.ss_sp = mem.data();
    ss.ss_size = mem.size() - 128 - skew;
    stack_t old{};
    ASSERT_EQ(sigaltstack(&ss, &old), 0);
    {
      ScopedHandler h(SIGUSR1, RecordAltFrame, SA_ONSTACK);
      ASSERT_EQ(raise(SIGUSR1), 0);
    }
    ASSERT_EQ(sigaltstack(&old, nullptr), 0);
    const uintptr_t top = reinterpret_cast<uintptr_t>(mem.data()) + ss.ss_size;
    const uintptr_t sp = g_alt_uc - 8;  // the return address at the handler's entry
    EXPECT_LE(top - sp, minsig) << "skew " << skew;
    // arch/x86/kernel/signal.c get_sigframe: the XSAVE area (and magic2)
    // 64-byte aligned below the top, then rt_sigframe, 16-aligned less 8.
    const uintptr_t fp = (top - (FrameXstateSize() + 4)) & ~uintptr_t{63};
    EXPECT_EQ(g_alt_fpstate, fp) << "skew " << skew;
    constexpr uintptr_t kRtSigframe = 440;
    EXPECT_EQ(sp, ((fp - kRtSigframe) & ~uintptr_t{15}) - 8) << "skew " << skew;
  }
}

// Runs `fn` in a child and returns its wait status.
int StatusOfChild(const std::function<void()>& fn) {
  fflush(stdout);
  fflush(stderr);
  pid_t pid = fork();
  if (pid == 0) {
    fn();
    _exit(0);
  }
  int status = 0;
  EXPECT_EQ(waitpid(pid, &status, 0), pid);
  return status;
}

void Nop(int, siginfo_t*, void*) {}

TEST(Xstate, FrameOverflowingTheAltStackIsSigsegv) {
  if (!HasXsave()) GTEST_SKIP() << "no XSAVE";
  // The smallest altstack sigaltstack takes, if the frame does not fit it.
  if (FrameXstateSize() + 4 + 440 < kKernelMinsigstksz + 64) GTEST_SKIP() << "frame fits MINSIGSTKSZ";
  const int status = StatusOfChild([] {
    static uint8_t mem[kKernelMinsigstksz];
    stack_t ss{};
    ss.ss_sp = mem;
    ss.ss_size = sizeof(mem);
    if (sigaltstack(&ss, nullptr) != 0) _exit(2);
    struct sigaction sa {};
    sa.sa_sigaction = Nop;
    sa.sa_flags = SA_SIGINFO | SA_ONSTACK;
    sigaction(SIGUSR1, &sa, nullptr);
    raise(SIGUSR1);
    _exit(3);
  });
  EXPECT_TRUE(WIFSIGNALED(status) && WTERMSIG(status) == SIGSEGV) << std::hex << status;
}

// ---------------------------------------------------------------- corrupt frames

std::function<void(uint8_t*, ucontext_t*)> g_corrupt;

void CorruptingHandler(int, siginfo_t*, void* ucv) {
  auto* uc = static_cast<ucontext_t*>(ucv);
  g_corrupt(reinterpret_cast<uint8_t*>(uc->uc_mcontext.fpregs), uc);
}

// Status of a child that raises a signal whose handler applies `corrupt`
// to the frame's XSAVE area, then returns.
int StatusAfterCorruption(std::function<void(uint8_t*, ucontext_t*)> corrupt) {
  return StatusOfChild([&] {
    g_corrupt = corrupt;
    struct sigaction sa {};
    sa.sa_sigaction = CorruptingHandler;
    sa.sa_flags = SA_SIGINFO;
    sigaction(SIGUSR1, &sa, nullptr);
    raise(SIGUSR1);
    _exit(0);
  });
}

void ExpectSigsegv(int status) {
  EXPECT_TRUE(WIFSIGNALED(status) && WTERMSIG(status) == SIGSEGV) << "status " << std::hex << status;
}

TEST(XstateBadFrame, ReservedHeaderBytesAreSigsegv) {
  if (!HasXsave()) GTEST_SKIP() << "no XSAVE";
  ExpectSigsegv(StatusAfterCorruption([](uint8_t* fp, ucontext_t*) { fp[kHeader + 16] = 1; }));
}

TEST(XstateBadFrame, CompactedFormatBitsAreSigsegv) {
  if (!HasXsave()) GTEST_SKIP() << "no XSAVE";
  ExpectSigsegv(StatusAfterCorruption([](uint8_t* fp, ucontext_t*) { fp[kHeader + 8] = 3; }));
}

TEST(XstateBadFrame, UnsupportedFeatureInXstateBvIsSigsegv) {
  if (!HasXsave()) GTEST_SKIP() << "no XSAVE";
  int bit = 2;
  while (bit < 63 && (Xcr0() & (uint64_t{1} << bit))) bit++;
  ExpectSigsegv(StatusAfterCorruption([bit](uint8_t* fp, ucontext_t*) {
    uint64_t bv;
    memcpy(&bv, fp + kHeader, 8);
    bv |= uint64_t{1} << bit;
    memcpy(fp + kHeader, &bv, 8);
  }));
}

TEST(XstateBadFrame, ReservedMxcsrBitsAreSigsegv) {
  ExpectSigsegv(StatusAfterCorruption([](uint8_t*, ucontext_t* uc) {
    uc->uc_mcontext.fpregs->mxcsr |= 0x80000000u;
  }));
}

TEST(XstateBadFrame, UnreadableFpstateIsSigsegv) {
  ExpectSigsegv(StatusAfterCorruption([](uint8_t*, ucontext_t* uc) {
    uc->uc_mcontext.fpregs = static_cast<fpregset_t>(husk_test::BadPtr());
  }));
}

TEST(XstateBadFrame, MisalignedXsaveAreaIsSigsegv) {
  if (!HasXsave()) GTEST_SKIP() << "no XSAVE";
  ExpectSigsegv(StatusAfterCorruption([](uint8_t* fp, ucontext_t* uc) {
    alignas(64) static uint8_t copy[1 << 14];
    memcpy(copy + 16, fp, FrameXstateSize() + 4);
    uc->uc_mcontext.fpregs = reinterpret_cast<fpregset_t>(copy + 16);
  }));
}

// Corruptions Linux tolerates: without both magic words the area is taken
// for a bare FXSAVE image, whose x87/SSE state loads while the rest of the
// extended state starts afresh; without an area at all, everything does.
void FxOnlyHandlerEdit(uint8_t* fp, bool break_magic2) {
  if (break_magic2) {
    SwBytes sw;
    memcpy(&sw, fp + kSwBytes, sizeof(sw));
    fp[sw.xstate_size] ^= 0xff;
  } else {
    fp[kSwBytes] ^= 0xff;
  }
  memcpy(fp + kXmm + 16 * 5, g_new_ymm3.b, 16);
}

void ExpectFxOnlyRestore(bool break_magic2) {
  const int status = StatusOfChild([break_magic2] {
    Fill(&g_new_ymm3, sizeof(g_new_ymm3), 0xc4);
    g_corrupt = [break_magic2](uint8_t* fp, ucontext_t*) { FxOnlyHandlerEdit(fp, break_magic2); };
    ScopedHandler h(SIGUSR1, CorruptingHandler);
    Vec32 in[16], out[16];
    Fill(in, sizeof(in), 0x0f);
    YmmAroundSignal(in, out, SIGUSR1);
    int bad = 0;
    for (int i = 0; i < 16; i++) {
      Vec32 want = in[i];
      if (i == 5) memcpy(want.b, g_new_ymm3.b, 16);
      memset(want.b + 16, 0, 16);  // the YMM upper halves are reset
      if (memcmp(&out[i], &want, 32) != 0) bad |= 1 << i;
    }
    _exit(bad == 0 ? 0 : 1);
  });
  EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0) << std::hex << status;
}

TEST(XstateBadFrame, BadMagic1RestoresFxsaveImageOnly) {
  if (!HasAvx()) GTEST_SKIP() << "no AVX";
  ExpectFxOnlyRestore(false);
}

TEST(XstateBadFrame, BadMagic2RestoresFxsaveImageOnly) {
  if (!HasAvx()) GTEST_SKIP() << "no AVX";
  ExpectFxOnlyRestore(true);
}

TEST(XstateBadFrame, NullFpstateResetsFpState) {
  const int status = StatusOfChild([] {
    g_corrupt = [](uint8_t*, ucontext_t* uc) { uc->uc_mcontext.fpregs = nullptr; };
    ScopedHandler h(SIGUSR1, CorruptingHandler);
    uint32_t mx = 0x7f80, after = 0;
    asm volatile("ldmxcsr %0" : : "m"(mx));
    raise(SIGUSR1);
    asm volatile("stmxcsr %0" : "=m"(after));
    _exit(after == 0x1f80 ? 0 : 1);
  });
  EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0) << std::hex << status;
}

}  // namespace
