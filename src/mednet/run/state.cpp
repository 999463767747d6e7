#include "mednet/run/state.h"

#include <cmath>
#include <filesystem>

#include <nlohmann/json.hpp>

#include "mednet/core/error.h"
#include "mednet/core/fs.h"
#include "mednet/core/json.h"

namespace mednet::run {

using nlohmann::json;

std::string state_json(const RunState& state) {
  json hist = json::array();
  for (const auto& r : state.history) hist.push_back(record_json(r));
  json digests = json::object();
  for (const auto& [name, d] : state.checkpoints) digests[name] = {{"bytes", d.bytes}, {"crc32", d.crc32}};
  json s{{"epochs_done", state.epochs_done()},
         {"best_epoch", state.best_epoch},
         {"best_val_auc", state.best_val_auc},
         {"best_val_loss", std::isfinite(state.best_val_loss) ? json(state.best_val_loss) : json(nullptr)},
         {"bad_epochs", state.bad_epochs},
         {"train_seconds", state.train_seconds},
         {"backbone", state.backbone},
         {"checkpoints", digests},
         {"history", hist}};
  if (state.ema_updates >= 0) s["ema_updates"] = state.ema_updates;
  if (std::isfinite(state.best_val_acc) && state.best_val_acc >= 0) s["best_val_acc"] = state.best_val_acc;
  return s.dump(1);
}

RunState read_state(const RunFiles& files) {
  MN_CHECK(std::filesystem::exists(files.state()), "cannot resume: ", files.state(),
           " is missing (no epoch of this run finished)");
  return parse_state(core::read_json_file(files.state(), "state", /*damaged=*/true), files.state());
}

RunState parse_state(const nlohmann::json& s, const std::string& source) {
  RunState state;
  try {
    state.best_epoch = core::whole_number<int>(s.at("best_epoch"), "best_epoch");
    state.best_val_auc = s.at("best_val_auc").get<double>();
    if (s.contains("best_val_loss") && !s.at("best_val_loss").is_null())  // absent in older runs
      state.best_val_loss = s.at("best_val_loss").get<double>();
    state.bad_epochs = core::whole_number<int>(s.at("bad_epochs"), "bad_epochs");
    state.train_seconds = s.at("train_seconds").get<double>();
    state.backbone = s.value("backbone", state.backbone);
    if (s.contains("ema_updates"))  // runs with a weight average
      state.ema_updates = core::whole_number<int64_t>(s.at("ema_updates"), "ema_updates");
    for (const auto& r : s.at("history")) state.history.push_back(record_from_json(r));
    if (s.contains("checkpoints")) {
      const json& c = s.at("checkpoints");
      MN_CHECK(c.is_object(), source, " is damaged: 'checkpoints' is not an object");
      for (auto it = c.begin(); it != c.end(); ++it)
        state.checkpoints[it.key()] = {core::whole_number<uint64_t>(it.value().at("bytes"), "bytes"),
                                       core::whole_number<uint32_t>(it.value().at("crc32"), "crc32")};
    }
    if (s.contains("best_val_acc") && !s.at("best_val_acc").is_null())
      state.best_val_acc = s.at("best_val_acc").get<double>();
    else if (state.best_epoch >= 1 && state.best_epoch <= state.epochs_done())  // runs written before it
      state.best_val_acc = state.history[state.best_epoch - 1].val_acc;
    const int epochs_done = core::whole_number<int>(s.at("epochs_done"), "epochs_done");
    MN_CHECK(epochs_done == state.epochs_done(), source, " says ", epochs_done, " epochs done but holds ",
             state.epochs_done(), " history rows");
  } catch (const json::exception& e) {
    MN_CHECK(false, source, " is damaged: ", e.what());
  } catch (const Error& e) {
    MN_CHECK(false, source, " is damaged: ", e.what());
  }
  return state;
}

std::vector<EpochRecord> read_history(const RunFiles& files) {
  if (!std::filesystem::exists(files.state())) return {};
  return read_state(files).history;
}

}  // namespace mednet::run
