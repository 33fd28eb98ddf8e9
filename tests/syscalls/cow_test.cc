// fork(2) and private memory: after a fork, parent and child each see their
// own copy of every private page, whichever side writes first and however
// it writes (a store, read(2) into the buffer, a futex word), and whatever
// happens to the mapping later (munmap, mprotect, mremap, madvise). Shared
// mappings and vfork share. Linux does this copy-on-write; so must we.
#include <errno.h>
#include <linux/futex.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <stdint.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <atomic>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "test_util.h"

namespace {

constexpr size_t kPage = 4096;

// Private anonymous memory, each page filled with `fill` (or untouched if
// fill < 0); unmapped at the end of the test.
class Region {
 public:
  explicit Region(size_t len, int fill = -1) : len_(len) {
    void* p = mmap(nullptr, len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (p == MAP_FAILED) abort();
    p_ = static_cast<uint8_t*>(p);
    if (fill >= 0) memset(p_, fill, len);
  }
  ~Region() {
    if (p_ != nullptr) munmap(p_, len_);
  }
  uint8_t* get() const { return p_; }
  size_t size() const { return len_; }
  // Forgets the mapping (the test unmapped it itself).
  void Release() { p_ = nullptr; }

 private:
  uint8_t* p_;
  size_t len_;
};

// True if every byte of [p, p+len) is `v`.
bool All(const uint8_t* p, size_t len, uint8_t v) {
  for (size_t i = 0; i < len; ++i) {
    if (p[i] != v) return false;
  }
  return true;
}

// Forks; the child runs fn, whose return value is its exit code (0: all
// good). Returns the child's pid.
template <typename F>
pid_t Child(F&& fn) {
  fflush(stdout);
  fflush(stderr);
  pid_t pid = fork();
  if (pid == 0) _exit(fn());
  return pid;
}

// Waits for pid and returns its exit code (-1 if it did not exit).
int ExitCode(pid_t pid) {
  int status = 0;
  if (waitpid(pid, &status, 0) != pid) return -1;
  return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

// A one-byte message between parent and child.
class Signal {
 public:
  Signal() {
    if (pipe(fds_) != 0) abort();
  }
  ~Signal() {
    close(fds_[0]);
    close(fds_[1]);
  }
  void Send() { EXPECT_EQ(write(fds_[1], "x", 1), 1); }
  bool Receive() {
    char c;
    return read(fds_[0], &c, 1) == 1;
  }

 private:
  int fds_[2];
};

int global_counter = 1;

TEST(ForkCow, ChildWritesAreInvisibleToParent) {
  Region r(4 << 20, 'p');
  pid_t pid = Child([&] {
    memset(r.get(), 'c', r.size());
    return All(r.get(), r.size(), 'c') ? 0 : 1;
  });
  ASSERT_GT(pid, 0);
  EXPECT_EQ(ExitCode(pid), 0);
  EXPECT_TRUE(All(r.get(), r.size(), 'p'));
}

TEST(ForkCow, ParentWritesAreInvisibleToChild) {
  Region r(4 << 20, 'p');
  Signal written, checked;
  pid_t pid = Child([&] {
    if (!written.Receive()) return 2;
    return All(r.get(), r.size(), 'p') ? 0 : 1;
  });
  ASSERT_GT(pid, 0);
  memset(r.get(), 'P', r.size());
  written.Send();
  EXPECT_EQ(ExitCode(pid), 0);
  EXPECT_TRUE(All(r.get(), r.size(), 'P'));
}

TEST(ForkCow, GlobalsAndStackAreIsolated) {
  volatile int on_stack = 7;
  global_counter = 1;
  pid_t pid = Child([&] {
    global_counter = 2;
    on_stack = 8;
    return global_counter == 2 && on_stack == 8 ? 0 : 1;
  });
  ASSERT_GT(pid, 0);
  EXPECT_EQ(ExitCode(pid), 0);
  EXPECT_EQ(global_counter, 1);
  EXPECT_EQ(on_stack, 7);
}

TEST(ForkCow, ReadIntoSharedBufferInChildIsPrivate) {
  Region r(64 * kPage, 'p');
  int fds[2];
  ASSERT_EQ(pipe(fds), 0);
  pid_t pid = Child([&] {
    // The kernel writes into the page fork left shared.
    if (read(fds[0], r.get() + kPage + 10, 100) != 100) return 2;
    if (!All(r.get() + kPage + 10, 100, 'w')) return 3;
    return r.get()[kPage + 9] == 'p' && r.get()[kPage + 110] == 'p' ? 0 : 1;
  });
  ASSERT_GT(pid, 0);
  std::string data(100, 'w');
  ASSERT_EQ(write(fds[1], data.data(), data.size()), 100);
  EXPECT_EQ(ExitCode(pid), 0);
  EXPECT_TRUE(All(r.get(), r.size(), 'p'));
  close(fds[0]);
  close(fds[1]);
}

TEST(ForkCow, ReadIntoSharedBufferInParentIsPrivate) {
  Region r(64 * kPage, 'p');
  int fds[2];
  ASSERT_EQ(pipe(fds), 0);
  Signal done;
  pid_t pid = Child([&] {
    if (!done.Receive()) return 2;
    return All(r.get(), r.size(), 'p') ? 0 : 1;
  });
  ASSERT_GT(pid, 0);
  std::string data(3 * kPage, 'w');
  ASSERT_EQ(write(fds[1], data.data(), data.size()), static_cast<ssize_t>(data.size()));
  // Across page boundaries, larger than one copy-on-write chunk would be
  // if it were one page.
  ASSERT_EQ(read(fds[0], r.get() + 100, data.size()), static_cast<ssize_t>(data.size()));
  done.Send();
  EXPECT_EQ(ExitCode(pid), 0);
  EXPECT_TRUE(All(r.get() + 100, data.size(), 'w'));
  EXPECT_EQ(r.get()[99], 'p');
  close(fds[0]);
  close(fds[1]);
}

TEST(ForkCow, FutexWordInSharedPage) {
  // A pthread mutex in a page fork shared, used by both sides: the
  // futex calls read and write the word through the kernel.
  Region r(kPage, 0);
  auto* word = reinterpret_cast<std::atomic<uint32_t>*>(r.get());
  word->store(5);
  pid_t pid = Child([&] {
    word->store(6);
    // FUTEX_WAKE_OP writes the word (op: set it to 9).
    const uint32_t op = FUTEX_OP(FUTEX_OP_SET, 9, FUTEX_OP_CMP_EQ, 0);
    long n = syscall(SYS_futex, r.get() + 64, FUTEX_WAKE_OP | FUTEX_PRIVATE_FLAG, 1, 1, r.get(), op);
    if (n < 0) return 2;
    return word->load() == 9 ? 0 : 1;
  });
  ASSERT_GT(pid, 0);
  EXPECT_EQ(ExitCode(pid), 0);
  EXPECT_EQ(word->load(), 5u);
  // And the same in the parent, on its own copy.
  const uint32_t op = FUTEX_OP(FUTEX_OP_SET, 11, FUTEX_OP_CMP_EQ, 0);
  EXPECT_GE(syscall(SYS_futex, r.get() + 64, FUTEX_WAKE_OP | FUTEX_PRIVATE_FLAG, 1, 1, r.get(), op), 0);
  EXPECT_EQ(word->load(), 11u);
}

TEST(ForkCow, MunmapInChildLeavesParent) {
  Region r(16 * kPage, 'p');
  pid_t pid = Child([&] { return munmap(r.get(), 8 * kPage) == 0 ? 0 : 1; });
  ASSERT_GT(pid, 0);
  EXPECT_EQ(ExitCode(pid), 0);
  EXPECT_TRUE(All(r.get(), r.size(), 'p'));
  r.get()[0] = 'P';
  EXPECT_EQ(r.get()[0], 'P');
}

TEST(ForkCow, MunmapInParentLeavesChild) {
  Region r(16 * kPage, 'p');
  Signal unmapped;
  pid_t pid = Child([&] {
    if (!unmapped.Receive()) return 2;
    if (!All(r.get(), r.size(), 'p')) return 1;
    memset(r.get(), 'c', r.size());
    return All(r.get(), r.size(), 'c') ? 0 : 3;
  });
  ASSERT_GT(pid, 0);
  ASSERT_EQ(munmap(r.get(), r.size()), 0);
  r.Release();
  unmapped.Send();
  EXPECT_EQ(ExitCode(pid), 0);
}

TEST(ForkCow, MprotectInChildThenWrite) {
  Region r(8 * kPage, 'p');
  pid_t pid = Child([&] {
    if (mprotect(r.get(), r.size(), PROT_READ) != 0) return 2;
    if (mprotect(r.get(), r.size(), PROT_READ | PROT_WRITE) != 0) return 3;
    memset(r.get(), 'c', r.size());
    return All(r.get(), r.size(), 'c') ? 0 : 1;
  });
  ASSERT_GT(pid, 0);
  EXPECT_EQ(ExitCode(pid), 0);
  EXPECT_TRUE(All(r.get(), r.size(), 'p'));
}

TEST(ForkCow, ReadOnlyAtForkWritableLater) {
  Region r(8 * kPage, 'p');
  ASSERT_EQ(mprotect(r.get(), r.size(), PROT_READ), 0);
  pid_t pid = Child([&] {
    if (mprotect(r.get(), r.size(), PROT_READ | PROT_WRITE) != 0) return 2;
    r.get()[5 * kPage] = 'c';
    return r.get()[5 * kPage] == 'c' && r.get()[0] == 'p' ? 0 : 1;
  });
  ASSERT_GT(pid, 0);
  EXPECT_EQ(ExitCode(pid), 0);
  EXPECT_TRUE(All(r.get(), r.size(), 'p'));
  ASSERT_EQ(mprotect(r.get(), r.size(), PROT_READ | PROT_WRITE), 0);
  r.get()[5 * kPage] = 'P';
  EXPECT_EQ(r.get()[5 * kPage], 'P');
}

TEST(ForkCow, WriteToReadOnlyPageAfterForkStillFaults) {
  Region r(kPage, 'p');
  ASSERT_EQ(mprotect(r.get(), r.size(), PROT_READ), 0);
  pid_t pid = Child([&] {
    signal(SIGSEGV, SIG_DFL);
    *reinterpret_cast<volatile uint8_t*>(r.get()) = 'c';
    return 0;
  });
  ASSERT_GT(pid, 0);
  int status = 0;
  ASSERT_EQ(waitpid(pid, &status, 0), pid);
  EXPECT_TRUE(WIFSIGNALED(status) && WTERMSIG(status) == SIGSEGV) << status;
  EXPECT_EQ(r.get()[0], 'p');
}

TEST(ForkCow, MadviseDontneedInChildZerosOnlyChild) {
  Region r(8 * kPage, 'p');
  pid_t pid = Child([&] {
    if (madvise(r.get(), 4 * kPage, MADV_DONTNEED) != 0) return 2;
    if (!All(r.get(), 4 * kPage, 0)) return 1;
    return All(r.get() + 4 * kPage, 4 * kPage, 'p') ? 0 : 3;
  });
  ASSERT_GT(pid, 0);
  EXPECT_EQ(ExitCode(pid), 0);
  EXPECT_TRUE(All(r.get(), r.size(), 'p'));
}

TEST(ForkCow, MremapInChildMovesItsCopy) {
  Region r(8 * kPage, 'p');
  pid_t pid = Child([&] {
    void* to = mremap(r.get(), 8 * kPage, 32 * kPage, MREMAP_MAYMOVE);
    if (to == MAP_FAILED) return 2;
    auto* q = static_cast<uint8_t*>(to);
    if (!All(q, 8 * kPage, 'p') || !All(q + 8 * kPage, 24 * kPage, 0)) return 1;
    memset(q, 'c', 32 * kPage);
    return 0;
  });
  ASSERT_GT(pid, 0);
  EXPECT_EQ(ExitCode(pid), 0);
  EXPECT_TRUE(All(r.get(), r.size(), 'p'));
}

TEST(ForkCow, SharedMappingIsShared) {
  void* p = mmap(nullptr, kPage, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
  ASSERT_NE(p, MAP_FAILED);
  auto* b = static_cast<volatile uint8_t*>(p);
  b[0] = 'p';
  pid_t pid = Child([&] {
    b[0] = 'c';
    return 0;
  });
  ASSERT_GT(pid, 0);
  EXPECT_EQ(ExitCode(pid), 0);
  EXPECT_EQ(b[0], 'c');
  munmap(p, kPage);
}

TEST(ForkCow, DontforkMappingIsAbsentInChild) {
  Region r(2 * kPage, 'p');
  ASSERT_EQ(madvise(r.get() + kPage, kPage, MADV_DONTFORK), 0);
  pid_t pid = Child([&] {
    if (r.get()[0] != 'p') return 2;
    // Gone in the child: mprotect of an unmapped page is ENOMEM.
    return mprotect(r.get() + kPage, kPage, PROT_READ) == -1 && errno == ENOMEM ? 0 : 1;
  });
  ASSERT_GT(pid, 0);
  EXPECT_EQ(ExitCode(pid), 0);
  EXPECT_TRUE(All(r.get(), r.size(), 'p'));
}

TEST(ForkCow, WipeonforkMappingIsZeroInChild) {
  Region r(2 * kPage, 'p');
  ASSERT_EQ(madvise(r.get(), r.size(), MADV_WIPEONFORK), 0);
  pid_t pid = Child([&] { return All(r.get(), r.size(), 0) ? 0 : 1; });
  ASSERT_GT(pid, 0);
  EXPECT_EQ(ExitCode(pid), 0);
  EXPECT_TRUE(All(r.get(), r.size(), 'p'));
}

TEST(ForkCow, WipeonforkOnSharedMappingIsEinval) {
  void* p = mmap(nullptr, kPage, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
  ASSERT_NE(p, MAP_FAILED);
  EXPECT_FAILS_WITH(madvise(p, kPage, MADV_WIPEONFORK), EINVAL);
  munmap(p, kPage);
}

TEST(ForkCow, VforkSharesMemory) {
  static volatile int shared_with_vfork = 0;
  shared_with_vfork = 1;
  pid_t pid = vfork();
  if (pid == 0) {
    shared_with_vfork = 2;
    _exit(0);
  }
  ASSERT_GT(pid, 0);
  EXPECT_EQ(ExitCode(pid), 0);
  EXPECT_EQ(shared_with_vfork, 2);
}

TEST(ForkCow, SiblingsEachGetTheirOwnCopy) {
  Region r(64 * kPage, 'p');
  std::vector<pid_t> kids;
  Signal go;
  for (int i = 0; i < 4; ++i) {
    const uint8_t mine = static_cast<uint8_t>('a' + i);
    pid_t pid = Child([&, mine] {
      if (!go.Receive()) return 2;
      memset(r.get(), mine, r.size());
      sched_yield();
      return All(r.get(), r.size(), mine) ? 0 : 1;
    });
    ASSERT_GT(pid, 0);
    kids.push_back(pid);
  }
  for (size_t i = 0; i < kids.size(); ++i) go.Send();
  memset(r.get(), 'P', r.size());
  for (pid_t pid : kids) EXPECT_EQ(ExitCode(pid), 0);
  EXPECT_TRUE(All(r.get(), r.size(), 'P'));
}

TEST(ForkCow, ForkOfAForkIsIsolatedFromBoth) {
  Region r(16 * kPage, 'p');
  pid_t pid = Child([&] {
    r.get()[0] = 'c';
    pid_t grandchild = Child([&] {
      if (r.get()[0] != 'c' || r.get()[kPage] != 'p') return 1;
      memset(r.get(), 'g', r.size());
      return 0;
    });
    if (grandchild < 0 || ExitCode(grandchild) != 0) return 2;
    return r.get()[0] == 'c' && All(r.get() + 1, r.size() - 1, 'p') ? 0 : 3;
  });
  ASSERT_GT(pid, 0);
  EXPECT_EQ(ExitCode(pid), 0);
  EXPECT_TRUE(All(r.get(), r.size(), 'p'));
}

// A thread keeps writing while another forks: the child's copy is what
// memory held at some moment, and never changes afterwards.
std::atomic<bool> stop_writer;
void* Writer(void* arg) {
  auto* counter = static_cast<std::atomic<uint64_t>*>(arg);
  while (!stop_writer.load()) counter->fetch_add(1, std::memory_order_relaxed);
  return nullptr;
}

TEST(ForkCow, ChildSnapshotIsStableWhileParentThreadWrites) {
  Region r(kPage, 0);
  auto* counter = reinterpret_cast<std::atomic<uint64_t>*>(r.get());
  stop_writer.store(false);
  pthread_t t;
  ASSERT_EQ(pthread_create(&t, nullptr, Writer, counter), 0);
  while (counter->load() < 1000) sched_yield();
  for (int i = 0; i < 5; ++i) {
    pid_t pid = Child([&] {
      const uint64_t first = counter->load();
      struct timespec ts = {0, 20 * 1000 * 1000};
      nanosleep(&ts, nullptr);
      return counter->load() == first ? 0 : 1;
    });
    ASSERT_GT(pid, 0);
    EXPECT_EQ(ExitCode(pid), 0);
  }
  stop_writer.store(true);
  pthread_join(t, nullptr);
}

TEST(ForkCow, LargeHeapForkedTwentyTimes) {
  constexpr size_t kLen = 256 << 20;
  Region r(kLen);
  for (size_t i = 0; i < kLen; i += kPage) r.get()[i] = static_cast<uint8_t>(i / kPage);
  for (int round = 0; round < 20; ++round) {
    pid_t pid = Child([&, round] {
      // Check a spread of pages, then write some of them.
      for (size_t i = 0; i < kLen; i += kPage) {
        const uint8_t want = static_cast<uint8_t>(i / kPage + (i % (97 * kPage) == 0 ? round : 0));
        if (r.get()[i] != want) return 1;
      }
      for (size_t i = 0; i < kLen; i += 1009 * kPage) r.get()[i] = 0xee;
      return 0;
    });
    ASSERT_GT(pid, 0);
    EXPECT_EQ(ExitCode(pid), 0) << "round " << round;
    // The parent writes a spread of pages after the child is gone: the
    // last holder of a page writes in place. (Not every page: natively
    // each first write after a fork is a fault, ~30 us in a nested VM.)
    for (size_t i = 0; i < kLen; i += 97 * kPage) r.get()[i] += 1;
  }
  for (size_t i = 0; i < kLen; i += 97 * kPage) {
    ASSERT_EQ(r.get()[i], static_cast<uint8_t>(i / kPage + 20)) << i;
  }
}

TEST(ForkCow, LargeHeapChildWritesAllWhileParentHolds) {
  constexpr size_t kLen = 32 << 20;
  Region r(kLen, 'p');
  pid_t pid = Child([&] {
    memset(r.get(), 'c', kLen);
    return All(r.get(), kLen, 'c') ? 0 : 1;
  });
  ASSERT_GT(pid, 0);
  EXPECT_EQ(ExitCode(pid), 0);
  EXPECT_TRUE(All(r.get(), kLen, 'p'));
}

// A private page at a low address whose memory is shared copy-on-write
// with a child: the child's write copies it (a regression: the copy's range
// was computed past the address's start and the write faulted forever).
TEST(ForkCow, LowAddressPageCopiesOnWrite) {
  void* want = reinterpret_cast<void*>(0x10000);
  void* p = mmap(want, 4096, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED_NOREPLACE,
                 -1, 0);
  if (p == MAP_FAILED) GTEST_SKIP() << "0x10000 is not free: " << strerror(errno);
  auto* page = static_cast<volatile uint8_t*>(p);
  page[0] = 'p';
  pid_t pid = Child([&] {
    alarm(10);  // a write that never completes ends the child
    page[0] = 'c';
    return page[0] == 'c' ? 0 : 1;
  });
  EXPECT_EQ(ExitCode(pid), 0);
  EXPECT_EQ(page[0], 'p');
  munmap(p, 4096);
}

}  // namespace
