// The JSON pieces report.html and compare.html share: numbers (non-finite as null), loss curves thinned for a
// page, and findings.
#pragma once
#include <cstdint>
#include <nlohmann/json.hpp>
#include <utility>
#include <vector>

#include "runtime/probes/diagnose.h"

namespace netc::page {

nlohmann::json num(double v);  // null when not finite (JSON has no inf/NaN)

// Means over equal runs of steps, so a 200000-step run stays a small page; non-finite losses are left out. The
// first run is kept point by point: averaging it would flatten the hockey stick of a confidently wrong start.
nlohmann::json lossCurve(const std::vector<std::pair<int64_t, double>>& pts, size_t maxPoints);

nlohmann::json findingsJson(const std::vector<Finding>& fs);

}  // namespace netc::page
