// The `gofer` binary: serves host directories to one sentry over the
// socket it inherits. Started by SpawnGofer (gofer/protocol/spawn.h), never
// by hand:
//
//   gofer --fd=N --export=PATH[:ro|:rw] [--export=...]
//
// Export i (in command-line order) is what Client::Attach(i) reaches.
// Exports are read-only unless marked :rw.
#include <fcntl.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/stat.h>

#include <charconv>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "base/errno.h"
#include "base/log.h"
#include "base/scoped_fd.h"
#include "gofer/protocol/spawn.h"
#include "gofer/server.h"

namespace husk::gofer {
namespace {

constexpr std::string_view kUsage = "usage: gofer --fd=N --export=PATH[:ro|:rw]...";

struct Options {
  int fd = -1;
  std::vector<Export> exports;
};

[[noreturn]] void UsageError(std::string_view problem) {
  Die(2, std::string(problem) + "; " + std::string(kUsage));
}

std::optional<int> ParseFd(std::string_view text) {
  int fd = -1;
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), fd);
  if (ec != std::errc() || end != text.data() + text.size() || fd < 0) return std::nullopt;
  return fd;
}

// PATH, PATH:ro or PATH:rw. Only a final ":ro"/":rw" is a mode, so other
// colons stay part of the path.
std::optional<Export> ParseExport(std::string_view spec) {
  Export e;
  if (spec.ends_with(":rw") || spec.ends_with(":ro")) {
    e.writable = spec.ends_with(":rw");
    spec.remove_suffix(3);
  }
  if (spec.empty()) return std::nullopt;
  e.host_path = std::string(spec);
  return e;
}

Options ParseArgs(int argc, char** argv) {
  Options opts;
  for (int i = 1; i < argc; ++i) {
    std::string_view arg = argv[i];
    if (arg.starts_with("--fd=")) {
      std::optional<int> fd = ParseFd(arg.substr(5));
      if (!fd) UsageError("bad --fd value '" + std::string(arg.substr(5)) + "'");
      opts.fd = *fd;
    } else if (arg.starts_with("--export=")) {
      std::optional<Export> e = ParseExport(arg.substr(9));
      if (!e) UsageError("empty --export path");
      opts.exports.push_back(*std::move(e));
    } else {
      UsageError("unknown argument '" + std::string(arg) + "'");
    }
  }
  if (opts.fd < 0) UsageError("missing --fd");
  if (opts.exports.empty()) UsageError("no --export");
  if (::fcntl(opts.fd, F_SETFD, FD_CLOEXEC) != 0) UsageError("--fd is not an open descriptor");
  return opts;
}

// Opens every export root once; all later access is relative to these fds.
std::vector<ServedExport> OpenExports(const std::vector<Export>& exports) {
  std::vector<ServedExport> served;
  for (const Export& e : exports) {
    int fd = ::open(e.host_path.c_str(), O_PATH | O_DIRECTORY | O_CLOEXEC);
    if (fd < 0) Die(1, "cannot open export " + e.host_path + ": " + std::string(ErrnoText(errno)));
    served.push_back({std::make_shared<const ScopedFd>(fd), e.writable});
  }
  return served;
}

int Main(int argc, char** argv) {
  SetProgramName("gofer");
  // The gofer shares the sentry's process group: a Ctrl-C, a hang-up or a
  // kill of the whole group at the terminal is meant for the sandbox, which
  // the sentry forwards it to, and the sandbox may go on using its files.
  // The gofer ends when the sentry does (PR_SET_PDEATHSIG).
  for (int sig : {SIGINT, SIGQUIT, SIGHUP, SIGTERM}) ::signal(sig, SIG_IGN);
  Options opts = ParseArgs(argc, argv);
  // The sentry applies the sandbox's umask: the modes it sends are final.
  ::umask(0);
  std::vector<ServedExport> exports = OpenExports(opts.exports);
  // PARTIAL(hardening): here, with the export roots open and before the
  // first request, the gofer should pivot_root into its exports, enter new
  // user/mount/net/pid/ipc namespaces, drop all capabilities and install its
  // libseccomp allowlist of file syscalls (DESIGN.md, Files).
  if (::prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0) {
    Die(1, "PR_SET_NO_NEW_PRIVS: " + std::string(ErrnoText(errno)));
  }
  Server server(ScopedFd(opts.fd), std::move(exports));
  return server.Serve();
}

}  // namespace
}  // namespace husk::gofer

int main(int argc, char** argv) { return husk::gofer::Main(argc, argv); }
