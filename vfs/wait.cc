#include "vfs/wait.h"

namespace husk::vfs {
namespace {
thread_local Waiter* current_waiter = nullptr;
}  // namespace

Waiter* CurrentWaiter() { return current_waiter; }
void SetCurrentWaiter(Waiter* w) { current_waiter = w; }

Result<void> BlockOn(WaitQueue& q, absl::FunctionRef<bool()> ready) {
  Waiter* w = CurrentWaiter();
  if (w == nullptr) return ready() ? Result<void>(Ok()) : Errno(EAGAIN);
  return w->Block({&q}, ready);
}

}  // namespace husk::vfs
