// When a sweep may count a run folder it finds as one of its runs. A finished run (result.json) is reused only
// when its config.json records, in its "repeat" section, the configuration this sweep asks for: the same
// model, --set values, --data and options. A folder whose .netc.lock a live process holds is a run going on
// elsewhere (an earlier sweep that was killed, a task by hand), never a failure.
#pragma once
#include <nlohmann/json.hpp>
#include <string>

#include "driver/sweep_plan.h"

namespace netc::driver {

struct FoundRun {
  enum State { Unfinished, Reusable, OtherConfiguration, RunningElsewhere } state = Unfinished;
  std::string status;      // Reusable: "done" or "diverged"
  nlohmann::json result;   // Reusable: result.json
  std::string difference;  // OtherConfiguration: what differs, "steps 40 (asked: 30)"; RunningElsewhere: "process 123"
};

// The JSON in `path` when it is a regular file (not followed through a link) of at most 64 MiB holding valid
// JSON with no key twice in one object (runtime/files/json_fields.h, parseStrictJson), else null.
nlohmann::json readRegularJsonFile(const std::string& path);

// The "repeat" section `netc run` records for `run` of `plan` when the sweep starts it (--threads 1).
nlohmann::json expectedRepeat(const SweepPlan& plan, const SweepRun& run);

// What the run folder `folder` holds, judged against `expected` (expectedRepeat).
FoundRun inspectRunFolder(const std::string& folder, const nlohmann::json& expected);

}  // namespace netc::driver
