// Waiting on several files at once: poll, ppoll, select, pselect6
// (fs/select.c) and epoll (fs/eventpoll.c; the instance is vfs/epoll).
// Each file says which events hold (FileDescription::Readiness) and which
// queue is notified when that may change; the task sleeps on all those
// queues (and polls the host fds among the files on the host) until one of
// them holds something asked for.
#include <poll.h>
#include <sys/epoll.h>
#include <sys/select.h>

#include <algorithm>
#include <optional>
#include <vector>

#include "sentry/kernel/kernel.h"
#include "sentry/syscalls/handlers.h"
#include "sentry/syscalls/util.h"
#include "vfs/epoll/epoll.h"

namespace husk::syscalls {
namespace {

constexpr uint64_t kSigsetSize = 8;
constexpr int64_t kNsPerSec = 1000000000;

// One file being waited on, and the events asked of it.
struct Watched {
  std::shared_ptr<vfs::FileDescription> file;  // null: a negative or closed fd
  short events = 0;
  short revents = 0;
};

// Fills every entry's revents; returns how many have any.
int Scan(std::vector<Watched>& w) {
  int n = 0;
  for (auto& e : w) {
    e.revents = e.file ? e.file->Readiness(e.events) : e.revents;
    if (e.revents != 0) ++n;
  }
  return n;
}

timespec MonotonicAfter(int64_t ns) {
  timespec now;
  clock_gettime(CLOCK_MONOTONIC, &now);
  const int64_t total = now.tv_nsec + ns % kNsPerSec;
  return timespec{now.tv_sec + ns / kNsPerSec + total / kNsPerSec, total % kNsPerSec};
}

int64_t NsUntil(const timespec& deadline) {
  timespec now;
  clock_gettime(CLOCK_MONOTONIC, &now);
  return std::max<int64_t>(
      0, (deadline.tv_sec - now.tv_sec) * kNsPerSec + (deadline.tv_nsec - now.tv_nsec));
}

// Scans, then sleeps until something is ready, the deadline passes (0
// ready) or a signal comes (ERESTARTSYS).
Result<int> WaitReady(Task& t, std::vector<Watched>& w, std::optional<timespec> deadline) {
  int n = Scan(w);
  if (n > 0 || (deadline && NsUntil(*deadline) == 0)) return n;
  std::vector<vfs::WaitQueue*> queues;
  std::vector<vfs::HostWatch> host;
  for (auto& e : w) {
    if (!e.file) continue;
    if (vfs::WaitQueue* q = e.file->ReadinessQueue()) queues.push_back(q);
    if (int fd = e.file->HostPollFd(); fd >= 0) host.push_back({fd, e.events});
  }
  std::sort(queues.begin(), queues.end());
  queues.erase(std::unique(queues.begin(), queues.end()), queues.end());
  auto r = t.BlockOn(queues, [&] { return (n = Scan(w)) > 0; }, deadline, host);
  if (r) return n;
  if (r.error() == Errno(ETIMEDOUT)) return 0;
  return r.error();
}

// The optional sigmask argument of ppoll/pselect6: in force while waiting,
// the old mask back afterwards (or once a handler has run).
Result<void> SwapMask(Task& t, uint64_t mask_addr, uint64_t size) {
  if (mask_addr == 0) return Ok();
  if (size != kSigsetSize) return Errno(EINVAL);
  const uint64_t mask = TRY(CopyInStruct<uint64_t>(t, mask_addr));
  t.set_saved_mask(t.signal_mask());
  t.set_signal_mask(mask);
  return Ok();
}

Result<uint64_t> DoPoll(Task& t, uint64_t fds_addr, uint64_t nfds, std::optional<timespec> deadline) {
  if (nfds > t.thread_group().GetRlimit(RLIMIT_NOFILE).rlim_cur) return Errno(EINVAL);
  std::vector<pollfd> pfds(nfds);
  TRY(t.mm().CopyIn(fds_addr, std::span<uint8_t>(reinterpret_cast<uint8_t*>(pfds.data()),
                                                  nfds * sizeof(pollfd))));
  std::vector<Watched> w(nfds);
  for (size_t i = 0; i < nfds; ++i) {
    if (pfds[i].fd < 0) continue;
    auto file = t.fds().Get(pfds[i].fd);
    if (!file) {
      w[i].revents = POLLNVAL;
      continue;
    }
    w[i].file = *file;
    w[i].events = pfds[i].events;
  }
  const int n = TRY(WaitReady(t, w, deadline));
  for (size_t i = 0; i < nfds; ++i) pfds[i].revents = w[i].revents;
  TRY(t.mm().CopyOut(fds_addr, std::span<const uint8_t>(reinterpret_cast<const uint8_t*>(pfds.data()),
                                                         nfds * sizeof(pollfd))));
  return static_cast<uint64_t>(n);
}

// What select's three sets ask for, as poll events.
constexpr short kSelectIn = POLLIN | POLLRDNORM | POLLRDBAND | POLLHUP | POLLERR;
constexpr short kSelectOut = POLLOUT | POLLWRNORM | POLLWRBAND | POLLERR;
constexpr short kSelectEx = POLLPRI;

Result<uint64_t> DoSelect(Task& t, int nfds, uint64_t in_addr, uint64_t out_addr, uint64_t ex_addr,
                          std::optional<timespec> deadline) {
  if (nfds < 0) return Errno(EINVAL);
  nfds = std::min<int>(nfds, static_cast<int>(t.thread_group().GetRlimit(RLIMIT_NOFILE).rlim_cur));
  const size_t bytes = (static_cast<size_t>(nfds) + 63) / 64 * 8;
  std::vector<uint64_t> sets[3];
  const uint64_t addrs[3] = {in_addr, out_addr, ex_addr};
  for (int s = 0; s < 3; ++s) {
    sets[s].assign(bytes / 8, 0);
    if (addrs[s] != 0 && bytes > 0) {
      TRY(t.mm().CopyIn(addrs[s], std::span<uint8_t>(reinterpret_cast<uint8_t*>(sets[s].data()), bytes)));
    }
  }
  auto is_set = [&](int s, int fd) { return (sets[s][fd / 64] >> (fd % 64)) & 1; };
  std::vector<Watched> w;
  std::vector<int> fd_of;
  for (int fd = 0; fd < nfds; ++fd) {
    short events = (is_set(0, fd) ? kSelectIn : 0) | (is_set(1, fd) ? kSelectOut : 0) |
                   (is_set(2, fd) ? kSelectEx : 0);
    if (events == 0) continue;
    w.push_back(Watched{TRY(t.fds().Get(fd)), events, 0});
    fd_of.push_back(fd);
  }
  TRY(WaitReady(t, w, deadline));
  // select counts each fd once per set it is reported in.
  uint64_t count = 0;
  for (auto& set : sets) std::fill(set.begin(), set.end(), 0);
  for (size_t i = 0; i < w.size(); ++i) {
    const int fd = fd_of[i];
    const short asked[3] = {kSelectIn, kSelectOut, kSelectEx};
    for (int s = 0; s < 3; ++s) {
      if ((w[i].events & asked[s]) && (w[i].revents & asked[s])) {
        sets[s][fd / 64] |= uint64_t{1} << (fd % 64);
        ++count;
      }
    }
  }
  for (int s = 0; s < 3; ++s) {
    if (addrs[s] != 0 && bytes > 0) {
      TRY(t.mm().CopyOut(addrs[s], std::span<const uint8_t>(
                                       reinterpret_cast<const uint8_t*>(sets[s].data()), bytes)));
    }
  }
  return count;
}

// A relative timespec as a deadline: EINVAL if malformed.
Result<std::optional<timespec>> TimespecDeadline(Task& t, uint64_t addr) {
  if (addr == 0) return std::optional<timespec>{};
  const timespec ts = TRY(CopyInStruct<timespec>(t, addr));
  if (ts.tv_sec < 0 || ts.tv_nsec < 0 || ts.tv_nsec >= kNsPerSec) return Errno(EINVAL);
  return std::optional<timespec>{MonotonicAfter(ts.tv_sec * kNsPerSec + ts.tv_nsec)};
}

// Writes back the time left (select, ppoll and pselect6 update their
// timeout argument).
void ReportTimeLeft(Task& t, uint64_t addr, const std::optional<timespec>& deadline, bool timeval) {
  if (addr == 0 || !deadline) return;
  const int64_t left = NsUntil(*deadline);
  if (timeval) {
    (void)CopyOutStruct(t, addr, ::timeval{left / kNsPerSec, (left % kNsPerSec) / 1000});
  } else {
    (void)CopyOutStruct(t, addr, timespec{left / kNsPerSec, left % kNsPerSec});
  }
}

// poll until `deadline`. Interrupted, it goes on after a stop with the
// time it had left (restart_syscall); a handler makes it fail with EINTR.
Result<uint64_t> PollUntil(Task& t, uint64_t fds, uint64_t nfds, std::optional<timespec> deadline) {
  auto r = DoPoll(t, fds, nfds, deadline);
  if (r || r.error() != Errno(ERESTARTSYS)) return r;
  t.set_restart_block([fds, nfds, deadline](Task& t) { return PollUntil(t, fds, nfds, deadline); });
  return Errno(ERESTART_RESTARTBLOCK);
}

// pselect6's sixth argument.
struct SigsetArg {
  uint64_t set;   // const sigset_t*
  uint64_t size;  // its size
};

// Linux's EP_MAX_EVENTS: maxevents * sizeof(epoll_event) fits in an int.
constexpr int kEpollMaxEvents = INT32_MAX / sizeof(epoll_event);
// The events one epoll_wait takes at most; more stay ready for the next.
constexpr int kEpollBatch = 1024;
// The events EPOLLEXCLUSIVE may come with.
constexpr uint32_t kExclusiveOk =
    EPOLLIN | EPOLLOUT | EPOLLERR | EPOLLHUP | EPOLLWAKEUP | EPOLLET | EPOLLEXCLUSIVE;
constexpr uint64_t kUserEnd = 0x7ffffffff000;  // TASK_SIZE_MAX: access_ok's bound

Result<uint64_t> InstallEpoll(Task& t, bool cloexec) {
  const uint64_t limit = t.thread_group().GetRlimit(RLIMIT_NOFILE).rlim_cur;
  return static_cast<uint64_t>(TRY(t.fds().Install(vfs::NewEpoll(), cloexec, 0, limit)));
}

// epoll_wait until `deadline`: never restarted, a signal makes it EINTR
// (even a stop and continue, as in Linux).
Result<uint64_t> EpollWaitUntil(Task& t, int epfd, uint64_t events, int maxevents,
                                std::optional<timespec> deadline) {
  if (maxevents <= 0 || maxevents > kEpollMaxEvents) return Errno(EINVAL);
  const uint64_t bytes = uint64_t{static_cast<uint32_t>(maxevents)} * sizeof(epoll_event);
  if (events >= kUserEnd || bytes > kUserEnd - events) return Errno(EFAULT);
  auto file = TRY(t.fds().Get(epfd));
  vfs::EpollFile* ep = vfs::AsEpoll(file.get());
  if (ep == nullptr) return Errno(EINVAL);
  std::vector<epoll_event> out(std::min(maxevents, kEpollBatch));
  size_t n = ep->Collect(out);
  if (n == 0 && !(deadline && NsUntil(*deadline) == 0)) {
    vfs::WaitQueue* queue = ep->ReadinessQueue();
    const std::vector<vfs::HostWatch> host = ep->HostWatches();
    auto r = t.BlockOn(std::span<vfs::WaitQueue* const>(&queue, 1),
                       [&] { return (n = ep->Collect(out)) > 0; }, deadline, host);
    if (!r) {
      if (r.error() == Errno(ETIMEDOUT)) return 0;
      if (r.error() == Errno(ERESTARTSYS)) return Errno(EINTR);
      return r.error();
    }
  }
  // PARTIAL(epoll): events that cannot be copied out are lost, where Linux
  // puts them back on the ready list.
  TRY(t.mm().CopyOut(events, std::span<const uint8_t>(reinterpret_cast<const uint8_t*>(out.data()),
                                                      n * sizeof(epoll_event))));
  return n;
}

std::optional<timespec> EpollDeadline(int timeout_ms) {
  if (timeout_ms < 0) return std::nullopt;
  return MonotonicAfter(int64_t{timeout_ms} * 1000000);
}

}  // namespace

Result<uint64_t> Poll(Task& t, const SyscallArgs& a) {
  const uint64_t fds = a.ptr(0), nfds = a.u32(1);
  const int timeout_ms = a.i32(2);
  std::optional<timespec> deadline;
  if (timeout_ms >= 0) deadline = MonotonicAfter(int64_t{timeout_ms} * 1000000);
  return PollUntil(t, fds, nfds, deadline);
}

Result<uint64_t> Ppoll(Task& t, const SyscallArgs& a) {
  auto deadline = TRY(TimespecDeadline(t, a.ptr(2)));
  TRY(SwapMask(t, a.ptr(3), a.size(4)));
  auto r = DoPoll(t, a.ptr(0), a.u32(1), deadline);
  ReportTimeLeft(t, a.ptr(2), deadline, false);
  if (!r && r.error() == Errno(ERESTARTSYS)) return Errno(ERESTARTNOHAND);
  return r;
}

Result<uint64_t> Select(Task& t, const SyscallArgs& a) {
  std::optional<timespec> deadline;
  if (a.ptr(4) != 0) {
    const ::timeval tv = TRY(CopyInStruct<::timeval>(t, a.ptr(4)));
    if (tv.tv_sec < 0 || tv.tv_usec < 0) return Errno(EINVAL);
    // Microseconds past a second carry over, as Linux's poll_select_set_timeout.
    deadline = MonotonicAfter(tv.tv_sec * kNsPerSec + tv.tv_usec * 1000);
  }
  auto r = DoSelect(t, a.i32(0), a.ptr(1), a.ptr(2), a.ptr(3), deadline);
  ReportTimeLeft(t, a.ptr(4), deadline, true);
  if (!r && r.error() == Errno(ERESTARTSYS)) return Errno(ERESTARTNOHAND);
  return r;
}

Result<uint64_t> Pselect6(Task& t, const SyscallArgs& a) {
  auto deadline = TRY(TimespecDeadline(t, a.ptr(4)));
  if (a.ptr(5) != 0) {
    const SigsetArg sig = TRY(CopyInStruct<SigsetArg>(t, a.ptr(5)));
    TRY(SwapMask(t, sig.set, sig.size));
  }
  auto r = DoSelect(t, a.i32(0), a.ptr(1), a.ptr(2), a.ptr(3), deadline);
  ReportTimeLeft(t, a.ptr(4), deadline, false);
  if (!r && r.error() == Errno(ERESTARTSYS)) return Errno(ERESTARTNOHAND);
  return r;
}
Result<uint64_t> EpollCreate(Task& t, const SyscallArgs& a) {
  if (a.i32(0) <= 0) return Errno(EINVAL);
  return InstallEpoll(t, false);
}

Result<uint64_t> EpollCreate1(Task& t, const SyscallArgs& a) {
  const int flags = a.i32(0);
  if (flags & ~EPOLL_CLOEXEC) return Errno(EINVAL);
  return InstallEpoll(t, (flags & EPOLL_CLOEXEC) != 0);
}

Result<uint64_t> EpollCtl(Task& t, const SyscallArgs& a) {
  const int epfd = a.i32(0), op = a.i32(1), fd = a.i32(2);
  epoll_event ev{};
  const bool has_event = op != EPOLL_CTL_DEL;
  if (has_event) ev = TRY(CopyInStruct<epoll_event>(t, a.ptr(3)));
  auto epfile = TRY(t.fds().Get(epfd));
  auto target = TRY(t.fds().Get(fd));
  if (target->ReadinessQueue() == nullptr && target->HostPollFd() < 0) return Errno(EPERM);
  vfs::EpollFile* ep = vfs::AsEpoll(epfile.get());
  if (ep == nullptr || epfile == target) return Errno(EINVAL);
  // EPOLLWAKEUP needs CAP_BLOCK_SUSPEND, which the sandbox has not; without
  // it the flag is dropped, as Linux does. Suspend does not happen here.
  ev.events &= ~EPOLLWAKEUP;
  if (has_event && (ev.events & EPOLLEXCLUSIVE)) {
    if (op == EPOLL_CTL_MOD) return Errno(EINVAL);
    if (op == EPOLL_CTL_ADD && (vfs::AsEpoll(target.get()) || (ev.events & ~kExclusiveOk))) {
      return Errno(EINVAL);
    }
  }
  switch (op) {
    case EPOLL_CTL_ADD:
      TRY(ep->Add(fd, target, ev));
      return 0;
    case EPOLL_CTL_MOD:
      TRY(ep->Modify(fd, target.get(), ev));
      return 0;
    case EPOLL_CTL_DEL:
      TRY(ep->Remove(fd, target.get()));
      return 0;
  }
  return Errno(EINVAL);
}

Result<uint64_t> EpollWait(Task& t, const SyscallArgs& a) {
  return EpollWaitUntil(t, a.i32(0), a.ptr(1), a.i32(2), EpollDeadline(a.i32(3)));
}

Result<uint64_t> EpollPwait(Task& t, const SyscallArgs& a) {
  const std::optional<timespec> deadline = EpollDeadline(a.i32(3));
  TRY(SwapMask(t, a.ptr(4), a.size(5)));
  return EpollWaitUntil(t, a.i32(0), a.ptr(1), a.i32(2), deadline);
}

Result<uint64_t> EpollPwait2(Task& t, const SyscallArgs& a) {
  const std::optional<timespec> deadline = TRY(TimespecDeadline(t, a.ptr(3)));
  TRY(SwapMask(t, a.ptr(4), a.size(5)));
  return EpollWaitUntil(t, a.i32(0), a.ptr(1), a.i32(2), deadline);
}

}  // namespace husk::syscalls
