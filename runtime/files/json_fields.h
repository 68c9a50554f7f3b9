// Typed reading of a JSON file that netc wrote but anyone may have edited since (a run folder's config.json
// and result.json): each field is checked to be what netc writes there, and a field of another type is an
// error that names the file, the field, what was expected and what was found, e.g.
//   'runs/a/config.json': "train.steps" should be a whole number, found a string ("abc")
// A field that is absent or null reads as absent (netc writes null for a loss that was not finite).
#pragma once
#include <cstdint>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace netc {

class JsonFields {
 public:
  // The document must be an object; `file` names it in messages.
  JsonFields(const nlohmann::json& doc, std::string file);

  std::optional<std::string> string(const std::string& key) const;
  std::optional<double> number(const std::string& key) const;
  std::optional<int64_t> wholeNumber(const std::string& key) const;
  // A count netc writes (steps, steps done): a whole number that is not negative.
  std::optional<int64_t> count(const std::string& key) const;
  std::optional<bool> boolean(const std::string& key) const;
  std::optional<JsonFields> object(const std::string& key) const;
  std::vector<std::string> strings(const std::string& key) const;  // an array of strings; empty when absent
  bool has(const std::string& key) const;

 private:
  JsonFields(const nlohmann::json& doc, std::string file, std::string path);
  const nlohmann::json* field(const std::string& key) const;  // nullptr when absent or null
  [[noreturn]] void wrongType(const std::string& key, const char* expected, const nlohmann::json& found) const;
  const nlohmann::json* doc_;
  std::string file_, path_;  // path_: "train." inside the field "train"
};

// The first key that occurs twice in one object of the JSON text, or "" when none does (or the text is not
// JSON: the parse that follows says where). Linear in the text.
std::string firstDuplicateKey(std::string_view text);

// `text` parsed as JSON, refusing what a DOM parse would take silently: a key that occurs twice in one object
// (the parse keeps the last, so `"steps": 10, "steps": 99999` would run 99999 steps). Fails "'<file>' is not
// valid JSON (...)" or "'<file>' has the key \"steps\" twice in one object".
nlohmann::json parseStrictJson(std::string_view text, const std::string& file);

// What a JSON value is, for messages: "a string (\"abc\")", "an array", "an object", "true", "a number (3.5)".
std::string describeJson(const nlohmann::json& v);

}  // namespace netc
