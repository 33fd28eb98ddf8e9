#include "sentry/kernel/kernel.h"

#include <unistd.h>

namespace husk::kernel {

Kernel::Kernel(KernelOptions opts, std::unique_ptr<platform::Platform> platform,
               std::unique_ptr<mm::MemoryFile> memory)
    : opts_(opts), platform_(std::move(platform)), memory_(std::move(memory)),
      hostname_("husk") {
  clock_gettime(CLOCK_REALTIME, &boot_time_);
}

Result<void> Kernel::PrepareAddressSpace() {
  prepared_ = TRY(platform_->NewAddressSpace());
  return Ok();
}

std::unique_ptr<Task> Kernel::NewInitTask(std::shared_ptr<vfs::FdTable> fds,
                                          vfs::Credentials creds) {
  auto tg = std::make_shared<ThreadGroup>(1);
  auto t = std::make_unique<Task>(*this, std::move(tg), 1);
  t->set_fds(std::move(fds));
  t->creds() = std::move(creds);
  t->fs().root = vfs_.Root();
  t->fs().cwd = vfs_.Root();
  return t;
}

}  // namespace husk::kernel
