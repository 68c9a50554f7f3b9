#include "runtime/pages/page_template.h"

#include <fmt/format.h>
#include <set>

#include "support/diag.h"

namespace netc::page {

namespace {

bool isPlaceholderChar(char c) { return (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_'; }

}  // namespace

std::string fillTemplate(std::string_view tmpl, const std::map<std::string, std::string>& values) {
  std::string out;
  std::set<std::string> used;
  size_t copied = 0;
  for (size_t at = tmpl.find('@'); at != std::string_view::npos; at = tmpl.find('@', at + 1)) {
    size_t end = at + 1;
    while (end < tmpl.size() && isPlaceholderChar(tmpl[end])) ++end;
    if (end == at + 1 || end >= tmpl.size() || tmpl[end] != '@') continue;  // a lone '@' (CSS, text)
    const std::string name(tmpl.substr(at + 1, end - at - 1));
    auto value = values.find(name);
    if (value == values.end()) fail(fmt::format("internal error: the page template's @{}@ has no value", name));
    out.append(tmpl.substr(copied, at - copied));
    out += value->second;
    used.insert(name);
    copied = end + 1;
    at = end;  // the search goes on after the placeholder, in the template: the value is never rescanned
  }
  out.append(tmpl.substr(copied));
  for (const auto& [name, value] : values)
    if (!used.count(name)) fail(fmt::format("internal error: the page template has no @{}@", name));
  return out;
}

std::string htmlText(std::string_view text) {
  std::string out;
  out.reserve(text.size());
  for (char c : text) {
    switch (c) {
      case '&': out += "&amp;"; break;
      case '<': out += "&lt;"; break;
      case '>': out += "&gt;"; break;
      case '"': out += "&quot;"; break;
      case '\'': out += "&#39;"; break;
      default: out += c;
    }
  }
  return out;
}

std::string scriptJson(const nlohmann::json& j) {
  const std::string dumped = j.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
  std::string out;
  out.reserve(dumped.size());
  for (size_t i = 0; i < dumped.size(); ++i) {
    const char c = dumped[i];
    if (c == '<') out += "\\u003c";
    else if (c == '>') out += "\\u003e";
    else if (c == '&') out += "\\u0026";
    // U+2028 and U+2029 are E2 80 A8 and E2 80 A9 in UTF-8.
    else if (c == '\xE2' && i + 2 < dumped.size() && dumped[i + 1] == '\x80' && (dumped[i + 2] == '\xA8' || dumped[i + 2] == '\xA9'))
      out += dumped[i + 2] == '\xA8' ? "\\u2028" : "\\u2029", i += 2;
    else out += c;
  }
  return out;
}

}  // namespace netc::page
