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

// The bidirectional formatting character (U+061C, U+200E/U+200F, U+202A..U+202E, U+2066..U+2069) whose
// UTF-8 starts at text[i], or 0.
static unsigned bidiControlAt(std::string_view text, size_t i) {
  auto b = [&](size_t k) { return i + k < text.size() ? static_cast<unsigned char>(text[i + k]) : 0u; };
  if (b(0) == 0xd8 && b(1) == 0x9c) return 0x061c;
  if (b(0) != 0xe2) return 0;
  if (b(1) == 0x80 && (b(2) == 0x8e || b(2) == 0x8f || (b(2) >= 0xaa && b(2) <= 0xae))) return 0x2000 + (b(2) - 0x80);
  if (b(1) == 0x81 && b(2) >= 0xa6 && b(2) <= 0xa9) return 0x2040 + (b(2) - 0x80);
  return 0;
}

std::string htmlText(std::string_view text) {
  std::string out;
  out.reserve(text.size());
  for (size_t i = 0; i < text.size(); ++i) {
    // Shown as the text "\u202e", as netc's terminal messages show it (support/diag.h, printable): raw, it would
    // reorder the text around it (a name that reads reversed), and <bdi> would not do here, since this text also
    // goes into <title>, attributes and SVG, where no element can isolate it.
    if (unsigned cp = bidiControlAt(text, i)) {
      out += fmt::format("\\u{:04x}", cp);
      i += cp == 0x061c ? 1 : 2;
      continue;
    }
    const char c = text[i];
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
