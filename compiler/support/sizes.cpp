#include "support/sizes.h"

#include <fmt/format.h>
#include <unistd.h>

#include "support/diag.h"

namespace netc {

int64_t checkedMul(int64_t a, int64_t b, std::string_view what) {
  int64_t r = 0;
  if (a < 0 || b < 0 || __builtin_mul_overflow(a, b, &r))
    fail(fmt::format("{} is too large: {} x {} does not fit in 64 bits", what, a, b));
  return r;
}

int64_t checkedAdd(int64_t a, int64_t b, std::string_view what) {
  int64_t r = 0;
  if (a < 0 || b < 0 || __builtin_add_overflow(a, b, &r))
    fail(fmt::format("{} is too large: {} + {} does not fit in 64 bits", what, a, b));
  return r;
}

int64_t machineMemoryBytes() {
  const long pages = ::sysconf(_SC_PHYS_PAGES), page = ::sysconf(_SC_PAGESIZE);
  int64_t bytes = 0;
  if (pages <= 0 || page <= 0 || __builtin_mul_overflow(static_cast<int64_t>(pages), static_cast<int64_t>(page), &bytes))
    return int64_t{1} << 62;
  return bytes;
}

std::string formatBytes(int64_t bytes) {
  const double b = static_cast<double>(bytes);
  if (bytes < 1000) return fmt::format("{} bytes", bytes);
  if (b < 1e6) return fmt::format("{:.1f} kB", b / 1e3);
  if (b < 1e9) return fmt::format("{:.1f} MB", b / 1e6);
  return fmt::format("{:.1f} GB", b / 1e9);
}

void checkFitsInMemory(int64_t bytes, std::string_view what, std::string_view hint) {
  const int64_t have = machineMemoryBytes();
  if (bytes > have)
    fail(fmt::format("{} needs {} of memory, more than this machine has ({}){}", what, formatBytes(bytes),
                     formatBytes(have), hint));
}

}  // namespace netc
