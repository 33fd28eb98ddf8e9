// Signal frames on the application stack (arch/x86/kernel/signal*.c): what
// a handler finds (siginfo, ucontext, FP state) and what rt_sigreturn
// restores.
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

// Whether `sp` is on the task's alternate signal stack.
bool OnAltStack(Task& t, uint64_t sp);

}  // namespace husk::kernel
