#include "runtime/pages/page_json.h"

#include <algorithm>
#include <cmath>

namespace netc::page {

using nlohmann::json;

json num(double v) { return std::isfinite(v) ? json(v) : json(nullptr); }

json lossCurve(const std::vector<std::pair<int64_t, double>>& pts, size_t maxPoints) {
  json out = json::array();
  size_t per = std::max<size_t>(1, (pts.size() + maxPoints - 1) / std::max<size_t>(1, maxPoints));
  for (size_t i = 0; i < std::min({per, pts.size(), maxPoints}) && per > 1; ++i)
    if (std::isfinite(pts[i].second)) out.push_back({pts[i].first, pts[i].second});
  for (size_t i = per > 1 ? per : 0; i < pts.size(); i += per) {
    double sum = 0;
    int n = 0;
    for (size_t k = i; k < std::min(pts.size(), i + per); ++k)
      if (std::isfinite(pts[k].second)) sum += pts[k].second, ++n;
    if (n > 0) out.push_back({pts[i].first, sum / n});
  }
  return out;
}

json findingsJson(const std::vector<Finding>& fs) {
  json out = json::array();
  for (const Finding& f : fs) out.push_back({{"warning", f.level == Finding::Warning}, {"topic", f.topic}, {"text", f.text}});
  return out;
}

}  // namespace netc::page
