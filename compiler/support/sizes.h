// Size arithmetic on numbers a user chose (dimensions, batch, context, example counts, buffer offsets):
// overflow is a netc::Error naming what was being sized, never undefined behaviour, and a buffer that the
// machine's memory cannot hold is an error before anything is allocated.
#pragma once
#include <cstdint>
#include <string>
#include <string_view>

namespace netc {

// The most elements one value may hold, with its batch size bound: indices into any one buffer stay within
// int32, and every byte size and offset computed from them within int64.
constexpr int64_t kMaxElements = 2147483647;

// Sane limits of the sections' settings and their command-line overrides: beyond them a run would take
// longer than anyone waits, or its buffers more memory than a machine has, so they are errors at the setting.
constexpr int64_t kMaxWholeNumber = 9'000'000'000'000'000;  // 9e15: below 2^53, exact in a double
constexpr int64_t kMaxSteps = 1'000'000'000;     // steps, log/eval/probe_every, lr `until` (days of training)
constexpr int64_t kMaxContext = 1024;             // the context length T (makemore's models use 3 to 32)
constexpr int64_t kMaxSampleCount = 1'000'000;    // the sample section's count (the run keeps every word)

// a * b and a + b; on overflow a netc::Error "<what> is too large (...)". Operands must be >= 0.
int64_t checkedMul(int64_t a, int64_t b, std::string_view what);
int64_t checkedAdd(int64_t a, int64_t b, std::string_view what);

// The physical memory of this machine in bytes (a generous 2^62 when it cannot be told).
int64_t machineMemoryBytes();
// Fails with "<what> needs 48.2 GB of memory, more than this machine has (23.4 GB)<hint>" when `bytes` is
// more than the machine's memory: a clear error instead of a bad_alloc or an overcommitted arena.
void checkFitsInMemory(int64_t bytes, std::string_view what, std::string_view hint = "");
// "512 bytes", "3.1 MB", "48.2 GB".
std::string formatBytes(int64_t bytes);

}  // namespace netc
