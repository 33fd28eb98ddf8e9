// Pipes (fs/pipe.c): a bounded byte buffer with a read end and a write end.
#pragma once

#include <memory>
#include <span>
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

// splice(2), tee(2), vmsplice(2) and sendfile(2) move bytes into, out of
// and between pipes without passing them through the application.
//
// The pipe behind a pipe or FIFO end; null for any other file.
std::shared_ptr<Pipe> PipeOf(const FileDescription& f);
// Waits until `p` holds data or has no writer left and returns the bytes it
// holds (0: end of file). Unless `nonblock` (EAGAIN then); ERESTARTSYS if a
// signal comes first.
Result<size_t> PipeWaitData(Pipe& p, bool nonblock);
// Waits until `p` has room and returns how much: EPIPE if it has no reader
// (the caller raises SIGPIPE), EAGAIN with `nonblock`, ERESTARTSYS.
Result<size_t> PipeWaitRoom(Pipe& p, bool nonblock);
// Copies up to dst.size() bytes from the front of `p`, leaving them there.
size_t PipePeek(Pipe& p, std::span<uint8_t> dst);
// Drops `n` bytes from the front of `p` (those a peek passed on).
void PipeConsume(Pipe& p, size_t n);
// Appends as much of `src` as `p` has room for; returns the count. EPIPE
// if it has no reader.
Result<size_t> PipeAppend(Pipe& p, std::span<const uint8_t> src);
// splice(2) between two pipes, or tee(2) with `keep` (the bytes stay in
// `in` too): up to `len` bytes, once `in` has data and `out` room (EAGAIN
// with `nonblock`); 0 if `in` is empty with no writer; EPIPE if `out` has
// no reader.
Result<size_t> PipeToPipe(Pipe& in, Pipe& out, size_t len, bool nonblock, bool keep);

}  // namespace husk::vfs
