// Robust futexes (set_robust_list(2), get_robust_list(2), the kernel's
// Documentation/locking/robust-futex-ABI.rst): when a thread exits, is
// killed or execs, every futex on its robust list that it still owns gets
// FUTEX_OWNER_DIED and one waiter woken; glibc's robust mutexes turn that
// into EOWNERDEAD.

#include <errno.h>
#include <linux/futex.h>
#include <pthread.h>
#include <signal.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <new>

#include <gtest/gtest.h>

#include "test_util.h"

namespace {

using husk_test::BadPtr;
using husk_test::NowMs;
using husk_test::SleepMs;

long SetRobustList(void* head, size_t len) { return syscall(SYS_set_robust_list, head, len); }
long GetRobustList(int pid, void* head, void* len) { return syscall(SYS_get_robust_list, pid, head, len); }
long Futex(void* addr, int op, uint32_t val, const timespec* ts) {
  return syscall(SYS_futex, addr, op, val, ts, nullptr, 0);
}
int Gettid() { return static_cast<int>(syscall(SYS_gettid)); }

// A robust mutex, optionally process-shared, in `mem` (or new storage).
pthread_mutex_t* NewRobustMutex(void* mem, bool shared) {
  pthread_mutexattr_t attr;
  pthread_mutexattr_init(&attr);
  pthread_mutexattr_setrobust(&attr, PTHREAD_MUTEX_ROBUST);
  if (shared) pthread_mutexattr_setpshared(&attr, PTHREAD_PROCESS_SHARED);
  auto* m = static_cast<pthread_mutex_t*>(mem);
  EXPECT_EQ(pthread_mutex_init(m, &attr), 0);
  pthread_mutexattr_destroy(&attr);
  return m;
}

void* SharedPage() {
  void* p = mmap(nullptr, 4096, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
  EXPECT_NE(p, MAP_FAILED);
  return p;
}

// ---------------------------------------------------------- robust mutexes

TEST(RobustMutex, OwnerThreadExitGivesEownerdead) {
  pthread_mutex_t storage;
  pthread_mutex_t* m = NewRobustMutex(&storage, false);
  pthread_t th;
  ASSERT_EQ(pthread_create(&th, nullptr, [](void* arg) -> void* {
    pthread_mutex_lock(static_cast<pthread_mutex_t*>(arg));
    return nullptr;  // exits holding it
  }, m), 0);
  ASSERT_EQ(pthread_join(th, nullptr), 0);
  ASSERT_EQ(pthread_mutex_lock(m), EOWNERDEAD);
  EXPECT_EQ(pthread_mutex_consistent(m), 0);
  EXPECT_EQ(pthread_mutex_unlock(m), 0);
  EXPECT_EQ(pthread_mutex_lock(m), 0);
  EXPECT_EQ(pthread_mutex_unlock(m), 0);
  pthread_mutex_destroy(m);
}

TEST(RobustMutex, UnlockWithoutConsistentMakesItUnrecoverable) {
  pthread_mutex_t storage;
  pthread_mutex_t* m = NewRobustMutex(&storage, false);
  pthread_t th;
  ASSERT_EQ(pthread_create(&th, nullptr, [](void* arg) -> void* {
    pthread_mutex_lock(static_cast<pthread_mutex_t*>(arg));
    return nullptr;
  }, m), 0);
  ASSERT_EQ(pthread_join(th, nullptr), 0);
  ASSERT_EQ(pthread_mutex_lock(m), EOWNERDEAD);
  EXPECT_EQ(pthread_mutex_unlock(m), 0);
  EXPECT_EQ(pthread_mutex_lock(m), ENOTRECOVERABLE);
}

struct HoldArgs {
  pthread_mutex_t* m;
  std::atomic<bool> locked{false};
  long hold_ms;
};

TEST(RobustMutex, WaiterWokenWhenOwnerThreadExits) {
  pthread_mutex_t storage;
  HoldArgs args;
  args.m = NewRobustMutex(&storage, false);
  args.hold_ms = 200;
  pthread_t th;
  ASSERT_EQ(pthread_create(&th, nullptr, [](void* p) -> void* {
    auto* a = static_cast<HoldArgs*>(p);
    pthread_mutex_lock(a->m);
    a->locked = true;
    SleepMs(a->hold_ms);
    return nullptr;
  }, &args), 0);
  while (!args.locked) SleepMs(1);
  const long start = NowMs();
  EXPECT_EQ(pthread_mutex_lock(args.m), EOWNERDEAD);  // blocks until the owner exits
  EXPECT_GE(NowMs() - start, 100);
  EXPECT_EQ(pthread_mutex_consistent(args.m), 0);
  EXPECT_EQ(pthread_mutex_unlock(args.m), 0);
  ASSERT_EQ(pthread_join(th, nullptr), 0);
}

// A process-shared robust mutex in shared memory that a child locks; how
// the child ends is `end` (run in the child while it holds the lock).
template <typename End>
void ChildDiesHoldingSharedMutex(End end, bool parent_waits, int expect_status) {
  void* page = SharedPage();
  pthread_mutex_t* m = NewRobustMutex(page, true);
  int ready[2];
  ASSERT_EQ(pipe(ready), 0);
  pid_t child = fork();
  ASSERT_GE(child, 0);
  if (child == 0) {
    close(ready[0]);
    if (pthread_mutex_lock(m) != 0) _exit(10);
    if (write(ready[1], "x", 1) != 1) _exit(11);
    end();
    _exit(12);
  }
  close(ready[1]);
  char c;
  ASSERT_EQ(read(ready[0], &c, 1), 1);
  close(ready[0]);
  int status = 0;
  if (!parent_waits) {
    ASSERT_EQ(waitpid(child, &status, 0), child);
  }
  // With parent_waits the child still holds it: this blocks until it dies.
  EXPECT_EQ(pthread_mutex_lock(m), EOWNERDEAD);
  EXPECT_EQ(pthread_mutex_consistent(m), 0);
  EXPECT_EQ(pthread_mutex_unlock(m), 0);
  EXPECT_EQ(pthread_mutex_lock(m), 0);
  EXPECT_EQ(pthread_mutex_unlock(m), 0);
  if (parent_waits) {
    ASSERT_EQ(waitpid(child, &status, 0), child);
  }
  EXPECT_EQ(status, expect_status);
  munmap(page, 4096);
}

TEST(RobustMutexShared, ChildExitedHoldingItGivesEownerdead) {
  ChildDiesHoldingSharedMutex([] { _exit(0); }, /*parent_waits=*/false, 0);
}

TEST(RobustMutexShared, ChildExitWakesWaitingParent) {
  ChildDiesHoldingSharedMutex([] {
    SleepMs(200);
    _exit(3);
  }, /*parent_waits=*/true, 3 << 8);
}

TEST(RobustMutexShared, ChildKilledWakesWaitingParent) {
  ChildDiesHoldingSharedMutex([] {
    SleepMs(200);
    raise(SIGKILL);
  }, /*parent_waits=*/true, SIGKILL);
}

TEST(RobustMutexShared, ChildThreadExitWakesWaitingParent) {
  // The owner is a second thread of the child; the child lives on.
  ChildDiesHoldingSharedMutex([] {
    SleepMs(200);
    // The main thread of the child holds it; a new thread ends the child
    // after the holder has exited alone (exit(2), not exit_group).
    pthread_t th;
    pthread_create(&th, nullptr, [](void*) -> void* {
      SleepMs(300);
      _exit(4);
    }, nullptr);
    syscall(SYS_exit, 0);
  }, /*parent_waits=*/true, 4 << 8);
}

// ---------------------------------------------------------- hand-built lists

// A lock as the robust-futex ABI sees it: a list link and, at a fixed
// offset from it, the futex word.
struct Lock {
  robust_list link;
  uint32_t word;
};
constexpr long kWordOffset = offsetof(Lock, word) - offsetof(Lock, link);

struct HandList {
  robust_list_head head;
  Lock a, b, c, pending;
  std::atomic<int> tid{0};
  std::atomic<bool> go{false};
  long set_result = -1;
};

TEST(RobustList, ExitMarksOwnedWordsAndWakesWaiter) {
  HandList l;
  pthread_t owner;
  ASSERT_EQ(pthread_create(&owner, nullptr, [](void* p) -> void* {
    auto* l = static_cast<HandList*>(p);
    const uint32_t tid = static_cast<uint32_t>(Gettid());
    // a -> b -> c -> head; `pending` only in list_op_pending.
    l->head.list.next = &l->a.link;
    l->a.link.next = &l->b.link;
    l->b.link.next = &l->c.link;
    l->c.link.next = &l->head.list;
    l->head.futex_offset = kWordOffset;
    l->head.list_op_pending = &l->pending.link;
    l->a.word = tid | FUTEX_WAITERS;  // ours, with a waiter
    l->b.word = 12345;                // someone else's
    l->c.word = tid;                  // ours, no waiter
    l->pending.word = tid;            // a lock in progress, ours
    l->set_result = SetRobustList(&l->head, sizeof(l->head));
    l->tid = static_cast<int>(tid);
    while (!l->go) SleepMs(1);
    return nullptr;
  }, &l), 0);
  while (l.tid == 0) SleepMs(1);
  ASSERT_EQ(l.set_result, 0);
  // A waiter on a, which only the owner's death wakes.
  struct Waiter {
    uint32_t* word;
    uint32_t val;
    long ret = -2;
    int err = 0;
  } w{&l.a.word, l.a.word};
  pthread_t waiter;
  ASSERT_EQ(pthread_create(&waiter, nullptr, [](void* p) -> void* {
    auto* w = static_cast<Waiter*>(p);
    timespec ts{10, 0};
    w->ret = Futex(w->word, FUTEX_WAIT, w->val, &ts);
    w->err = errno;
    return nullptr;
  }, &w), 0);
  SleepMs(200);  // the waiter is asleep by now
  l.go = true;
  ASSERT_EQ(pthread_join(owner, nullptr), 0);
  ASSERT_EQ(pthread_join(waiter, nullptr), 0);
  EXPECT_EQ(l.a.word, FUTEX_OWNER_DIED | FUTEX_WAITERS);
  EXPECT_EQ(l.b.word, 12345u);
  EXPECT_EQ(l.c.word, static_cast<uint32_t>(FUTEX_OWNER_DIED));
  EXPECT_EQ(l.pending.word, static_cast<uint32_t>(FUTEX_OWNER_DIED));
  // Woken (or, had it been slow to sleep, it saw the new value).
  EXPECT_TRUE(w.ret == 0 || w.err == EAGAIN) << w.ret << " " << strerror(w.err);
  EXPECT_NE(w.err, ETIMEDOUT);
}

// Runs `setup` (which registers a robust list) on a thread that then exits.
template <typename F>
void OnExitingThread(F setup) {
  struct Box {
    F* fn;
  } box{&setup};
  pthread_t th;
  ASSERT_EQ(pthread_create(&th, nullptr, [](void* p) -> void* {
    (*static_cast<Box*>(p)->fn)();
    return nullptr;
  }, &box), 0);
  ASSERT_EQ(pthread_join(th, nullptr), 0);
}

TEST(RobustList, CircularListIsWalkedBoundedly) {
  robust_list_head head;
  Lock a, b;
  OnExitingThread([&] {
    const uint32_t tid = static_cast<uint32_t>(Gettid());
    head.list.next = &a.link;
    a.link.next = &b.link;
    b.link.next = &a.link;  // never back to the head
    head.futex_offset = kWordOffset;
    head.list_op_pending = nullptr;
    a.word = 1;  // not ours
    b.word = tid;
    EXPECT_EQ(SetRobustList(&head, sizeof(head)), 0);
  });
  EXPECT_EQ(a.word, 1u);
  EXPECT_EQ(b.word, static_cast<uint32_t>(FUTEX_OWNER_DIED));
}

TEST(RobustList, FaultEndsTheWalk) {
  robust_list_head head;
  Lock a, b;
  uint32_t tid = 0;
  OnExitingThread([&] {
    tid = static_cast<uint32_t>(Gettid());
    head.list.next = &a.link;
    a.link.next = static_cast<robust_list*>(BadPtr());
    b.link.next = &head.list;
    head.futex_offset = kWordOffset;
    head.list_op_pending = &b.link;  // not reached: the walk ends at the fault
    a.word = tid;
    b.word = tid;
    EXPECT_EQ(SetRobustList(&head, sizeof(head)), 0);
  });
  EXPECT_EQ(a.word, static_cast<uint32_t>(FUTEX_OWNER_DIED));
  EXPECT_EQ(b.word, tid);
}

TEST(RobustList, BadHeadIsHarmless) {
  OnExitingThread([] { EXPECT_EQ(SetRobustList(BadPtr(), sizeof(robust_list_head)), 0); });
}

TEST(RobustList, ExecveReleasesTheOldImagesFutexes) {
  // The child's word and list live in shared memory, so the parent sees
  // what the child's execve did to the word while the new image still runs.
  auto* shared = static_cast<HandList*>(SharedPage());
  new (shared) HandList();
  pid_t child = fork();
  ASSERT_GE(child, 0);
  if (child == 0) {
    const uint32_t tid = static_cast<uint32_t>(Gettid());
    shared->head.list.next = &shared->a.link;
    shared->a.link.next = &shared->head.list;
    shared->head.futex_offset = kWordOffset;
    shared->head.list_op_pending = nullptr;
    shared->a.word = tid;
    if (SetRobustList(&shared->head, sizeof(shared->head)) != 0) _exit(20);
    execl("/bin/sleep", "sleep", "2", static_cast<char*>(nullptr));
    _exit(21);
  }
  const long deadline = NowMs() + 1500;
  while (shared->a.word != FUTEX_OWNER_DIED && NowMs() < deadline) SleepMs(5);
  EXPECT_EQ(shared->a.word, static_cast<uint32_t>(FUTEX_OWNER_DIED));
  int status = 0;
  EXPECT_EQ(waitpid(child, &status, WNOHANG), 0) << "the new image should still run";
  kill(child, SIGKILL);
  ASSERT_EQ(waitpid(child, &status, 0), child);
  munmap(shared, 4096);
}

// ---------------------------------------------------------- set/get_robust_list

TEST(SetRobustList, WrongLenIsEinval) {
  robust_list_head head;
  EXPECT_FAILS_WITH(SetRobustList(&head, 0), EINVAL);
  EXPECT_FAILS_WITH(SetRobustList(&head, sizeof(head) - 1), EINVAL);
  EXPECT_FAILS_WITH(SetRobustList(&head, sizeof(head) + 1), EINVAL);
}

TEST(GetRobustList, OwnHeadAndLen) {
  OnExitingThread([] {
    void* head = nullptr;
    size_t len = 0;
    // glibc registers every thread's list.
    ASSERT_EQ(GetRobustList(0, &head, &len), 0);
    EXPECT_NE(head, nullptr);
    EXPECT_EQ(len, sizeof(robust_list_head));
    robust_list_head mine{};
    mine.list.next = &mine.list;
    ASSERT_EQ(SetRobustList(&mine, sizeof(mine)), 0);
    ASSERT_EQ(GetRobustList(0, &head, &len), 0);
    EXPECT_EQ(head, &mine);
    ASSERT_EQ(GetRobustList(Gettid(), &head, &len), 0);
    EXPECT_EQ(head, &mine);
  });
}

TEST(GetRobustList, AnotherThreadsAndChildsHead) {
  struct Shared {
    std::atomic<int> tid{0};
    void* head = nullptr;
    std::atomic<bool> done{false};
  } s;
  pthread_t th;
  ASSERT_EQ(pthread_create(&th, nullptr, [](void* p) -> void* {
    auto* s = static_cast<Shared*>(p);
    size_t len;
    GetRobustList(0, &s->head, &len);
    s->tid = Gettid();
    while (!s->done) SleepMs(1);
    return nullptr;
  }, &s), 0);
  while (s.tid == 0) SleepMs(1);
  void* head = nullptr;
  size_t len = 0;
  ASSERT_EQ(GetRobustList(s.tid, &head, &len), 0);
  EXPECT_EQ(head, s.head);
  EXPECT_EQ(len, sizeof(robust_list_head));
  s.done = true;
  ASSERT_EQ(pthread_join(th, nullptr), 0);

  // A child with the same credentials: its head (glibc's, as ours after fork).
  int fds[2];
  ASSERT_EQ(pipe(fds), 0);
  pid_t child = fork();
  ASSERT_GE(child, 0);
  if (child == 0) {
    void* h = nullptr;
    size_t l;
    GetRobustList(0, &h, &l);
    if (write(fds[1], &h, sizeof h) != sizeof h) _exit(1);
    pause();
    _exit(0);
  }
  void* child_head = nullptr;
  ASSERT_EQ(read(fds[0], &child_head, sizeof child_head), static_cast<ssize_t>(sizeof child_head));
  head = nullptr;
  EXPECT_EQ(GetRobustList(child, &head, &len), 0);
  EXPECT_EQ(head, child_head);
  kill(child, SIGKILL);
  int status;
  ASSERT_EQ(waitpid(child, &status, 0), child);
  close(fds[0]);
  close(fds[1]);
}

TEST(GetRobustList, NoSuchProcessIsEsrch) {
  void* head;
  size_t len;
  EXPECT_FAILS_WITH(GetRobustList(-1, &head, &len), ESRCH);
  pid_t child = fork();
  ASSERT_GE(child, 0);
  if (child == 0) _exit(0);
  int status;
  ASSERT_EQ(waitpid(child, &status, 0), child);
  EXPECT_FAILS_WITH(GetRobustList(child, &head, &len), ESRCH);
}

TEST(GetRobustList, BadPointersAreEfault) {
  void* head;
  size_t len = 0;
  EXPECT_FAILS_WITH(GetRobustList(0, &head, BadPtr()), EFAULT);
  // The length is written before the head.
  EXPECT_FAILS_WITH(GetRobustList(0, BadPtr(), &len), EFAULT);
  EXPECT_EQ(len, sizeof(robust_list_head));
}

}  // namespace
