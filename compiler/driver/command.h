// Each `netc COMMAND` lives in its own driver/cmd_*.cpp and registers itself with the CLI in main.cpp.
#pragma once
#include <CLI/CLI.hpp>
#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "lower/model.h"

namespace netc::driver {

// Options most commands share: the model file and the dataset override.
struct ModelOptions {
  std::string model;
  std::string data;
  std::vector<std::string> sets;  // --set NAME=VALUE (lower/overrides.h)
  void add(CLI::App* cmd, bool modelRequired = true);
  Model load() const;
};

// --seed, checked to be a whole number in 0..2^64-1 (a usage error otherwise); checkSeed gives the message,
// or "" for a valid seed.
std::string checkSeed(const std::string& text);
CLI::Option* addSeedOption(CLI::App* cmd, uint64_t& seed, const std::string& help);
CLI::Option* addSeedOption(CLI::App* cmd, std::optional<uint64_t>& seed, const std::string& help);
// Checks of command-line values: a bad one is a usage error (netc::UsageError, exit status 2) naming the flag.
// `value` in [lo, hi], or "--steps must be 0 or more, found -5" / "--steps must be at most 1000000000, found ...".
int64_t checkFlag(const char* flag, int64_t value, int64_t lo, int64_t hi);
// A --batch for this graph: at least 1, and small enough for every value to fit (graph.h, batchProblem).
int64_t checkBatchFlag(const Graph& g, int64_t batch, const char* flag = "--batch");

// The action run after parsing; commands set it in their register function. Returns the exit status.
using Action = std::function<int()>;

void registerCheck(CLI::App& app, Action& action);
void registerIr(CLI::App& app, Action& action);
void registerInit(CLI::App& app, Action& action);
void registerGrad(CLI::App& app, Action& action);
void registerGradcheck(CLI::App& app, Action& action);
void registerRun(CLI::App& app, Action& action);
void registerSample(CLI::App& app, Action& action);
void registerBench(CLI::App& app, Action& action);
void registerSweep(CLI::App& app, Action& action);
void registerCompare(CLI::App& app, Action& action);
void registerLrFind(CLI::App& app, Action& action);

// The path of this netc executable (for child processes).
std::string selfExecutable();

}  // namespace netc::driver
