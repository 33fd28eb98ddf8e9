// Writes the loader fuzzer's seed corpus into the directory named by argv[1]:
// crafted ELF images (from the unit tests' builder), a few #! scripts, and a
// copy of the host's /bin/true when there is one. Generated at build time so
// no binaries are committed.
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include "tests/unit/loader/elf_builder.h"

namespace {

using husk::loader::testing::ElfBuilder;
namespace fs = std::filesystem;

void Write(const fs::path& path, const std::vector<uint8_t>& bytes) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out.write(reinterpret_cast<const char*>(bytes.data()),
            static_cast<std::streamsize>(bytes.size()));
}

void Write(const fs::path& path, const std::string& text) {
  Write(path, std::vector<uint8_t>(text.begin(), text.end()));
}

}  // namespace

int main(int argc, char** argv) {
  if (argc != 2) {
    std::fprintf(stderr, "usage: %s OUTPUT_DIR\n", argv[0]);
    return 2;
  }
  fs::path dir = argv[1];
  fs::create_directories(dir);

  Write(dir / "static_exec.elf", husk::loader::testing::StaticExec().Build());
  Write(dir / "pie_interp.elf", husk::loader::testing::PieWithInterp().Build());
  ElfBuilder exec_stack = husk::loader::testing::StaticExec();
  exec_stack.phdrs.back().p_flags |= PF_X;
  exec_stack.Phdr(PT_PHDR, PF_R, 64, 0x400040, 4 * 56, 4 * 56, 8);
  Write(dir / "exec_stack_phdr.elf", exec_stack.Build());

  Write(dir / "sh.script", std::string("#!/bin/sh\necho hello\n"));
  Write(dir / "env.script", std::string("#! /usr/bin/env  python3 -u \nprint(1)\n"));
  Write(dir / "tabs.script", std::string("#!\t/bin/awk\t-f\t\n"));
  Write(dir / "long.script", "#!/bin/sh " + std::string(300, 'a') + "\n");
  Write(dir / "stack.args", std::string("\x02\x40\x07prog\0-x\0A=1\0B=2\0/bin/prog", 28));

  std::error_code ignored;
  if (fs::exists("/bin/true"))
    fs::copy_file("/bin/true", dir / "true.elf", fs::copy_options::overwrite_existing, ignored);
  return 0;
}
