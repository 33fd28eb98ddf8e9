// The Client against a misbehaving gofer: every bad reply is EIO, never a
// crash or a hang.
#include <fcntl.h>
#include <signal.h>
#include <sys/socket.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include <cstring>
#include <functional>
#include <thread>

#include "gofer/protocol/channel.h"
#include "gofer/protocol/wire.h"
#include "tests/unit/gofer/test_tree.h"

namespace husk::gofer::testing {
namespace {

// Sends a reply packet: `header` (len filled in unless given) and `body`.
// Takes copies: the test thread may change what it passed as soon as the
// client has the packet, while sendmsg (or ASan's check after it) still runs.
void Reply(int sock, ResponseHeader header, std::vector<std::byte> body = {},
           std::vector<int> fds = {}) {
  if (header.len == 0) header.len = static_cast<uint32_t>(sizeof(header) + body.size());
  iovec parts[] = {{&header, sizeof(header)}, {const_cast<std::byte*>(body.data()), body.size()}};
  msghdr msg = {};
  msg.msg_iov = parts;
  msg.msg_iovlen = 2;
  alignas(cmsghdr) char control[CMSG_SPACE(sizeof(int) * 4)] = {};
  if (!fds.empty()) {
    msg.msg_control = control;
    msg.msg_controllen = CMSG_SPACE(sizeof(int) * fds.size());
    cmsghdr* c = CMSG_FIRSTHDR(&msg);
    c->cmsg_level = SOL_SOCKET;
    c->cmsg_type = SCM_RIGHTS;
    c->cmsg_len = CMSG_LEN(sizeof(int) * fds.size());
    std::memcpy(CMSG_DATA(c), fds.data(), sizeof(int) * fds.size());
  }
  ASSERT_GE(::sendmsg(sock, &msg, MSG_NOSIGNAL), 0);
}

// The header of a successful reply to `request`.
ResponseHeader Ok(const RequestHeader& request) {
  return ResponseHeader{request.type, 0, request.tag, 0, 0};
}

template <class T>
std::vector<std::byte> Body(const T& value, std::string_view tail = {}) {
  WireWriter w;
  w.Write(value);
  w.WriteBytes(tail);
  return std::vector<std::byte>(w.bytes().begin(), w.bytes().end());
}

// A stand-in gofer on a thread: answers each request with `answer`.
class FakeGofer {
 public:
  using Answer = std::function<void(int sock, const RequestHeader& request)>;

  explicit FakeGofer(Answer answer) {
    int pair[2];
    EXPECT_EQ(::socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, pair), 0);
    client_ = std::make_unique<Client>(ScopedFd(pair[0]));
    sock_.Reset(pair[1]);
    thread_ = std::thread([this, answer = std::move(answer)] { Loop(answer); });
  }
  ~FakeGofer() {
    client_.reset();  // EOF ends Loop
    thread_.join();
  }
  Client& client() { return *client_; }

 private:
  void Loop(const Answer& answer) {
    std::vector<std::byte> buf(kMaxMessage);
    for (;;) {
      Result<ReceivedPacket> packet = ReceivePacket(sock_.get(), buf);
      if (!packet || packet->size == 0) return;
      RequestHeader request;
      std::memcpy(&request, buf.data(), sizeof(request));
      answer(sock_.get(), request);
    }
  }

  std::unique_ptr<Client> client_;
  ScopedFd sock_;
  std::thread thread_;
};

int ErrOf(const auto& result) { return result.has_value() ? 0 : result.error().value(); }

TEST(ClientReplies, ShortReplyIsEio) {
  FakeGofer gofer([](int sock, const RequestHeader&) { ASSERT_EQ(::send(sock, "abc", 3, 0), 3); });
  EXPECT_EQ(ErrOf(gofer.client().GetAttr(1)), EIO);
}

TEST(ClientReplies, EmptyReplyIsEio) {
  FakeGofer gofer([](int sock, const RequestHeader&) { ASSERT_EQ(::send(sock, "", 0, 0), 0); });
  EXPECT_EQ(ErrOf(gofer.client().GetAttr(1)), EIO);
}

TEST(ClientReplies, ReplyToAnotherTagIsEio) {
  FakeGofer gofer([](int sock, const RequestHeader& request) {
    ResponseHeader h = Ok(request);
    h.tag += 1;
    Reply(sock, h, Body(WireAttr{}));
  });
  EXPECT_EQ(ErrOf(gofer.client().GetAttr(1)), EIO);
}

TEST(ClientReplies, ReplyOfAnotherTypeIsEio) {
  FakeGofer gofer([](int sock, const RequestHeader& request) {
    ResponseHeader h = Ok(request);
    h.type = static_cast<uint32_t>(MessageType::kStatFs);
    Reply(sock, h, Body(WireAttr{}));
  });
  EXPECT_EQ(ErrOf(gofer.client().GetAttr(1)), EIO);
}

TEST(ClientReplies, LengthMismatchIsEio) {
  FakeGofer gofer([](int sock, const RequestHeader& request) {
    ResponseHeader h = Ok(request);
    h.len = 5000;
    Reply(sock, h, Body(WireAttr{}));
  });
  EXPECT_EQ(ErrOf(gofer.client().GetAttr(1)), EIO);
}

TEST(ClientReplies, BodyOfTheWrongSizeIsEio) {
  FakeGofer gofer([](int sock, const RequestHeader& request) {
    std::vector<std::byte> body = Body(WalkResponse{});
    body.pop_back();
    Reply(sock, Ok(request), body);
  });
  EXPECT_EQ(ErrOf(gofer.client().Attach(0)), EIO);
  EXPECT_EQ(ErrOf(gofer.client().Walk(1, "x")), EIO);
  EXPECT_EQ(ErrOf(gofer.client().GetAttr(1)), EIO);
  EXPECT_EQ(ErrOf(gofer.client().StatFs(1)), EIO);
}

TEST(ClientReplies, OnlyPlainErrnosPassThrough) {
  int32_t next_error = ENOENT;
  FakeGofer gofer([&](int sock, const RequestHeader& request) {
    ResponseHeader h = Ok(request);
    h.error = next_error;
    Reply(sock, h);
  });
  EXPECT_EQ(ErrOf(gofer.client().GetAttr(1)), ENOENT);
  for (int32_t bad : {-5, ERESTARTSYS, ERESTART_RESTARTBLOCK, 100000}) {
    next_error = bad;
    EXPECT_EQ(ErrOf(gofer.client().GetAttr(1)), EIO) << bad;
  }
}

TEST(ClientReplies, OpenWithoutExactlyOneFdIsEio) {
  ScopedFd null(::open("/dev/null", O_RDONLY | O_CLOEXEC));
  ASSERT_TRUE(null.valid());
  std::vector<int> fds;
  FakeGofer gofer([&](int sock, const RequestHeader& request) {
    Reply(sock, Ok(request), {}, fds);
  });
  EXPECT_EQ(ErrOf(gofer.client().Open(1, O_RDONLY)), EIO);
  fds = {null.get(), null.get()};
  EXPECT_EQ(ErrOf(gofer.client().Open(1, O_RDONLY)), EIO);
  fds = {null.get()};
  auto fd = gofer.client().Open(1, O_RDONLY);
  ASSERT_EQ(ErrOf(fd), 0);
  EXPECT_NE(::fcntl(fd->get(), F_GETFD) & FD_CLOEXEC, 0);
}

// A ReadDir reply body claiming `count` entries and carrying `names`.
std::vector<std::byte> Page(uint32_t count, uint32_t eof, std::vector<std::string> names) {
  WireWriter w;
  w.Write(ReadDirResponse{1, count, eof});
  for (const std::string& name : names) {
    w.Write(WireDirent{1, static_cast<uint16_t>(name.size()), DT_REG, {}});
    w.WriteBytes(name);
  }
  return std::vector<std::byte>(w.bytes().begin(), w.bytes().end());
}

TEST(ClientReplies, MalformedReadDirPagesAreEio) {
  std::vector<std::byte> page;
  FakeGofer gofer([&](int sock, const RequestHeader& request) { Reply(sock, Ok(request), page); });
  for (auto bad : {Page(2, 1, {"a"}), Page(1, 1, {"a", "b"}), Page(1, 1, {"a/b"}),
                   Page(1, 1, {".."}), Page(1, 1, {""}), Page(0, 0, {}), Page(1, 7, {"a"})}) {
    page = bad;
    EXPECT_EQ(ErrOf(gofer.client().ReadDir(1)), EIO);
  }
  page = Page(2, 1, {"a", "b"});
  auto entries = gofer.client().ReadDir(1);
  ASSERT_EQ(ErrOf(entries), 0);
  ASSERT_EQ(entries->size(), 2u);
  EXPECT_EQ((*entries)[1].name, "b");
}

TEST(ClientReplies, EmptyLinkTargetIsEio) {
  FakeGofer gofer([](int sock, const RequestHeader& request) { Reply(sock, Ok(request)); });
  EXPECT_EQ(ErrOf(gofer.client().ReadLink(1)), EIO);
}

TEST(ClientReplies, AfterAnOutOfStepReplyEveryCallIsEio) {
  int calls = 0;
  FakeGofer gofer([&](int sock, const RequestHeader& request) {
    ResponseHeader h = Ok(request);
    if (calls++ == 0) h.tag += 1;
    Reply(sock, h, Body(WireAttr{}));
  });
  EXPECT_EQ(ErrOf(gofer.client().GetAttr(1)), EIO);
  EXPECT_EQ(ErrOf(gofer.client().GetAttr(1)), EIO);
  EXPECT_EQ(calls, 1);  // the second call never reached the gofer
}

TEST(ClientReplies, GoferClosingWithoutAnswerIsEio) {
  FakeGofer gofer([](int sock, const RequestHeader&) { ::shutdown(sock, SHUT_RDWR); });
  EXPECT_EQ(ErrOf(gofer.client().GetAttr(1)), EIO);
}

TEST(ClientReplies, DeadGoferIsEio) {
  Result<Spawned> spawned = SpawnGofer(GOFER_PATH, TestExports());
  ASSERT_TRUE(spawned.has_value());
  Client client(std::move(spawned->sock));
  auto root = client.Attach(0);
  ASSERT_EQ(ErrOf(root), 0);
  ASSERT_EQ(::kill(spawned->pid, SIGKILL), 0);
  int status = WaitStatus(spawned->pid);
  EXPECT_TRUE(WIFSIGNALED(status));
  EXPECT_EQ(ErrOf(client.GetAttr(root->first)), EIO);
  EXPECT_EQ(ErrOf(client.ReadDir(root->first)), EIO);
  client.Clunk(root->first);  // no crash, no SIGPIPE
}

}  // namespace
}  // namespace husk::gofer::testing
