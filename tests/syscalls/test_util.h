// Helpers the syscall tests share.
#pragma once

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <string>

#include <gtest/gtest.h>

// Expects `call` to fail with -1 and errno `err`.
#define EXPECT_FAILS_WITH(call, err)                        \
  do {                                                      \
    errno = 0;                                              \
    long _r = (long)(call);                                 \
    int _e = errno;                                         \
    EXPECT_EQ(_r, -1L) << #call;                            \
    EXPECT_EQ(_e, (err)) << #call << ": " << strerror(_e);  \
  } while (0)

namespace husk_test {

// CLOCK_MONOTONIC in milliseconds.
inline long NowMs() {
  timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return ts.tv_sec * 1000L + ts.tv_nsec / 1000000L;
}

// Sleeps `ms` milliseconds, through any signal handler that interrupts it.
inline void SleepMs(long ms) {
  timespec ts{ms / 1000, (ms % 1000) * 1000000L};
  while (nanosleep(&ts, &ts) != 0 && errno == EINTR) {
  }
}

// How many failures the running test has recorded so far.
inline int FailureCount() {
  const ::testing::TestResult* r = ::testing::UnitTest::GetInstance()->current_test_info()->result();
  int n = 0;
  for (int i = 0; i < r->total_part_count(); i++) {
    if (r->GetTestPartResult(i).failed()) n++;
  }
  return n;
}

// Runs fn (which may use EXPECT_*/ASSERT_*) in a forked child, which never
// returns into gtest; the test fails unless the child adds no failure and
// exits normally. For tests that change what a process keeps (ids, masks,
// dispositions, limits) without touching the test runner.
template <typename F>
void RunInChild(F&& fn) {
  fflush(stdout);
  fflush(stderr);
  const int before = FailureCount();
  pid_t pid = fork();
  ASSERT_GE(pid, 0) << strerror(errno);
  if (pid == 0) {
    fn();
    fflush(stdout);
    _exit(FailureCount() > before ? 1 : 0);
  }
  int status = 0;
  ASSERT_EQ(waitpid(pid, &status, 0), pid);
  EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0) << "child failed, status " << status;
}

// A pointer into a PROT_NONE page: any kernel access to it faults.
inline void* BadPtr() {
  static void* page = [] {
    void* p = mmap(nullptr, 4096, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (p == MAP_FAILED) abort();
    return p;
  }();
  return page;
}

// Returns an fd number that is certainly not open.
inline int ClosedFd() {
  int fd = open("/dev/null", O_RDONLY);
  if (fd < 0) abort();
  close(fd);
  return fd;
}

// A fixture whose tests work in a fresh /tmp/husk_XXXXXX directory, removed
// with everything in it afterwards.
class TempDirTest : public ::testing::Test {
 protected:
  void SetUp() override {
    char tmpl[] = "/tmp/husk_XXXXXX";
    ASSERT_NE(mkdtemp(tmpl), nullptr) << strerror(errno);
    dir_ = tmpl;
  }
  void TearDown() override {
    std::error_code ec;
    std::filesystem::remove_all(dir_, ec);
  }

  std::string Path(const std::string& name) const { return dir_ + "/" + name; }

  std::string dir_;
};

// A child process that waits to be killed, after `setup` has run in it;
// killed and reaped when it goes out of scope unless reaped already.
class PausedChild {
 public:
  template <typename F>
  explicit PausedChild(F setup) {
    int sync[2];
    if (pipe(sync) != 0) abort();
    pid_ = fork();
    if (pid_ == 0) {
      close(sync[0]);
      setup();
      char c = 1;
      if (write(sync[1], &c, 1) != 1) _exit(99);
      for (;;) pause();
    }
    close(sync[1]);
    char c;
    if (read(sync[0], &c, 1) != 1) ADD_FAILURE() << "child did not start";
    close(sync[0]);
  }
  PausedChild() : PausedChild([] {}) {}
  PausedChild(const PausedChild&) = delete;
  PausedChild& operator=(const PausedChild&) = delete;
  ~PausedChild() {
    if (pid_ > 0) {
      kill(pid_, SIGKILL);
      waitpid(pid_, nullptr, 0);
    }
  }
  pid_t pid() const { return pid_; }
  // Whether it is still alive (not even a zombie).
  bool Alive() {
    siginfo_t info{};
    return waitid(P_PID, pid_, &info, WEXITED | WNOHANG | WNOWAIT) == 0 && info.si_pid == 0;
  }
  // Reaps it; returns its wait status.
  int Reap() {
    int status = 0;
    EXPECT_EQ(waitpid(pid_, &status, 0), pid_);
    pid_ = -1;
    return status;
  }
  // Someone else reaped it.
  void Reaped() { pid_ = -1; }

 private:
  pid_t pid_;
};

}  // namespace husk_test
