// memfd_create(2) and file seals (fcntl F_ADD_SEALS, F_GET_SEALS): unnamed
// tmpfs files on the kernel's internal tmpfs; their pages are the memory
// file's, so MAP_SHARED mappings in any process share them.
#include <fcntl.h>
#include <linux/memfd.h>
#include <sys/mman.h>

#include <algorithm>
#include <vector>

#include "sentry/syscalls/handlers.h"
#include "sentry/syscalls/util.h"
#include "vfs/pages.h"
#include "vfs/tmpfs/tmpfs.h"

namespace husk::syscalls {
namespace {

// Newer than the build's headers (Linux 6.3).
constexpr unsigned kMfdNoexecSeal = 0x0008;
constexpr unsigned kMfdExec = 0x0010;
constexpr unsigned kSealExec = 0x0020;
constexpr unsigned kMfdAllFlags = MFD_CLOEXEC | MFD_ALLOW_SEALING | MFD_HUGETLB | kMfdNoexecSeal | kMfdExec;
constexpr unsigned kMfdHugeBits = MFD_HUGE_MASK << MFD_HUGE_SHIFT;
constexpr unsigned kAllSeals =
    F_SEAL_SEAL | F_SEAL_SHRINK | F_SEAL_GROW | F_SEAL_WRITE | F_SEAL_FUTURE_WRITE | kSealExec;
// MFD_NAME_MAX_LEN: NAME_MAX less the "memfd:" prefix.
constexpr size_t kMemfdNameMax = 255 - 6;

// Whether some address space maps `pages` shared and may write through it
// (VM_SHARED with VM_MAYWRITE, Linux's i_mmap_writable): F_SEAL_WRITE then
// cannot be added.
bool MappedWritable(Task& t, const std::shared_ptr<vfs::SharedPages>& pages) {
  std::vector<std::shared_ptr<mm::MemoryManager>> mms;
  {
    absl::MutexLock lock(&t.kernel().mu());
    t.kernel().ForEachTaskLocked([&](Task& x) {
      if (x.shared_mm()) mms.push_back(x.shared_mm());
    });
  }
  std::sort(mms.begin(), mms.end());
  mms.erase(std::unique(mms.begin(), mms.end()), mms.end());
  for (const auto& m : mms) {
    for (const auto& v : m->VmaSnapshot()) {
      if (v.vma.shared && v.vma.shm == pages && (v.vma.max_prot & PROT_WRITE)) return true;
    }
  }
  return false;
}

}  // namespace

// memfd_create(2). PARTIAL(hugetlb): there are no huge pages; MFD_HUGETLB
// fails as on a kernel without hugetlbfs (ENOSYS).
Result<uint64_t> MemfdCreate(Task& t, const SyscallArgs& a) {
  const unsigned flags = a.u32(1);
  const unsigned allowed = (flags & MFD_HUGETLB) ? kMfdAllFlags | kMfdHugeBits : kMfdAllFlags;
  if (flags & ~allowed) return Errno(EINVAL);
  if ((flags & kMfdExec) && (flags & kMfdNoexecSeal)) return Errno(EINVAL);
  auto name = t.mm().CopyInString(a.ptr(0), kMemfdNameMax + 1);
  if (!name) return name.error() == Errno(ENAMETOOLONG) ? Errno(EINVAL) : name.error();
  if (flags & MFD_HUGETLB) return Errno(ENOSYS);
  // vm.memfd_noexec 0: a file asked for neither MFD_EXEC nor
  // MFD_NOEXEC_SEAL is executable (mode 0777), as with MFD_EXEC.
  mode_t mode = 0777;
  unsigned seals = F_SEAL_SEAL;
  if (flags & kMfdNoexecSeal) {
    mode &= ~0111;
    seals = kSealExec;
  } else if (flags & MFD_ALLOW_SEALING) {
    seals = 0;
  }
  auto file = TRY(vfs::NewTmpfsMemfd(t.kernel().shm_mount(), *name, mode, seals, t.creds()));
  return InstallFd(t, std::move(file), (flags & MFD_CLOEXEC) != 0);
}

// memfd_fcntl: F_GET_SEALS and F_ADD_SEALS.
Result<uint64_t> FcntlSeals(Task& t, vfs::FileDescription& file, int cmd, unsigned arg) {
  if (file.flags() & O_PATH) return Errno(EBADF);
  if (cmd == F_GET_SEALS) return TRY(file.Seals());
  if (!file.Writable()) return Errno(EPERM);
  if (arg & ~kAllSeals) return Errno(EINVAL);
  const unsigned cur = TRY(file.Seals());
  if (cur & F_SEAL_SEAL) return Errno(EPERM);
  // mapping_deny_writable: no shared mapping may write once F_SEAL_WRITE
  // is on. PARTIAL(race): an mmap racing with this check is not stopped.
  if ((arg & F_SEAL_WRITE) && !(cur & F_SEAL_WRITE) && MappedWritable(t, file.SharedMemory())) {
    return Errno(EBUSY);
  }
  TRY(file.AddSeals(arg));
  return 0;
}

}  // namespace husk::syscalls
