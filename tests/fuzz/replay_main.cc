// A stand-in for libFuzzer's main() when no suitable clang is installed:
// replays every file of the given corpus directories through
// LLVMFuzzerTestOneInput, then feeds it `-runs=N` random mutations of them.
// There is no coverage feedback, so the mutations know the ELF layout
// instead: they aim at header and program header fields and at the values
// the loader's checks turn on. Built with ASan and UBSan, so a bug aborts.
//
//   loader_fuzz_replay [-runs=N] [-seed=S] [-artifact_prefix=P] DIR_OR_FILE...
//
// On a crash the input being run is written to P + "crash-input".
#include <fcntl.h>
#include <sanitizer/common_interface_defs.h>
#include <unistd.h>

#include <algorithm>
#include <csignal>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <random>
#include <span>
#include <string>
#include <string_view>
#include <vector>

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size);

namespace {

using Bytes = std::vector<uint8_t>;
constexpr size_t kMaxInput = 1 << 20;  // corpus files are cut to this

// What DumpCurrentInput() writes where; set before each run.
const Bytes* g_current = nullptr;
std::string g_artifact_path = "crash-input";

// Runs from the sanitizers' death callback or a fatal signal handler, so it
// sticks to async-signal-safe calls.
void DumpCurrentInput() {
  if (g_current == nullptr) return;
  int fd = open(g_artifact_path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (fd < 0) return;
  const uint8_t* p = g_current->data();
  size_t left = g_current->size();
  while (left > 0) {
    ssize_t n = write(fd, p, left);
    if (n <= 0) break;
    p += n;
    left -= static_cast<size_t>(n);
  }
  close(fd);
  static const char kMsg[] = "loader_fuzz_replay: crashing input saved\n";
  (void)!write(STDERR_FILENO, kMsg, sizeof(kMsg) - 1);
}

// A broken invariant calls abort(), which the sanitizers leave alone.
void OnFatalSignal(int sig) {
  DumpCurrentInput();
  signal(sig, SIG_DFL);
  raise(sig);
}

void Run(const Bytes& input) {
  g_current = &input;
  LLVMFuzzerTestOneInput(input.data(), input.size());
  g_current = nullptr;
}

void LoadFile(const std::filesystem::path& path, std::vector<Bytes>& corpus) {
  std::ifstream in(path, std::ios::binary);
  Bytes bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  if (bytes.size() > kMaxInput) bytes.resize(kMaxInput);
  corpus.push_back(std::move(bytes));
}

std::vector<Bytes> LoadCorpus(const std::vector<std::string>& paths) {
  std::vector<Bytes> corpus;
  for (const std::string& p : paths) {
    if (std::filesystem::is_directory(p)) {
      for (const auto& entry : std::filesystem::directory_iterator(p)) {
        if (entry.is_regular_file()) LoadFile(entry.path(), corpus);
      }
    } else {
      LoadFile(p, corpus);
    }
  }
  return corpus;
}

// Values the loader compares against: sizes, limits, page and address
// boundaries, and the bytes #! parsing cares about.
constexpr uint64_t kInteresting[] = {
    0, 1, 2, 7, 8, 56, 64, 0xff, 0x100, 0xfff, 0x1000, 0x1001, 1170, 1171, 4095, 4096, 4097,
    0x10000, 0x400000, 0x7ffffffff000, 0x800000000000, 0x7fffffffffffffff, 0x8000000000000000,
    UINT64_MAX - 0xfff, UINT64_MAX - 1, UINT64_MAX};
constexpr uint8_t kInterestingBytes[] = {0,   1,   2,    3,    6,   0x3e, 0x7f, 0x80,
                                         0xff, ' ', '\t', '\n', '#', '!',  '/'};

class Mutator {
 public:
  explicit Mutator(uint64_t seed) : rng_(seed) {}

  void Mutate(Bytes& b, const std::vector<Bytes>& corpus) {
    int rounds = 1 + Below(4);
    for (int i = 0; i < rounds; ++i) MutateOnce(b, corpus);
  }

 private:
  size_t Below(size_t n) {
    return n == 0 ? 0 : std::uniform_int_distribution<size_t>(0, n - 1)(rng_);
  }

  // Most of what matters lives in the ELF header and program headers.
  size_t Position(const Bytes& b) {
    size_t hot = std::min<size_t>(b.size(), 64 + 16 * 56);
    return Below(2) ? Below(hot) : Below(b.size());
  }

  void MutateOnce(Bytes& b, const std::vector<Bytes>& corpus) {
    switch (Below(7)) {
      case 0:  // flip a bit
        if (!b.empty()) b[Position(b)] ^= static_cast<uint8_t>(1u << Below(8));
        break;
      case 1:  // an interesting byte
        if (!b.empty()) b[Position(b)] = kInterestingBytes[Below(std::size(kInterestingBytes))];
        break;
      case 2: {  // an interesting 2-, 4- or 8-byte field, usually aligned like ELF fields
        size_t width = size_t{2} << Below(3);
        if (b.size() < width) break;
        size_t at = std::min(Position(b), b.size() - width);
        if (Below(4)) at &= ~(width - 1);
        uint64_t v = kInteresting[Below(std::size(kInteresting))];
        if (Below(4) == 0) v += Below(3) - 1;
        std::memcpy(&b[at], &v, width);
        break;
      }
      case 3:  // truncate
        b.resize(Below(b.size() + 1));
        break;
      case 4: {  // erase a span
        if (b.empty()) break;
        size_t at = Below(b.size());
        b.erase(b.begin() + at, b.begin() + at + Below(std::min<size_t>(b.size() - at, 64) + 1));
        break;
      }
      case 5: {  // insert random bytes
        size_t at = Below(b.size() + 1);
        Bytes extra(Below(32) + 1);
        for (uint8_t& x : extra) x = static_cast<uint8_t>(Below(256));
        b.insert(b.begin() + at, extra.begin(), extra.end());
        break;
      }
      case 6: {  // overwrite with a chunk of another input
        const Bytes& other = corpus[Below(corpus.size())];
        if (other.empty() || b.empty()) break;
        size_t from = Below(other.size());
        size_t to = Below(b.size());
        size_t len = std::min({other.size() - from, b.size() - to, Below(256) + 1});
        std::memcpy(&b[to], &other[from], len);
        break;
      }
    }
    if (b.size() > kMaxInput) b.resize(kMaxInput);
  }

  std::mt19937_64 rng_;
};

bool ParseFlag(std::string_view arg, std::string_view name, uint64_t& value) {
  if (!arg.starts_with(name)) return false;
  value = std::strtoull(std::string(arg.substr(name.size())).c_str(), nullptr, 10);
  return true;
}

}  // namespace

int main(int argc, char** argv) {
  uint64_t runs = 20000;
  uint64_t seed = 1;
  std::vector<std::string> paths;
  for (int i = 1; i < argc; ++i) {
    std::string_view arg = argv[i];
    if (arg.starts_with("-artifact_prefix=")) {
      g_artifact_path = std::string(arg.substr(17)) + "crash-input";
    } else if (!ParseFlag(arg, "-runs=", runs) && !ParseFlag(arg, "-seed=", seed)) {
      paths.emplace_back(arg);
    }
  }
  __sanitizer_set_death_callback(DumpCurrentInput);
  signal(SIGABRT, OnFatalSignal);
  std::vector<Bytes> corpus = LoadCorpus(paths);
  if (corpus.empty()) {
    std::fprintf(stderr, "loader_fuzz_replay: empty corpus; refusing to pass without running\n");
    return 2;
  }
  for (const Bytes& input : corpus) Run(input);
  std::printf("replayed %zu corpus inputs\n", corpus.size());

  Mutator mutator(seed);
  for (uint64_t i = 0; i < runs; ++i) {
    Bytes input = corpus[i % corpus.size()];
    mutator.Mutate(input, corpus);
    Run(input);
  }
  std::printf("ran %llu mutations (seed %llu): no crash\n", static_cast<unsigned long long>(runs),
              static_cast<unsigned long long>(seed));
  return 0;
}
