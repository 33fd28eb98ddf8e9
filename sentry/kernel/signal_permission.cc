// Who may signal whom: kill(2)'s permission check, after Linux's
// check_kill_permission and kill_ok_by_cred (kernel/signal.c).
#include "sentry/kernel/kernel.h"

namespace husk::kernel {

// The credentials a signal to process `tg` is checked against: those of
// the thread its pid names, the leader; another thread's once the leader
// has gone (Linux would still see the zombie leader's); the last thread's
// for a zombie.
const vfs::Credentials& GroupCredentials(ThreadGroup& tg) {
  for (Task* t : tg.tasks) {
    if (t->tid() == tg.pid()) return t->creds();
  }
  if (!tg.tasks.empty()) return tg.tasks.front()->creds();
  return tg.exit_creds;
}

Result<void> Kernel::CheckKillLocked(Task* sender, ThreadGroup& tg, Task* target, int sig) {
  if (sig < 0 || sig > kNumSignals) return Errno(EINVAL);
  // The kernel's own signals (timers, SIGCHLD, terminal signals) and a
  // process's signals to its own threads need no permission.
  if (sender == nullptr || &sender->thread_group() == &tg) return Ok();
  const vfs::Credentials& me = sender->creds();
  const vfs::Credentials& them = target ? target->creds() : GroupCredentials(tg);
  // kill(2): "the real or effective user ID of the sending process must
  // equal the real or saved set-user-ID of the target process", or
  // CAP_KILL.
  if (me.euid == them.suid || me.euid == them.uid || me.uid == them.suid || me.uid == them.uid ||
      me.HasCapability(CAP_KILL)) {
    return Ok();
  }
  // SIGCONT may go to any process of the same session.
  if (sig == SIGCONT && tg.sid == sender->thread_group().sid) return Ok();
  return Errno(EPERM);
}

}  // namespace husk::kernel
