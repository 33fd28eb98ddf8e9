// `sentry`: the user-space kernel's command line.
//   sentry run [flags] -- PROG [ARGS...]   runs PROG in a new sandbox
//   sentry syscalls                        prints the syscall table
#include <fcntl.h>
#include <sched.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstring>
#include <filesystem>
#include <future>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "absl/synchronization/mutex.h"
#include "absl/synchronization/notification.h"
#include "base/log.h"
#include "gofer/protocol/client.h"
#include "gofer/protocol/spawn.h"
#include "platform/platform.h"
#include "sentry/host/seccomp.h"
#include "sentry/host/signals.h"
#include "sentry/kernel/kernel.h"
#include "sentry/kernel/proc_source.h"
#include "sentry/kernel/tty/tty.h"
#include "sentry/syscalls/strace_format.h"
#include "sentry/syscalls/syscalls.h"
#include "vfs/dev/devfs.h"
#include "vfs/goferfs/goferfs.h"
#include "vfs/host/host_file.h"
#include "vfs/overlay/overlay.h"
#include "vfs/proc/procfs.h"
#include "vfs/sys/sysfs.h"
#include "vfs/tmpfs/tmpfs.h"

extern char** environ;

namespace husk {
namespace {

constexpr char kUsage[] =
    "Usage: sentry COMMAND [ARGS]\n"
    "\n"
    "Husk's user-space Linux kernel.\n"
    "\n"
    "Commands:\n"
    "  run [FLAGS] [--] PROG [ARGS...]  run PROG in a new sandbox; exits with its status\n"
    "  syscalls                         print the syscall table (number, name, support, note)\n"
    "  help                             print this text\n"
    "\n"
    "Run 'sentry run --help' for the flags of run.\n";

constexpr char kRunUsage[] =
    "Usage: sentry run [FLAGS] [--] PROG [ARGS...]\n"
    "\n"
    "Runs PROG (looked up in PATH inside the sandbox) under the sentry. stdin,\n"
    "stdout and stderr are the caller's. The exit status is PROG's, or 128+N if\n"
    "it was killed by signal N. The sandbox's root is a private, writable\n"
    "overlay over the host's files (served read-only by the gofer): the program\n"
    "may change anything, and nothing it writes reaches the host. It has its own\n"
    "/dev (null, zero, full, random, urandom), and a /proc and /sys that show\n"
    "the sandbox's processes, mounts and CPUs, not the host's.\n"
    "\n"
    "SIGINT, SIGQUIT and SIGHUP sent to sentry run (a Ctrl-C, a hangup) go to\n"
    "PROG's process group inside the sandbox. SIGTERM ends every process in\n"
    "the sandbox at once, and the status is 143; SIGKILL ends the sandbox too.\n"
    "\n"
    "Flags:\n"
    "  --platform=ptrace        how syscalls are caught (only ptrace for now)\n"
    "  --strace                 print every syscall to stderr in strace's format\n"
    "  --log=FILE               write the sentry's log to FILE\n"
    "  --debug                  write the sentry's log (debug level) to stderr\n"
    "  --mount=HOST:SANDBOX[:ro|:rw]  make host directory HOST visible at\n"
    "                           SANDBOX (created if missing): read-only (ro, the\n"
    "                           default), or writable (rw: changes reach HOST)\n"
    "  -h, --help               print this text\n";

struct MountFlag {
  std::string host;
  std::string sandbox;
  bool writable = false;
};

struct RunFlags {
  bool strace = false;
  bool debug = false;
  std::string log_file;
  std::vector<MountFlag> mounts;
  std::vector<std::string> argv;
};

[[noreturn]] void UsageError(std::string_view msg) {
  Die(2, fmt::format("{} (see 'sentry run --help')", msg));
}

MountFlag ParseMount(std::string_view v) {
  std::vector<std::string> parts;
  size_t start = 0;
  while (true) {
    size_t colon = v.find(':', start);
    parts.emplace_back(v.substr(start, colon - start));
    if (colon == std::string_view::npos) break;
    start = colon + 1;
  }
  if (parts.size() < 2 || parts.size() > 3 || parts[0].empty() || parts[1].empty()) {
    UsageError(fmt::format("--mount: want HOST:SANDBOX[:ro|:rw], got '{}'", v));
  }
  if (parts.size() == 3 && parts[2] != "ro" && parts[2] != "rw") {
    UsageError(fmt::format("--mount: unknown option '{}' (want ro or rw)", parts[2]));
  }
  if (parts[0][0] != '/' || parts[1][0] != '/') UsageError("--mount: paths must be absolute");
  struct stat st;
  if (stat(parts[0].c_str(), &st) != 0) Die(1, fmt::format("--mount: {}: {}", parts[0], strerror(errno)));
  if (!S_ISDIR(st.st_mode)) Die(1, fmt::format("--mount: {}: Not a directory", parts[0]));
  return MountFlag{parts[0], parts[1], parts.size() == 3 && parts[2] == "rw"};
}

RunFlags ParseRunFlags(int argc, char** argv) {
  RunFlags f;
  int i = 0;
  for (; i < argc; ++i) {
    std::string_view a = argv[i];
    auto value = [&](std::string_view name) -> std::optional<std::string> {
      if (a.starts_with(name) && a.size() > name.size() && a[name.size()] == '=') {
        return std::string(a.substr(name.size() + 1));
      }
      if (a == name) {
        if (i + 1 >= argc) UsageError(fmt::format("{} needs a value", name));
        return std::string(argv[++i]);
      }
      return std::nullopt;
    };
    if (a == "--") {
      ++i;
      break;
    }
    if (a == "-h" || a == "--help") {
      fputs(kRunUsage, stdout);
      exit(0);
    }
    if (a == "--strace") {
      f.strace = true;
    } else if (a == "--debug") {
      f.debug = true;
    } else if (auto v = value("--platform")) {
      if (*v != "ptrace") UsageError(fmt::format("unknown platform '{}' (want ptrace)", *v));
    } else if (auto v = value("--log")) {
      f.log_file = *v;
    } else if (auto v = value("--mount")) {
      f.mounts.push_back(ParseMount(*v));
    } else if (a.starts_with("-") && a.size() > 1) {
      UsageError(fmt::format("unknown flag '{}'", a));
    } else {
      break;
    }
  }
  for (; i < argc; ++i) f.argv.emplace_back(argv[i]);
  if (f.argv.empty()) UsageError("no program given");
  return f;
}

std::string SelfDir() {
  std::error_code ec;
  auto exe = std::filesystem::read_symlink("/proc/self/exe", ec);
  return ec ? "." : exe.parent_path().string();
}

std::string EnvValue(const std::vector<std::string>& env, std::string_view name) {
  for (const auto& e : env) {
    if (e.size() > name.size() && e.starts_with(name) && e[name.size()] == '=') {
      return e.substr(name.size() + 1);
    }
  }
  return "";
}

// Finds PROG as a shell would: as given if it has a '/', else in PATH.
Result<std::string> FindProgram(kernel::Kernel& k, kernel::Task& t, const std::string& prog,
                                const std::vector<std::string>& env) {
  auto ctx = t.Lookup();
  if (prog.find('/') != std::string::npos) return prog;
  std::string path = EnvValue(env, "PATH");
  if (path.empty()) path = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";
  size_t start = 0;
  while (start <= path.size()) {
    size_t colon = path.find(':', start);
    if (colon == std::string::npos) colon = path.size();
    std::string dir = path.substr(start, colon - start);
    std::string candidate = (dir.empty() ? "." : dir) + "/" + prog;
    if (auto p = k.vfs().Resolve(ctx, t.fs().cwd, candidate, true); p) {
      const auto& inode = p->dentry->inode();
      if (inode->IsRegular()) {
        if (auto st = inode->Stat(); st && vfs::CheckPermission(*st, t.creds(), X_OK)) return candidate;
      }
    }
    start = colon + 1;
  }
  return Errno(ENOENT);
}

// Resolves `path`, creating missing directories (in the overlay root) as
// `mkdir -p` would: mount points need not exist on the host.
Result<vfs::Path> MakeDirs(vfs::Vfs& vfs, const vfs::LookupContext& ctx, const std::string& path) {
  vfs::Path cur = ctx.root;
  size_t start = 0;
  while (start < path.size()) {
    size_t slash = path.find('/', start);
    if (slash == std::string::npos) slash = path.size();
    std::string name = path.substr(start, slash - start);
    start = slash + 1;
    if (name.empty() || name == ".") continue;
    auto next = vfs.Resolve(ctx, cur, name, true);
    if (!next && next.error() == Errno(ENOENT)) {
      const auto& dir = cur.dentry->inode();
      auto inode = TRY(dir->MakeDir(name, 0755, *ctx.creds));
      next = vfs::Path{cur.mount, cur.dentry->AddChild(name, std::move(inode))};
    }
    cur = TRY(std::move(next));
  }
  return cur;
}

// Maps an exec failure to the message and status a shell gives.
[[noreturn]] void ExecFailed(const std::string& prog, Errno e) {
  switch (e.value()) {
    case ENOENT: Die(127, fmt::format("{}: not found", prog));
    case EACCES: Die(126, fmt::format("{}: permission denied", prog));
    case ENOEXEC: Die(126, fmt::format("{}: exec format error", prog));
    case EISDIR: Die(126, fmt::format("{}: is a directory", prog));
  }
  Die(126, fmt::format("{}: cannot execute: {}", prog, ErrnoText(e.value())));
}

// Where the host's cwd is inside the sandbox: the same path, if it exists.
vfs::Path SandboxCwd(kernel::Kernel& k, kernel::Task& t) {
  char buf[4096];
  if (getcwd(buf, sizeof(buf)) == nullptr) return t.fs().cwd;
  auto p = k.vfs().Resolve(t.Lookup(), t.fs().root, buf, true);
  if (!p || !p->dentry->inode()->IsDir()) return t.fs().cwd;
  return *p;
}

// What the init task is to exec.
struct RunRequest {
  std::string path;  // PROG as found in PATH
  std::vector<std::string> argv;
  std::vector<std::string> env;
  bool strace = false;
  pid_t gofer = 0;  // host pid
};

// On the init task's thread, before it runs: takes the first stub (while
// the main thread waits for the gofer and sets up the mounts), then, once
// `ready` says the request is complete, execs the program and confines the
// sentry.
void StartInitTask(kernel::Kernel& k, kernel::Task& task, const RunRequest& req,
                   absl::Notification& ready) {
  if (auto r = k.PrepareAddressSpace(); !r) {
    Die(1, fmt::format("cannot create a stub process: {}", ErrnoText(r.error().value())));
  }
  if (auto r = k.AdoptPrepared(task); !r) {
    Die(1, fmt::format("cannot attach to the stub process: {}", ErrnoText(r.error().value())));
  }
  HUSK_DEBUG("platform ready");
  // The gofer runs on this task's CPU (where the platform bound it and its
  // stub): a round trip to it is then a switch (~30 us here) rather than a
  // wakeup of the other CPU (~130 us). PARTIAL(cpu binding): like the
  // tasks, it is never rebalanced.
  cpu_set_t cpu;
  CPU_ZERO(&cpu);
  CPU_SET(sched_getcpu(), &cpu);
  sched_setaffinity(req.gofer, sizeof(cpu), &cpu);
  ready.WaitForNotification();
  auto exec = k.Exec(task, req.path, req.argv, req.env);
  if (req.strace) {
    std::span<const std::string> shown(req.argv);
    bool more = shown.size() > strace::kMaxStrLen;
    if (more) shown = shown.first(strace::kMaxStrLen);
    std::string line = strace::FormatExecve(req.path, shown, more, task.regs().gp.rsp,
                                            req.env.size(), exec ? 0 : -exec.error().value());
    (void)!write(2, line.data(), line.size());
  }
  if (!exec) ExecFailed(req.argv[0], exec.error());
  // TSYNC: the filter covers every sentry thread.
  if (auto r = host::InstallSentryFilter(host::CompiledSentryFilter()); !r) {
    Die(1, fmt::format("cannot install the sentry's seccomp filter: {}", ErrnoText(r.error().value())));
  }
}

// The host signal state sentry run was started with.
struct HostSignalState {
  uint64_t ignored = 0;  // SigBit()s of the signals set to SIG_IGN
  uint64_t mask = 0;     // the blocked signals
};

HostSignalState TakeHostSignalState() {
  HostSignalState s;
  for (int sig = 1; sig <= kernel::kNumSignals; ++sig) {
    struct sigaction act;
    if (sig != SIGKILL && sig != SIGSTOP && sigaction(sig, nullptr, &act) == 0 &&
        act.sa_handler == SIG_IGN) {
      s.ignored |= kernel::SigBit(sig);
    }
  }
  sigset_t blocked;
  pthread_sigmask(SIG_BLOCK, nullptr, &blocked);
  memcpy(&s.mask, &blocked, sizeof(s.mask));
  return s;
}

int Run(int argc, char** argv) {
  RunFlags flags = ParseRunFlags(argc, argv);
  if (!flags.log_file.empty()) {
    int fd = open(flags.log_file.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
    if (fd < 0) Die(1, fmt::format("--log: cannot open {}: {}", flags.log_file, strerror(errno)));
    SetLogSink(fd, flags.debug ? LogLevel::kDebug : LogLevel::kInfo);
  } else if (flags.debug) {
    SetLogSink(2, LogLevel::kDebug);
  }

  HUSK_DEBUG("sentry run: start");
  // What exec would pass on to PROG run natively: the ignored signals and
  // the signal mask (nohup's SIGHUP, a shell's SIGINT for background jobs).
  const HostSignalState inherited = TakeHostSignalState();
  // A write to a closed pipe is the application's SIGPIPE, not the
  // sentry's: host writes fail with EPIPE and the sentry raises it.
  signal(SIGPIPE, SIG_IGN);
  // The sandbox's stdio: dups of ours, taken before anything else opens fds.
  auto fds = std::make_shared<vfs::FdTable>();
  for (int fd = 0; fd < 3; ++fd) {
    if (auto f = vfs::NewHostFile(fd)) (void)fds->InstallAt(fd, std::move(f), false, 3);
  }
  // On a terminal, the sandbox's session has it as its controlling one.
  auto host_tty = kernel::tty::AdoptHostTerminal(*fds);

  // From here on (and in every thread started from here) the signals meant
  // for the sandbox wait for the forwarder.
  host::SignalForwarder forwarder;
  // /proc/cpuinfo's content, read on a thread of its own meanwhile.
  std::future<std::string> cpuinfo = std::async(std::launch::async, kernel::HostCpuInfo);
  // The memory file and the platform first: the platform makes the
  // sandbox's first stub on a thread of its own, which then overlaps with
  // the gofer's start (vfork holds this thread until the gofer's exec).
  auto memory = mm::MemoryFile::Create(1ULL << 40);
  if (!memory) Die(1, fmt::format("cannot create the memory file: {}", ErrnoText(memory.error().value())));
  auto platform = platform::NewPtracePlatform((*memory)->fd());
  if (!platform) Die(1, fmt::format("cannot start the ptrace platform: {}", ErrnoText(platform.error().value())));
  HUSK_DEBUG("memory file and platform");

  std::vector<gofer::Export> exports{{"/", false}};
  for (const auto& m : flags.mounts) exports.push_back({m.host, m.writable});
  auto spawned = gofer::StartGofer(SelfDir() + "/gofer", exports);
  if (!spawned) Die(1, fmt::format("cannot start the gofer: {}", ErrnoText(spawned.error().value())));
  HUSK_DEBUG("gofer forked");
  kernel::KernelOptions opts;
  opts.strace = flags.strace;
  auto kernel = std::make_unique<kernel::Kernel>(opts, std::move(*platform), std::move(*memory));
  kernel::Kernel& k = *kernel;
  forwarder.Start([&k](int sig) { k.HostSignal(sig); });
  // The init task starts now, on a thread of its own, to take its stub
  // while the gofer starts; its root and cwd come once the mounts are up.
  vfs::Credentials creds{getuid(), getgid(), {}};
  auto task = k.NewInitTask(fds, creds);
  for (int sig = 1; sig <= kernel::kNumSignals; ++sig) {
    if (inherited.ignored & kernel::SigBit(sig)) {
      task->thread_group().SetSigAction(sig, kernel::SigAction{reinterpret_cast<uint64_t>(SIG_IGN)});
    }
  }
  task->set_signal_mask(inherited.mask);
  if (host_tty) kernel::tty::SetControllingTerminal(k, task->thread_group(), host_tty);
  fds.reset();
  RunRequest request;
  request.gofer = spawned->pid;
  absl::Notification request_ready;
  k.Start(task, [&k, &request, &request_ready, t = task.get()] {
    StartInitTask(k, *t, request, request_ready);
  });

  // The platform makes the sandbox's first stub (its zygote) on a thread
  // of its own while this one sets up the gofer and the mounts.
  if (auto r = gofer::AwaitGofer(*spawned); !r) {
    Die(1, fmt::format("cannot start the gofer: {}", ErrnoText(r.error().value())));
  }
  auto client = std::make_shared<gofer::Client>(std::move(spawned->sock));
  HUSK_DEBUG("gofer started");

  // The root: a private tmpfs over the host root, which the gofer serves
  // read-only. Writes land in the tmpfs and never reach the host.
  auto host_root = vfs::NewGoferMount(client, 0, true, "/");
  if (!host_root) Die(1, fmt::format("cannot serve the root: {}", ErrnoText(host_root.error().value())));
  k.vfs().SetRoot(vfs::NewOverlayMount((*host_root)->root()->inode(), &k.memory_file(), "overlay"));
  auto mount_on = [&](const std::string& where, std::shared_ptr<vfs::Mount> m) {
    vfs::LookupContext ctx{k.vfs().Root(), k.vfs().Root(), &creds};
    auto p = MakeDirs(k.vfs(), ctx, where);
    if (!p) Die(1, fmt::format("mount point {}: {}", where, ErrnoText(p.error().value())));
    if (auto r = k.vfs().MountAt(*p, std::move(m)); !r) {
      Die(1, fmt::format("mount point {}: {}", where, ErrnoText(r.error().value())));
    }
  };
  auto dev = vfs::NewDevMount();
  auto devpts = kernel::tty::NewDevpts(k, *dev->root()->inode(), kernel::tty::TtyGroup(k), host_tty);
  host_tty.reset();
  mount_on("/dev", std::move(dev));
  // Pseudo-terminals: /dev/ptmx, /dev/pts, and /dev/tty.
  mount_on("/dev/pts", std::move(devpts));
  // POSIX shared memory and named semaphores (shm_open, sem_open).
  // Its pages live in the memory file, so that MAP_SHARED maps them.
  mount_on("/dev/shm", vfs::NewTmpfsMount(01777, vfs::Credentials{}, "shm", &k.memory_file()));
  // The host's /proc and /sys describe the host (and /proc/self the
  // gofer): they must not show through the root. The sandbox has its own:
  // its processes, its mounts, its CPUs. The source reads the host's
  // cpuinfo at start-up, before the sentry confines itself.
  mount_on("/proc", vfs::NewProcMount(k.vfs(), kernel::NewProcSource(k, cpuinfo.get())));
  mount_on("/sys", vfs::NewSysMount(kernel::SandboxCpus()));
  for (size_t i = 0; i < flags.mounts.size(); ++i) {
    auto m = vfs::NewGoferMount(client, static_cast<uint32_t>(i + 1), !flags.mounts[i].writable,
                                flags.mounts[i].host);
    if (!m) Die(1, fmt::format("--mount {}: {}", flags.mounts[i].host, ErrnoText(m.error().value())));
    mount_on(flags.mounts[i].sandbox, std::move(*m));
  }

  HUSK_DEBUG("mounts ready");
  task->fs().root = task->fs().cwd = k.vfs().Root();
  task->fs().cwd = SandboxCwd(k, *task);
  for (char** e = environ; *e != nullptr; ++e) request.env.emplace_back(*e);
  request.argv = flags.argv;
  request.strace = flags.strace;
  auto path = FindProgram(k, *task, flags.argv[0], request.env);
  if (!path) ExecFailed(flags.argv[0], path.error());
  request.path = *path;
  request_ready.Notify();
  task.reset();
  const kernel::ExitStatus status = k.WaitForEnd();
  forwarder.Stop();
  if (request.strace) {
    std::string line = status.signal ? strace::FormatKilled(status.signal, status.core)
                                     : strace::FormatExited(status.code);
    (void)!write(2, line.data(), line.size());
  }
  // The sandbox is over. The gofer and the stubs die side by side, and
  // nothing of the memory file needs giving back page by page.
  kill(spawned->pid, SIGKILL);
  k.memory_file().Abandon();
  HUSK_DEBUG("program exited");
  if (!k.AllGone()) {
    // A task thread is stuck in a host call; the process's exit takes it,
    // and the platform thread's exit takes every stub.
    waitpid(spawned->pid, nullptr, 0);
    std::_Exit(status.ShellStatus());
  }
  client->Close();
  client.reset();
  // The stubs go (with the platform) while the gofer dies.
  kernel.reset();
  waitpid(spawned->pid, nullptr, 0);
  HUSK_DEBUG("gofer gone");
  return status.ShellStatus();
}

int PrintSyscalls() {
  for (const auto& s : syscalls::AllSyscalls()) {
    const char* level = s.support == syscalls::Support::kFull      ? "full"
                        : s.support == syscalls::Support::kPartial ? "partial"
                                                                   : "unimplemented";
    fmt::print("{:3} {:24} {:13} {}\n", s.nr, s.name, level, s.note);
  }
  return 0;
}

}  // namespace
}  // namespace husk

int main(int argc, char** argv) {
  husk::SetProgramName("sentry");
  // absl's lock-order graph costs on every Mutex operation; tests and TSan
  // find lock-order bugs, production does not need to.
  absl::SetMutexDeadlockDetectionMode(absl::OnDeadlockCycle::kIgnore);
  if (argc < 2) {
    fputs(husk::kUsage, stderr);
    return 2;
  }
  std::string_view cmd = argv[1];
  if (cmd == "run") return husk::Run(argc - 2, argv + 2);
  if (cmd == "syscalls") return husk::PrintSyscalls();
  if (cmd == "help" || cmd == "-h" || cmd == "--help") {
    fputs(husk::kUsage, stdout);
    return 0;
  }
  husk::Die(2, fmt::format("unknown command '{}' (see 'sentry --help')", cmd));
}
