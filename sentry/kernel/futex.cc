#include "sentry/kernel/futex.h"

#include <linux/futex.h>

#include "sentry/kernel/task.h"

namespace husk::kernel {

Futexes::Key Futexes::KeyOf(Task& t, uint64_t addr, bool shared) {
  // A shared futex in a shared mapping is its page's: every process that
  // maps it meets there. Anything else is this address space's.
  if (shared) {
    if (auto offset = t.mm().SharedOffset(addr)) return Key{nullptr, *offset};
  }
  return Key{t.shared_mm().get(), addr};
}

Result<void> Futexes::Wait(Task& t, uint64_t addr, bool shared, uint32_t val, uint32_t bitset,
                           std::optional<timespec> deadline) {
  Waiter w;
  w.task = &t;
  w.bitset = bitset;
  w.key = KeyOf(t, addr, shared);
  {
    // The value is checked under the lock that wakers take, so a wake that
    // follows the application's store cannot be missed.
    absl::MutexLock lock(&mu_);
    uint32_t cur = TRY(t.mm().CopyIn(mm::UserPtr<uint32_t>{addr}));
    if (cur != val) return Errno(EAGAIN);
    queues_[w.key].push_back(&w);
  }
  auto r = t.Block({}, [&] { return w.woken.load(); }, deadline);
  absl::MutexLock lock(&mu_);
  if (w.woken.load()) return Ok();  // woken, even if a signal came too
  auto it = queues_.find(w.key);
  if (it != queues_.end()) {
    it->second.remove(&w);
    if (it->second.empty()) queues_.erase(it);
  }
  return r;
}

int Futexes::WakeLocked(const Key& k, int n, uint32_t bitset) {
  auto it = queues_.find(k);
  if (it == queues_.end()) return 0;
  int woken = 0;
  for (auto w = it->second.begin(); w != it->second.end() && woken < n;) {
    if (((*w)->bitset & bitset) == 0) {
      ++w;
      continue;
    }
    Waiter* waiter = *w;
    w = it->second.erase(w);
    waiter->woken.store(true);
    waiter->task->Wake();
    ++woken;
  }
  if (it->second.empty()) queues_.erase(it);
  return woken;
}

int Futexes::Wake(Task& t, uint64_t addr, bool shared, int n, uint32_t bitset) {
  absl::MutexLock lock(&mu_);
  return WakeLocked(KeyOf(t, addr, shared), n, bitset);
}

Result<int> Futexes::Requeue(Task& t, uint64_t addr, uint64_t addr2, bool shared, int n, int n2,
                             std::optional<uint32_t> check) {
  absl::MutexLock lock(&mu_);
  if (check) {
    uint32_t cur = TRY(t.mm().CopyIn(mm::UserPtr<uint32_t>{addr}));
    if (cur != *check) return Errno(EAGAIN);
  }
  const Key from = KeyOf(t, addr, shared), to = KeyOf(t, addr2, shared);
  int done = WakeLocked(from, n, FUTEX_BITSET_MATCH_ANY);
  auto it = queues_.find(from);
  if (it == queues_.end() || from == to) return done;
  int moved = 0;
  while (!it->second.empty() && moved < n2) {
    Waiter* w = it->second.front();
    it->second.pop_front();
    w->key = to;
    queues_[to].push_back(w);
    ++moved;
  }
  if (it->second.empty()) queues_.erase(it);
  return done + moved;
}

Result<int> Futexes::WakeOp(Task& t, uint64_t addr, uint64_t addr2, bool shared, int n, int n2,
                            uint32_t encoded) {
  const int op = (encoded >> 28) & 0xf;
  const int cmp = (encoded >> 24) & 0xf;
  int oparg = static_cast<int>((encoded >> 12) & 0xfff);
  int cmparg = static_cast<int>(encoded & 0xfff);
  if (oparg & 0x800) oparg |= ~0xfff;  // sign-extend the 12-bit fields
  if (cmparg & 0x800) cmparg |= ~0xfff;
  if (op & FUTEX_OP_OPARG_SHIFT) {
    if (oparg < 0 || oparg > 31) return Errno(EINVAL);
    oparg = 1 << oparg;
  }
  absl::MutexLock lock(&mu_);
  // The read-modify-write of the second word: other threads of the address
  // space run concurrently, so it is an atomic on the memory-file page.
  uint32_t* word = TRY(t.mm().AtomicWord(addr2));
  auto* a = reinterpret_cast<std::atomic<uint32_t>*>(word);
  uint32_t old = a->load();
  uint32_t next;
  do {
    switch (op & 7) {
      case FUTEX_OP_SET: next = static_cast<uint32_t>(oparg); break;
      case FUTEX_OP_ADD: next = old + static_cast<uint32_t>(oparg); break;
      case FUTEX_OP_OR: next = old | static_cast<uint32_t>(oparg); break;
      case FUTEX_OP_ANDN: next = old & ~static_cast<uint32_t>(oparg); break;
      case FUTEX_OP_XOR: next = old ^ static_cast<uint32_t>(oparg); break;
      default: return Errno(ENOSYS);
    }
  } while (!a->compare_exchange_weak(old, next));
  bool hit;
  const int o = static_cast<int>(old);
  switch (cmp) {
    case FUTEX_OP_CMP_EQ: hit = o == cmparg; break;
    case FUTEX_OP_CMP_NE: hit = o != cmparg; break;
    case FUTEX_OP_CMP_LT: hit = o < cmparg; break;
    case FUTEX_OP_CMP_LE: hit = o <= cmparg; break;
    case FUTEX_OP_CMP_GT: hit = o > cmparg; break;
    case FUTEX_OP_CMP_GE: hit = o >= cmparg; break;
    default: return Errno(ENOSYS);
  }
  int woken = WakeLocked(KeyOf(t, addr, shared), n, FUTEX_BITSET_MATCH_ANY);
  if (hit) woken += WakeLocked(KeyOf(t, addr2, shared), n2, FUTEX_BITSET_MATCH_ANY);
  return woken;
}

bool Futexes::HandleFutexDeath(Task& t, uint64_t addr, bool pi, bool pending) {
  if (addr & 3) return false;
  auto word = t.mm().AtomicWord(addr);
  std::optional<uint32_t> readable;
  if (!word) {
    // Not writable: a word this thread does not own is left alone and the
    // walk goes on; an unreadable one ends it.
    auto v = t.mm().CopyIn(mm::UserPtr<uint32_t>{addr});
    if (!v) return false;
    readable = *v;
  }
  const uint32_t tid = static_cast<uint32_t>(t.tid());
  auto* a = word ? reinterpret_cast<std::atomic<uint32_t>*>(*word) : nullptr;
  uint32_t old = a ? a->load() : *readable;
  for (;;) {
    const uint32_t owner = old & FUTEX_TID_MASK;
    // A lock or unlock this thread had begun (list_op_pending): an unlocked
    // word may have a waiter the unlock had yet to wake. The word is left
    // as it is; the woken waiter takes the free lock.
    if (pending && !pi && owner == 0) {
      Wake(t, addr, /*shared=*/true, 1, FUTEX_BITSET_MATCH_ANY);
      return true;
    }
    if (owner != tid) return true;
    if (a == nullptr) return false;  // ours but read-only: it stays locked
    const uint32_t next = (old & FUTEX_WAITERS) | FUTEX_OWNER_DIED;
    if (a->compare_exchange_weak(old, next)) break;
  }
  // Linux wakes robust futexes as shared ones (glibc waits on them so);
  // a PI futex's waiters would be woken by its PI state, which we lack.
  if (!pi && (old & FUTEX_WAITERS)) Wake(t, addr, /*shared=*/true, 1, FUTEX_BITSET_MATCH_ANY);
  return true;
}

void Futexes::ExitRobustList(Task& t) {
  const uint64_t head = t.robust_list();
  if (head == 0) return;
  t.set_robust_list(0, 0);
  // struct robust_list_head { struct robust_list list; long futex_offset;
  // struct robust_list* list_op_pending; }: pointers whose bit 0 marks a
  // PI futex.
  struct Entry {
    uint64_t addr;
    bool pi;
  };
  auto fetch = [&](uint64_t at) -> std::optional<Entry> {
    auto v = t.mm().CopyIn(mm::UserPtr<uint64_t>{at});
    if (!v) return std::nullopt;
    return Entry{*v & ~1ULL, (*v & 1) != 0};
  };
  std::optional<Entry> entry = fetch(head);
  auto offset = t.mm().CopyIn(mm::UserPtr<int64_t>{head + 8});
  std::optional<Entry> pending = fetch(head + 16);
  if (!entry || !offset || !pending) return;
  for (int limit = kRobustListLimit; entry->addr != head;) {
    // The next pointer is read first: the futex word may share its memory.
    std::optional<Entry> next = fetch(entry->addr);
    // A pending lock may be on the list already: it is handled once, last.
    if (entry->addr != pending->addr &&
        !HandleFutexDeath(t, entry->addr + static_cast<uint64_t>(*offset), entry->pi, false)) {
      return;
    }
    if (!next) return;
    entry = next;
    if (--limit == 0) break;
  }
  if (pending->addr != 0) {
    (void)HandleFutexDeath(t, pending->addr + static_cast<uint64_t>(*offset), pending->pi, true);
  }
}

}  // namespace husk::kernel
