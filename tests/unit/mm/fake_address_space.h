// A platform::AddressSpace that runs nothing: it records the Map, Unmap and
// Protect calls the memory manager makes and keeps a page-by-page model of
// what the stub would have mapped, so tests can check that the stub's view
// follows the VMAs and PMAs.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <vector>

#include "base/align.h"
#include "platform/platform.h"

namespace husk::mm::testing {

class FakeContext : public platform::Context {
 public:
  platform::Event Switch(platform::Regs&) override { return {platform::Event::Kind::kDied, {}}; }
  platform::Regs InitialRegs() override { return {}; }
  Result<timespec> CpuTime(bool) override { return timespec{}; }
  Result<void> Adopt() override { return Ok(); }
  void Interrupt() override {}
  Result<void> GetFp(user_fpregs_struct&) override { return Errno(EINVAL); }
  Result<void> SetFp(const user_fpregs_struct&) override { return Ok(); }
  const platform::XstateLayout& Xstate() override { return xstate_; }
  Result<void> GetXstate(std::span<uint8_t>) override { return Errno(EINVAL); }
  Result<void> SetXstate(std::span<const uint8_t>) override { return Ok(); }
  platform::SignalTrampolines Trampolines() override { return {}; }

 private:
  platform::XstateLayout xstate_;  // no XSAVE
};

class FakeAddressSpace : public platform::AddressSpace {
 public:
  struct Call {
    enum class Kind { kMap, kMapFile, kUnmap, kProtect };
    Kind kind;
    uint64_t addr;
    uint64_t len;
    int prot;               // kMap, kMapFile, kProtect
    uint64_t offset;        // kMap: memory-file offset; kMapFile: file offset
    bool populate = false;  // kMap: the pages already hold data

    bool operator==(const Call&) const = default;
  };
  // What the stub has at one page.
  struct Page {
    int prot = 0;
    uint64_t offset = 0;  // memory-file offset, or the host file's
    int host_fd = -1;     // MapFile's host file
  };

  Result<void> Map(uint64_t addr, uint64_t len, int prot, uint64_t offset,
                   bool populate) override {
    calls_.push_back({Call::Kind::kMap, addr, len, prot, offset, populate});
    for (uint64_t i = 0; i < len; i += kPageSize) pages_[addr + i] = Page{prot, offset + i};
    return Ok();
  }
  Result<void> MapFile(uint64_t addr, uint64_t len, int prot, int fd, uint64_t offset) override {
    calls_.push_back({Call::Kind::kMapFile, addr, len, prot, offset});
    for (uint64_t i = 0; i < len; i += kPageSize) pages_[addr + i] = Page{prot, offset + i, fd};
    return Ok();
  }
  Result<void> Unmap(uint64_t addr, uint64_t len) override {
    calls_.push_back({Call::Kind::kUnmap, addr, len, 0, 0});
    for (uint64_t i = 0; i < len; i += kPageSize) pages_.erase(addr + i);
    return Ok();
  }
  Result<void> Protect(uint64_t addr, uint64_t len, int prot) override {
    calls_.push_back({Call::Kind::kProtect, addr, len, prot, 0});
    for (uint64_t i = 0; i < len; i += kPageSize) {
      if (auto it = pages_.find(addr + i); it != pages_.end()) it->second.prot = prot;
    }
    return Ok();
  }
  Result<void> Reset() override {
    pages_.clear();
    return Ok();
  }
  Result<std::unique_ptr<platform::AddressSpace>> Fork() override { return Errno(ENOSYS); }
  Result<std::unique_ptr<platform::Context>> NewThread() override { return Errno(ENOSYS); }
  std::unique_ptr<platform::Context> TakeFirstThread() override { return nullptr; }

  const std::vector<Call>& calls() const { return calls_; }
  void ClearCalls() { calls_.clear(); }
  std::vector<Call> CallsOf(Call::Kind kind) const {
    std::vector<Call> out;
    for (const auto& c : calls_) {
      if (c.kind == kind) out.push_back(c);
    }
    return out;
  }

  // The page at `addr`, if the stub has one there.
  std::optional<Page> PageAt(uint64_t addr) const {
    auto it = pages_.find(PageDown(addr));
    if (it == pages_.end()) return std::nullopt;
    return it->second;
  }
  bool Mapped(uint64_t addr) const { return PageAt(addr).has_value(); }
  size_t MappedPages() const { return pages_.size(); }

 private:
  FakeContext context_;
  std::vector<Call> calls_;
  std::map<uint64_t, Page> pages_;
};

}  // namespace husk::mm::testing
