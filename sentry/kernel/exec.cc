// execve: turns a file into a running image (fs/exec.c, fs/binfmt_elf.c,
// fs/binfmt_script.c). The loader parses; this file maps.
#include <sys/auxv.h>
#include <sys/mman.h>
#include <sys/random.h>

#include <algorithm>
#include <array>

#include "base/align.h"
#include "base/log.h"
#include "loader/loader.h"
#include "sentry/kernel/credentials.h"
#include "sentry/kernel/kernel.h"
#include "sentry/kernel/signal_frame.h"

namespace husk::kernel {
namespace {

// TRY past exec's point of no return: the old image is gone, so a failure
// kills the process (with SIGSEGV, as Linux does) as well as failing.
#define LATE(expr)                                                        \
  ({                                                                      \
    auto _husk_late_result = (expr);                                      \
    if (!_husk_late_result.has_value()) [[unlikely]] {                    \
      t.ExitGroup(ExitStatus{0, SIGSEGV, false});                         \
      return _husk_late_result.error();                                   \
    }                                                                     \
    std::move(_husk_late_result).value();                                 \
  })

// ELF_ET_DYN_BASE on x86-64: where a PIE executable is loaded, 2/3 of the
// way up the address space.
constexpr uint64_t kEtDynBase = (mm::kTaskSize / 3 * 2) & ~kPageMask;
constexpr uint64_t kMmapRandomBits = 28;   // vm.mmap_rnd_bits
constexpr uint64_t kStackRandomBits = 22;  // stack_maxrandom_size
constexpr uint64_t kMinGap = 128 << 20;

uint64_t RandomPages(uint64_t bits) {
  uint64_t r = 0;
  (void)getrandom(&r, sizeof(r), 0);
  return (r & ((1ULL << bits) - 1)) << 12;
}

// Reads an open sentry file for the loader.
class FileReader final : public loader::FileReader {
 public:
  explicit FileReader(vfs::FileDescription& f) : f_(f) {}
  Result<size_t> ReadAt(uint64_t offset, std::span<uint8_t> buf) override {
    vfs::IoVecs iov{iovec{buf.data(), buf.size()}};
    return f_.PRead(iov, offset);
  }
  uint64_t Size() override { return f_.Size().value_or(0); }

 private:
  vfs::FileDescription& f_;
};

struct OpenedImage {
  std::shared_ptr<vfs::FileDescription> file;
  vfs::Path path;
  std::string name;  // for /proc/self/maps
};

// Opens the file at `p` for execution: a regular file with execute
// permission.
Result<OpenedImage> OpenExecutable(Kernel& k, Task& t, vfs::Path p) {
  const auto& inode = p.dentry->inode();
  if (!inode->IsRegular()) return Errno(EACCES);
  TRY(vfs::CheckPermission(TRY(inode->Stat()), t.creds(), X_OK));
  auto file = TRY(k.vfs().OpenPath(t.Lookup(), p, O_RDONLY));
  std::string name = k.vfs().PathOf(k.vfs().Root(), p);
  return OpenedImage{std::move(file), std::move(p), std::move(name)};
}

// Opens `path`, looked up from the cwd, for execution.
Result<OpenedImage> OpenExecutable(Kernel& k, Task& t, const std::string& path) {
  return OpenExecutable(k, t, TRY(k.vfs().Resolve(t.Lookup(), t.fs().cwd, path, true)));
}

// Maps the PT_LOAD segments of `img` at `bias`.
Result<void> MapSegments(mm::MemoryManager& mm, const OpenedImage& file,
                         const loader::ElfImage& img, uint64_t bias) {
  for (const auto& seg : img.segments) {
    const uint64_t vaddr = bias + seg.vaddr;
    const uint64_t start = PageDown(vaddr);
    const uint64_t file_end = vaddr + seg.filesz;
    const uint64_t mem_end = PageUp(vaddr + seg.memsz);
    if (seg.filesz > 0) {
      mm::MapRequest req;
      req.addr = start;
      req.len = PageUp(file_end) - start;
      req.prot = seg.prot;
      req.flags = MAP_PRIVATE | MAP_FIXED;
      req.file = file.file;
      req.offset = PageDown(seg.offset);
      req.name = file.name;
      TRY(mm.MMap(req));
      // The rest of the last file page belongs to the bss: zero it.
      if (seg.memsz > seg.filesz && !PageAligned(file_end)) {
        TRY(mm.ZeroForce(file_end, PageUp(file_end) - file_end));
      }
    }
    const uint64_t anon_start = seg.filesz > 0 ? PageUp(file_end) : start;
    if (mem_end > anon_start) {
      mm::MapRequest req;
      req.addr = anon_start;
      req.len = mem_end - anon_start;
      req.prot = seg.prot;
      req.flags = MAP_PRIVATE | MAP_FIXED | MAP_ANONYMOUS;
      TRY(mm.MMap(req));
    }
  }
  return Ok();
}

// Reserves room for a whole ET_DYN image and returns its load bias.
Result<uint64_t> PlaceDynamic(mm::MemoryManager& mm, const loader::ElfImage& img, uint64_t hint) {
  mm::MapRequest req;
  req.addr = hint;
  req.len = img.max_vaddr - img.min_vaddr;
  req.prot = PROT_NONE;
  req.flags = MAP_PRIVATE | MAP_ANONYMOUS;
  uint64_t at = TRY(mm.MMap(req));
  TRY(mm.MUnmap(at, req.len));
  return at - img.min_vaddr;
}

struct Loaded {
  uint64_t bias = 0;
  uint64_t end = 0;  // end of the highest segment
};

Result<Loaded> LoadImage(mm::MemoryManager& mm, const OpenedImage& file,
                         const loader::ElfImage& img, uint64_t hint) {
  Loaded l;
  if (img.dynamic) l.bias = TRY(PlaceDynamic(mm, img, hint));
  TRY(MapSegments(mm, file, img, l.bias));
  l.end = l.bias + img.max_vaddr;
  return l;
}

}  // namespace

Result<void> Kernel::Exec(Task& t, const std::string& path, std::vector<std::string> argv,
                          std::vector<std::string> envp) {
  ExecFile file{TRY(vfs_.Resolve(t.Lookup(), t.fs().cwd, path, true)), path};
  return Exec(t, std::move(file), std::move(argv), std::move(envp));
}

Result<void> Kernel::Exec(Task& t, ExecFile file, std::vector<std::string> argv,
                          std::vector<std::string> envp) {
  const std::string path = file.filename;
  // Follow #! interpreters (binfmt_script) to the ELF file.
  std::string file_path = path;
  OpenedImage exe = TRY(OpenExecutable(*this, t, std::move(file.path)));
  for (int depth = 0;; ++depth) {
    if (depth > 0) exe = TRY(OpenExecutable(*this, t, file_path));
    std::array<uint8_t, 256> head{};
    FileReader reader(*exe.file);
    size_t n = TRY(reader.ReadAt(0, head));
    std::span<const uint8_t> bytes(head.data(), n);
    if (loader::IsElf(bytes)) break;
    auto shebang = TRY(loader::ParseShebang(bytes));
    if (!shebang) return Errno(ENOEXEC);
    // The interpreter would open the script by a /dev/fd name that the
    // exec closes.
    if (file.path_unreachable) return Errno(ENOENT);
    if (depth >= loader::kMaxInterpreterDepth) return Errno(ELOOP);
    // argv becomes: interpreter [arg] script original-argv[1:].
    std::vector<std::string> next{shebang->interp};
    if (shebang->arg) next.push_back(*shebang->arg);
    next.push_back(file_path);
    if (!argv.empty()) next.insert(next.end(), argv.begin() + 1, argv.end());
    argv = std::move(next);
    file_path = shebang->interp;
  }
  FileReader exe_reader(*exe.file);
  loader::ElfImage img = TRY(loader::ParseElf(exe_reader));
  std::optional<OpenedImage> interp;
  std::optional<loader::ElfImage> interp_img;
  if (img.interp) {
    interp = TRY(OpenExecutable(*this, t, *img.interp));
    FileReader r(*interp->file);
    interp_img = TRY(loader::ParseElf(r));
    if (!interp_img->dynamic && interp_img->interp) return Errno(ELIBBAD);
  }

  // A new address space: stack at a random top, mmap area below it.
  const rlimit stack_limit = t.thread_group().GetRlimit(RLIMIT_STACK);
  const uint64_t stack_top = PageDown(mm::kTaskSize - RandomPages(kStackRandomBits));
  const uint64_t stack_size =
      std::clamp<uint64_t>(stack_limit.rlim_cur, 128 << 10, 1ULL << 30);
  const uint64_t gap = std::max<uint64_t>(stack_size + (1 << 20), kMinGap);  // + stack_guard_gap
  const uint64_t mmap_base = PageDown(stack_top - gap - RandomPages(kMmapRandomBits));
  // The other threads of the process end first (de_thread).
  TRY(DeThread(t));
  // exec_mm_release: the old image's robust futexes are released.
  futexes_.ExitRobustList(t);
  // The stub: the prepared one for the first program; a fresh fork of the
  // current one if the address space is shared with a vfork parent;
  // otherwise the current one, emptied. From here on a failure cannot
  // return to the old image (Linux's point of no return).
  std::shared_ptr<platform::AddressSpace> as;
  if (prepared_) {
    as = std::move(prepared_);
  } else if (t.shared_mm().use_count() > 1) {
    as = TRY(t.mm().address_space().Fork());
    auto ctx = as->TakeFirstThread();
    TRY(ctx->Adopt());
    t.SetContext(std::move(ctx));
  } else {
    as = t.mm().shared_address_space();
    TRY(as->Reset());
  }
  auto mm = std::make_shared<mm::MemoryManager>(*memory_, std::move(as), platform_->Reserved(), mmap_base);

  const uint64_t exe_hint = img.dynamic ? kEtDynBase + RandomPages(kMmapRandomBits) : 0;
  Loaded main = LATE(LoadImage(*mm, exe, img, exe_hint));
  uint64_t entry = main.bias + img.entry;
  uint64_t interp_bias = 0;
  if (interp) {
    Loaded l = LATE(LoadImage(*mm, *interp, *interp_img, 0));
    interp_bias = l.bias;
    entry = l.bias + interp_img->entry;
  }
  mm->SetBrkBase(PageUp(main.end) + (img.dynamic || interp ? RandomPages(13) : 0));

  // The stack, and what the ABI puts on it.
  mm::MapRequest stack;
  stack.addr = stack_top - stack_size;
  stack.len = stack_size;
  stack.prot = PROT_READ | PROT_WRITE | (img.exec_stack ? PROT_EXEC : 0);
  stack.flags = MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED | MAP_GROWSDOWN;
  stack.name = "[stack]";
  LATE(mm->MMap(stack));

  loader::StackSpec spec;
  spec.argv = std::move(argv);
  spec.envp = std::move(envp);
  spec.execfn = path;
  (void)getrandom(spec.random.data(), spec.random.size(), 0);
  const auto& c = t.creds();
  spec.auxv = {
      {AT_SYSINFO_EHDR, platform_->VdsoBase()},
      {AT_MINSIGSTKSZ, getauxval(AT_MINSIGSTKSZ)},
      {AT_HWCAP, getauxval(AT_HWCAP)},
      {AT_PAGESZ, kPageSize},
      {AT_CLKTCK, 100},
      {AT_PHDR, main.bias + img.phdr_vaddr},
      {AT_PHENT, img.phent},
      {AT_PHNUM, img.phnum},
      {AT_BASE, interp_bias},
      {AT_FLAGS, 0},
      {AT_ENTRY, main.bias + img.entry},
      {AT_UID, c.uid},
      {AT_EUID, c.euid},
      {AT_GID, c.gid},
      {AT_EGID, c.egid},
      {AT_SECURE, 0},
      {AT_HWCAP2, getauxval(AT_HWCAP2)},
  };
  loader::StackImage image = LATE(loader::BuildStack(stack_top, spec, stack_size / 4));
  LATE(mm->CopyOutForce(image.sp, image.bytes));

  // Past the point of no return: the new image replaces the old.
  platform::Regs regs = t.context().InitialRegs();
  regs.gp.rip = entry;
  regs.gp.rsp = image.sp;
  mm->set_arg_region({image.arg_start, image.arg_end, image.env_start, image.env_end, image.sp});
  std::shared_ptr<mm::MemoryManager> old_mm = t.shared_mm();  // goes outside the lock
  {
    // procfs reads another task's memory manager and exe under the lock.
    absl::MutexLock lock(&mu_);
    t.SetMemoryManager(std::move(mm));
    t.set_exe(exe.path);
  }
  old_mm.reset();
  t.regs() = regs;
  t.fds().CloseOnExec();
  ExecTaskState(t, path);
  (void)ResetFpState(t);  // fpu_flush_thread: nothing of the old image's FP/AVX state stays
  {
    absl::MutexLock lock(&mu_);
    t.thread_group().did_exec = true;
  }
  HUSK_DEBUG("exec {} entry {:#x} sp {:#x}", path, entry, image.sp);
  return Ok();
}

}  // namespace husk::kernel
