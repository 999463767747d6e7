#include "mednet/run/open_run.h"

#include <filesystem>

#include "mednet/core/error.h"
#include "mednet/core/folder_lock.h"
#include "mednet/models/registry.h"
#include "mednet/models/weights.h"
#include "mednet/run/checkpoint.h"
#include "mednet/run/journal.h"

namespace mednet::run {

void check_new_run_dir(const std::string& dir) {
  namespace fs = std::filesystem;
  std::error_code ec;
  if (!fs::exists(dir, ec)) return;
  MN_CHECK_USAGE(fs::is_directory(dir, ec), dir, " is a file, not a folder; choose another --out");
  MN_CHECK_USAGE(!fs::exists(RunFiles(dir).state()), dir, " already holds a run; continue it with --resume ",
                 dir, " or choose another --out");
  // The folder's lock (core/folder_lock.h) is no content: a run may go where only it is.
  bool empty = true;
  for (const auto& entry : fs::directory_iterator(dir, ec))
    if (entry.path().filename() != core::kFolderLockName) empty = false;
  MN_CHECK_USAGE(empty && !ec, dir,
                 " is not empty and holds no finished epoch of a mednet run; a new run goes into a new or "
                 "empty folder (choose another --out, or empty this one)");
}

OpenRun open_run(const std::string& dir, const OpenRunOptions& o) {
  OpenRun r(dir);
  MN_CHECK_USAGE(std::filesystem::exists(r.files.config()), dir, " is not a run directory (no config.json)");
  if (o.load_model)
    MN_CHECK_USAGE(std::filesystem::exists(r.files.best()), dir, " has no best.pt (no epoch finished)");
  r.config = o.config ? *o.config : load_config(r.files.config());
  if (!o.root.empty()) r.config.root = o.root;
  r.info = &data::find_dataset(r.config.dataset);
  if (o.load_data) r.data = data::open_medmnist(*r.info, r.config.size, r.config.root, nullptr, o.check_md5);
  if (o.load_model) {
    r.model = models::make_model(r.config.model, data::input_shape(*r.info, r.config.size));
    r.model->to(o.device);
    models::to_conv_layout(*r.model);
    verify_run_checkpoint(r.files, r.files.best());
    load_module(*r.model, r.files.best(), o.device);
    r.model->eval();
  }
  return r;
}

}  // namespace mednet::run
