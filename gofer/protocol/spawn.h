// Starting the gofer binary for a sentry.
#pragma once

#include <sys/types.h>

#include <memory>
#include <string>
#include <vector>

#include "base/result.h"
#include "base/scoped_fd.h"

namespace husk::gofer {

// A host directory the gofer serves, as export number = its index.
struct Export {
  std::string host_path;
  bool writable = false;
};

struct Launch;

struct Spawned {
  pid_t pid;             // the gofer; the caller reaps it
  ScopedFd sock;         // the sentry's end of the socketpair, for a Client
  ScopedFd exec_status;  // until AwaitGofer: reports the child's exec errno
  // Until AwaitGofer: what the child reads from our memory before its exec.
  std::shared_ptr<Launch> launch;
};

// The fd number at which the gofer finds its end of the socketpair.
inline constexpr int kGoferSocketFd = 3;

// Forks and execs `gofer_binary --fd=3 --export=PATH:ro|rw ...` connected
// by a SOCK_SEQPACKET socketpair. The gofer gets SIGKILL when its parent
// dies and inherits no other fds than stdio and the socket. Fails with the
// execve errno if the binary cannot be started.
//
// PR_SET_PDEATHSIG fires when the *thread* that forked exits, so call this
// from a thread that lives as long as the sentry (the main thread).
Result<Spawned> SpawnGofer(const std::string& gofer_binary, const std::vector<Export>& exports);

// SpawnGofer in two halves, so the caller can work while the gofer execs:
// StartGofer starts the child, AwaitGofer waits for the exec's outcome. The
// Spawned must live until AwaitGofer (the child reads from it).
Result<Spawned> StartGofer(const std::string& gofer_binary, const std::vector<Export>& exports);
Result<void> AwaitGofer(Spawned& spawned);

}  // namespace husk::gofer
