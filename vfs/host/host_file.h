// HostFile: a host fd the user handed to the sandbox (stdin, stdout,
// stderr of `sentry run`). Reads and writes go to the host fd, sharing its
// offset with the caller as an inherited fd would.
#pragma once

#include <memory>

#include "base/scoped_fd.h"
#include "vfs/file.h"

namespace husk::vfs {

// Wraps a dup of host fd `fd`; nullptr if it is not open.
std::shared_ptr<FileDescription> NewHostFile(int fd);

}  // namespace husk::vfs
