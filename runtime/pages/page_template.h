// How netc's pages (report.html, compare.html, lr_find.html) take in names and data that users and other
// programs chose: run folder names, model names, --set values, diagnoses. A page is a fixed template whose
// @NAME@ placeholders are filled in one pass; each value is escaped for where it goes (HTML text or
// attribute, or JSON inside a <script> element), so no name, however hostile, becomes markup or script.
#pragma once
#include <map>
#include <nlohmann/json.hpp>
#include <string>
#include <string_view>

namespace netc::page {

// `tmpl` with each placeholder @NAME@ (NAME: capital letters, digits and underscores) replaced by
// values[NAME]. The template is scanned once, left to right; inserted text is never scanned again, so a value
// that contains "@DATA@" stays that text. A placeholder without a value, or a value without a placeholder, is
// an internal error (the template and its filler disagree).
std::string fillTemplate(std::string_view tmpl, const std::map<std::string, std::string>& values);

// `text` for HTML element content or a quoted attribute value: & < > " ' as character references.
std::string htmlText(std::string_view text);

// `j` as JSON to place inside a <script> element: '<', '>' and '&' (which occur only inside strings) as
// \u003c \u003e \u0026, so no "</script>" or "<!--" can end or change the element, and U+2028/U+2029 as
// \u2028 \u2029. Invalid UTF-8 in strings becomes U+FFFD. JSON.parse reads back the same values.
std::string scriptJson(const nlohmann::json& j);

}  // namespace netc::page
