// Job control on terminals (drivers/tty/tty_jobctrl.c): controlling
// terminals, foreground process groups, and the signals of background
// access.

#include <signal.h>
#include <sys/ioctl.h>

#include <vector>

#include "sentry/kernel/kernel.h"
#include "sentry/kernel/tty/tty.h"

namespace husk::kernel::tty {
namespace {

// kill_pgrp(pgrp, sig, 1): a kernel signal to every process of the group.
void SignalPgrpLocked(Kernel& k, int pgid, int sig) ABSL_EXCLUSIVE_LOCKS_REQUIRED(k.mu()) {
  if (pgid <= 0) return;
  siginfo_t si{};
  si.si_signo = sig;
  si.si_code = SI_KERNEL;
  std::vector<ThreadGroup*> targets;
  k.ForEachProcessLocked([&](ThreadGroup& g) {
    if (g.pgid == pgid && !g.zombie) targets.push_back(&g);
  });
  for (ThreadGroup* g : targets) k.SendToGroupLocked(*g, si);
}

// session_clear_tty: no process of session `sid` keeps a controlling
// terminal.
void SessionClearTtyLocked(Kernel& k, int sid) ABSL_EXCLUSIVE_LOCKS_REQUIRED(k.mu()) {
  k.ForEachProcessLocked([&](ThreadGroup& g) {
    if (g.sid == sid) g.ctty.reset();
  });
}

// disassociate_ctty: the calling session leader gives up its terminal.
// `on_exit`: its process is exiting (SIGHUP only; the host terminal is
// left alone), otherwise TIOCNOTTY (SIGHUP and SIGCONT).
void DisassociateLocked(Kernel& k, ThreadGroup& leader, bool on_exit)
    ABSL_EXCLUSIVE_LOCKS_REQUIRED(k.mu()) {
  std::shared_ptr<Tty> tty = leader.ctty;
  if (tty == nullptr) return;
  // PARTIAL(tty): Linux hangs a non-pty terminal up when its session
  // leader exits (tty_vhangup_session); the host terminal is not hung up.
  if (!on_exit || tty->IsPty()) {
    const int fg = tty->pgrp;
    SignalPgrpLocked(k, fg, SIGHUP);
    if (!on_exit) SignalPgrpLocked(k, fg, SIGCONT);
  }
  tty->session = 0;
  tty->pgrp = 0;
  SessionClearTtyLocked(k, leader.sid);
}

bool IsLeader(const ThreadGroup& g) { return g.sid == g.pid(); }

Result<void> CopyOutInt(vfs::UserMemory& mem, uint64_t addr, int v) {
  return mem.CopyOut(addr, std::span<const uint8_t>(reinterpret_cast<const uint8_t*>(&v), sizeof(v)));
}

}  // namespace

Result<void> CheckChange(Task& t, Tty& tty, int sig) {
  Kernel& k = t.kernel();
  absl::MutexLock lock(&k.mu());
  ThreadGroup& tg = t.thread_group();
  if (tg.ctty.get() != &tty) return Ok();
  if (tty.pgrp == 0 || tg.pgid == tty.pgrp) return Ok();
  const bool ignored = (t.signal_mask() & SigBit(sig)) != 0 ||
                       tg.GetSigAction(sig).handler == reinterpret_cast<uint64_t>(SIG_IGN);
  if (ignored) {
    if (sig == SIGTTIN) return Errno(EIO);
    return Ok();
  }
  if (k.PgrpOrphanedLocked(tg.pgid)) return Errno(EIO);
  SignalPgrpLocked(k, tg.pgid, sig);
  return Errno(ERESTARTSYS);
}

void SignalForeground(Kernel& k, Tty& tty, int sig) {
  absl::MutexLock lock(&k.mu());
  SignalPgrpLocked(k, tty.pgrp, sig);
}

void HangUp(Kernel& k, Tty& tty) {
  absl::MutexLock lock(&k.mu());
  if (tty.session != 0) {
    const int sid = tty.session;
    std::vector<ThreadGroup*> leaders;
    k.ForEachProcessLocked([&](ThreadGroup& g) {
      if (g.sid != sid) return;
      if (g.ctty.get() == &tty) g.ctty.reset();
      if (IsLeader(g) && !g.zombie) leaders.push_back(&g);
    });
    for (ThreadGroup* g : leaders) {
      for (int sig : {SIGHUP, SIGCONT}) {
        siginfo_t si{};
        si.si_signo = sig;
        si.si_code = SI_KERNEL;
        k.SendToGroupLocked(*g, si);
      }
    }
  }
  tty.session = 0;
  tty.pgrp = 0;
}

void MaybeAcquire(Task& t, const std::shared_ptr<Tty>& tty, int flags) {
  if (flags & (O_NOCTTY | O_PATH)) return;
  const int acc = flags & O_ACCMODE;
  if (acc != O_RDONLY && acc != O_RDWR) return;
  absl::MutexLock lock(&t.kernel().mu());
  ThreadGroup& tg = t.thread_group();
  if (!IsLeader(tg) || tg.ctty != nullptr || tty->session != 0) return;
  tg.ctty = tty;
  tty->session = tg.sid;
  tty->pgrp = tg.pgid;
}

void SessionLeaderExitedLocked(Kernel& k, ThreadGroup& tg) { DisassociateLocked(k, tg, true); }

void SetControllingTerminal(Kernel& k, ThreadGroup& tg, const std::shared_ptr<Tty>& tty) {
  absl::MutexLock lock(&k.mu());
  tg.ctty = tty;
  tty->session = tg.sid;
  tty->pgrp = tg.pgid;
}

std::optional<Result<uint64_t>> JobControlIoctl(Task& t, const std::shared_ptr<Tty>& tty,
                                                bool via_master, bool readable,
                                                vfs::UserMemory& mem, uint64_t cmd, uint64_t arg) {
  Kernel& k = t.kernel();
  switch (cmd) {
    case TIOCSCTTY: {
      absl::MutexLock lock(&k.mu());
      ThreadGroup& tg = t.thread_group();
      if (IsLeader(tg) && tty->session == tg.sid) return Result<uint64_t>(0);  // already ours
      if (!IsLeader(tg) || tg.ctty != nullptr) return Result<uint64_t>(Errno(EPERM));
      const bool admin = t.creds().HasCapability(CAP_SYS_ADMIN);
      if (tty->session != 0) {
        // Another session's terminal: only stolen with arg 1 by the admin.
        if (arg != 1 || !admin) return Result<uint64_t>(Errno(EPERM));
        SessionClearTtyLocked(k, tty->session);
      }
      if (!readable && !admin) return Result<uint64_t>(Errno(EPERM));
      tg.ctty = tty;
      tty->session = tg.sid;
      tty->pgrp = tg.pgid;
      return Result<uint64_t>(0);
    }
    case TIOCNOTTY: {
      absl::MutexLock lock(&k.mu());
      ThreadGroup& tg = t.thread_group();
      if (via_master || tg.ctty != tty) return Result<uint64_t>(Errno(ENOTTY));
      if (IsLeader(tg)) DisassociateLocked(k, tg, false);
      tg.ctty.reset();
      return Result<uint64_t>(0);
    }
    case TIOCGPGRP:
    case TIOCGSID: {
      int v;
      {
        absl::MutexLock lock(&k.mu());
        // Through the slave only by the session it controls; the master
        // may always ask.
        if (!via_master && t.thread_group().ctty != tty) return Result<uint64_t>(Errno(ENOTTY));
        if (cmd == TIOCGSID && tty->session == 0) return Result<uint64_t>(Errno(ENOTTY));
        v = cmd == TIOCGPGRP ? tty->pgrp : tty->session;
      }
      if (auto r = CopyOutInt(mem, arg, v); !r) return Result<uint64_t>(r.error());
      return Result<uint64_t>(0);
    }
    case TIOCSPGRP: {
      if (auto r = CheckChange(t, *tty, SIGTTOU); !r) {
        return Result<uint64_t>(r.error() == Errno(EIO) ? Errno(ENOTTY) : r.error());
      }
      int pgrp;
      if (auto r = mem.CopyIn(arg, std::span<uint8_t>(reinterpret_cast<uint8_t*>(&pgrp), sizeof(pgrp)));
          !r) {
        return Result<uint64_t>(r.error());
      }
      if (pgrp < 0) return Result<uint64_t>(Errno(EINVAL));
      absl::MutexLock lock(&k.mu());
      ThreadGroup& tg = t.thread_group();
      if (tg.ctty != tty || tty->session != tg.sid) return Result<uint64_t>(Errno(ENOTTY));
      // The id must exist, and its group (or failing that its process,
      // as session_of_pgrp looks) be in the caller's session.
      bool exists = false, same_session = false;
      k.ForEachProcessLocked([&](ThreadGroup& g) {
        if (g.pgid != pgrp) return;
        exists = true;
        if (g.sid == tg.sid) same_session = true;
      });
      if (!exists) {
        if (ThreadGroup* g = k.LookupProcessLocked(pgrp)) {
          exists = true;
          same_session = g->sid == tg.sid;
        }
      }
      if (!exists) return Result<uint64_t>(Errno(ESRCH));
      if (!same_session) return Result<uint64_t>(Errno(EPERM));
      tty->pgrp = pgrp;
      return Result<uint64_t>(0);
    }
  }
  return std::nullopt;
}

}  // namespace husk::kernel::tty
