#include "sentry/mm/memory_manager.h"

#include <fmt/format.h>

#include <algorithm>
#include <cstring>

#include "base/align.h"
#include "base/log.h"
#include <sys/sysmacros.h>
#include <unistd.h>

namespace husk::mm {
namespace {

// File pages read per fault: fewer round trips to the stub.
constexpr uint64_t kPopulateChunk = 128 * kPageSize;
// Host-file pages copied per first access by the sentry.
constexpr uint64_t kMaterializeChunk = 16 * kPageSize;
// Lowest address mmap hands out (vm.mmap_min_addr).
constexpr uint64_t kMinAddr = 0x10000;
// Pages copied per write fault on a page fork left shared: one fault (a
// round trip to the sentry and a stub mmap) costs far more than copying a
// few pages, which a program writing its memory after fork would touch
// next anyway. Linux copies one page per fault; its faults are cheap.
constexpr uint64_t kCowChunk = 16 * kPageSize;
// Pages made writable per write fault on pages nobody else holds any more
// (no copy, only an mprotect of the stub). Not the whole run: mprotect
// costs ~0.1 ms per MiB here, so a program writing one page of a 1 GiB
// heap after each fork would pay 100 ms a time.
constexpr uint64_t kUnprotectChunk = 512 * kPageSize;
// A forked child's stub maps pages shared with its parent in at most this
// many populated runs, joining runs no further apart than kPopulateGap.
constexpr size_t kPopulateRuns = 16;
constexpr uint64_t kPopulateGap = 16 * kPageSize;

constexpr int kProtSem = 0x8;  // PROT_SEM (asm-generic/mman-common.h)

bool AllowsRead(int prot) { return (prot & (PROT_READ | PROT_WRITE | PROT_EXEC)) != 0; }

// What the stub may do with a PMA's pages in a VMA of protection `prot`:
// pages fork may have left shared are never writable there.
int StubProt(int prot, const Pma& p) { return p.cow ? prot & ~PROT_WRITE : prot; }

// The fault a task thread was last told to retry although its page needed
// nothing (see HandleFault): the same fault again is a real one.
struct Retried {
  const void* mm = nullptr;
  uint64_t page = 0;
};
thread_local Retried last_retried;

bool Allows(int prot, Access a) {
  switch (a) {
    case Access::kRead: return AllowsRead(prot);
    case Access::kWrite: return (prot & PROT_WRITE) != 0;
    case Access::kExec: return (prot & PROT_EXEC) != 0;
  }
  return false;
}

}  // namespace

MemoryManager::MemoryManager(MemoryFile& mf, std::shared_ptr<platform::AddressSpace> as,
                             std::span<const platform::ReservedRange> reserved, uint64_t mmap_base)
    : mf_(mf), as_(std::move(as)), reserved_(reserved.begin(), reserved.end()),
      mmap_base_(mmap_base) {}

MemoryManager::~MemoryManager() {
  // The stub goes first: freeing pages it still maps would make the host
  // zap its page tables page by page.
  as_.reset();
  absl::MutexLock lock(&mu_);
  for (auto& [start, p] : pmas_) {
    if (p.owned) mf_.Free(p.offset, p.end - start);
  }
}

Result<std::unique_ptr<MemoryManager>> MemoryManager::Fork(
    std::shared_ptr<platform::AddressSpace> child_as) {
  auto child = std::make_unique<MemoryManager>(mf_, std::move(child_as), reserved_, mmap_base_);
  absl::MutexLock lock(&mu_);
  absl::MutexLock child_lock(&child->mu_);
  for (const auto& [start, v] : vmas_) {
    if (v.dontfork) continue;
    auto it = child->vmas_.emplace_hint(child->vmas_.end(), start, v);
    it->second.locked = false;  // memory locks are not inherited
  }
  child->brk_start_ = brk_start_;
  child->brk_ = brk_;
  child->args_ = args_;
  child->stub_mapped_ = false;
  // Pieces of this stub to write-protect, joined where they touch.
  struct Piece {
    uint64_t start, end;
    int prot;
  };
  std::vector<Piece> protect;
  auto v = vmas_.begin();
  for (auto& [start, p] : pmas_) {
    while (v != vmas_.end() && v->second.end <= start) ++v;
    // The child has no pages where it has no VMA, or a fresh one.
    if (v != vmas_.end() && v->first <= start && (v->second.dontfork || v->second.wipeonfork)) {
      continue;
    }
    if (p.owned) mf_.IncRef(p.offset, p.end - start);
    // A PMA lies inside VMAs of one kind (private or shared): both are
    // made by Populate or mmap inside one VMA, and only VMAs of the same
    // kind merge. Shared ones (a snapshot of a gofer file) are shared as
    // they are; shm and host pages are held by their file, not by us.
    const bool private_pages = p.owned && v != vmas_.end() && !v->second.shared;
    if (private_pages && !p.cow) {
      p.cow = true;
      for (auto w = v; w != vmas_.end() && w->first < p.end; ++w) {
        if (!(w->second.prot & PROT_WRITE)) continue;
        const uint64_t a = std::max(start, w->first), b = std::min(p.end, w->second.end);
        const int prot = w->second.prot & ~PROT_WRITE;
        if (!protect.empty() && protect.back().end == a && protect.back().prot == prot) {
          protect.back().end = b;
        } else {
          protect.push_back(Piece{a, b, prot});
        }
      }
    }
    child->pmas_.emplace_hint(child->pmas_.end(), start, p);
  }
  // From here on a write by one of this process's threads faults and
  // waits for mu_. One that raced with this fork may have reached the
  // shared pages first: it happened before the fork, as far as anyone can
  // tell. PARTIAL(pinned buffers): views handed out before the fork
  // (OutBuffer of a read(2) still blocked in another thread, AtomicWord)
  // keep pointing at the pages now shared, and a write through them after
  // the fork reaches the child too; Linux copies pinned pages at fork.
  for (const Piece& piece : protect) TRY(StubProtect(piece.start, piece.end - piece.start, piece.prot));
  return child;
}

Result<uint32_t*> MemoryManager::AtomicWord(uint64_t addr) {
  if (addr & 3) return Errno(EINVAL);
  vfs::IoVecs v = TRY(Views(addr, 4, Access::kWrite));
  if (v.empty() || v[0].iov_len < 4) return Errno(EFAULT);
  return static_cast<uint32_t*>(v[0].iov_base);
}

Result<void> MemoryManager::MapAll() {
  absl::MutexLock lock(&mu_);
  stub_mapped_ = true;
  for (const auto& [start, p] : pmas_) {
    if (!p.cow) {
      TRY(MapPma(start, p.end, start, p, /*populate=*/true));
      continue;
    }
    // Pages fork shared: the page tables are filled only where the pages
    // hold data. Filling them over a hole would allocate its pages (a read
    // fault on a hole of the memory file does), and an untouched 8 MiB
    // stack or a sparse heap would cost their full size. Holes close
    // together are filled anyway: a stub mmap costs more than a few pages.
    uint64_t at = start;
    for (const auto& [data, hole] : PopulateRuns(p.offset, p.end - start)) {
      const uint64_t from = start + (data - p.offset), to = start + (hole - p.offset);
      if (from > at) TRY(MapPma(at, from, start, p, /*populate=*/false));
      TRY(MapPma(from, to, start, p, /*populate=*/true));
      at = to;
    }
    if (at < p.end) TRY(MapPma(at, p.end, start, p, /*populate=*/false));
  }
  return Ok();
}

std::vector<std::pair<uint64_t, uint64_t>> MemoryManager::PopulateRuns(uint64_t offset,
                                                                       uint64_t len) {
  std::vector<std::pair<uint64_t, uint64_t>> runs;
  for (const auto& run : mf_.DataRuns(offset, len)) {
    if (!runs.empty() && run.first - runs.back().second <= kPopulateGap) {
      runs.back().second = run.second;
    } else if (runs.size() == kPopulateRuns) {
      break;  // the rest fault in page by page
    } else {
      runs.push_back(run);
    }
  }
  return runs;
}

Result<void> MemoryManager::StubMap(uint64_t addr, uint64_t len, int prot, uint64_t offset,
                                    bool populate) {
  if (!stub_mapped_) return Ok();
  return as_->Map(addr, len, prot, offset, populate);
}

Result<void> MemoryManager::StubMapFile(uint64_t addr, uint64_t len, int prot, int fd,
                                        uint64_t offset) {
  if (!stub_mapped_) return Ok();
  return as_->MapFile(addr, len, prot, fd, offset);
}

Result<void> MemoryManager::StubUnmap(uint64_t addr, uint64_t len) {
  if (!stub_mapped_) return Ok();
  return as_->Unmap(addr, len);
}

Result<void> MemoryManager::StubProtect(uint64_t addr, uint64_t len, int prot) {
  if (!stub_mapped_) return Ok();
  return as_->Protect(addr, len, prot);
}

Result<void> MemoryManager::Unshare(uint64_t from, uint64_t to, int prot) {
  SplitPmaAt(from);
  SplitPmaAt(to);
  auto p = pmas_.lower_bound(from);
  while (p != pmas_.end() && p->first < to) {
    if (!p->second.cow) {
      ++p;
      continue;
    }
    // One run of pages with the same number of holders at a time.
    const uint64_t start = p->first;
    const MemoryFile::RefRun run = mf_.RefsAt(p->second.offset);
    const uint64_t end = std::min(p->second.end, start + (run.end - p->second.offset));
    SplitPmaAt(end);
    p = pmas_.find(start);
    Pma& pma = p->second;
    const uint64_t len = end - start;
    if (run.count > 1) {
      // Someone else holds the pages too: they stay as they are for
      // them (no holder ever writes a page another holds), this manager
      // takes a copy.
      const uint64_t off = TRY(mf_.Allocate(len));
      mf_.Copy(off, pma.offset, len);
      if (auto r = StubMap(start, len, prot, off, /*populate=*/true); !r) {
        mf_.Free(off, len);
        return r.error();
      }
      mf_.Free(pma.offset, len);
      pma.offset = off;
    } else {
      // The last holder writes in place.
      TRY(StubProtect(start, len, prot));
    }
    pma.cow = false;
    p = pmas_.lower_bound(end);
  }
  return Ok();
}

Result<void> MemoryManager::UnshareForFault(VmaMap::iterator vma, PmaMap::iterator p,
                                            uint64_t addr) {
  const uint64_t page = PageDown(addr);
  const uint64_t offset = p->second.offset + (page - p->first);
  const MemoryFile::RefRun run = mf_.RefsAt(offset);
  // The run of pages with the same holders around `offset`, as addresses
  // (it may reach further back in the memory file than `page` is from 0).
  const uint64_t back = offset - run.start;
  uint64_t from = std::max({p->first, vma->first, back > page ? 0 : page - back});
  uint64_t to = std::min({p->second.end, vma->second.end, page + (run.end - offset)});
  const uint64_t chunk = run.count > 1 ? kCowChunk : kUnprotectChunk;
  from = std::max(from, AlignDown(page, chunk));
  to = std::min(to, AlignDown(page, chunk) + chunk);
  return Unshare(from, to, vma->second.prot);
}

Result<void> MemoryManager::MapPma(uint64_t from, uint64_t to, uint64_t pma_start, const Pma& p,
                                   bool populate) {
  auto v = vmas_.upper_bound(from);
  if (v == vmas_.begin()) return Ok();
  --v;
  // A PMA lies within one VMA's protection run unless mprotect split the
  // VMA; map piece by piece.
  uint64_t at = from;
  while (at < to && v != vmas_.end() && v->first < to) {
    const uint64_t a = std::max(at, v->first);
    const uint64_t b = std::min(to, v->second.end);
    if (a < b) {
      const uint64_t offset = p.offset + (a - pma_start);
      if (p.host) {
        TRY(StubMapFile(a, b - a, v->second.prot, p.host->get(), offset));
      } else {
        TRY(StubMap(a, b - a, StubProt(v->second.prot, p), offset, populate));
      }
    }
    at = std::max(b, at);
    ++v;
  }
  return Ok();
}

Result<void> MemoryManager::Materialize(uint64_t from, uint64_t to) {
  SplitPmaAt(from);
  SplitPmaAt(to);
  auto p = pmas_.find(from);
  const uint64_t len = to - from;
  const uint64_t off = TRY(mf_.Allocate(len));
  // Past the end of the file the copy stays zero (the stub's mapping
  // would fault there; Populate never maps such pages).
  uint64_t done = 0;
  while (done < len) {
    ssize_t n = pread(p->second.host->get(), mf_.At(off + done), len - done,
                      static_cast<off_t>(p->second.offset + done));
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) break;
    done += static_cast<uint64_t>(n);
  }
  Pma copy{to, off};
  if (auto r = MapPma(from, to, from, copy, /*populate=*/true); !r) {
    mf_.Free(off, len);
    return r.error();
  }
  p->second = std::move(copy);
  return Ok();
}

bool MemoryManager::Overlaps(uint64_t start, uint64_t end) const {
  auto it = vmas_.upper_bound(start);
  if (it != vmas_.begin() && std::prev(it)->second.end > start) return true;
  return it != vmas_.end() && it->first < end;
}

bool MemoryManager::OverlapsReserved(uint64_t start, uint64_t end) const {
  for (const auto& r : reserved_) {
    if (start < r.end && r.start < end) return true;
  }
  return false;
}

Result<uint64_t> MemoryManager::FindFree(uint64_t len, uint64_t hint) const {
  if (hint != 0) {
    uint64_t h = PageDown(hint);
    if (h >= kMinAddr && h <= kTaskSize - len && !Overlaps(h, h + len) &&
        !OverlapsReserved(h, h + len)) {
      return h;
    }
  }
  // Top-down from mmap_base, as Linux's default layout does.
  std::vector<std::pair<uint64_t, uint64_t>> used;
  for (const auto& [start, v] : vmas_) used.emplace_back(start, v.end);
  for (const auto& r : reserved_) used.emplace_back(r.start, r.end);
  std::sort(used.begin(), used.end(), [](auto a, auto b) { return a.first > b.first; });
  uint64_t top = mmap_base_;
  for (const auto& [start, end] : used) {
    if (start >= top) continue;
    if (end < top && top - end >= len) return top - len;
    top = start;
  }
  if (top >= kMinAddr + len) return top - len;
  return Errno(ENOMEM);
}

MemoryManager::VmaMap::iterator MemoryManager::FirstVmaEndingAfter(uint64_t addr) {
  auto it = vmas_.upper_bound(addr);
  if (it != vmas_.begin() && std::prev(it)->second.end > addr) --it;
  return it;
}

void MemoryManager::SplitAt(uint64_t addr) {
  auto v = vmas_.upper_bound(addr);
  if (v != vmas_.begin()) {
    auto prev = std::prev(v);
    if (prev->first < addr && prev->second.end > addr) {
      Vma right = prev->second;
      right.file_offset += addr - prev->first;
      prev->second.end = addr;
      vmas_.emplace(addr, std::move(right));
    }
  }
  SplitPmaAt(addr);
}

void MemoryManager::SplitPmaAt(uint64_t addr) {
  auto p = pmas_.upper_bound(addr);
  if (p != pmas_.begin()) {
    auto prev = std::prev(p);
    if (prev->first < addr && prev->second.end > addr) {
      Pma right = prev->second;
      right.offset += addr - prev->first;
      prev->second.end = addr;
      pmas_.emplace(addr, right);
    }
  }
}

bool MemoryManager::Mergeable(const Vma& a, uint64_t a_start, const Vma& b) {
  const uint64_t len = a.end - a_start;
  return a.prot == b.prot && a.max_prot == b.max_prot && a.shared == b.shared &&
         a.growsdown == b.growsdown && a.file == b.file && a.shm == b.shm && a.name == b.name &&
         a.dontfork == b.dontfork && a.wipeonfork == b.wipeonfork && a.locked == b.locked &&
         (!a.file && !a.shm ? true : a.file_offset + len == b.file_offset);
}

void MemoryManager::MergeVmas(uint64_t start, uint64_t end) {
  auto it = FirstVmaEndingAfter(start == 0 ? 0 : start - 1);
  if (it != vmas_.begin()) --it;
  while (it != vmas_.end() && it->first <= end) {
    auto next = std::next(it);
    if (next != vmas_.end() && it->second.end == next->first &&
        Mergeable(it->second, it->first, next->second)) {
      it->second.end = next->second.end;
      vmas_.erase(next);
      continue;
    }
    it = next;
  }
}

void MemoryManager::DropPmas(uint64_t start, uint64_t end) {
  uint64_t run_start = 0, run_end = 0;
  auto flush = [&] {
    if (run_end > run_start) (void)StubUnmap(run_start, run_end - run_start);
  };
  for (auto it = pmas_.lower_bound(start); it != pmas_.end() && it->first < end;) {
    if (it->first != run_end) {
      flush();
      run_start = it->first;
    }
    run_end = it->second.end;
    if (it->second.owned) mf_.Free(it->second.offset, it->second.end - it->first);
    it = pmas_.erase(it);
  }
  flush();
}

Result<void> MemoryManager::UnmapLocked(uint64_t start, uint64_t end) {
  SplitAt(start);
  SplitAt(end);
  for (auto it = vmas_.lower_bound(start); it != vmas_.end() && it->first < end;) {
    it = vmas_.erase(it);
  }
  DropPmas(start, end);
  return Ok();
}

Result<void> MemoryManager::InsertAnonymousPma(uint64_t start, uint64_t end, int prot) {
  uint64_t off = TRY(mf_.Allocate(end - start));
  if (auto r = StubMap(start, end - start, prot, off); !r) {
    mf_.Free(off, end - start);
    return r.error();
  }
  pmas_[start] = Pma{end, off};
  return Ok();
}

Result<uint64_t> MemoryManager::MMap(const MapRequest& req) {
  const uint64_t len = PageUp(req.len);
  if (len == 0) return Errno(ENOMEM);
  absl::MutexLock lock(&mu_);
  uint64_t addr;
  if (req.flags & (MAP_FIXED | MAP_FIXED_NOREPLACE)) {
    addr = req.addr;
    if (addr > kTaskSize - len) return Errno(ENOMEM);
    // PARTIAL(stub): the platform's own pages cannot be replaced.
    if (OverlapsReserved(addr, addr + len)) return Errno(ENOMEM);
    if (req.flags & MAP_FIXED) {
      TRY(UnmapLocked(addr, addr + len));
    } else if (Overlaps(addr, addr + len)) {
      return Errno(EEXIST);
    }
  } else {
    addr = TRY(FindFree(len, req.addr));
  }
  Vma v;
  v.end = addr + len;
  v.prot = req.prot & (PROT_READ | PROT_WRITE | PROT_EXEC);
  v.shared = (req.flags & MAP_TYPE) != MAP_PRIVATE;
  v.growsdown = (req.flags & MAP_GROWSDOWN) != 0;
  v.file = req.file;
  v.file_offset = req.offset;
  v.name = req.name;
  v.locked = lock_future_ || (req.flags & MAP_LOCKED);
  if (v.shared) {
    // Shared anonymous memory is a fresh shm object; a shared mapping of a
    // tmpfs file maps the file's own pages. PARTIAL(shared host files): a
    // shared mapping of a gofer file is a private snapshot, and stores do
    // not reach the host file.
    v.shm = v.file ? v.file->SharedMemory() : std::make_shared<vfs::SharedPages>(mf_);
    if ((v.file && !v.file->Writable()) || req.deny_write) v.max_prot &= ~PROT_WRITE;
  }
  vmas_[addr] = v;
  // Anonymous memory is mapped in the stub at once (one injected mmap rather
  // than a fault per chunk), except where nothing may touch it: a PROT_NONE
  // reservation (an ELF image's extent before its segments, a guard page,
  // a runtime's heap arena) gets pages only once mprotect opens it and it
  // faults.
  if (!v.file && !v.shm && v.prot != PROT_NONE) {
    if (auto r = InsertAnonymousPma(addr, addr + len, v.prot); !r) {
      vmas_.erase(addr);
      return r.error();
    }
  }
  MergeVmas(addr, addr + len);
  return addr;
}

Result<void> MemoryManager::MUnmap(uint64_t addr, uint64_t len) {
  if (!PageAligned(addr) || len == 0) return Errno(EINVAL);
  uint64_t plen = PageUp(len);
  if (plen == 0 || addr > kTaskSize || plen > kTaskSize - addr) return Errno(EINVAL);
  absl::MutexLock lock(&mu_);
  return UnmapLocked(addr, addr + plen);
}

Result<void> MemoryManager::MProtect(uint64_t addr, uint64_t len, int prot) {
  constexpr int kKnown =
      PROT_READ | PROT_WRITE | PROT_EXEC | kProtSem | PROT_GROWSDOWN | PROT_GROWSUP;
  if (!PageAligned(addr) || (prot & ~kKnown) ||
      (prot & (PROT_GROWSDOWN | PROT_GROWSUP)) == (PROT_GROWSDOWN | PROT_GROWSUP)) {
    return Errno(EINVAL);
  }
  if (len == 0) return Ok();
  uint64_t plen = PageUp(len);
  if (plen == 0 || addr > UINT64_MAX - plen) return Errno(ENOMEM);
  const uint64_t end = addr + plen;
  prot &= PROT_READ | PROT_WRITE | PROT_EXEC;
  absl::MutexLock lock(&mu_);
  // The whole range must be mapped, and every VMA must allow `prot`.
  uint64_t cur = addr;
  auto it = vmas_.upper_bound(addr);
  if (it == vmas_.begin()) return Errno(ENOMEM);
  --it;
  while (cur < end) {
    if (it == vmas_.end() || it->first > cur || it->second.end <= cur) return Errno(ENOMEM);
    if (prot & ~it->second.max_prot) return Errno(EACCES);
    cur = it->second.end;
    ++it;
  }
  SplitAt(addr);
  SplitAt(end);
  for (auto v = vmas_.lower_bound(addr); v != vmas_.end() && v->first < end; ++v) {
    v->second.prot = prot;
  }
  for (auto p = pmas_.lower_bound(addr); p != pmas_.end() && p->first < end; ++p) {
    // The sentry must see what the application writes: no host pages
    // under a writable mapping.
    if ((prot & PROT_WRITE) && p->second.host) {
      TRY(Materialize(p->first, p->second.end));
      continue;
    }
    TRY(StubProtect(p->first, p->second.end - p->first, StubProt(prot, p->second)));
  }
  MergeVmas(addr, end);
  return Ok();
}

Result<void> MemoryManager::MAdvise(uint64_t addr, uint64_t len, int advice) {
  switch (advice) {
    case MADV_NORMAL: case MADV_RANDOM: case MADV_SEQUENTIAL: case MADV_WILLNEED:
    case MADV_DONTNEED: case MADV_FREE: case MADV_DONTFORK: case MADV_DOFORK:
    case MADV_MERGEABLE: case MADV_UNMERGEABLE: case MADV_HUGEPAGE: case MADV_NOHUGEPAGE:
    case MADV_DONTDUMP: case MADV_DODUMP: case MADV_WIPEONFORK: case MADV_KEEPONFORK:
    case MADV_COLD: case MADV_PAGEOUT:
      break;
    default:
      return Errno(EINVAL);
  }
  if (!PageAligned(addr)) return Errno(EINVAL);
  uint64_t plen = PageUp(len);
  if (len != 0 && (plen == 0 || addr > UINT64_MAX - plen)) return Errno(EINVAL);
  if (plen == 0) return Ok();
  const uint64_t end = addr + plen;
  absl::MutexLock lock(&mu_);
  bool hole = false;
  uint64_t cur = addr;
  for (auto it = FirstVmaEndingAfter(addr); it != vmas_.end() && it->first < end; ++it) {
    if (it->second.end <= cur) continue;
    if (it->first > cur) hole = true;
    cur = it->second.end;
  }
  if (cur < end) hole = true;
  if (advice == MADV_FREE) {
    // Only private anonymous memory may be freed lazily. PARTIAL(reclaim):
    // the pages are kept, which MADV_FREE allows.
    for (auto v = FirstVmaEndingAfter(addr); v != vmas_.end() && v->first < end; ++v) {
      if (v->second.file || v->second.shared) return Errno(EINVAL);
    }
  }
  if (advice == MADV_WIPEONFORK) {
    for (auto v = FirstVmaEndingAfter(addr); v != vmas_.end() && v->first < end; ++v) {
      if (v->second.file || v->second.shared) return Errno(EINVAL);
    }
  }
  if (advice == MADV_DONTFORK || advice == MADV_DOFORK || advice == MADV_WIPEONFORK ||
      advice == MADV_KEEPONFORK) {
    SplitAt(addr);
    SplitAt(end);
    for (auto v = vmas_.lower_bound(addr); v != vmas_.end() && v->first < end; ++v) {
      if (advice == MADV_DONTFORK || advice == MADV_DOFORK) {
        v->second.dontfork = advice == MADV_DONTFORK;
      } else {
        v->second.wipeonfork = advice == MADV_WIPEONFORK;
      }
    }
    MergeVmas(addr, end);
  }
  if (advice == MADV_DONTNEED) {
    // madvise changes no VMA: only the pages behind the range go.
    for (auto v = FirstVmaEndingAfter(addr); v != vmas_.end() && v->first < end; ++v) {
      if (v->second.shared) continue;
      const uint64_t from = std::max(addr, v->first), to = std::min(end, v->second.end);
      SplitPmaAt(from);
      SplitPmaAt(to);
      if (v->second.file) {
        // Private file pages go back to the file's content on next touch.
        DropPmas(from, to);
        continue;
      }
      // Anonymous pages read as zeros again: pages of our own are zeroed
      // where they are; pages fork may have shared are let go (the other
      // holder keeps them), and a touch populates fresh ones.
      for (auto p = pmas_.lower_bound(from); p != pmas_.end() && p->first < to;) {
        const uint64_t start = p->first, stop = p->second.end;
        if (p->second.cow) {
          DropPmas(start, stop);
        } else {
          mf_.Zero(p->second.offset, stop - start);
        }
        p = pmas_.lower_bound(stop);
      }
    }
  }
  if (hole) return Errno(ENOMEM);
  return Ok();
}

Result<void> MemoryManager::MSync(uint64_t addr, uint64_t len, int flags) {
  if (!PageAligned(addr)) return Errno(EINVAL);
  if (flags & ~(MS_ASYNC | MS_SYNC | MS_INVALIDATE)) return Errno(EINVAL);
  if ((flags & MS_ASYNC) && (flags & MS_SYNC)) return Errno(EINVAL);
  const uint64_t plen = PageUp(len);
  if (len != 0 && (plen == 0 || addr > UINT64_MAX - plen)) return Errno(ENOMEM);
  const uint64_t end = addr + plen;
  absl::MutexLock lock(&mu_);
  uint64_t cur = addr;
  for (auto it = FirstVmaEndingAfter(addr); cur < end; ++it) {
    if (it == vmas_.end() || it->first > cur) return Errno(ENOMEM);
    cur = it->second.end;
  }
  return Ok();
}

Result<void> MemoryManager::Mincore(uint64_t addr, uint64_t pages, std::vector<uint8_t>& vec) {
  absl::MutexLock lock(&mu_);
  const uint64_t end = addr + pages * kPageSize;
  uint64_t cur = addr;
  for (auto v = FirstVmaEndingAfter(addr); cur < end; ++v) {
    if (v == vmas_.end() || v->first > cur) return Errno(ENOMEM);
    const uint64_t stop = std::min(end, v->second.end);
    while (cur < stop) {
      auto p = pmas_.upper_bound(cur);
      if (p == pmas_.begin() || std::prev(p)->second.end <= cur) {
        // No pages here up to the next PMA.
        const uint64_t next = p == pmas_.end() ? stop : std::min(stop, p->first);
        vec.insert(vec.end(), (next - cur) / kPageSize, 0);
        cur = next;
        continue;
      }
      --p;
      const uint64_t run_end = std::min(stop, p->second.end);
      if (p->second.host) {
        vec.insert(vec.end(), (run_end - cur) / kPageSize, 1);  // the host file's pages
      } else {
        // Pages of the memory file that were never touched are holes.
        const uint64_t off = p->second.offset + (cur - p->first);
        uint64_t at = off;
        for (const auto& [data, hole] : mf_.DataRuns(off, run_end - cur)) {
          vec.insert(vec.end(), (PageDown(data) - std::min(at, PageDown(data))) / kPageSize, 0);
          const uint64_t from = std::max(at, PageDown(data));
          vec.insert(vec.end(), (PageUp(hole) - from) / kPageSize, 1);
          at = PageUp(hole);
        }
        const uint64_t off_end = off + (run_end - cur);
        if (at < off_end) vec.insert(vec.end(), (off_end - at) / kPageSize, 0);
      }
      cur = run_end;
    }
  }
  return Ok();
}

Result<void> MemoryManager::Mlock(uint64_t start, uint64_t end, bool lock, uint64_t limit) {
  absl::MutexLock l(&mu_);
  if (lock && limit != UINT64_MAX) {
    // Linux's do_mlock: what is locked already, plus the range, less what
    // of the range was locked before.
    uint64_t locked = end - start;
    for (const auto& [vstart, v] : vmas_) {
      if (!v.locked) continue;
      locked += v.end - vstart;
      const uint64_t a = std::max(start, vstart), b = std::min(end, v.end);
      if (a < b) locked -= b - a;
    }
    if (locked > limit) return Errno(ENOMEM);
  }
  uint64_t cur = start;
  for (auto it = FirstVmaEndingAfter(start); cur < end; ++it) {
    if (it == vmas_.end() || it->first > cur) return Errno(ENOMEM);
    cur = it->second.end;
  }
  SplitAt(start);
  SplitAt(end);
  for (auto v = vmas_.lower_bound(start); v != vmas_.end() && v->first < end; ++v) {
    v->second.locked = lock;
  }
  MergeVmas(start, end);
  return Ok();
}

Result<void> MemoryManager::MlockAll(int flags, uint64_t limit) {
  absl::MutexLock l(&mu_);
  if (flags & MCL_CURRENT) {
    uint64_t total = 0;
    for (const auto& [vstart, v] : vmas_) total += v.end - vstart;
    if (total > limit) return Errno(ENOMEM);
  }
  lock_future_ = (flags & MCL_FUTURE) != 0;
  if (flags & MCL_CURRENT) {
    for (auto& [vstart, v] : vmas_) v.locked = true;
    if (!vmas_.empty()) MergeVmas(vmas_.begin()->first, std::prev(vmas_.end())->second.end);
  }
  return Ok();
}

void MemoryManager::MunlockAll() {
  absl::MutexLock l(&mu_);
  lock_future_ = false;
  for (auto& [vstart, v] : vmas_) v.locked = false;
  if (!vmas_.empty()) MergeVmas(vmas_.begin()->first, std::prev(vmas_.end())->second.end);
}

Result<uint64_t> MemoryManager::MRemap(uint64_t old_addr, uint64_t old_len, uint64_t new_len,
                                       int flags, uint64_t new_addr) {
  if (flags & ~(MREMAP_MAYMOVE | MREMAP_FIXED | MREMAP_DONTUNMAP)) return Errno(EINVAL);
  if ((flags & MREMAP_FIXED) && !(flags & MREMAP_MAYMOVE)) return Errno(EINVAL);
  if ((flags & MREMAP_DONTUNMAP) && (!(flags & MREMAP_MAYMOVE) || old_len != new_len)) {
    return Errno(EINVAL);
  }
  if (!PageAligned(old_addr)) return Errno(EINVAL);
  uint64_t olen = PageUp(old_len);
  uint64_t nlen = PageUp(new_len);
  if (nlen == 0 || (old_len != 0 && olen == 0)) return Errno(EINVAL);
  absl::MutexLock lock(&mu_);
  auto vit = vmas_.upper_bound(old_addr);
  if (vit == vmas_.begin()) return Errno(EFAULT);
  --vit;
  if (vit->second.end <= old_addr) return Errno(EFAULT);
  if (olen == 0) return Duplicate(vit, old_addr, nlen, flags, new_addr);
  if (olen > vit->second.end - old_addr) return Errno(EFAULT);

  if (flags & MREMAP_FIXED) {
    if (!PageAligned(new_addr) || new_addr > kTaskSize - nlen) return Errno(EINVAL);
    if (new_addr < old_addr + olen && old_addr < new_addr + nlen) return Errno(EINVAL);
    if (OverlapsReserved(new_addr, new_addr + nlen)) return Errno(ENOMEM);
  }
  if (!(flags & (MREMAP_FIXED | MREMAP_DONTUNMAP)) && nlen <= olen) {
    TRY(UnmapLocked(old_addr + nlen, old_addr + olen));
    return old_addr;
  }
  const uint64_t old_end = old_addr + olen;
  if (!(flags & (MREMAP_FIXED | MREMAP_DONTUNMAP))) {
    // Grow in place when the pages after the mapping are free.
    const uint64_t grow_end = old_addr + nlen;
    if (vit->second.end == old_end && grow_end <= kTaskSize &&
        !Overlaps(old_end, grow_end) && !OverlapsReserved(old_end, grow_end)) {
      vit->second.end = grow_end;
      if (!vit->second.file && !vit->second.shm) {
        TRY(InsertAnonymousPma(old_end, grow_end, vit->second.prot));
      }
      return old_addr;
    }
    if (!(flags & MREMAP_MAYMOVE)) return Errno(ENOMEM);
  }
  if (nlen < olen) {
    TRY(UnmapLocked(old_addr + nlen, old_end));
    olen = nlen;
  }
  uint64_t target;
  if (flags & MREMAP_FIXED) {
    TRY(UnmapLocked(new_addr, new_addr + nlen));
    target = new_addr;
  } else {
    target = TRY(FindFree(nlen, 0));
  }
  // Move: the same memory-file pages, mapped at the new address.
  SplitAt(old_addr);
  SplitAt(old_addr + olen);
  Vma moved = vmas_.at(old_addr);
  vmas_.erase(old_addr);
  for (auto p = pmas_.lower_bound(old_addr); p != pmas_.end() && p->first < old_addr + olen;) {
    uint64_t dst = target + (p->first - old_addr);
    Pma np = p->second;
    np.end = dst + (p->second.end - p->first);
    if (np.host) {
      TRY(StubMapFile(dst, np.end - dst, moved.prot, np.host->get(), np.offset));
    } else {
      TRY(StubMap(dst, np.end - dst, StubProt(moved.prot, np), np.offset));
    }
    TRY(StubUnmap(p->first, p->second.end - p->first));
    p = pmas_.erase(p);
    pmas_[dst] = np;
  }
  moved.end = target + nlen;
  vmas_[target] = moved;
  if (!moved.file && !moved.shm && nlen > olen) {
    TRY(InsertAnonymousPma(target + olen, target + nlen, moved.prot));
  }
  if (flags & MREMAP_DONTUNMAP) {
    Vma fresh = moved;
    fresh.end = old_addr + olen;
    vmas_[old_addr] = fresh;
    if (!fresh.file && !fresh.shm) TRY(InsertAnonymousPma(old_addr, fresh.end, fresh.prot));
  }
  return target;
}

// mremap(old_size = 0): a second mapping of a shared mapping's pages.
Result<uint64_t> MemoryManager::Duplicate(VmaMap::iterator vit, uint64_t old_addr, uint64_t len,
                                          int flags, uint64_t new_addr) {
  if (!vit->second.shm) return Errno(EINVAL);
  if (!(flags & MREMAP_MAYMOVE)) return Errno(ENOMEM);
  uint64_t target;
  if (flags & MREMAP_FIXED) {
    if (!PageAligned(new_addr) || new_addr > kTaskSize - len) return Errno(EINVAL);
    if (OverlapsReserved(new_addr, new_addr + len)) return Errno(ENOMEM);
    TRY(UnmapLocked(new_addr, new_addr + len));
    target = new_addr;
  } else {
    target = TRY(FindFree(len, 0));
  }
  Vma copy = vit->second;
  copy.file_offset += old_addr - vit->first;
  copy.end = target + len;
  vmas_[target] = std::move(copy);
  return target;
}

void MemoryManager::SetBrkBase(uint64_t base) {
  absl::MutexLock lock(&mu_);
  brk_start_ = brk_ = base;
}

uint64_t MemoryManager::Brk(uint64_t addr) {
  absl::MutexLock lock(&mu_);
  if (addr < brk_start_) return brk_;
  const uint64_t old_end = PageUp(brk_);
  const uint64_t new_end = PageUp(addr);
  if (new_end == 0 || new_end > kTaskSize) return brk_;
  if (new_end > old_end) {
    if (Overlaps(old_end, new_end) || OverlapsReserved(old_end, new_end)) return brk_;
    auto heap = vmas_.upper_bound(old_end - 1);
    bool extend = heap != vmas_.begin() && std::prev(heap)->second.end == old_end &&
                  std::prev(heap)->second.name == "[heap]";
    if (extend) {
      std::prev(heap)->second.end = new_end;
    } else {
      Vma v;
      v.end = new_end;
      v.prot = PROT_READ | PROT_WRITE;
      v.name = "[heap]";
      vmas_[old_end] = v;
    }
    if (!InsertAnonymousPma(old_end, new_end, PROT_READ | PROT_WRITE)) {
      (void)UnmapLocked(old_end, new_end);
      return brk_;
    }
  } else if (new_end < old_end) {
    (void)UnmapLocked(new_end, old_end);
  }
  brk_ = addr;
  return brk_;
}

Result<void> MemoryManager::Populate(VmaMap::iterator vma, uint64_t addr) {
  const uint64_t page = PageDown(addr);
  uint64_t start = std::max(vma->first, AlignDown(page, kPopulateChunk));
  uint64_t end = std::min(vma->second.end, start + kPopulateChunk);
  if (end <= page) end = std::min(vma->second.end, page + kPopulateChunk);
  // Clip to the gap between the neighbouring PMAs.
  auto next = pmas_.upper_bound(page);
  if (next != pmas_.end()) end = std::min(end, next->first);
  if (next != pmas_.begin()) start = std::max(start, std::prev(next)->second.end);
  start = std::min(start, page);
  const Vma& v = vma->second;
  if (v.file && !v.shared && !(v.prot & PROT_WRITE)) {
    if (auto host = v.file->HostPages(); host && PopulateFromHost(vma, page, std::move(host))) {
      return Ok();
    }
  }
  if (v.shm) {
    // Never cross a chunk of the shm object: a chunk is contiguous in the
    // memory file.
    const uint64_t obj = v.file_offset + (page - vma->first);
    const uint64_t chunk_start = page - (obj % vfs::SharedPages::kChunk);
    start = std::max(start, chunk_start);
    end = std::min(end, chunk_start + vfs::SharedPages::kChunk);
  }
  if (v.file) {
    const uint64_t file_size = TRY(v.file->Size());
    const uint64_t fpage = v.file_offset + (page - vma->first);
    // A page wholly past the end of the file: SIGBUS in Linux.
    if (fpage >= PageUp(file_size)) return Errno(EFAULT);
    const uint64_t file_pages_end = vma->first + (PageUp(file_size) - v.file_offset);
    end = std::min(end, file_pages_end);
  }
  const uint64_t len = end - start;
  if (v.shm) {
    const uint64_t obj = v.file_offset + (start - vma->first);
    const uint64_t off = TRY(v.shm->ChunkAt(obj)) + obj % vfs::SharedPages::kChunk;
    TRY(StubMap(start, len, v.prot, off));
    pmas_[start] = Pma{end, off, false};
    return Ok();
  }
  const uint64_t off = TRY(mf_.Allocate(len));
  if (v.file) {
    // Fault the pages in with one call rather than one fault per page.
    madvise(mf_.At(off), len, MADV_POPULATE_WRITE);
    uint64_t done = 0;
    const uint64_t foff = v.file_offset + (start - vma->first);
    while (done < len) {
      vfs::IoVecs iov{iovec{mf_.At(off + done), len - done}};
      auto n = v.file->PRead(iov, foff + done);
      if (!n || *n == 0) break;
      done += *n;
    }
  }
  if (auto r = StubMap(start, len, v.prot, off, /*populate=*/v.file != nullptr); !r) {
    mf_.Free(off, len);
    return r.error();
  }
  pmas_[start] = Pma{end, off};
  return Ok();
}

bool MemoryManager::PopulateFromHost(VmaMap::iterator vma, uint64_t page,
                                     std::shared_ptr<const ScopedFd> host) {
  const Vma& v = vma->second;
  uint64_t start = vma->first, end = v.end;
  auto next = pmas_.upper_bound(page);
  if (next != pmas_.end()) end = std::min(end, next->first);
  if (next != pmas_.begin()) start = std::max(start, std::prev(next)->second.end);
  auto size = v.file->Size();
  if (!size) return false;
  // Pages wholly past the end of the file are left to the copying path,
  // which reports them.
  const uint64_t file_pages_end = vma->first + (PageUp(*size) - std::min(PageUp(*size), v.file_offset));
  end = std::min(end, file_pages_end);
  if (page >= end || start > page) return false;
  const uint64_t offset = v.file_offset + (start - vma->first);
  if (!StubMapFile(start, end - start, v.prot, host->get(), offset)) return false;
  pmas_[start] = Pma{end, offset, /*owned=*/false, std::move(host)};
  return true;
}

bool MemoryManager::HandleFault(uint64_t addr) {
  absl::MutexLock lock(&mu_);
  const Retried retried = std::exchange(last_retried, Retried{});
  auto v = vmas_.upper_bound(addr);
  if (v == vmas_.begin()) return false;
  --v;
  if (v->second.end <= addr || !AllowsRead(v->second.prot)) return false;
  auto p = pmas_.upper_bound(addr);
  if (p == pmas_.begin() || std::prev(p)->second.end <= addr) return Populate(v, addr).has_value();
  --p;
  // The stub maps a copy-on-write page readable wherever the VMA is:
  // only a write faults there.
  if (p->second.cow && (v->second.prot & PROT_WRITE)) {
    return UnshareForFault(v, p, addr).has_value();
  }
  // The page needed nothing: either the access is not allowed (a real
  // fault), or another thread resolved the fault while this one waited.
  // Retrying tells which.
  const uint64_t page = PageDown(addr);
  if (retried.mm == this && retried.page == page) return false;
  last_retried = Retried{this, page};
  return true;
}

bool MemoryManager::Mapped(uint64_t addr) {
  absl::MutexLock lock(&mu_);
  auto v = vmas_.upper_bound(addr);
  return v != vmas_.begin() && std::prev(v)->second.end > addr;
}

bool MemoryManager::PastFileEnd(uint64_t addr) {
  std::shared_ptr<vfs::FileDescription> file;
  uint64_t fpage = 0;
  {
    absl::MutexLock lock(&mu_);
    auto v = vmas_.upper_bound(addr);
    if (v == vmas_.begin()) return false;
    --v;
    if (v->second.end <= addr || !v->second.file) return false;
    file = v->second.file;
    fpage = v->second.file_offset + (PageDown(addr) - v->first);
  }
  auto size = file->Size();
  return size && fpage >= PageUp(*size);
}

template <class Fn>
size_t MemoryManager::Walk(uint64_t addr, uint64_t len, Access access, bool force, Fn fn) {
  absl::MutexLock lock(&mu_);
  uint64_t done = 0;
  while (done < len) {
    const uint64_t cur = addr + done;
    if (cur < addr || cur >= kTaskSize) break;
    auto v = vmas_.upper_bound(cur);
    if (v == vmas_.begin()) break;
    --v;
    if (v->second.end <= cur || (!force && !Allows(v->second.prot, access))) break;
    auto p = pmas_.upper_bound(cur);
    if (p == pmas_.begin() || std::prev(p)->second.end <= cur) {
      if (!Populate(v, cur)) break;
      p = pmas_.upper_bound(cur);
    }
    --p;
    if (access == Access::kWrite && p->second.cow) {
      const uint64_t n = std::min({len - done, p->second.end - cur, v->second.end - cur});
      if (!Unshare(PageDown(cur), PageUp(cur + n), v->second.prot)) break;
      p = std::prev(pmas_.upper_bound(cur));
    }
    if (p->second.host) {
      // The sentry works on memory-file pages only.
      const uint64_t chunk = AlignDown(cur, kMaterializeChunk);
      if (!Materialize(std::max(p->first, chunk), std::min(p->second.end, chunk + kMaterializeChunk))) {
        break;
      }
      p = std::prev(pmas_.upper_bound(cur));
    }
    uint64_t n = std::min({len - done, p->second.end - cur, v->second.end - cur});
    fn(mf_.At(p->second.offset + (cur - p->first)), n);
    done += n;
  }
  return done;
}

Result<void> MemoryManager::CopyIn(uint64_t addr, std::span<uint8_t> dst) {
  uint8_t* out = dst.data();
  size_t n = Walk(addr, dst.size(), Access::kRead, false, [&](uint8_t* p, size_t len) {
    memcpy(out, p, len);
    out += len;
  });
  if (n < dst.size()) return Errno(EFAULT);
  return Ok();
}

size_t MemoryManager::CopyInPartial(uint64_t addr, std::span<uint8_t> dst) {
  uint8_t* out = dst.data();
  return Walk(addr, dst.size(), Access::kRead, false, [&](uint8_t* p, size_t len) {
    memcpy(out, p, len);
    out += len;
  });
}

size_t MemoryManager::Peek(uint64_t addr, std::span<uint8_t> dst) {
  absl::MutexLock lock(&mu_);
  size_t done = 0;
  while (done < dst.size()) {
    const uint64_t cur = addr + done;
    if (cur < addr || cur >= kTaskSize) break;
    auto v = vmas_.upper_bound(cur);
    if (v == vmas_.begin() || std::prev(v)->second.end <= cur) break;
    --v;
    auto p = pmas_.upper_bound(cur);
    if (p == pmas_.begin() || std::prev(p)->second.end <= cur) break;
    --p;
    if (p->second.host) break;
    const uint64_t n = std::min({dst.size() - done, p->second.end - cur, v->second.end - cur});
    memcpy(dst.data() + done, mf_.At(p->second.offset + (cur - p->first)), n);
    done += n;
  }
  return done;
}

Result<void> MemoryManager::CopyOut(uint64_t addr, std::span<const uint8_t> src) {
  const uint8_t* in = src.data();
  size_t n = Walk(addr, src.size(), Access::kWrite, false, [&](uint8_t* p, size_t len) {
    memcpy(p, in, len);
    in += len;
  });
  if (n < src.size()) return Errno(EFAULT);
  return Ok();
}

Result<void> MemoryManager::CopyOutForce(uint64_t addr, std::span<const uint8_t> src) {
  const uint8_t* in = src.data();
  size_t n = Walk(addr, src.size(), Access::kWrite, true, [&](uint8_t* p, size_t len) {
    memcpy(p, in, len);
    in += len;
  });
  if (n < src.size()) return Errno(EFAULT);
  return Ok();
}

Result<void> MemoryManager::ZeroForce(uint64_t addr, uint64_t len) {
  size_t n = Walk(addr, len, Access::kWrite, true, [](uint8_t* p, size_t l) { memset(p, 0, l); });
  if (n < len) return Errno(EFAULT);
  return Ok();
}

Result<std::string> MemoryManager::CopyInString(uint64_t addr, size_t max) {
  std::string s;
  uint64_t cur = addr;
  while (s.size() < max) {
    // Read up to the end of the page so an unmapped next page is not touched.
    uint64_t chunk = std::min<uint64_t>(PageUp(cur + 1) - cur, max - s.size());
    char buf[kPageSize];
    size_t n = CopyInPartial(cur, std::span<uint8_t>(reinterpret_cast<uint8_t*>(buf), chunk));
    void* nul = memchr(buf, 0, n);
    if (nul != nullptr) {
      s.append(buf, static_cast<char*>(nul) - buf);
      return s;
    }
    if (n < chunk) return Errno(EFAULT);
    s.append(buf, n);
    cur += n;
  }
  return Errno(ENAMETOOLONG);
}

Result<vfs::IoVecs> MemoryManager::Views(uint64_t addr, uint64_t len, Access access) {
  // access_ok(): the whole range must lie in user space.
  if (addr > kTaskSize || len > kTaskSize - addr) return Errno(EFAULT);
  vfs::IoVecs iov;
  size_t n = Walk(addr, len, access, false, [&](uint8_t* p, size_t l) {
    if (!iov.empty() && static_cast<uint8_t*>(iov.back().iov_base) + iov.back().iov_len == p) {
      iov.back().iov_len += l;
    } else {
      iov.push_back(iovec{p, l});
    }
  });
  if (n == 0 && len > 0) return Errno(EFAULT);
  return iov;
}

Result<vfs::IoVecs> MemoryManager::OutBuffer(uint64_t addr, uint64_t len) {
  return Views(addr, len, Access::kWrite);
}

Result<vfs::IoVecs> MemoryManager::InBuffer(uint64_t addr, uint64_t len) {
  return Views(addr, len, Access::kRead);
}

std::optional<uint64_t> MemoryManager::SharedOffset(uint64_t addr) {
  {
    absl::MutexLock lock(&mu_);
    auto v = vmas_.upper_bound(addr);
    if (v == vmas_.begin()) return std::nullopt;
    --v;
    if (v->second.end <= addr || !v->second.shm) return std::nullopt;
  }
  std::optional<uint64_t> offset;
  Walk(addr, 1, Access::kRead, /*force=*/true,
       [&](uint8_t* p, size_t) { offset = static_cast<uint64_t>(p - mf_.At(0)); });
  return offset;
}

std::vector<MemoryManager::VmaInfo> MemoryManager::VmaSnapshot() {
  absl::MutexLock lock(&mu_);
  std::vector<VmaInfo> out;
  out.reserve(vmas_.size());
  auto p = pmas_.begin();
  for (const auto& [start, v] : vmas_) {
    VmaInfo info{start, v};
    while (p != pmas_.end() && p->second.end <= start) ++p;
    for (auto q = p; q != pmas_.end() && q->first < v.end; ++q) {
      const uint64_t len = std::min(q->second.end, v.end) - std::max(q->first, start);
      info.rss += len;
      if (v.shm) {
        info.rss_shmem += len;
      } else if (!q->second.host && !v.file) {
        info.rss_anon += len;
      } else if (!q->second.host && !v.shared && q->second.owned) {
        info.rss_anon += len;  // a private file mapping's written copy
      }
    }
    out.push_back(std::move(info));
  }
  return out;
}

std::string MemoryManager::Maps() {
  absl::MutexLock lock(&mu_);
  std::string out;
  for (const auto& [start, v] : vmas_) {
    uint64_t dev = 0, ino = 0;
    if (v.file) {
      if (auto st = v.file->Stat(); st) {
        dev = st->st_dev;
        ino = st->st_ino;
      }
    }
    std::string line = fmt::format(
        "{:08x}-{:08x} {}{}{}{} {:08x} {:02x}:{:02x} {} ", start, v.end,
        (v.prot & PROT_READ) ? 'r' : '-', (v.prot & PROT_WRITE) ? 'w' : '-',
        (v.prot & PROT_EXEC) ? 'x' : '-', v.shared ? 's' : 'p', v.file ? v.file_offset : 0,
        major(dev), minor(dev), ino);
    if (!v.name.empty()) {
      // Linux pads the name to column 73 (seq_pad).
      line.resize(std::max<size_t>(line.size(), 72), ' ');
      line += ' ';
      line += v.name;
    }
    out += line + "\n";
  }
  return out;
}

}  // namespace husk::mm
