#include "runtime/files/json_fields.h"

#include <cmath>
#include <fmt/format.h>
#include <unordered_set>
#include <vector>

#include "support/diag.h"

namespace netc {

using nlohmann::json;

std::string firstDuplicateKey(std::string_view text) {
  // A SAX pass with one set of keys per open object. (nlohmann's parse callback would do the same in
  // quadratic time: at the end of every object it scans the enclosing one; 300,000 tensors in a safetensors
  // header took over ten minutes.)
  struct Finder final : nlohmann::json_sax<json> {
    std::vector<std::unordered_set<std::string>> open;  // the keys of each object being read, innermost last
    std::string duplicate;
    bool null() override { return true; }
    bool boolean(bool) override { return true; }
    bool number_integer(number_integer_t) override { return true; }
    bool number_unsigned(number_unsigned_t) override { return true; }
    bool number_float(number_float_t, const string_t&) override { return true; }
    bool string(string_t&) override { return true; }
    bool binary(binary_t&) override { return true; }
    bool start_object(std::size_t) override { return open.emplace_back(), true; }
    bool end_object() override { return open.pop_back(), true; }
    bool start_array(std::size_t) override { return true; }
    bool end_array() override { return true; }
    bool key(string_t& k) override {
      if (open.back().insert(k).second) return true;
      duplicate = k;
      return false;  // found: stop reading
    }
    bool parse_error(std::size_t, const std::string&, const nlohmann::detail::exception&) override { return false; }
  } finder;
  json::sax_parse(text.begin(), text.end(), &finder);
  return finder.duplicate;
}

json parseStrictJson(std::string_view text, const std::string& file) {
  try {
    // First the keys alone, then the tree: the tree keeps only the last of two equal keys.
    if (std::string twice = firstDuplicateKey(text); !twice.empty())
      fail(fmt::format("'{}' has the key \"{}\" twice in one object", file, twice));
    return json::parse(text.begin(), text.end());
  } catch (const json::exception& e) {
    fail(fmt::format("'{}' is not valid JSON ({})", file, e.what()));
  }
}

std::string describeJson(const json& v) {
  auto shortened = [](std::string s) { return s.size() > 40 ? s.substr(0, 37) + "..." : s; };
  switch (v.type()) {
    case json::value_t::null: return "null";
    case json::value_t::object: return "an object";
    case json::value_t::array: return "an array";
    case json::value_t::string: return fmt::format("a string (\"{}\")", shortened(v.get<std::string>()));
    case json::value_t::boolean: return v.get<bool>() ? "true" : "false";
    default: return fmt::format("a number ({})", shortened(v.dump()));
  }
}

JsonFields::JsonFields(const json& doc, std::string file) : JsonFields(doc, std::move(file), "") {
  if (!doc.is_object()) fail(fmt::format("'{}' should hold a JSON object, found {}", file_, describeJson(doc)));
}

JsonFields::JsonFields(const json& doc, std::string file, std::string path)
    : doc_(&doc), file_(std::move(file)), path_(std::move(path)) {}

const json* JsonFields::field(const std::string& key) const {
  auto it = doc_->find(key);
  return it == doc_->end() || it->is_null() ? nullptr : &*it;
}

bool JsonFields::has(const std::string& key) const { return field(key) != nullptr; }

void JsonFields::wrongType(const std::string& key, const char* expected, const json& found) const {
  fail(fmt::format("'{}': \"{}{}\" should be {}, found {}", file_, path_, key, expected, describeJson(found)));
}

std::optional<std::string> JsonFields::string(const std::string& key) const {
  const json* v = field(key);
  if (!v) return std::nullopt;
  if (!v->is_string()) wrongType(key, "a string", *v);
  return v->get<std::string>();
}

std::optional<double> JsonFields::number(const std::string& key) const {
  const json* v = field(key);
  if (!v) return std::nullopt;
  if (!v->is_number()) wrongType(key, "a number", *v);
  return v->get<double>();
}

std::optional<int64_t> JsonFields::wholeNumber(const std::string& key) const {
  const json* v = field(key);
  if (!v) return std::nullopt;
  if (v->is_number_integer() && (v->is_number_unsigned() ? v->get<uint64_t>() <= INT64_MAX : true)) return v->get<int64_t>();
  wrongType(key, "a whole number", *v);
}

std::optional<int64_t> JsonFields::count(const std::string& key) const {
  const std::optional<int64_t> n = wholeNumber(key);
  if (n && *n < 0) wrongType(key, "a whole number of at least 0", (*doc_)[key]);
  return n;
}

std::optional<bool> JsonFields::boolean(const std::string& key) const {
  const json* v = field(key);
  if (!v) return std::nullopt;
  if (!v->is_boolean()) wrongType(key, "true or false", *v);
  return v->get<bool>();
}

std::optional<JsonFields> JsonFields::object(const std::string& key) const {
  const json* v = field(key);
  if (!v) return std::nullopt;
  if (!v->is_object()) wrongType(key, "an object", *v);
  return JsonFields(*v, file_, path_ + key + ".");
}

std::vector<std::string> JsonFields::strings(const std::string& key) const {
  const json* v = field(key);
  if (!v) return {};
  if (!v->is_array()) wrongType(key, "an array of strings", *v);
  std::vector<std::string> out;
  for (size_t i = 0; i < v->size(); ++i) {
    if (!(*v)[i].is_string()) wrongType(fmt::format("{}[{}]", key, i), "a string", (*v)[i]);
    out.push_back((*v)[i].get<std::string>());
  }
  return out;
}

}  // namespace netc
