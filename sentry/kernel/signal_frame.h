// Signal frames on the application stack (arch/x86/kernel/signal*.c,
// fpu/signal.c): what a handler finds (siginfo, ucontext, the FP/extended
// state as an XSAVE area) and what rt_sigreturn restores.
#pragma once

#include <signal.h>

#include "base/result.h"
#include "sentry/kernel/task.h"

namespace husk::kernel {

// Builds an rt_sigframe for `info` on the task's stack (or alternate
// stack) and points the registers at the handler. `mask` is the mask
// rt_sigreturn restores.
Result<void> SetupSignalFrame(Task& t, const siginfo_t& info, const SigAction& act, uint64_t mask);

// rt_sigreturn(2): restores the registers, mask, FP state and alternate
// stack from the frame at the stack pointer; returns the restored rax.
Result<uint64_t> SignalReturn(Task& t);

// Gives the task a fresh FP/extended state, as a new image and a signal
// handler start with (fpu__clear_user_states).
Result<void> ResetFpState(Task& t);

// sigaltstack(2)'s floor, the uapi MINSIGSTKSZ. (glibc's MINSIGSTKSZ is
// sysconf(_SC_MINSIGSTKSZ) under _GNU_SOURCE: the host's AT_MINSIGSTKSZ.)
inline constexpr size_t kMinSigStackSize = 2048;

// Whether `sp` is on the task's alternate signal stack.
bool OnAltStack(Task& t, uint64_t sp);

}  // namespace husk::kernel
