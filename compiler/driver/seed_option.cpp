// --seed on every command: parsed exactly, like `seed = ...` in a model file. CLI11's own conversion to
// uint64_t reads "-1" as 2^64-1 and clamps values past 2^64-1, so a typo would silently pick another seed.
#include <charconv>
#include <fmt/format.h>

#include "driver/command.h"

namespace netc::driver {

std::string checkSeed(const std::string& text) {
  uint64_t v = 0;
  const char* end = text.data() + text.size();
  auto [ptr, ec] = std::from_chars(text.data(), end, v);
  if (!text.empty() && text[0] == '-')
    return fmt::format("a seed must be 0 or more, found {}", text);
  if (ec == std::errc::result_out_of_range)
    return fmt::format("{} is out of range: a seed lies in 0..18446744073709551615 (2^64-1)", text);
  if (text.empty() || ec != std::errc() || ptr != end)
    return fmt::format("a seed is a whole number in 0..18446744073709551615, found '{}'", text);
  return "";
}

CLI::Option* addSeedOption(CLI::App* cmd, uint64_t& seed, const std::string& help) {
  return cmd->add_option("--seed", seed, help)->check(CLI::Validator(checkSeed, "SEED"));
}

CLI::Option* addSeedOption(CLI::App* cmd, std::optional<uint64_t>& seed, const std::string& help) {
  return cmd->add_option("--seed", seed, help)->check(CLI::Validator(checkSeed, "SEED"));
}

}  // namespace netc::driver
