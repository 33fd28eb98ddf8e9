// Moving data without user memory: sendfile(2), splice(2), tee(2),
// vmsplice(2), copy_file_range(2).
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <sys/eventfd.h>
#include <sys/mman.h>
#include <sys/sendfile.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <sys/wait.h>
#include <unistd.h>

#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "test_util.h"

namespace {

using husk_test::BadPtr;
using husk_test::ClosedFd;
using husk_test::NowMs;
using husk_test::RunInChild;
using husk_test::SleepMs;

constexpr char kData[] = "0123456789abcdefghij";  // 20 bytes
constexpr size_t kDataLen = sizeof(kData) - 1;

struct Pipe {
  Pipe(int flags = 0) {
    if (pipe2(fds, flags) != 0) abort();
  }
  ~Pipe() {
    for (int fd : fds) {
      if (fd >= 0) close(fd);
    }
  }
  int r() const { return fds[0]; }
  int w() const { return fds[1]; }
  void CloseRead() {
    close(fds[0]);
    fds[0] = -1;
  }
  void CloseWrite() {
    close(fds[1]);
    fds[1] = -1;
  }
  // Everything readable now, without waiting.
  std::string Drain() const {
    std::string out;
    char buf[4096];
    const int flags = fcntl(fds[0], F_GETFL);
    fcntl(fds[0], F_SETFL, flags | O_NONBLOCK);
    for (ssize_t n; (n = read(fds[0], buf, sizeof(buf))) > 0;) out.append(buf, n);
    fcntl(fds[0], F_SETFL, flags);
    return out;
  }
  void Fill() const {
    const int flags = fcntl(fds[1], F_GETFL);
    fcntl(fds[1], F_SETFL, flags | O_NONBLOCK);
    std::vector<char> buf(65536, 'f');
    while (write(fds[1], buf.data(), buf.size()) > 0) {
    }
    fcntl(fds[1], F_SETFL, flags);
  }
  int fds[2];
};

std::string ReadAll(int fd, off_t at, size_t n) {
  std::string s(n, '\0');
  ssize_t got = pread(fd, s.data(), n, at);
  s.resize(got < 0 ? 0 : got);
  return s;
}

class SpliceTest : public husk_test::TempDirTest {
 protected:
  void SetUp() override {
    TempDirTest::SetUp();
    in_ = open(Path("in").c_str(), O_RDWR | O_CREAT, 0644);
    ASSERT_GE(in_, 0);
    ASSERT_EQ(pwrite(in_, kData, kDataLen, 0), static_cast<ssize_t>(kDataLen));
    out_ = open(Path("out").c_str(), O_RDWR | O_CREAT, 0644);
    ASSERT_GE(out_, 0);
  }
  void TearDown() override {
    close(in_);
    close(out_);
    TempDirTest::TearDown();
  }
  int in_ = -1;
  int out_ = -1;
};

// --- sendfile ---

TEST_F(SpliceTest, SendfileWithOffsetLeavesThePositionAlone) {
  Pipe p;
  off_t off = 5;
  EXPECT_EQ(sendfile(p.w(), in_, &off, 6), 6);
  EXPECT_EQ(off, 11);
  EXPECT_EQ(lseek(in_, 0, SEEK_CUR), 0);
  EXPECT_EQ(p.Drain(), "56789a");
}

TEST_F(SpliceTest, SendfileWithoutOffsetMovesThePosition) {
  Pipe p;
  ASSERT_EQ(lseek(in_, 15, SEEK_SET), 15);
  EXPECT_EQ(sendfile(p.w(), in_, nullptr, 100), 5);  // to the end of the file
  EXPECT_EQ(lseek(in_, 0, SEEK_CUR), 20);
  EXPECT_EQ(sendfile(p.w(), in_, nullptr, 100), 0);
  EXPECT_EQ(p.Drain(), "fghij");
}

TEST_F(SpliceTest, SendfileToAFileAndASocket) {
  ASSERT_EQ(lseek(out_, 3, SEEK_SET), 3);
  off_t off = 0;
  EXPECT_EQ(sendfile(out_, in_, &off, kDataLen), static_cast<ssize_t>(kDataLen));
  EXPECT_EQ(lseek(out_, 0, SEEK_CUR), 23);
  EXPECT_EQ(ReadAll(out_, 3, 100), kData);
  int s[2];
  ASSERT_EQ(socketpair(AF_UNIX, SOCK_STREAM, 0, s), 0);
  off = 10;
  EXPECT_EQ(sendfile(s[0], in_, &off, 4), 4);
  char buf[8] = {};
  EXPECT_EQ(read(s[1], buf, sizeof(buf)), 4);
  EXPECT_STREQ(buf, "abcd");
  close(s[0]);
  close(s[1]);
}

TEST_F(SpliceTest, SendfileOfABigFile) {
  std::vector<char> big(3 << 20);
  for (size_t i = 0; i < big.size(); ++i) big[i] = static_cast<char>(i * 7);
  ASSERT_EQ(pwrite(in_, big.data(), big.size(), 0), static_cast<ssize_t>(big.size()));
  off_t off = 0;
  EXPECT_EQ(sendfile(out_, in_, &off, big.size() + 10), static_cast<ssize_t>(big.size()));
  std::vector<char> back(big.size());
  ASSERT_EQ(pread(out_, back.data(), back.size(), 0), static_cast<ssize_t>(back.size()));
  EXPECT_TRUE(back == big);
}

TEST_F(SpliceTest, SendfileInputMustBeAFileSpliceCanRead) {
  Pipe p;
  EXPECT_FAILS_WITH(sendfile(p.w(), p.r(), nullptr, 5), EINVAL);  // a pipe
  EXPECT_FAILS_WITH(sendfile(out_, p.r(), nullptr, 5), EINVAL);
  int dir = open(dir_.c_str(), O_RDONLY | O_DIRECTORY);
  EXPECT_FAILS_WITH(sendfile(p.w(), dir, nullptr, 5), EINVAL);
  close(dir);
  int efd = eventfd(0, 0);
  EXPECT_FAILS_WITH(sendfile(p.w(), efd, nullptr, 5), EINVAL);
  close(efd);
  // A socket into a file: not seekable, its bytes could be lost.
  int s[2];
  ASSERT_EQ(socketpair(AF_UNIX, SOCK_STREAM, 0, s), 0);
  EXPECT_FAILS_WITH(sendfile(out_, s[0], nullptr, 5), EINVAL);
  off_t off = 0;
  EXPECT_FAILS_WITH(sendfile(p.w(), s[0], &off, 5), ESPIPE);
  close(s[0]);
  close(s[1]);
}

TEST_F(SpliceTest, SendfileFromDevZero) {
  Pipe p;
  int zero = open("/dev/zero", O_RDONLY);
  ASSERT_GE(zero, 0);
  EXPECT_EQ(sendfile(p.w(), zero, nullptr, 7), 7);
  EXPECT_EQ(p.Drain(), std::string(7, '\0'));
  close(zero);
}

TEST_F(SpliceTest, SendfileBadArguments) {
  Pipe p;
  int append = open(Path("out").c_str(), O_WRONLY | O_APPEND);
  EXPECT_FAILS_WITH(sendfile(append, in_, nullptr, 5), EINVAL);
  EXPECT_FAILS_WITH(sendfile(p.w(), append, nullptr, 5), EBADF);  // not readable
  close(append);
  int ro = open(Path("out").c_str(), O_RDONLY);
  EXPECT_FAILS_WITH(sendfile(ro, in_, nullptr, 5), EBADF);  // not writable
  close(ro);
  EXPECT_FAILS_WITH(sendfile(p.r(), in_, nullptr, 5), EBADF);
  EXPECT_FAILS_WITH(sendfile(ClosedFd(), in_, nullptr, 5), EBADF);
  EXPECT_FAILS_WITH(sendfile(p.w(), ClosedFd(), nullptr, 5), EBADF);
  off_t off = -1;
  EXPECT_FAILS_WITH(sendfile(p.w(), in_, &off, 5), EINVAL);
  off = 0x7ffffffffffffff0LL;
  EXPECT_FAILS_WITH(sendfile(p.w(), in_, &off, 100), EINVAL);
  EXPECT_FAILS_WITH(sendfile(p.w(), in_, static_cast<off_t*>(BadPtr()), 5), EFAULT);
  off = 0;
  EXPECT_EQ(sendfile(p.w(), in_, &off, 0), 0);
}

TEST_F(SpliceTest, SendfileToAFullNonblockingPipeIsEagain) {
  Pipe p(O_NONBLOCK);
  p.Fill();
  EXPECT_FAILS_WITH(sendfile(p.w(), in_, nullptr, 5), EAGAIN);
}

TEST_F(SpliceTest, SendfileToAPipeWithoutReaderIsEpipeAndSigpipe) {
  RunInChild([&] {
    Pipe p;
    p.CloseRead();
    sigset_t set;
    sigemptyset(&set);
    sigaddset(&set, SIGPIPE);
    sigprocmask(SIG_BLOCK, &set, nullptr);
    EXPECT_FAILS_WITH(sendfile(p.w(), in_, nullptr, 5), EPIPE);
    sigset_t pending;
    sigpending(&pending);
    EXPECT_TRUE(sigismember(&pending, SIGPIPE));
  });
}

// --- splice ---

TEST_F(SpliceTest, SpliceFileToPipeWithOffset) {
  Pipe p;
  loff_t off = 2;
  EXPECT_EQ(splice(in_, &off, p.w(), nullptr, 4, 0), 4);
  EXPECT_EQ(off, 6);
  EXPECT_EQ(lseek(in_, 0, SEEK_CUR), 0);
  EXPECT_EQ(p.Drain(), "2345");
}

TEST_F(SpliceTest, SpliceFileToPipeAtThePosition) {
  Pipe p;
  ASSERT_EQ(lseek(in_, 18, SEEK_SET), 18);
  EXPECT_EQ(splice(in_, nullptr, p.w(), nullptr, 10, SPLICE_F_MOVE | SPLICE_F_MORE), 2);
  EXPECT_EQ(lseek(in_, 0, SEEK_CUR), 20);
  EXPECT_EQ(splice(in_, nullptr, p.w(), nullptr, 10, 0), 0);  // end of file
  EXPECT_EQ(p.Drain(), "ij");
}

TEST_F(SpliceTest, SplicePipeToFile) {
  Pipe p;
  ASSERT_EQ(write(p.w(), "hello world", 11), 11);
  loff_t off = 100;
  EXPECT_EQ(splice(p.r(), nullptr, out_, &off, 5, 0), 5);
  EXPECT_EQ(off, 105);
  EXPECT_EQ(lseek(out_, 0, SEEK_CUR), 0);
  EXPECT_EQ(ReadAll(out_, 100, 10), "hello");
  // At the file's position, which moves.
  EXPECT_EQ(splice(p.r(), nullptr, out_, nullptr, 100, 0), 6);
  EXPECT_EQ(lseek(out_, 0, SEEK_CUR), 6);
  EXPECT_EQ(ReadAll(out_, 0, 6), " world");
}

TEST_F(SpliceTest, SplicePipeToPipeMovesTheBytes) {
  Pipe a, b;
  ASSERT_EQ(write(a.w(), "abcdef", 6), 6);
  EXPECT_EQ(splice(a.r(), nullptr, b.w(), nullptr, 4, 0), 4);
  EXPECT_EQ(b.Drain(), "abcd");
  EXPECT_EQ(a.Drain(), "ef");
}

TEST_F(SpliceTest, SpliceBetweenPipeAndSocket) {
  int s[2];
  ASSERT_EQ(socketpair(AF_UNIX, SOCK_STREAM, 0, s), 0);
  Pipe p;
  ASSERT_EQ(write(s[0], "abc", 3), 3);
  EXPECT_EQ(splice(s[1], nullptr, p.w(), nullptr, 100, 0), 3);
  EXPECT_EQ(splice(p.r(), nullptr, s[1], nullptr, 100, 0), 3);
  char buf[4] = {};
  EXPECT_EQ(read(s[0], buf, sizeof(buf)), 3);
  EXPECT_STREQ(buf, "abc");
  close(s[0]);
  close(s[1]);
}

TEST_F(SpliceTest, SpliceOffsetOnAPipeIsEspipe) {
  Pipe p;
  loff_t off = 0;
  EXPECT_FAILS_WITH(splice(p.r(), &off, out_, nullptr, 5, 0), ESPIPE);
  EXPECT_FAILS_WITH(splice(in_, nullptr, p.w(), &off, 5, 0), ESPIPE);
}

TEST_F(SpliceTest, SpliceNeedsAPipe) {
  EXPECT_FAILS_WITH(splice(in_, nullptr, out_, nullptr, 5, 0), EINVAL);
  Pipe p;
  EXPECT_FAILS_WITH(splice(p.r(), nullptr, p.w(), nullptr, 5, 0), EINVAL);  // the same pipe
}

TEST_F(SpliceTest, SpliceBadArguments) {
  Pipe p;
  EXPECT_EQ(splice(in_, nullptr, p.w(), nullptr, 0, 0x100), 0);  // nothing to do
  EXPECT_FAILS_WITH(splice(in_, nullptr, p.w(), nullptr, 5, 0x100), EINVAL);
  EXPECT_FAILS_WITH(splice(ClosedFd(), nullptr, p.w(), nullptr, 5, 0), EBADF);
  EXPECT_FAILS_WITH(splice(p.w(), nullptr, out_, nullptr, 5, 0), EBADF);  // write end as input
  int ro = open(Path("out").c_str(), O_RDONLY);
  EXPECT_FAILS_WITH(splice(p.r(), nullptr, ro, nullptr, 5, 0), EBADF);
  close(ro);
  int append = open(Path("out").c_str(), O_WRONLY | O_APPEND);
  EXPECT_FAILS_WITH(splice(p.r(), nullptr, append, nullptr, 5, 0), EINVAL);
  close(append);
  int efd = eventfd(0, 0);
  EXPECT_FAILS_WITH(splice(efd, nullptr, p.w(), nullptr, 5, 0), EINVAL);
  EXPECT_FAILS_WITH(splice(p.r(), nullptr, efd, nullptr, 5, 0), EINVAL);
  close(efd);
  loff_t off = -1;
  EXPECT_FAILS_WITH(splice(in_, &off, p.w(), nullptr, 5, 0), EINVAL);
  EXPECT_FAILS_WITH(splice(in_, static_cast<loff_t*>(BadPtr()), p.w(), nullptr, 5, 0), EFAULT);
}

TEST_F(SpliceTest, SpliceNonblock) {
  Pipe empty, full;
  full.Fill();
  EXPECT_FAILS_WITH(splice(empty.r(), nullptr, out_, nullptr, 5, SPLICE_F_NONBLOCK), EAGAIN);
  EXPECT_FAILS_WITH(splice(in_, nullptr, full.w(), nullptr, 5, SPLICE_F_NONBLOCK), EAGAIN);
  EXPECT_FAILS_WITH(splice(empty.r(), nullptr, full.w(), nullptr, 5, SPLICE_F_NONBLOCK), EAGAIN);
  // The pipe end's O_NONBLOCK counts too.
  Pipe nb(O_NONBLOCK);
  EXPECT_FAILS_WITH(splice(nb.r(), nullptr, out_, nullptr, 5, 0), EAGAIN);
  nb.Fill();
  EXPECT_FAILS_WITH(splice(in_, nullptr, nb.w(), nullptr, 5, 0), EAGAIN);
}

TEST_F(SpliceTest, SpliceFromAPipeWithoutWritersIsEndOfFile) {
  Pipe p;
  p.CloseWrite();
  Pipe q;
  EXPECT_EQ(splice(p.r(), nullptr, out_, nullptr, 5, 0), 0);
  EXPECT_EQ(splice(p.r(), nullptr, q.w(), nullptr, 5, 0), 0);
}

TEST_F(SpliceTest, SpliceToAPipeWithoutReaderIsEpipe) {
  RunInChild([&] {
    signal(SIGPIPE, SIG_IGN);
    Pipe p, q;
    q.CloseRead();
    ASSERT_EQ(write(p.w(), "x", 1), 1);
    EXPECT_FAILS_WITH(splice(p.r(), nullptr, q.w(), nullptr, 5, 0), EPIPE);
    EXPECT_FAILS_WITH(splice(in_, nullptr, q.w(), nullptr, 5, 0), EPIPE);
    EXPECT_EQ(p.Drain(), "x");  // nothing moved
  });
}

TEST_F(SpliceTest, SpliceWaitsForData) {
  Pipe p;
  pid_t pid = fork();
  if (pid == 0) {
    SleepMs(100);
    (void)!write(p.w(), "late", 4);
    _exit(0);
  }
  const long start = NowMs();
  EXPECT_EQ(splice(p.r(), nullptr, out_, nullptr, 100, 0), 4);
  EXPECT_GE(NowMs() - start, 50);
  waitpid(pid, nullptr, 0);
  EXPECT_EQ(ReadAll(out_, 0, 10), "late");
}

TEST_F(SpliceTest, SpliceWaitIsInterruptedBySignal) {
  RunInChild([&] {
    struct sigaction sa {};
    sa.sa_handler = [](int) {};
    sigaction(SIGALRM, &sa, nullptr);
    Pipe p;
    ualarm(100000, 0);
    EXPECT_FAILS_WITH(splice(p.r(), nullptr, out_, nullptr, 5, 0), EINTR);
  });
}

TEST_F(SpliceTest, SpliceALargeFileThroughAPipe) {
  std::vector<char> big(1 << 20);
  for (size_t i = 0; i < big.size(); ++i) big[i] = static_cast<char>(i % 251);
  ASSERT_EQ(pwrite(in_, big.data(), big.size(), 0), static_cast<ssize_t>(big.size()));
  Pipe p;
  loff_t in_off = 0, out_off = 0;
  while (in_off < static_cast<loff_t>(big.size())) {
    ssize_t n = splice(in_, &in_off, p.w(), nullptr, big.size(), 0);
    ASSERT_GT(n, 0);
    while (n > 0) {
      ssize_t m = splice(p.r(), nullptr, out_, &out_off, n, 0);
      ASSERT_GT(m, 0);
      n -= m;
    }
  }
  std::vector<char> back(big.size());
  ASSERT_EQ(pread(out_, back.data(), back.size(), 0), static_cast<ssize_t>(back.size()));
  EXPECT_TRUE(back == big);
}

// --- tee ---

TEST_F(SpliceTest, TeeCopiesWithoutConsuming) {
  Pipe a, b;
  ASSERT_EQ(write(a.w(), "hello", 5), 5);
  ASSERT_EQ(write(a.w(), "world", 5), 5);
  EXPECT_EQ(tee(a.r(), b.w(), 7, 0), 7);
  EXPECT_EQ(b.Drain(), "hellowo");
  EXPECT_EQ(tee(a.r(), b.w(), 100, 0), 10);
  EXPECT_EQ(b.Drain(), "helloworld");
  EXPECT_EQ(a.Drain(), "helloworld");
}

TEST_F(SpliceTest, TeeBadArguments) {
  Pipe a, b;
  EXPECT_FAILS_WITH(tee(a.r(), b.w(), 0, 0x100), EINVAL);  // flags first
  EXPECT_EQ(tee(ClosedFd(), b.w(), 0, 0), 0);              // then length
  EXPECT_FAILS_WITH(tee(ClosedFd(), b.w(), 5, 0), EBADF);
  EXPECT_FAILS_WITH(tee(a.w(), b.w(), 5, 0), EBADF);
  EXPECT_FAILS_WITH(tee(a.r(), b.r(), 5, 0), EBADF);
  EXPECT_FAILS_WITH(tee(a.r(), out_, 5, 0), EINVAL);
  EXPECT_FAILS_WITH(tee(in_, b.w(), 5, 0), EINVAL);
  EXPECT_FAILS_WITH(tee(a.r(), a.w(), 5, 0), EINVAL);
}

TEST_F(SpliceTest, TeeNonblockAndEndOfFile) {
  Pipe a, b;
  EXPECT_FAILS_WITH(tee(a.r(), b.w(), 5, SPLICE_F_NONBLOCK), EAGAIN);
  a.CloseWrite();
  EXPECT_EQ(tee(a.r(), b.w(), 5, 0), 0);
  Pipe c(O_NONBLOCK), d;
  EXPECT_FAILS_WITH(tee(c.r(), d.w(), 5, 0), EAGAIN);
}

// --- vmsplice ---

TEST_F(SpliceTest, VmspliceIntoAPipe) {
  Pipe p;
  char a[] = "abc", b[] = "defg";
  iovec iov[2] = {{a, 3}, {b, 4}};
  EXPECT_EQ(vmsplice(p.w(), iov, 2, 0), 7);
  EXPECT_EQ(p.Drain(), "abcdefg");
}

TEST_F(SpliceTest, VmspliceOutOfAPipe) {
  Pipe p;
  ASSERT_EQ(write(p.w(), "abcdef", 6), 6);
  char a[3] = {}, b[2] = {};
  iovec iov[2] = {{a, 2}, {b, 2}};
  EXPECT_EQ(vmsplice(p.r(), iov, 2, 0), 4);
  EXPECT_EQ(std::string(a, 2), "ab");
  EXPECT_EQ(std::string(b, 2), "cd");
  EXPECT_EQ(p.Drain(), "ef");
}

TEST_F(SpliceTest, VmspliceBadArguments) {
  Pipe p;
  char buf[8] = {};
  iovec iov = {buf, sizeof(buf)};
  EXPECT_FAILS_WITH(vmsplice(p.w(), &iov, 1, 0x100), EINVAL);
  EXPECT_FAILS_WITH(vmsplice(ClosedFd(), &iov, 1, 0), EBADF);
  EXPECT_FAILS_WITH(vmsplice(in_, &iov, 1, 0), EBADF);  // not a pipe
  EXPECT_EQ(vmsplice(in_, &iov, 0, 0), 0);              // nothing to do comes first
  EXPECT_EQ(vmsplice(p.w(), &iov, 0, 0), 0);
  EXPECT_FAILS_WITH(vmsplice(p.w(), nullptr, 1, 0), EFAULT);
  EXPECT_FAILS_WITH(vmsplice(p.w(), &iov, IOV_MAX + 1, 0), EINVAL);
  iovec bad = {BadPtr(), 8};
  EXPECT_FAILS_WITH(vmsplice(p.w(), &bad, 1, 0), EFAULT);
  ASSERT_EQ(write(p.w(), "xy", 2), 2);
  EXPECT_FAILS_WITH(vmsplice(p.r(), &bad, 1, 0), EFAULT);
  EXPECT_EQ(p.Drain(), "xy");  // still there
}

TEST_F(SpliceTest, VmspliceHonoursOnlySpliceNonblock) {
  Pipe p;
  char buf[8] = {};
  iovec iov = {buf, sizeof(buf)};
  EXPECT_FAILS_WITH(vmsplice(p.r(), &iov, 1, SPLICE_F_NONBLOCK), EAGAIN);
  p.Fill();
  EXPECT_FAILS_WITH(vmsplice(p.w(), &iov, 1, SPLICE_F_NONBLOCK), EAGAIN);
}

TEST_F(SpliceTest, VmspliceToAPipeWithoutReaderIsEpipe) {
  RunInChild([] {
    signal(SIGPIPE, SIG_IGN);
    Pipe p;
    p.CloseRead();
    char buf[4] = {};
    iovec iov = {buf, sizeof(buf)};
    EXPECT_FAILS_WITH(vmsplice(p.w(), &iov, 1, 0), EPIPE);
  });
}

// --- copy_file_range ---

TEST_F(SpliceTest, CopyFileRangeWithOffsets) {
  loff_t in_off = 4, out_off = 10;
  EXPECT_EQ(copy_file_range(in_, &in_off, out_, &out_off, 6, 0), 6);
  EXPECT_EQ(in_off, 10);
  EXPECT_EQ(out_off, 16);
  EXPECT_EQ(lseek(in_, 0, SEEK_CUR), 0);
  EXPECT_EQ(lseek(out_, 0, SEEK_CUR), 0);
  EXPECT_EQ(ReadAll(out_, 10, 100), "456789");
  EXPECT_EQ(ReadAll(out_, 0, 10), std::string(10, '\0'));
}

TEST_F(SpliceTest, CopyFileRangeAtThePositions) {
  ASSERT_EQ(lseek(in_, 2, SEEK_SET), 2);
  EXPECT_EQ(copy_file_range(in_, nullptr, out_, nullptr, 100, 0), 18);  // to the end
  EXPECT_EQ(lseek(in_, 0, SEEK_CUR), 20);
  EXPECT_EQ(lseek(out_, 0, SEEK_CUR), 18);
  EXPECT_EQ(copy_file_range(in_, nullptr, out_, nullptr, 100, 0), 0);
  EXPECT_EQ(ReadAll(out_, 0, 100), kData + 2);
}

TEST_F(SpliceTest, CopyFileRangeWithinOneFile) {
  loff_t from = 0, to = 20;
  EXPECT_EQ(copy_file_range(in_, &from, in_, &to, 10, 0), 10);
  EXPECT_EQ(ReadAll(in_, 20, 100), "0123456789");
  from = 0;
  to = 2;
  EXPECT_FAILS_WITH(copy_file_range(in_, &from, in_, &to, 5, 0), EINVAL);  // overlapping
  from = 10;
  to = 5;
  EXPECT_FAILS_WITH(copy_file_range(in_, &from, in_, &to, 10, 0), EINVAL);
}

TEST_F(SpliceTest, CopyFileRangeBadArguments) {
  EXPECT_FAILS_WITH(copy_file_range(in_, nullptr, out_, nullptr, 5, 1), EINVAL);
  EXPECT_FAILS_WITH(copy_file_range(ClosedFd(), nullptr, out_, nullptr, 5, 0), EBADF);
  EXPECT_FAILS_WITH(copy_file_range(in_, nullptr, ClosedFd(), nullptr, 5, 0), EBADF);
  int wo = open(Path("in").c_str(), O_WRONLY);
  EXPECT_FAILS_WITH(copy_file_range(wo, nullptr, out_, nullptr, 5, 0), EBADF);
  close(wo);
  int ro = open(Path("out").c_str(), O_RDONLY);
  EXPECT_FAILS_WITH(copy_file_range(in_, nullptr, ro, nullptr, 5, 0), EBADF);
  close(ro);
  int append = open(Path("out").c_str(), O_WRONLY | O_APPEND);
  EXPECT_FAILS_WITH(copy_file_range(in_, nullptr, append, nullptr, 5, 0), EBADF);
  close(append);
  int dir = open(dir_.c_str(), O_RDONLY | O_DIRECTORY);
  EXPECT_FAILS_WITH(copy_file_range(dir, nullptr, out_, nullptr, 5, 0), EISDIR);
  close(dir);
  Pipe p;
  EXPECT_FAILS_WITH(copy_file_range(p.r(), nullptr, out_, nullptr, 5, 0), EINVAL);
  EXPECT_FAILS_WITH(copy_file_range(in_, nullptr, p.w(), nullptr, 5, 0), EINVAL);
  loff_t off = -1;
  EXPECT_FAILS_WITH(copy_file_range(in_, &off, out_, nullptr, 5, 0), EOVERFLOW);
  off = 0x7ffffffffffffff0LL;
  EXPECT_EQ(copy_file_range(in_, &off, out_, nullptr, 100, 0), 0);  // past the end
  EXPECT_FAILS_WITH(copy_file_range(in_, static_cast<loff_t*>(BadPtr()), out_, nullptr, 5, 0), EFAULT);
  EXPECT_EQ(copy_file_range(in_, nullptr, out_, nullptr, 0, 0), 0);
}

// A memfd lives on the kernel's internal tmpfs: another filesystem.
TEST_F(SpliceTest, CopyFileRangeAcrossFilesystemsIsExdev) {
  int mfd = memfd_create("dst", 0);
  ASSERT_GE(mfd, 0);
  EXPECT_FAILS_WITH(copy_file_range(in_, nullptr, mfd, nullptr, 5, 0), EXDEV);
  int mfd2 = memfd_create("src", 0);
  ASSERT_EQ(write(mfd2, "memfd", 5), 5);
  loff_t off = 0;
  EXPECT_EQ(copy_file_range(mfd2, &off, mfd, nullptr, 5, 0), 5);  // one filesystem
  EXPECT_EQ(ReadAll(mfd, 0, 10), "memfd");
  close(mfd);
  close(mfd2);
}

}  // namespace
