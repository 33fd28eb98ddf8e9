// eventfd(2) (fs/eventfd.c): a 64-bit counter that write(2) adds to and
// read(2) takes, as a wait/notify object between threads and processes.
#pragma once

#include <cstdint>
#include <memory>

#include "vfs/file.h"

namespace husk::vfs {

// eventfd2(2)'s EFD_SEMAPHORE; EFD_NONBLOCK and EFD_CLOEXEC are O_NONBLOCK
// and O_CLOEXEC.
inline constexpr int kEfdSemaphore = 1;

// A new eventfd counting from `initval`. `flags`: kEfdSemaphore and
// O_NONBLOCK (validated by the caller; O_CLOEXEC is the fd's).
std::shared_ptr<FileDescription> NewEventFd(uint64_t initval, int flags);

}  // namespace husk::vfs
