// MemoryManager: one application address space (Linux's mm_struct). Keeps
// the VMAs (what the application mapped, with protections and backing) and
// the PMAs (which memory-file pages back which addresses, and so what is
// mapped in the stub), and copies to and from application memory.
#pragma once

#include <sys/mman.h>

#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <utility>
#include <vector>

#include <absl/synchronization/mutex.h>

#include "base/result.h"
#include "platform/platform.h"
#include "sentry/mm/memory_file.h"
#include "sentry/mm/user_ptr.h"
#include "vfs/file.h"
#include "vfs/pages.h"

namespace husk::mm {

// Highest user address + 1 with 4-level paging (TASK_SIZE).
inline constexpr uint64_t kTaskSize = 0x7ffffffff000;

// A virtual memory area: [start, end) with one protection and one backing.
struct Vma {
  uint64_t end = 0;
  int prot = 0;
  int max_prot = PROT_READ | PROT_WRITE | PROT_EXEC;  // what mprotect may grant
  bool shared = false;
  bool growsdown = false;
  std::shared_ptr<vfs::FileDescription> file;  // null: anonymous
  uint64_t file_offset = 0;                    // file (or shm) offset of the VMA's start
  // Shared mappings of tmpfs files and shared anonymous memory map these
  // pages directly; null for private mappings.
  std::shared_ptr<vfs::SharedPages> shm;
  std::string name;                            // "[heap]", "[stack]", or the file path
  // madvise(MADV_DONTFORK): a fork's child does not get the VMA.
  bool dontfork = false;
  // madvise(MADV_WIPEONFORK): a fork's child gets the VMA, reading zeros.
  bool wipeonfork = false;
  // mlock(2) (VM_LOCKED). Nothing is ever paged out of the memory file, so
  // it only counts against RLIMIT_MEMLOCK; fork's child does not inherit it.
  bool locked = false;
};

// A run of application pages backed by a contiguous memory-file range, or
// by a host file the stub maps directly.
struct Pma {
  uint64_t end = 0;
  uint64_t offset = 0;  // memory-file (or host-file) offset of the PMA's start
  bool owned = true;    // private memory, freed with the PMA (not shm pages)
  // Pages of a private mapping nobody has written, which the stub maps
  // straight from the host file (FileDescription::HostPages). The sentry
  // never touches them: it reads or writes through a private copy in the
  // memory file, made on its first access (Materialize).
  std::shared_ptr<const ScopedFd> host;
  // Private pages that fork may have left shared with another address
  // space (MemoryFile counts their holders). The stub maps them without
  // PROT_WRITE whatever the VMA allows, and a write first makes them this
  // manager's own (Unshare): a copy if someone else still holds them, the
  // same pages if not.
  bool cow = false;
};

// The arguments of an mmap.
struct MapRequest {
  uint64_t addr = 0;
  uint64_t len = 0;
  int prot = 0;
  int flags = 0;  // MAP_*
  std::shared_ptr<vfs::FileDescription> file;
  uint64_t offset = 0;
  std::string name;
  // A shared mapping that mprotect may never make writable (a memfd with
  // F_SEAL_WRITE or F_SEAL_FUTURE_WRITE: VM_MAYWRITE cleared).
  bool deny_write = false;
};

enum class Access { kRead, kWrite, kExec };

class MemoryManager : public vfs::UserMemory {
 public:
  MemoryManager(MemoryFile& mf, std::shared_ptr<platform::AddressSpace> as,
                std::span<const platform::ReservedRange> reserved, uint64_t mmap_base);
  ~MemoryManager() override;

  platform::AddressSpace& address_space() { return *as_; }
  const std::shared_ptr<platform::AddressSpace>& shared_address_space() { return as_; }

  // fork(2): a copy of this address space in `child_as` (a fork of this
  // one's stub with nothing mapped). Shared mappings share their pages;
  // private pages are shared copy-on-write: nothing is copied, both
  // managers hold the same memory-file pages, and this stub maps them
  // read-only from now on. Must be called from a thread of this address
  // space. The child maps its pages with MapAll once its thread is
  // adopted; until then its stub is left alone.
  Result<std::unique_ptr<MemoryManager>> Fork(std::shared_ptr<platform::AddressSpace> child_as);
  // Maps every page the manager holds into the stub (after Fork).
  Result<void> MapAll();

  // mmap(2) after argument validation of the flags; returns the address.
  Result<uint64_t> MMap(const MapRequest& req);
  Result<void> MUnmap(uint64_t addr, uint64_t len);
  Result<void> MProtect(uint64_t addr, uint64_t len, int prot);
  Result<uint64_t> MRemap(uint64_t old_addr, uint64_t old_len, uint64_t new_len, int flags,
                          uint64_t new_addr);
  Result<void> MAdvise(uint64_t addr, uint64_t len, int advice);
  // msync(2). Shared tmpfs and anonymous mappings are the file's own pages,
  // so there is nothing to write back. PARTIAL(shared host files): a shared
  // mapping of a gofer file is a snapshot and is not written back.
  Result<void> MSync(uint64_t addr, uint64_t len, int flags);
  // mincore(2) of the `pages` pages from `addr` (page aligned): appends to
  // `vec` one byte per page, 1 where the page has memory behind it.
  // ENOMEM at the first page no VMA covers, with `vec` holding the pages
  // before it. PARTIAL(page cache): a file page this address space has not
  // touched reads 0 even where the file's pages are in memory.
  Result<void> Mincore(uint64_t addr, uint64_t pages, std::vector<uint8_t>& vec);
  // mlock(2) (`lock`) or munlock(2) of [start, end), page aligned: ENOMEM
  // if part of it is unmapped or, for mlock, if the locked total would
  // pass `limit` bytes (RLIMIT_MEMLOCK; UINT64_MAX for CAP_IPC_LOCK).
  Result<void> Mlock(uint64_t start, uint64_t end, bool lock, uint64_t limit);
  // mlockall(2): MCL_CURRENT locks every mapping (ENOMEM if they pass
  // `limit`), MCL_FUTURE every later mmap; munlockall(2) undoes both.
  Result<void> MlockAll(int flags, uint64_t limit);
  void MunlockAll();

  // brk(2): returns the new (or unchanged) break.
  uint64_t Brk(uint64_t addr);
  // Sets the heap's start, after exec placed the program.
  void SetBrkBase(uint64_t base);

  // A SIGSEGV at `addr` in the stub: true if it was resolved (the thread
  // retries the access) by populating the page or, for a page fork left
  // shared in a writable mapping, by making it this manager's own (the
  // platform does not say whether the access was a write; on such a page
  // nothing else faults). A fault on a page that needs nothing is retried
  // once, since another thread may have resolved it meanwhile, and is real
  // the second time. False: the application must get the signal.
  bool HandleFault(uint64_t addr);
  // Whether a mapping covers `addr` (a fault there is SEGV_ACCERR, not
  // SEGV_MAPERR, even where the stub has nothing mapped yet).
  bool Mapped(uint64_t addr);
  // Whether `addr` is in a file mapping's page that lies wholly past the
  // end of its file (an access there is SIGBUS in Linux).
  bool PastFileEnd(uint64_t addr);

  // Writes zeros over [addr, addr+len) regardless of protection (exec's bss).
  Result<void> ZeroForce(uint64_t addr, uint64_t len);
  // Writes bytes regardless of protection (exec's initial stack).
  Result<void> CopyOutForce(uint64_t addr, std::span<const uint8_t> src);

  Result<void> CopyIn(uint64_t addr, std::span<uint8_t> dst) override;
  Result<void> CopyOut(uint64_t addr, std::span<const uint8_t> src) override;
  // Copies as much as is accessible; returns the count.
  size_t CopyInPartial(uint64_t addr, std::span<uint8_t> dst);
  // Copies what of [addr, addr+len) is resident in the memory file, up to
  // the first page that is not, whatever the protection and without
  // faulting anything in: how another address space's thread reads this
  // one (/proc/[pid]/cmdline, environ, mem), since only this one's own
  // threads can change its stub. Returns the count.
  size_t Peek(uint64_t addr, std::span<uint8_t> dst);
  // A NUL-terminated string of at most `max` bytes with the NUL:
  // ENAMETOOLONG if longer, EFAULT if unreadable.
  Result<std::string> CopyInString(uint64_t addr, size_t max);

  template <class T>
  Result<T> CopyIn(UserPtr<T> p) {
    T v;
    TRY(CopyIn(p.addr, std::span<uint8_t>(reinterpret_cast<uint8_t*>(&v), sizeof(T))));
    return v;
  }
  template <class T>
  Result<void> CopyOut(UserPtr<T> p, const T& v) {
    return CopyOut(p.addr, std::span<const uint8_t>(reinterpret_cast<const uint8_t*>(&v), sizeof(T)));
  }

  // Views of application memory [addr, addr+len) for a read(2) to fill
  // (Out) or a write(2) to drain (In). They cover the accessible prefix;
  // EFAULT if not even the first byte is accessible (and len > 0).
  Result<vfs::IoVecs> OutBuffer(uint64_t addr, uint64_t len);
  Result<vfs::IoVecs> InBuffer(uint64_t addr, uint64_t len);

  // The 32-bit word at `addr` in the memory file, for atomic operations
  // (futex wake-op): EINVAL if misaligned, EFAULT if not writable.
  Result<uint32_t*> AtomicWord(uint64_t addr);

  // Where the word at `addr` lives in the memory file, if `addr` is in a
  // shared mapping (the same for every process that maps the page): the
  // key of a shared futex. Null for private memory or an unmapped address.
  std::optional<uint64_t> SharedOffset(uint64_t addr);

  // The text of /proc/self/maps.
  std::string Maps();

  // One VMA as /proc/[pid]/maps and smaps see it, with what of it is
  // resident (has pages): all of it, anonymous memory of this address
  // space, and shared memory.
  struct VmaInfo {
    uint64_t start = 0;
    Vma vma;
    uint64_t rss = 0;
    uint64_t rss_anon = 0;
    uint64_t rss_shmem = 0;
  };
  std::vector<VmaInfo> VmaSnapshot();
  // Where exec put the argument and environment strings (mm_struct's
  // arg_start, arg_end, env_start, env_end: /proc/[pid]/cmdline, environ)
  // and the initial stack pointer; fork copies them.
  struct ArgRegion {
    uint64_t arg_start = 0;
    uint64_t arg_end = 0;
    uint64_t env_start = 0;
    uint64_t env_end = 0;
    uint64_t start_stack = 0;
  };
  ArgRegion arg_region() {
    absl::MutexLock lock(&mu_);
    return args_;
  }
  void set_arg_region(const ArgRegion& r) {
    absl::MutexLock lock(&mu_);
    args_ = r;
  }
  // The heap's start and the break.
  std::pair<uint64_t, uint64_t> BrkRange() {
    absl::MutexLock lock(&mu_);
    return {brk_start_, brk_};
  }

 private:
  using VmaMap = std::map<uint64_t, Vma>;
  using PmaMap = std::map<uint64_t, Pma>;

  bool Overlaps(uint64_t start, uint64_t end) const ABSL_SHARED_LOCKS_REQUIRED(mu_);
  bool OverlapsReserved(uint64_t start, uint64_t end) const;
  Result<uint64_t> FindFree(uint64_t len, uint64_t hint) const ABSL_SHARED_LOCKS_REQUIRED(mu_);
  // Splits the VMA and PMA containing `addr` so that one starts there.
  void SplitAt(uint64_t addr) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  void SplitPmaAt(uint64_t addr) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // The VMA containing `addr`, or else the first one above it.
  VmaMap::iterator FirstVmaEndingAfter(uint64_t addr) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // Joins neighbouring VMAs around [start, end) that differ in nothing but
  // their range, as Linux's vma_merge does.
  Result<vfs::IoVecs> Views(uint64_t addr, uint64_t len, Access access);
  void MergeVmas(uint64_t start, uint64_t end) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  static bool Mergeable(const Vma& a, uint64_t a_start, const Vma& b);
  Result<void> UnmapLocked(uint64_t start, uint64_t end) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // Removes the PMAs in [start, end) (after SplitAt on both ends); frees
  // their memory unless `keep`.
  void DropPmas(uint64_t start, uint64_t end) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // The stub operations: nothing while a forked child's stub is still
  // empty (MapAll maps what the PMAs say then), so the parent may write
  // into the child's memory first (CLONE_CHILD_SETTID).
  Result<void> StubMap(uint64_t addr, uint64_t len, int prot, uint64_t offset, bool populate = false)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  Result<void> StubMapFile(uint64_t addr, uint64_t len, int prot, int fd, uint64_t offset)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  Result<void> StubUnmap(uint64_t addr, uint64_t len) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  Result<void> StubProtect(uint64_t addr, uint64_t len, int prot) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // The memory-file ranges of [offset, offset+len) worth populating in a
  // forked child's stub: where pages hold data, a bounded number of runs.
  std::vector<std::pair<uint64_t, uint64_t>> PopulateRuns(uint64_t offset, uint64_t len);
  // Makes the copy-on-write pages of [from, to) (page aligned, inside one
  // VMA whose protection is `prot`) this manager's own: pages someone else
  // still holds are copied, the others just become writable in the stub.
  Result<void> Unshare(uint64_t from, uint64_t to, int prot) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // Unshare for a write fault at `addr` in the copy-on-write PMA `p`
  // (inside `vma`): the page's neighbours with the same number of holders
  // too, up to a chunk (kCowChunk to copy, kUnprotectChunk to unprotect).
  Result<void> UnshareForFault(VmaMap::iterator vma, PmaMap::iterator p, uint64_t addr)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  Result<void> InsertAnonymousPma(uint64_t start, uint64_t end, int prot)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // Makes sure the page at `addr` (inside `vma`) has a PMA; reads file
  // content for file mappings. EFAULT past the end of the file.
  Result<void> Populate(VmaMap::iterator vma, uint64_t addr) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // Populate for a private mapping that is not writable: the whole gap
  // around `page` maps the host file itself. False if it cannot.
  bool PopulateFromHost(VmaMap::iterator vma, uint64_t page, std::shared_ptr<const ScopedFd> host)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // Replaces the host-file pages of [from, to), inside one host PMA, with a
  // private copy in the memory file.
  Result<void> Materialize(uint64_t from, uint64_t to) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // Maps [from, to) of the PMA at `pma_start` into the stub with the
  // protection of each VMA it crosses.
  Result<void> MapPma(uint64_t from, uint64_t to, uint64_t pma_start, const Pma& p, bool populate)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // Walks [addr, addr+len) calling fn(host pointer, length) for each
  // contiguous accessible piece; stops at the first inaccessible byte.
  // Returns bytes walked.
  template <class Fn>
  size_t Walk(uint64_t addr, uint64_t len, Access access, bool force, Fn fn);
  Result<uint64_t> Duplicate(VmaMap::iterator vit, uint64_t old_addr, uint64_t len, int flags,
                             uint64_t new_addr) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);

  MemoryFile& mf_;
  std::shared_ptr<platform::AddressSpace> as_;
  std::vector<platform::ReservedRange> reserved_;
  const uint64_t mmap_base_;

  absl::Mutex mu_;
  VmaMap vmas_ ABSL_GUARDED_BY(mu_);
  PmaMap pmas_ ABSL_GUARDED_BY(mu_);
  uint64_t brk_start_ ABSL_GUARDED_BY(mu_) = 0;
  uint64_t brk_ ABSL_GUARDED_BY(mu_) = 0;
  ArgRegion args_ ABSL_GUARDED_BY(mu_);
  // False from Fork until MapAll: the child's stub has nothing mapped yet.
  bool stub_mapped_ ABSL_GUARDED_BY(mu_) = true;
  // mlockall(MCL_FUTURE): new mappings are locked (Linux's def_flags).
  bool lock_future_ ABSL_GUARDED_BY(mu_) = false;
};

}  // namespace husk::mm
