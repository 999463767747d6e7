#pragma once
// history.csv: one row per finished epoch. Writer and reader of the format, plus the JSON form the
// same rows take inside state.json.
#include <string>
#include <vector>

#include <nlohmann/json_fwd.hpp>

namespace mednet::run {

/// One row of history.csv.
struct EpochRecord {
  int epoch = 0;  ///< 1-based
  double lr = 0;
  double train_loss = 0, train_auc = 0, train_acc = 0;
  double val_loss = 0, val_auc = 0, val_acc = 0;
  double seconds = 0;
};

/// history.csv text (header + one line per epoch).
std::string history_csv(const std::vector<EpochRecord>& history);
/// Rows of history.csv text; a malformed line is an error naming `source` and the line number.
std::vector<EpochRecord> parse_history_csv(const std::string& text,
                                           const std::string& source = "history.csv");
/// Reads history.csv (empty when the file does not exist).
std::vector<EpochRecord> read_history_csv(const std::string& path);

/// One row as JSON (NaN scores as null) and back.
nlohmann::json record_json(const EpochRecord& r);
EpochRecord record_from_json(const nlohmann::json& j);

}  // namespace mednet::run
