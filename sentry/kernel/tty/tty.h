// Terminals: what job control sees of one (Linux's tty_struct ctrl and
// tty_jobctrl.c), the pseudo-terminals of devpts (pty.cc), /dev/tty, and
// the caller's own terminal when `sentry run` is started on one.
#pragma once

#include <sys/types.h>

#include <memory>
#include <optional>

#include "base/result.h"
#include "vfs/fd_table.h"
#include "vfs/file.h"
#include "vfs/inode.h"

namespace husk::kernel {

class Kernel;
class Task;
class ThreadGroup;

namespace tty {

// A terminal a session may take as its controlling terminal: a pty's
// slave or the host terminal. `session` and `pgrp` are guarded by
// Kernel::mu_ (Linux's tty->ctrl.lock nests inside tasklist_lock there).
class Tty {
 public:
  virtual ~Tty() = default;

  // The session it is the controlling terminal of (0: none) and that
  // session's foreground process group (0: none).
  int session = 0;
  int pgrp = 0;

  // A pty slave (a session leader's exit sends SIGHUP to the foreground
  // group only) or not.
  virtual bool IsPty() const = 0;
  // Its device number (/proc/[pid]/stat's tty_nr).
  virtual dev_t Rdev() const = 0;
  // open(2) of /dev/tty by a process this is the controlling terminal of:
  // a new open file of the terminal at `path`.
  virtual Result<std::shared_ptr<vfs::FileDescription>> OpenDevTty(const vfs::Path& path,
                                                                   int flags) = 0;
};

// --- Job control (job_control.cc) ---

// Linux's __tty_check_change: whether the caller may read (SIGTTIN) or
// change/write (SIGTTOU) `tty`. A process outside the foreground group of
// its controlling terminal gets the signal sent to its group and
// ERESTARTSYS; with the signal ignored or blocked SIGTTOU lets it through
// and SIGTTIN is EIO; an orphaned group gets EIO.
Result<void> CheckChange(Task& t, Tty& tty, int sig);
// Sends `sig` (from the kernel) to the foreground process group of `tty`.
void SignalForeground(Kernel& k, Tty& tty, int sig);
// The hang-up of a pty slave whose master closed (tty_signal_session_leader):
// every process of its session loses it as controlling terminal, the
// session leader gets SIGHUP and SIGCONT.
void HangUp(Kernel& k, Tty& tty);
// The job-control requests of tty_ioctl: TIOCSCTTY, TIOCNOTTY, TIOCGPGRP,
// TIOCSPGRP, TIOCGSID; nullopt for any other `cmd`. `tty` is the terminal
// the request is on (for a pty master, its slave); `via_master` tells the
// master's relaxed TIOCGPGRP/TIOCGSID apart; `readable`: the file was
// opened for reading (TIOCSCTTY needs it).
std::optional<Result<uint64_t>> JobControlIoctl(Task& t, const std::shared_ptr<Tty>& tty,
                                                bool via_master, bool readable,
                                                vfs::UserMemory& mem, uint64_t cmd, uint64_t arg);
// open(2) of a terminal without O_NOCTTY: a session leader without a
// controlling terminal takes it if no session has it (and the file is
// open for reading).
void MaybeAcquire(Task& t, const std::shared_ptr<Tty>& tty, int flags);
// A session leader's process has exited (do_exit's disassociate_ctty(1)):
// its controlling terminal's foreground group gets SIGHUP (a pty's) and
// the session loses the terminal. Kernel lock held.
void SessionLeaderExitedLocked(Kernel& k, ThreadGroup& tg);

// --- Devices ---

// devpts (mounted by the caller at /dev/pts) with its ptmx, and the
// /dev/ptmx and /dev/tty nodes added to `dev_dir` (devfs's root). New
// slaves are owned by their opener's fsuid and by `tty_gid`, mode 0620.
// `host_tty` (AdoptHostTerminal's, or null) gets a node under its own
// name (/dev/pts/N, /dev/ttyN or /dev/console) whose stat is the host's,
// so that ttyname(3) finds it.
std::shared_ptr<vfs::Mount> NewDevpts(Kernel& k, vfs::Inode& dev_dir, uint32_t tty_gid,
                                      const std::shared_ptr<Tty>& host_tty);
// The device node of the host terminal `tty`: the host's stat, and opens
// of the host terminal.
std::shared_ptr<vfs::Inode> NewHostTtyNode(const std::shared_ptr<Tty>& tty);
// /dev/tty (5:0): the opener's controlling terminal, ENXIO without one.
std::shared_ptr<vfs::Inode> NewDevTtyInode(dev_t dev, ino_t ino, timespec time);
// The gid of group "tty" in the sandbox's /etc/group, or 0.
uint32_t TtyGroup(Kernel& k);
// The caller's terminal as the sandbox sees it: the stdio files of `fds`
// (fds 0-2, host files) that are on `sentry run`'s controlling terminal
// become terminals whose job control (foreground group, session) is kept
// inside the sandbox. Returns that terminal, or null if there is none;
// give it to SetControllingTerminal for the init process.
std::shared_ptr<Tty> AdoptHostTerminal(vfs::FdTable& fds);
// `tg` (a session leader) takes `tty` as its controlling terminal, with
// its own group in the foreground.
void SetControllingTerminal(Kernel& k, ThreadGroup& tg, const std::shared_ptr<Tty>& tty);

}  // namespace tty
}  // namespace husk::kernel
