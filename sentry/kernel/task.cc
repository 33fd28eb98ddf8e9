#include "sentry/kernel/task.h"

#include "base/log.h"
#include "sentry/kernel/kernel.h"
#include "sentry/syscalls/syscalls.h"

namespace husk::kernel {

Task::Task(Kernel& kernel, std::shared_ptr<ThreadGroup> tg, int tid)
    : kernel_(kernel), tg_(std::move(tg)), tid_(tid) {}

void Task::HandleFault(const siginfo_t& info) {
  const uint64_t addr = reinterpret_cast<uint64_t>(info.si_addr);
  if (info.si_signo == SIGSEGV && mm_->HandleFault(addr)) return;
  // PARTIAL(signals): no handlers run yet; a fault takes the default
  // action, which for all of these is to dump core.
  HUSK_INFO("fatal signal {} at {:#x} (rip {:#x})", info.si_signo, addr, regs_.gp.rip);
  Exit(ExitStatus{0, info.si_signo, true});
}

ExitStatus Task::Run() {
  while (!exiting_) {
    platform::Event ev = mm_->address_space().MainContext().Switch(regs_);
    switch (ev.kind) {
      case platform::Event::Kind::kSyscall:
        syscalls::Dispatch(*this);
        break;
      case platform::Event::Kind::kFault:
        HandleFault(ev.info);
        break;
      case platform::Event::Kind::kDied:
        Exit(ExitStatus{0, SIGKILL, false});
        break;
    }
  }
  return exit_status_;
}

}  // namespace husk::kernel
