// Pipes (fs/pipe.c): a bounded byte buffer with a read end and a write end.
#pragma once

#include <memory>
#include <utility>

#include "vfs/file.h"

namespace husk::vfs {

// pipe2(2): the read end and the write end. `flags`: O_NONBLOCK, O_DIRECT
// (accepted; packets are not kept), O_CLOEXEC is the caller's.
std::pair<std::shared_ptr<FileDescription>, std::shared_ptr<FileDescription>> NewPipe(int flags);

}  // namespace husk::vfs
