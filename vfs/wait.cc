#include "vfs/wait.h"

#include <poll.h>

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

short PollHostFd(int fd, short events) {
  pollfd p{fd, events, 0};
  int n;
  do {
    n = poll(&p, 1, 0);
  } while (n < 0 && errno == EINTR);
  return n > 0 ? p.revents : 0;
}

Result<void> WaitHostFd(int fd, short events) {
  Waiter* w = CurrentWaiter();
  if (w == nullptr) return Ok();
  const HostWatch watch{fd, events};
  return w->Block({}, [&] { return PollHostFd(fd, events) != 0; }, std::nullopt,
                  std::span<const HostWatch>(&watch, 1));
}

}  // namespace husk::vfs
