// netc: the command-line driver. Commands register themselves; errors become one clear message.
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fmt/format.h>
#include <limits>
#include <new>
#include <system_error>
#include <typeinfo>

#include "driver/command.h"
#include "lower/builtins.h"
#include "support/diag.h"

namespace netc::driver {

void ModelOptions::add(CLI::App* cmd, bool modelRequired) {
  auto* m = cmd->add_option("model", model, "the .net model file");
  if (modelRequired) m->required();
  cmd->add_option("--data", data, "dataset file (one word per line), replacing the model's data path");
  cmd->add_option("--set", sets,
                  "NAME=VALUE: override a const (--set gain=3) or a data/train/sample setting (--set train.lr=0.05); "
                  "repeatable")
      ->allow_extra_args(false)
      ->type_name("NAME=VALUE");
}

Model load(const ModelOptions& o);
Model ModelOptions::load() const {
  LowerOptions lo;
  lo.dataOverride = data;
  lo.overrides = sets;
  return loadModel(model, lo);
}

int64_t checkFlag(const char* flag, int64_t value, int64_t lo, int64_t hi) {
  // CLI11 clamps a number beyond int64 (--steps 99999999999999999999) to the type's limit.
  if (value == std::numeric_limits<int64_t>::max() || value == std::numeric_limits<int64_t>::min())
    usageFail(fmt::format("{} must be between {} and {}, found a number beyond 64 bits", flag, lo, hi));
  if (value < lo) usageFail(fmt::format("{} must be {} or more, found {}", flag, lo, value));
  if (value > hi) usageFail(fmt::format("{} must be at most {}, found {}", flag, hi, value));
  return value;
}

int64_t checkBatchFlag(const Graph& g, int64_t batch, const char* flag) {
  if (batch < 1) usageFail(fmt::format("{} must be at least 1, found {}", flag, batch));
  if (std::string why = batchProblem(g, batch); !why.empty()) usageFail(fmt::format("{}: {}", flag, why));
  return batch;
}

}  // namespace netc::driver

namespace {

// Unknown commands and flags name the closest valid one.
std::string suggestion(const CLI::App& app, const std::string& word) {
  std::vector<std::string> names;
  for (const CLI::App* sub : app.get_subcommands([](const CLI::App*) { return true; })) names.push_back(sub->get_name());
  return netc::didYouMean(word, names);
}

// stdout is buffered: a full disk or a closed pipe shows only when it is flushed, so a command that printed
// everything "successfully" must still check, or `netc ir ... > /dev/full` exits 0 having written nothing.
// (After an error the status is already non-zero and the message said what failed.)
int finishOutput(int status) {
  if ((std::fflush(stdout) != 0 || std::ferror(stdout)) && status == 0) {
    const int err = errno;
    fmt::print(stderr, "netc: error: cannot write to standard output: {}\n", err ? std::strerror(err) : "write error");
    return status == 0 ? 1 : status;
  }
  return status;
}

// The last line of defence: every exception becomes one `netc: error:` line and an exit status documented in
// README.md (1 for a problem with the input, the files or the machine, 3 for an internal error). Known
// failures are caught where they arise and say what was wrong; this only keeps the others from aborting.
int runAction(const netc::driver::Action& action) {
  try {
    return action ? action() : 0;
  } catch (const netc::UsageError& e) {
    std::fflush(stdout);
    fmt::print(stderr, "{}", e.what());
    return 2;
  } catch (const netc::Error& e) {
    std::fflush(stdout);
    fmt::print(stderr, "{}", e.what());
    return 1;
  } catch (const std::bad_alloc&) {
    std::fflush(stdout);
    fmt::print(stderr, "netc: error: out of memory: this machine cannot hold what the command needs (a smaller "
                       "batch size, context or model needs less)\n");
    return 1;
  } catch (const std::filesystem::filesystem_error& e) {
    std::fflush(stdout);
    fmt::print(stderr, "netc: error: {}\n", e.what());
    return 1;
  } catch (const std::system_error& e) {  // e.g. fmt's failed write to stdout on a full disk
    std::fflush(stdout);
    fmt::print(stderr, "netc: error: {}{}\n", std::ferror(stdout) ? "standard output: " : "", e.what());
    return 1;
  } catch (const std::exception& e) {
    std::fflush(stdout);
    fmt::print(stderr, "netc: error: internal error ({}): {}; please report it\n", typeid(e).name(), e.what());
    return 3;
  } catch (...) {
    std::fflush(stdout);
    fmt::print(stderr, "netc: error: internal error: an unknown exception; please report it\n");
    return 3;
  }
}

// Every integer option of every command reads a whole number written in digits, and says so in those words:
// CLI11's own conversion says "Could not convert: --steps = 2.5", and a range check on the same option "Value
// 2.5 not in range". A transform runs before the option's other validators (CLI11 puts it first).
void requireWholeNumbers(CLI::App& app) {
  const CLI::Validator whole(
      [](std::string& text) -> std::string {
        const size_t digits = text.find_first_not_of("0123456789", text.rfind('-', 0) == 0 ? 1 : 0);
        const bool ok = digits == std::string::npos && !text.empty() && text != "-";
        return ok ? std::string() : fmt::format("must be a whole number written in digits, found '{}'", netc::printable(text));
      },
      "");
  for (CLI::App* sub : app.get_subcommands([](const CLI::App*) { return true; }))
    for (CLI::Option* opt : sub->get_options([](const CLI::Option*) { return true; }))
      // The type name is "INT", or "INT:" and a range check's description after it.
      if (const std::string t = opt->get_type_name(); t.starts_with("INT") || t.starts_with("UINT")) opt->transform(whole);
}

}  // namespace

int main(int argc, char** argv) {
  using namespace netc::driver;
  CLI::App app{"netc: a compiler for small neural networks (.net files)", "netc"};
  app.set_version_flag("--version", std::string("netc ") + NETC_VERSION);
  app.require_subcommand(1);
  app.set_help_all_flag("--help-all", "help for every command");
  Action action;
  registerCheck(app, action);
  registerIr(app, action);
  registerInit(app, action);
  registerGrad(app, action);
  registerGradcheck(app, action);
  registerRun(app, action);
  registerSample(app, action);
  registerBench(app, action);
  registerSweep(app, action);
  registerCompare(app, action);
  registerLrFind(app, action);

  requireWholeNumbers(app);

  auto* help = app.add_subcommand("help", "show help for a command: netc help COMMAND; netc help ops lists the ops");
  std::string helpTopic;
  help->add_option("command", helpTopic, "the command, or ops (the ops, functions and initialisers of .net files)");
  help->callback([&] {
    action = [&]() -> int {
      // app.help() would describe the selected subcommand, `help` itself; format the top level explicitly.
      if (helpTopic.empty()) { fmt::print("{}", app.get_formatter()->make_help(&app, "netc", CLI::AppFormatMode::Normal)); return 0; }
      if (helpTopic == "ops") { fmt::print("{}", netc::opsHelp()); return 0; }
      for (CLI::App* sub : app.get_subcommands([](const CLI::App*) { return true; }))
        if (sub->get_name() == helpTopic) { fmt::print("{}", sub->help()); return 0; }
      fmt::print(stderr, "netc: error: unknown command '{}'{}\n", netc::printable(helpTopic), suggestion(app, helpTopic));
      return 2;
    };
  });

  try {
    app.parse(argc, argv);
  } catch (const CLI::CallForHelp& e) {
    return finishOutput(app.exit(e));
  } catch (const CLI::CallForAllHelp& e) {
    return finishOutput(app.exit(e));
  } catch (const CLI::CallForVersion& e) {
    return finishOutput(app.exit(e));
  } catch (const CLI::ParseError& e) {
    std::string msg = e.what();
    // CLI11 reports an unknown command as an extra positional of the top-level app.
    if (argc > 1 && argv[1][0] != '-') {
      bool known = false;
      for (const CLI::App* sub : app.get_subcommands([](const CLI::App*) { return true; }))
        if (sub->get_name() == argv[1]) known = true;
      if (!known) {
        fmt::print(stderr, "netc: error: unknown command '{}'{}; `netc --help` lists the commands\n", netc::printable(argv[1]),
                   suggestion(app, argv[1]));
        return 2;
      }
    }
    if (msg.find("not expected") != std::string::npos || msg.find("xtras") != std::string::npos) {
      // An unknown flag of a subcommand: suggest its closest option.
      for (CLI::App* sub : app.get_subcommands())
        for (int i = 2; i < argc; ++i)
          if (argv[i][0] == '-' && !sub->get_option_no_throw(argv[i])) {
            std::vector<std::string> flags;
            for (const CLI::Option* o : sub->get_options())
              for (const auto& ln : o->get_lnames()) flags.push_back("--" + ln);
            std::string flag = argv[i];
            flag = flag.substr(0, flag.find('='));
            fmt::print(stderr, "netc {}: error: unknown option '{}'{}\n", sub->get_name(), netc::printable(flag),
                       netc::didYouMean(flag, flags));
            return 2;
          }
    }
    fmt::print(stderr, "netc: error: {}\n", netc::printable(msg));  // it quotes the command line
    return 2;
  }
  return finishOutput(runAction(action));
}
