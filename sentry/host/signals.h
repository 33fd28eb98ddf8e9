// The sentry's own signals. `sentry run` stands for the sandbox on the
// host: a Ctrl-C, a hangup or a kill aimed at it is meant for the program
// inside. The forwarder blocks those signals in every sentry thread and
// hands each one, as it arrives, to a callback on a thread of its own.
#pragma once

#include <signal.h>

#include <atomic>
#include <functional>
#include <thread>

namespace husk::host {

class SignalForwarder {
 public:
  // The signals taken: SIGINT, SIGQUIT, SIGHUP, SIGTERM, and SIGWINCH (the
  // caller's terminal was resized). Blocks them in the calling thread, so
  // call it before any other thread starts (threads inherit the mask).
  SignalForwarder();
  ~SignalForwarder();

  // Starts delivering to `on_signal` (on the forwarder's thread).
  void Start(std::function<void(int)> on_signal);
  // Stops delivering and joins the thread; signals arriving afterwards
  // stay blocked.
  void Stop();

  // The signals taken, for a child process to unblock after fork.
  static const sigset_t& Set();

 private:
  std::atomic<bool> stop_{false};
  std::thread thread_;
};

}  // namespace husk::host
