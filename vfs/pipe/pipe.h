// Pipes (fs/pipe.c): a bounded byte buffer with a read end and a write end.
#pragma once

#include <memory>
#include <utility>

#include "base/result.h"
#include "vfs/file.h"

namespace husk::vfs {

// pipe2(2): the read end and the write end. `flags`: O_NONBLOCK, O_DIRECT
// (accepted; packets are not kept), O_CLOEXEC is the caller's.
std::pair<std::shared_ptr<FileDescription>, std::shared_ptr<FileDescription>> NewPipe(int flags);

// A named pipe (fifo(7)): the buffer a FIFO inode keeps for its openers.
class Pipe;
std::shared_ptr<Pipe> NewFifo();
// open(2) of the FIFO at `path`, as Linux's fifo_open: a reader waits for a
// writer and a writer for a reader (ERESTARTSYS if a signal comes first);
// O_NONBLOCK: a reader does not wait, a writer with no reader gets ENXIO;
// O_RDWR never waits. The data goes when the last opener closes.
Result<std::shared_ptr<FileDescription>> OpenFifo(const std::shared_ptr<Pipe>& fifo, const Path& path,
                                                  int flags);

}  // namespace husk::vfs
