// --set NAME=VALUE on the syntax tree (overrides.h).
#include "lower/overrides.h"

#include <algorithm>
#include <cctype>
#include <fmt/format.h>
#include <map>
#include <memory>

#include "lang/parser.h"
#include "support/diag.h"

namespace netc {

namespace {

bool isIdent(std::string_view s) {
  if (s.empty() || !(std::isalpha(static_cast<unsigned char>(s[0])) || s[0] == '_')) return false;
  return std::all_of(s.begin(), s.end(), [](char c) { return std::isalnum(static_cast<unsigned char>(c)) || c == '_'; });
}

// The section keys lower.cpp accepts (it checks them again; these serve suggestions only).
const std::map<std::string, std::vector<std::string>>& sectionKeys() {
  static const std::map<std::string, std::vector<std::string>> keys = {
      {"data", {"context", "split", "seed", "shuffle"}},
      {"train", {"steps", "batch", "optimizer", "lr", "seed", "log_every", "eval_every", "probe_every", "probes",
                 "saturation", "momentum", "nesterov", "betas", "eps", "weight_decay", "clip_norm", "warmup", "decay",
                 "min_lr", "generator"}},
      {"sample", {"count", "seed"}},
  };
  return keys;
}

}  // namespace

const std::vector<std::string>& settingNames() {
  static const std::vector<std::string> names = [] {
    std::vector<std::string> out;
    for (const auto& [section, keys] : sectionKeys())
      for (const auto& k : keys) out.push_back(section + "." + k);
    return out;
  }();
  return names;
}

std::pair<std::string, std::string> splitOverride(const std::string& text) {
  const size_t eq = text.find('=');
  if (eq == std::string::npos)
    usageFail(fmt::format("--set {}: expected NAME=VALUE, e.g. --set gain=3 or --set train.lr=0.05", text));
  std::string name = text.substr(0, eq), value = text.substr(eq + 1);
  while (!name.empty() && name.back() == ' ') name.pop_back();
  const size_t dot = name.find('.');
  const bool ok = dot == std::string::npos ? isIdent(name) : isIdent(name.substr(0, dot)) && isIdent(name.substr(dot + 1));
  if (!ok)
    usageFail(fmt::format("--set {}: '{}' is not a constant or SECTION.KEY (e.g. gain, train.lr)", text, name));
  for (char c : value)
    if (c == '\n' || c == '\r' || c == '{' || c == '}')
      usageFail(fmt::format("--set {}: the value must be one line of an expression (no braces)", printable(text)));
  return {name, value};
}

void applyOverrides(Module& m, const std::vector<std::string>& overrides) {
  if (overrides.empty()) return;
  // The source, extended by one line per override. Each line is the setting in a parseable form whose columns
  // match "--set NAME=VALUE": "train{" is as long as "--set ", and NAME becomes a key of its length.
  std::string text = m.source->text();
  if (!text.empty() && text.back() != '\n') text += '\n';
  const int firstLine = static_cast<int>(std::count(text.begin(), text.end(), '\n')) + 1;
  std::vector<std::string> shown, parsed;
  std::vector<std::pair<std::string, std::string>> split;
  for (const std::string& o : overrides) {
    split.push_back(splitOverride(o));
    shown.push_back("--set " + split.back().first + "=" + split.back().second);
    parsed.push_back("train{" + std::string(split.back().first.size(), 'k') + "=" + split.back().second);
  }
  std::string extended = text;
  for (const auto& p : parsed) extended += p + "\n";
  auto source = std::make_shared<SourceFile>(m.source->path(), extended);
  source->setCommandLines(firstLine, shown);
  const SourceFile* src = source.get();

  std::map<std::string, int> seen;
  for (size_t i = 0; i < overrides.size(); ++i) {
    const auto& [name, value] = split[i];
    const int line = firstLine + static_cast<int>(i);
    const SrcLoc nameLoc{line, 7, static_cast<int>(name.size())};
    // Parse the line alone, at its own line number, so its locations are those of the extended source.
    std::string alone(static_cast<size_t>(line - 1), '\n');
    alone += parsed[i] + "\n}\n";  // the brace on a line of its own: "# ..." in a value is a comment, as in a file
    auto one = std::make_shared<SourceFile>(m.source->path(), alone);
    std::const_pointer_cast<SourceFile>(one)->setCommandLines(firstLine, shown);
    if (value.find_first_not_of(' ') == std::string::npos)
      fail(src, {line, 8 + static_cast<int>(name.size()), 1}, fmt::format("--set {}= needs a value", name));
    Module parsedOne = parse(one);
    SectionEntry entry = std::move(parsedOne.stmts.at(0).entries.at(0));
    entry.loc = nameLoc;
    if (auto [it, fresh] = seen.emplace(name, static_cast<int>(i)); !fresh)
      fail(src, nameLoc, fmt::format("'{}' is set twice on the command line (first: --set {}={})", name, name,
                                     split[it->second].second));

    const size_t dot = name.find('.');
    if (dot == std::string::npos) {
      Stmt* target = nullptr;
      std::vector<std::string> consts;
      for (Stmt& s : m.stmts)
        if (s.kind == Stmt::Const) {
          consts.push_back(s.name);
          if (s.name == name) target = &s;
        }
      if (!target) {
        std::string hint;
        for (const auto& [section, keys] : sectionKeys())
          if (std::find(keys.begin(), keys.end(), name) != keys.end())
            hint += fmt::format("{}{}.{}", hint.empty() ? "" : " or ", section, name);
        if (!hint.empty()) hint = fmt::format(" (a setting: did you mean {}?)", hint);
        else hint = didYouMean(name, consts);
        fail(src, nameLoc, fmt::format("unknown constant '{}': --set NAME=VALUE names a `const` of {}{} or a "
                                       "setting SECTION.KEY{}", name, m.source->path(),
                                       consts.empty() ? " (it has none)" : "", hint));
      }
      if (entry.items.size() != 1 || entry.items[0].until)
        fail(src, entry.items.size() > 1 ? entry.items[1].value->loc : entry.items[0].until->loc,
             fmt::format("constant '{}' takes one expression", name));
      target->value = std::move(entry.items[0].value);
      continue;
    }
    const std::string section = name.substr(0, dot);
    entry.key = name.substr(dot + 1);
    auto keys = sectionKeys().find(section);
    if (keys == sectionKeys().end())
      fail(src, {line, 7, static_cast<int>(dot)},
           fmt::format("unknown section '{}': --set SECTION.KEY=VALUE names a setting of data, train or sample{}",
                       section, didYouMean(section, {"data", "train", "sample"})));
    if (std::find(keys->second.begin(), keys->second.end(), entry.key) == keys->second.end())
      fail(src, {line, 8 + static_cast<int>(dot), static_cast<int>(entry.key.size())},
           fmt::format("unknown setting '{}' in the {} section{}", entry.key, section, didYouMean(entry.key, keys->second)));
    Stmt* target = nullptr;
    for (Stmt& s : m.stmts)
      if ((section == "data" && s.kind == Stmt::Data) || (s.kind == Stmt::Section && s.name == section)) target = &s;
    if (!target) {
      if (section == "data") fail(src, nameLoc, fmt::format("{} has no data section to set '{}' in", m.source->path(), entry.key));
      Stmt s;
      s.kind = Stmt::Section;
      s.name = section;
      s.loc = s.nameLoc = nameLoc;
      m.stmts.push_back(std::move(s));
      target = &m.stmts.back();
    }
    auto it = std::find_if(target->entries.begin(), target->entries.end(), [&](const SectionEntry& e) { return e.key == entry.key; });
    if (it != target->entries.end()) *it = std::move(entry);
    else target->entries.push_back(std::move(entry));
  }
  m.source = source;
}

}  // namespace netc
