#include "mednet/core/json.h"

#include <fstream>

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

nlohmann::json read_json_file(const std::string& path, const std::string& what, bool damaged) {
  std::ifstream in(path);
  if (damaged) {
    MN_CHECK(in, "cannot open ", path);
  } else {
    MN_CHECK_USAGE(in, "cannot open ", what, " ", path, ": no such file or not readable");
  }
  try {
    return nlohmann::json::parse(in);
  } catch (const nlohmann::json::exception& e) {
    if (damaged) MN_CHECK(false, path, " is damaged: ", e.what());
    MN_CHECK_USAGE(false, path, " is not valid JSON: ", e.what());
  }
  return {};
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
