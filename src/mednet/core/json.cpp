#include "mednet/core/json.h"

#include <filesystem>
#include <vector>

#include "mednet/core/fs.h"

#include "mednet/core/strings.h"

namespace mednet::core {

double number_or_nan(const nlohmann::json& j, const char* key) {
  const auto& v = j.at(key);
  return v.is_null() ? std::nan("") : v.get<double>();
}

double number_at(const nlohmann::json& j, const char* key, const char* sub) {
  const nlohmann::json* v = j.is_object() && j.contains(key) ? &j.at(key) : nullptr;
  if (v && sub) v = v->is_object() && v->contains(sub) ? &v->at(sub) : nullptr;
  return v && v->is_number() ? v->get<double>() : std::nan("");
}

nlohmann::json parse_json(const std::string& text, const std::string& source, bool damaged) {
  using nlohmann::json;
  // Keys seen in each open object, innermost last.
  std::vector<std::set<std::string>> open_objects;
  auto refuse = [&](const std::string& why) {
    if (damaged) throw Error(source + " is damaged: " + why);
    throw Error(source + ": " + why, ErrorKind::Usage);
  };
  const json::parser_callback_t check = [&](int depth, json::parse_event_t event, json& parsed) {
    switch (event) {
      case json::parse_event_t::object_start:
      case json::parse_event_t::array_start:
        if (depth >= kMaxJsonDepth) refuse("nested deeper than " + std::to_string(kMaxJsonDepth) + " levels");
        if (event == json::parse_event_t::object_start) open_objects.emplace_back();
        break;
      case json::parse_event_t::object_end:
        if (!open_objects.empty()) open_objects.pop_back();
        break;
      case json::parse_event_t::key:
        if (!open_objects.empty() && !open_objects.back().insert(parsed.get<std::string>()).second)
          refuse("key '" + parsed.get<std::string>() + "' appears twice in one object");
        break;
      default:
        break;
    }
    return true;
  };
  try {
    return json::parse(text, check);
  } catch (const json::exception& e) {
    // nlohmann's message quotes the bytes it read last: escaped, so the message stays valid UTF-8.
    if (damaged) MN_CHECK(false, source, " is damaged: ", escape_bytes(e.what()));
    MN_CHECK_USAGE(false, source, " is not valid JSON: ", escape_bytes(e.what()));
  }
  return {};
}

nlohmann::json read_json_file(const std::string& path, const std::string& what, bool damaged) {
  std::error_code ec;
  const auto status = std::filesystem::status(path, ec);
  const bool exists = !ec && std::filesystem::exists(status);
  if (damaged) {
    MN_CHECK(exists, "cannot open ", path);
  } else {
    MN_CHECK_USAGE(exists, "cannot open ", what, " ", path, ": no such file or not readable");
  }
  MN_CHECK_USAGE(std::filesystem::is_regular_file(status), what, " ", path,
                 " is not a regular file (a folder, a pipe or a device)");
  const auto size = std::filesystem::file_size(path, ec);
  MN_CHECK_USAGE(!ec && size <= kMaxJsonFileBytes, what, " ", path, " is larger than ",
                 kMaxJsonFileBytes >> 20, " MiB; it cannot be a mednet JSON file");
  std::string text;
  try {
    text = read_file(path);
  } catch (const Error&) {
    if (damaged) throw;
    MN_CHECK_USAGE(false, "cannot open ", what, " ", path, ": no such file or not readable");
  }
  return parse_json(text, path, damaged);
}

void reject_unknown_keys(const nlohmann::json& j, const std::set<std::string>& known,
                         const std::string& where) {
  MN_CHECK_USAGE(j.is_object(), where, " must be a JSON object, got ", j.dump());
  for (const auto& item : j.items()) {
    MN_CHECK_USAGE(known.count(item.key()), "unknown key '", item.key(), "' in ", where,
                   " (valid: ", join(known, ", "), ")");
  }
}

}  // namespace mednet::core
