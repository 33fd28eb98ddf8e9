// The gofer as a process: its command line, its lifetime, and bad input on
// its socket.
#include <fcntl.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include <cstring>
#include <string>
#include <vector>

#include "gofer/protocol/channel.h"
#include "gofer/protocol/messages.h"
#include "gofer/protocol/wire.h"
#include "tests/unit/gofer/test_tree.h"

namespace husk::gofer::testing {
namespace {

Spawned SpawnOrDie() {
  Result<Spawned> spawned = SpawnGofer(GOFER_PATH, TestExports());
  if (!spawned) {
    ADD_FAILURE() << "SpawnGofer: " << ErrnoName(spawned.error().value());
    std::abort();
  }
  return std::move(*spawned);
}

// A request packet as the client would build it.
template <class Body>
std::vector<std::byte> Packet(MessageType type, uint64_t tag, const Body& body,
                              std::string_view tail = {}) {
  WireWriter w;
  w.Write(RequestHeader{static_cast<uint32_t>(type),
                        static_cast<uint32_t>(sizeof(RequestHeader) + sizeof(Body) + tail.size()),
                        tag});
  w.Write(body);
  w.WriteBytes(tail);
  return std::vector<std::byte>(w.bytes().begin(), w.bytes().end());
}

std::vector<std::byte> Bytes(std::string_view text) {
  const auto* p = reinterpret_cast<const std::byte*>(text.data());
  return std::vector<std::byte>(p, p + text.size());
}

// Sends one raw packet and returns the reply's header.
ResponseHeader RoundTrip(int sock, const std::vector<std::byte>& packet, int fd = -1) {
  iovec part = {const_cast<std::byte*>(packet.data()), packet.size()};
  EXPECT_TRUE(SendPacket(sock, std::span(&part, 1), fd).has_value());
  std::vector<std::byte> buf(kMaxMessage);
  Result<ReceivedPacket> reply = ReceivePacket(sock, buf);
  ResponseHeader header = {};
  EXPECT_TRUE(reply.has_value() && reply->size >= sizeof(header)) << "no reply";
  if (reply && reply->size >= sizeof(header)) std::memcpy(&header, buf.data(), sizeof(header));
  return header;
}

// ---- Lifetime ----

TEST(GoferProcess, ExitsZeroWhenTheSocketCloses) {
  Spawned gofer = SpawnOrDie();
  gofer.sock.Reset();
  int status = WaitStatus(gofer.pid);
  EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0) << status;
}

TEST(GoferProcess, SpawnOfAMissingBinaryIsEnoent) {
  Result<Spawned> spawned = SpawnGofer("/nonexistent/gofer", TestExports());
  ASSERT_FALSE(spawned.has_value());
  EXPECT_EQ(spawned.error().value(), ENOENT);
}

// The gofer must be SIGKILLed when the process that spawned it dies, even
// while someone else still holds the socket (so it does not just see EOF).
TEST(GoferProcess, DiesWithItsParent) {
  ASSERT_EQ(::prctl(PR_SET_CHILD_SUBREAPER, 1), 0);  // so we can reap the orphan
  int pair[2];
  ASSERT_EQ(::socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, pair), 0);
  ScopedFd ours(pair[0]), theirs(pair[1]);
  pid_t middle = ::fork();
  ASSERT_GE(middle, 0);
  if (middle == 0) {
    Spawned gofer = SpawnOrDie();
    iovec part = {&gofer.pid, sizeof(gofer.pid)};
    (void)SendPacket(theirs.get(), std::span(&part, 1), gofer.sock.get());
    ::_exit(0);
  }
  theirs.Reset();
  pid_t gofer_pid = -1;
  std::vector<std::byte> buf(64);
  Result<ReceivedPacket> got = ReceivePacket(ours.get(), buf);
  ASSERT_TRUE(got.has_value() && got->size == sizeof(pid_t) && got->fds.size() == 1);
  std::memcpy(&gofer_pid, buf.data(), sizeof(pid_t));
  ScopedFd gofer_sock = std::move(got->fds[0]);  // keeps the gofer from seeing EOF
  EXPECT_EQ(WaitStatus(middle), 0);
  int status = WaitStatus(gofer_pid);
  EXPECT_TRUE(WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL) << status;
}

// ---- Command line ----

struct Usage {
  int status = -1;
  std::string stderr_text;
};

Usage RunGofer(std::vector<std::string> args) {
  int err[2];
  EXPECT_EQ(::pipe2(err, O_CLOEXEC), 0);
  args.insert(args.begin(), GOFER_PATH);
  std::vector<char*> argv;
  for (std::string& a : args) argv.push_back(a.data());
  argv.push_back(nullptr);
  pid_t pid = ::fork();
  if (pid == 0) {
    ::dup2(err[1], 2);
    ::execv(argv[0], argv.data());
    ::_exit(127);
  }
  ::close(err[1]);
  Usage usage;
  char buf[512];
  ssize_t n;
  while ((n = ::read(err[0], buf, sizeof(buf))) > 0) usage.stderr_text.append(buf, n);
  ::close(err[0]);
  usage.status = WaitStatus(pid);
  return usage;
}

TEST(GoferCommandLine, BadUsageIsOneLineAndStatus2) {
  std::vector<std::vector<std::string>> bad = {
      {},
      {"--fd=0"},
      {"--export=/tmp"},
      {"--fd=abc", "--export=/tmp"},
      {"--fd=-1", "--export=/tmp"},
      {"--fd=0", "--export="},
      {"--fd=0", "--export=/tmp", "--frobnicate"},
      {"--fd=999", "--export=/tmp"},
  };
  for (const auto& args : bad) {
    Usage u = RunGofer(args);
    std::string shown = args.empty() ? "(none)" : args.back();
    EXPECT_TRUE(WIFEXITED(u.status) && WEXITSTATUS(u.status) == 2) << shown << ": " << u.status;
    EXPECT_EQ(std::count(u.stderr_text.begin(), u.stderr_text.end(), '\n'), 1) << u.stderr_text;
    EXPECT_TRUE(u.stderr_text.starts_with("gofer: ")) << u.stderr_text;
  }
}

TEST(GoferCommandLine, MissingExportIsStatus1) {
  Usage u = RunGofer({"--fd=0", "--export=/nonexistent/dir"});
  EXPECT_TRUE(WIFEXITED(u.status) && WEXITSTATUS(u.status) == 1) << u.status;
}

// ---- Bad input on the socket ----

TEST(GoferProcess, MalformedRequestsAreEinvalAndTheGoferLivesOn) {
  Spawned gofer = SpawnOrDie();
  int sock = gofer.sock.get();
  std::vector<std::vector<std::byte>> garbage = {
      Bytes("xyz"),
      Bytes(std::string(sizeof(RequestHeader), '\xff')),
      {},  // an empty packet is not EOF
      Packet(static_cast<MessageType>(99), 1, FidRequest{1}),
      Packet(static_cast<MessageType>(0), 1, FidRequest{1}),
      Packet(MessageType::kAttach, 1, FidRequest{0}, "extra"),
      Packet(MessageType::kGetAttr, 1, AttachRequest{0, 0}, "1234567"),  // 15-byte body
      std::vector<std::byte>(kMaxMessage + 100, std::byte{0x41}),  // oversized
  };
  // A header whose len disagrees with the packet.
  std::vector<std::byte> lying = Packet(MessageType::kAttach, 7, AttachRequest{0, 0});
  lying[4] = std::byte{200};
  garbage.push_back(lying);
  // A request cut short.
  std::vector<std::byte> open = Packet(MessageType::kOpen, 8, OpenRequest{1, O_RDONLY, 0});
  garbage.emplace_back(open.begin(), open.end() - 3);

  for (size_t i = 0; i < garbage.size(); ++i) {
    ResponseHeader reply = RoundTrip(sock, garbage[i]);
    EXPECT_EQ(reply.error, EINVAL) << "garbage #" << i;
  }
  Client client(std::move(gofer.sock));
  auto root = client.Attach(0);
  EXPECT_TRUE(root.has_value());
}

TEST(GoferProcess, ServerRejectsBadNamesItself) {
  Spawned gofer = SpawnOrDie();
  int sock = gofer.sock.get();
  ResponseHeader attach = RoundTrip(sock, Packet(MessageType::kAttach, 1, AttachRequest{0, 0}));
  ASSERT_EQ(attach.error, 0);
  Fid root = 1;  // the first fid the gofer hands out
  uint64_t tag = 2;
  for (std::string_view bad : {std::string_view(""), std::string_view("."),
                               std::string_view(".."), std::string_view("link_up/.."),
                               std::string_view("/etc"), std::string_view("a\0b", 3)}) {
    ResponseHeader reply = RoundTrip(sock, Packet(MessageType::kWalk, tag, WalkRequest{root}, bad));
    EXPECT_EQ(reply.tag, tag);
    EXPECT_EQ(reply.error, EINVAL) << "'" << bad << "'";
    ++tag;
  }
  // The well-formed neighbour works on the same fid.
  ResponseHeader ok = RoundTrip(sock, Packet(MessageType::kWalk, tag, WalkRequest{root}, "dir"));
  EXPECT_EQ(ok.error, 0);
}

// Write requests the Client would never send: the gofer's own checks.
TEST(GoferProcess, ServerRejectsBadWriteRequestsItself) {
  Spawned gofer = SpawnOrDie();
  int sock = gofer.sock.get();
  ResponseHeader attach = RoundTrip(sock, Packet(MessageType::kAttach, 1, AttachRequest{1, 0}));
  ASSERT_EQ(attach.error, 0);
  const Fid root = 1;  // the writable export's root
  std::vector<std::pair<std::vector<std::byte>, std::string>> cases;
  for (std::string_view bad : {std::string_view(""), std::string_view("."), std::string_view(".."),
                               std::string_view("a/b"), std::string_view("/etc"),
                               std::string_view("a\0b", 3)}) {
    std::string b(bad);
    const uint32_t len = static_cast<uint32_t>(bad.size());
    cases.push_back({Packet(MessageType::kCreate, 2, CreateRequest{root, O_RDWR, 0644, 0, 0}, bad),
                     "create '" + b + "'"});
    cases.push_back({Packet(MessageType::kMkDir, 2, MkDirRequest{root, 0755, 0, 0, 0}, bad),
                     "mkdir '" + b + "'"});
    cases.push_back({Packet(MessageType::kMkNod, 2, MkNodRequest{root, S_IFIFO | 0644, 0, 0, 0}, bad),
                     "mknod '" + b + "'"});
    cases.push_back({Packet(MessageType::kSymLink, 2, SymLinkRequest{root, 0, 0, len, 0}, b + "t"),
                     "symlink '" + b + "'"});
    cases.push_back({Packet(MessageType::kLink, 2, LinkRequest{root, root}, bad), "link '" + b + "'"});
    cases.push_back({Packet(MessageType::kUnlink, 2, UnlinkRequest{root, 0, 0}, bad),
                     "unlink '" + b + "'"});
    cases.push_back({Packet(MessageType::kRename, 2, RenameRequest{root, root, 0, len}, b + "ok"),
                     "rename from '" + b + "'"});
    cases.push_back({Packet(MessageType::kRename, 2, RenameRequest{root, root, 0, 2}, "ok" + b),
                     "rename to '" + b + "'"});
  }
  // Lengths beyond the packet, a target with a NUL, unknown flags and modes.
  cases.push_back({Packet(MessageType::kSymLink, 2, SymLinkRequest{root, 0, 0, 1000, 0}, "okt"),
                   "symlink name_len"});
  cases.push_back({Packet(MessageType::kSymLink, 2, SymLinkRequest{root, 0, 0, 2, 0},
                          std::string_view("oka\0b", 6)),
                   "symlink target with NUL"});
  cases.push_back({Packet(MessageType::kRename, 2, RenameRequest{root, root, 0, 1000}, "okok"),
                   "rename old_name_len"});
  cases.push_back({Packet(MessageType::kSetXattr, 2, SetXattrRequest{root, 0, 1000}, "user.x"),
                   "setxattr name_len"});
  cases.push_back({Packet(MessageType::kUnlink, 2, UnlinkRequest{root, 0x4000, 0}, "ok"),
                   "unlink flags"});
  cases.push_back({Packet(MessageType::kCreate, 2, CreateRequest{root, O_RDWR | O_CREAT, 0644, 0, 0},
                          "ok"),
                   "create O_CREAT"});
  cases.push_back({Packet(MessageType::kMkDir, 2, MkDirRequest{root, 070000, 0, 0, 0}, "ok"),
                   "mkdir type bits"});
  for (const auto& [packet, what] : cases) {
    ResponseHeader reply = RoundTrip(sock, packet);
    EXPECT_EQ(reply.error, EINVAL) << what;
  }
  struct stat st;
  EXPECT_NE(::lstat((Tree().rw + "/ok").c_str(), &st), 0) << "a rejected request made rw/ok";
}

TEST(GoferProcess, FdsSentToTheGoferAreIgnored) {
  Spawned gofer = SpawnOrDie();
  ResponseHeader reply =
      RoundTrip(gofer.sock.get(), Packet(MessageType::kAttach, 1, AttachRequest{0, 0}), 0);
  EXPECT_EQ(reply.error, 0);
}

}  // namespace
}  // namespace husk::gofer::testing
