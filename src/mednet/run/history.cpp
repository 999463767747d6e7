#include "mednet/run/history.h"

#include <cmath>
#include <cstdlib>
#include <filesystem>
#include <sstream>

#include <nlohmann/json.hpp>

#include "mednet/core/error.h"
#include "mednet/core/fs.h"
#include "mednet/core/json.h"

namespace mednet::run {

using nlohmann::json;

namespace {
constexpr const char* kHistoryHeader =
    "epoch,lr,train_loss,train_auc,train_acc,val_loss,val_auc,val_acc,seconds";
}

std::string history_csv(const std::vector<EpochRecord>& history) {
  std::ostringstream os;
  os.precision(6);
  os << kHistoryHeader << '\n';
  for (const auto& r : history) {
    os << r.epoch << ',' << r.lr << ',' << r.train_loss << ',' << r.train_auc << ',' << r.train_acc << ','
       << r.val_loss << ',' << r.val_auc << ',' << r.val_acc << ',' << r.seconds << '\n';
  }
  return os.str();
}

std::vector<EpochRecord> parse_history_csv(const std::string& text, const std::string& source) {
  std::istringstream in(text);
  std::string line;
  MN_CHECK(std::getline(in, line) && line == kHistoryHeader, source,
           " does not start with the history header '", kHistoryHeader, "'");
  std::vector<EpochRecord> out;
  for (int number = 2; std::getline(in, line); ++number) {
    if (line.empty()) continue;
    std::vector<double> v;
    std::istringstream cells(line);
    std::string cell;
    while (std::getline(cells, cell, ',')) {
      char* end = nullptr;
      const double x = std::strtod(cell.c_str(), &end);
      MN_CHECK(!cell.empty() && end && *end == '\0', source, " line ", number, ": '", cell,
               "' is not a number");
      v.push_back(x);
    }
    MN_CHECK(v.size() == 9, source, " line ", number, " has ", v.size(), " fields, expected 9");
    MN_CHECK(v[0] >= 1 && v[0] <= 100000 && std::trunc(v[0]) == v[0], source, " line ", number, ": epoch ",
             v[0], " is not a whole number from 1 to 100000");
    EpochRecord r;
    r.epoch = static_cast<int>(v[0]);
    r.lr = v[1];
    r.train_loss = v[2];
    r.train_auc = v[3];
    r.train_acc = v[4];
    r.val_loss = v[5];
    r.val_auc = v[6];
    r.val_acc = v[7];
    r.seconds = v[8];
    out.push_back(r);
  }
  return out;
}

std::vector<EpochRecord> read_history_csv(const std::string& path) {
  if (!std::filesystem::exists(path)) return {};
  return parse_history_csv(core::read_file(path), path);
}

json record_json(const EpochRecord& r) {
  const auto num = core::finite_or_null;
  return json{{"epoch", r.epoch},
              {"lr", r.lr},
              {"train_loss", num(r.train_loss)},
              {"train_auc", num(r.train_auc)},
              {"train_acc", num(r.train_acc)},
              {"val_loss", num(r.val_loss)},
              {"val_auc", num(r.val_auc)},
              {"val_acc", num(r.val_acc)},
              {"seconds", r.seconds}};
}

EpochRecord record_from_json(const json& j) {
  EpochRecord r;
  r.epoch = core::whole_number<int>(j.at("epoch"), "epoch");
  r.lr = core::number_or_nan(j, "lr");
  r.train_loss = core::number_or_nan(j, "train_loss");
  r.train_auc = core::number_or_nan(j, "train_auc");
  r.train_acc = core::number_or_nan(j, "train_acc");
  r.val_loss = core::number_or_nan(j, "val_loss");
  r.val_auc = core::number_or_nan(j, "val_auc");
  r.val_acc = core::number_or_nan(j, "val_acc");
  r.seconds = core::number_or_nan(j, "seconds");
  return r;
}

}  // namespace mednet::run
