#include "vfs/sys/sysfs.h"

#include <sys/sysmacros.h>

#include <fmt/format.h>

#include "vfs/proc/internal.h"
#include "vfs/proc/synth.h"

namespace husk::vfs {
namespace {

constexpr long kSysfsMagic = 0x62656572;
constexpr unsigned kSysMinor = 21;

using proc::InoOf;
using proc::StaticDir;
using proc::TextFile;

std::shared_ptr<TextFile> Text(const proc::SynthFs& fs, const std::string& key, std::string text) {
  return std::make_shared<TextFile>(fs, InoOf(key), [text = std::move(text)]() -> Result<std::string> {
    return text;
  });
}

}  // namespace

std::shared_ptr<Mount> NewSysMount(const std::vector<uint8_t>& cpus) {
  const proc::SynthFs fs{makedev(0, kSysMinor), kSysfsMagic};
  const std::string list = proc::CpuList(cpus) + "\n";
  auto root = std::make_shared<StaticDir>(fs, 1, 0555);

  auto cpu = std::make_shared<StaticDir>(fs, InoOf("devices/system/cpu"), 0755);
  cpu->Add("online", Text(fs, "devices/system/cpu/online", list));
  cpu->Add("possible", Text(fs, "devices/system/cpu/possible", list));
  cpu->Add("present", Text(fs, "devices/system/cpu/present", list));
  cpu->Add("offline", Text(fs, "devices/system/cpu/offline", "\n"));
  cpu->Add("kernel_max", Text(fs, "devices/system/cpu/kernel_max", "8191\n"));
  // glibc's get_nprocs_conf counts the cpuN directories.
  for (size_t byte = 0; byte < cpus.size(); ++byte) {
    for (int bit = 0; bit < 8; ++bit) {
      if (!(cpus[byte] & (1u << bit))) continue;
      const std::string name = fmt::format("cpu{}", byte * 8 + bit);
      auto dir = std::make_shared<StaticDir>(fs, InoOf("devices/system/cpu/" + name), 0755);
      dir->Add("online", Text(fs, "devices/system/cpu/" + name + "/online", "1\n"));
      cpu->Add(name, dir);
    }
  }
  auto system = std::make_shared<StaticDir>(fs, InoOf("devices/system"), 0755);
  system->Add("cpu", cpu);
  auto devices = std::make_shared<StaticDir>(fs, InoOf("devices"), 0755);
  devices->Add("system", system);
  root->Add("devices", devices);

  auto fsdir = std::make_shared<StaticDir>(fs, InoOf("fs"), 0755);
  fsdir->Add("cgroup", std::make_shared<StaticDir>(fs, InoOf("fs/cgroup"), 0755));
  root->Add("fs", fsdir);
  root->Add("kernel", std::make_shared<StaticDir>(fs, InoOf("kernel"), 0755));
  root->Add("class", std::make_shared<StaticDir>(fs, InoOf("class"), 0755));
  root->Add("bus", std::make_shared<StaticDir>(fs, InoOf("bus"), 0755));

  auto dentry = std::make_shared<Dentry>(nullptr, "", std::move(root));
  return std::make_shared<Mount>(std::move(dentry), "sysfs", "sysfs", /*read_only=*/true);
}

}  // namespace husk::vfs
