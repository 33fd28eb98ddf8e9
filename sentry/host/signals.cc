#include "sentry/host/signals.h"

#include <pthread.h>

namespace husk::host {

const sigset_t& SignalForwarder::Set() {
  static const sigset_t set = [] {
    sigset_t s;
    sigemptyset(&s);
    for (int sig : {SIGINT, SIGQUIT, SIGHUP, SIGTERM, SIGWINCH}) sigaddset(&s, sig);
    return s;
  }();
  return set;
}

SignalForwarder::SignalForwarder() { pthread_sigmask(SIG_BLOCK, &Set(), nullptr); }

SignalForwarder::~SignalForwarder() { Stop(); }

void SignalForwarder::Start(std::function<void(int)> on_signal) {
  thread_ = std::thread([this, on_signal = std::move(on_signal)] {
    while (!stop_.load()) {
      const int sig = sigwaitinfo(&Set(), nullptr);
      if (sig > 0 && !stop_.load()) on_signal(sig);
    }
  });
}

void SignalForwarder::Stop() {
  if (!thread_.joinable()) return;
  // One of its own signals ends the wait; with stop_ set it is not passed on.
  stop_.store(true);
  pthread_kill(thread_.native_handle(), SIGHUP);
  thread_.join();
}

}  // namespace husk::host
