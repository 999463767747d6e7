#include "mednet/quant/quantize_run.h"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <sstream>

#include <torch/torch.h>

#include "mednet/core/error.h"
#include "mednet/core/folder_lock.h"
#include "mednet/core/fs.h"
#include "mednet/core/json.h"
#include "mednet/core/strings.h"
#include "mednet/quant/extract.h"
#include "mednet/quant/int8_file.h"
#include "mednet/run/open_run.h"
#include "mednet/run/split_results.h"

namespace mednet::quant {

namespace fs = std::filesystem;

namespace {

at::Tensor predictions(const at::Tensor& probs, data::Task task) {
  return task == data::Task::MultiLabel ? (probs > 0.5) : probs.argmax(1);
}

double agreement(const at::Tensor& a, const at::Tensor& b) {
  return a.eq(b).to(torch::kDouble).mean().item<double>();
}

metrics::BootstrapOptions bootstrap() {
  metrics::BootstrapOptions o;
  o.seed = run::kBootstrapSeed;
  return o;
}

void measure(Row& row, const std::function<at::Tensor(const at::Tensor&)>& f, const at::Tensor& images,
             const LatencyOptions& o) {
  row.threads = at::get_num_threads();
  if (!o.enabled) return;
  row.ms_batch1 = median_latency_ms(f, images, 1, o.repeats_single);
  row.ms_batch256 = median_latency_ms(f, images, 256, o.repeats_large);
}

std::string fmt(double v, int decimals) {
  return core::format_fixed(v, decimals, "-");
}

}  // namespace

nlohmann::json row_json(const Row& r) {
  const auto num = core::finite_or_null;
  return {{"label", r.label},
          {"test_auc_ci95", {num(r.test_auc_ci.lo), num(r.test_auc_ci.hi)}},
          {"test_auc_change_vs_fp32_ci95", {num(r.test_auc_change_ci.lo), num(r.test_auc_change_ci.hi)}},
          {"test_acc_change_vs_fp32_ci95", {num(r.test_acc_change_ci.lo), num(r.test_acc_change_ci.hi)}},
          {"file_bytes", r.file_bytes},
          {"val_auc", num(r.val_auc)},
          {"val_acc", num(r.val_acc)},
          {"test_auc", num(r.test_auc)},
          {"test_acc", num(r.test_acc)},
          {"agreement", num(r.agreement)},
          {"ms_batch1", num(r.ms_batch1)},
          {"ms_batch256", num(r.ms_batch256)},
          {"threads", r.threads}};
}

Method parse_method(const std::string& name) {
  if (name == "dynamic") return Method::Dynamic;
  if (name == "static") return Method::Static;
  if (name == "qat") return Method::Qat;
  MN_CHECK_USAGE(false, "unknown quantization mode '", name, "' (valid: dynamic, static, qat)");
  return Method::Static;
}

std::string method_name(Method method) {
  switch (method) {
    case Method::Dynamic:
      return "dynamic";
    case Method::Static:
      return "static";
    case Method::Qat:
      return "qat";
  }
  return "?";
}

LoadedRun load_run(const std::string& dir, const std::string& root, bool check_md5) {
  const run::RunFiles files(dir);
  MN_CHECK_USAGE(!fs::exists(files.int8_model()), dir,
                 " already holds an int8 model; quantize the float run it came from");
  run::OpenRunOptions o;
  o.root = root;
  o.check_md5 = check_md5;
  run::OpenRun opened = run::open_run(dir, o);
  LoadedRun r;
  r.dir = dir;
  r.config = std::move(opened.config);
  r.info = opened.info;
  r.data = std::move(opened.data);
  r.model = std::move(opened.model);
  r.fp32_bytes = static_cast<int64_t>(fs::file_size(files.best()));
  return r;
}

double median_latency_ms(const std::function<at::Tensor(const at::Tensor&)>& f, const at::Tensor& images_u8,
                         int64_t batch, int repeats) {
  MN_CHECK(images_u8.size(0) > 0 && repeats > 0, "median_latency_ms: no images or no repeats");
  torch::NoGradGuard no_grad;
  const at::Tensor idx = torch::arange(batch, torch::kLong).remainder(images_u8.size(0));
  const at::Tensor x = data::to_network_input(images_u8.index_select(0, idx));
  for (int i = 0; i < (batch == 1 ? 3 : 1); ++i) f(x);
  std::vector<double> ms;
  for (int i = 0; i < repeats; ++i) {
    const auto t0 = std::chrono::steady_clock::now();
    const at::Tensor y = f(x);
    (void)y.sum().item<float>();
    ms.push_back(std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count());
  }
  std::sort(ms.begin(), ms.end());
  return ms.size() % 2 ? ms[ms.size() / 2] : 0.5 * (ms[ms.size() / 2 - 1] + ms[ms.size() / 2]);
}

Row fp32_row(LoadedRun& run, const LatencyOptions& latency) {
  Row row;
  row.label = "fp32";
  row.file_bytes = run.fp32_bytes;
  const int bs = run.config.eval_batch_size;
  const auto val = engine::evaluate_model(*run.model, run.data.val, run.info->task, torch::kCPU, bs);
  const auto test = engine::evaluate_model(*run.model, run.data.test, run.info->task, torch::kCPU, bs);
  row.val_auc = val.scores.auc;
  row.val_acc = val.scores.acc;
  row.test_auc = test.scores.auc;
  row.test_acc = test.scores.acc;
  row.test_auc_ci =
      metrics::bootstrap_scores(run.info->task, run.data.test.labels, test.probs, bootstrap()).auc;
  row.agreement = 1.0;
  measure(
      row, [&](const at::Tensor& x) { return run.model->forward(x); }, run.data.test.images, latency);
  return row;
}

QuantizeResult quantize_run(LoadedRun& run, const QuantizeOptions& o, const std::string& out_dir,
                            const Row* fp32, const std::function<void(const std::string&)>& log) {
  auto say = [&](const std::string& s) {
    if (log) log(s);
  };
  MN_CHECK_USAGE(o.mode == Method::Dynamic || o.calib >= 1, "--calib ", o.calib,
                 ": calibration needs at least 1 training sample");
  Observer check(o.observer);  // an unknown observer fails here, before any work
  const core::FolderLock lock = core::FolderLock::acquire(out_dir);  // one writer of the int8 folder
  QuantizeResult result;
  result.engine = quantized_engine();
  const data::Task task = run.info->task;
  const std::vector<Layer> layers = extract_layers(*run.model);
  std::vector<Layer> folded = fold_layers(layers);
  {
    // The layer list must compute what the model computes.
    torch::NoGradGuard no_grad;
    const at::Tensor x =
        data::to_network_input(run.data.val.images.narrow(0, 0, std::min<int64_t>(8, run.data.val.size())));
    const at::Tensor ref = run.model->forward(x), got = run_float(folded, x);
    const double err =
        (ref - got).abs().max().item<double>() / std::max(1e-6, ref.abs().max().item<double>());
    MN_CHECK(err < 1e-3, "the folded layers differ from the model by ", err, " (relative); cannot convert");
  }

  Calibration calib;
  if (o.mode != Method::Dynamic) {
    const int64_t n = std::min<int64_t>(o.calib, run.data.train.size());
    if (n < o.calib)
      say("calibration: the training split has only " + std::to_string(n) + " samples; using all");
    torch::manual_seed(run.config.seed);
    const at::Tensor idx = torch::randperm(run.data.train.size(), torch::kLong).narrow(0, 0, n);
    const at::Tensor images = data::to_network_input(run.data.train.images.index_select(0, idx));
    calib = calibrate(folded, images, o.observer, 64);
    say("calibrated " + std::to_string(n) + " training samples (" + o.observer + " observer)");
  }
  if (o.mode == Method::Qat) {
    QatOptions q;
    q.epochs = o.qat_epochs;
    q.lr = o.qat_lr > 0 ? o.qat_lr : run.config.lr * 0.1;
    q.batch_size = run.config.batch_size;
    q.eval_batch_size = run.config.eval_batch_size;
    q.seed = run.config.seed;
    q.run_dir = out_dir + "/qat";
    say("quantization-aware training: " + std::to_string(q.epochs) + " epochs, lr " + fmt(q.lr, 6) +
        ", BatchNorm folded with frozen statistics");
    const QatResult qat = train_qat(layers, calib, run.data, q, [&](const QatEpoch& e) {
      say("  epoch " + std::to_string(e.epoch) + (e.epoch == 0 ? " (before)" : "") + ": train loss " +
          fmt(e.train_loss, 4) + ", val AUC " + fmt(e.val_auc, 4) + ", val ACC " + fmt(e.val_acc, 4) + " (" +
          fmt(e.seconds, 1) + " s)");
    });
    result.qat_history = qat.history;
    result.qat_best_epoch = qat.best_epoch;
    folded = fold_layers(qat.layers);
    say("kept epoch " + std::to_string(qat.best_epoch) + " (best fake-quantized val AUC)");
  }
  const Mode net_mode = o.mode == Method::Dynamic ? Mode::Dynamic : Mode::Static;
  const Int8Net net(folded, net_mode, o.mode == Method::Dynamic ? nullptr : &calib);
  result.kernels = net.kernels();

  fs::create_directories(out_dir);
  const run::RunFiles out(out_dir);
  const std::string label = !o.label.empty()            ? o.label
                            : o.mode == Method::Dynamic ? "dynamic"
                                                        : method_name(o.mode) + " (" + o.observer + ")";
  nlohmann::json info = {{"source_run", run.dir},         {"label", label},
                         {"mode", method_name(o.mode)},   {"engine", result.engine},
                         {"dataset", run.config.dataset}, {"model", run.config.model.name}};
  if (o.mode != Method::Dynamic) {
    info["observer"] = o.observer;
    info["calib_samples"] = calib.samples;
  }
  // The model file does not name the folder it came from (quant.json does): the same conversion written
  // to two folders gives the same bytes, and so the same size ratio in the reports.
  nlohmann::json file_info = info;
  file_info.erase("source_run");
  write_int8_file(out.int8_model(), net, file_info);
  run::write_config(out.config(), run.config);
  result.model_path = out.int8_model();

  Row& row = result.row;
  row.label = label;
  row.file_bytes = static_cast<int64_t>(fs::file_size(out.int8_model()));
  const int bs = run.config.eval_batch_size;
  auto logits_of = [&](const data::SplitData& s) {
    return [&](int64_t start, int64_t len) {
      return net.forward(data::to_network_input(s.images.narrow(0, start, len)));
    };
  };
  const auto val = engine::evaluate_batches(task, run.data.val.labels, bs, logits_of(run.data.val));
  const auto test = engine::evaluate_batches(task, run.data.test.labels, bs, logits_of(run.data.test));
  row.val_auc = val.scores.auc;
  row.val_acc = val.scores.acc;
  row.test_auc = test.scores.auc;
  row.test_acc = test.scores.acc;
  const auto ref = engine::evaluate_model(*run.model, run.data.test, task, torch::kCPU, bs);
  row.agreement = agreement(predictions(test.probs, task), predictions(ref.probs, task));
  row.test_auc_ci = metrics::bootstrap_scores(task, run.data.test.labels, test.probs, bootstrap()).auc;
  const metrics::PairedDifference change =
      metrics::paired_bootstrap(task, run.data.test.labels, {test.probs}, {ref.probs}, bootstrap());
  row.test_auc_change_ci = change.auc_ci;
  row.test_acc_change_ci = change.acc_ci;
  // The int8 model's per-sample scores, as every evaluation leaves them (the standard result file).
  const std::string run_name = "seed" + std::to_string(run.config.seed);
  run::record_split(out_dir, {run.config.dataset, run.config.size, "val", run_name}, task,
                    run.data.val.labels, val);
  run::record_split(out_dir, {run.config.dataset, run.config.size, "test", run_name}, task,
                    run.data.test.labels, test);
  measure(
      row, [&](const at::Tensor& x) { return net.forward(x); }, run.data.test.images, o.latency);

  nlohmann::json kernels = nlohmann::json::array();
  for (const auto& k : result.kernels)
    kernels.push_back({{"layer", k.layer}, {"kernel", k.kernel}, {"int8", k.int8}});
  nlohmann::json history = nlohmann::json::array();
  for (const auto& e : result.qat_history)
    history.push_back({{"epoch", e.epoch},
                       {"train_loss", e.train_loss},
                       {"val_auc", core::finite_or_null(e.val_auc)},
                       {"val_acc", e.val_acc},
                       {"seconds", e.seconds}});
  nlohmann::json q = {{"info", info}, {"int8", row_json(row)}, {"kernels", kernels}};
  if (fp32) {
    q["fp32"] = row_json(*fp32);
    q["size_ratio"] = static_cast<double>(row.file_bytes) / static_cast<double>(fp32->file_bytes);
  }
  if (o.mode == Method::Qat) {
    q["qat_history"] = history;
    q["qat_best_epoch"] = result.qat_best_epoch;
  }
  core::write_file_atomic(out.quant(), q.dump(2) + "\n");
  return result;
}

engine::Evaluation evaluate_int8(const std::string& model_path, const data::SplitData& split, data::Task task,
                                 int batch_size) {
  const Int8Net net = read_int8_file(model_path);
  return engine::evaluate_batches(task, split.labels, batch_size, [&](int64_t start, int64_t len) {
    return net.forward(data::to_network_input(split.images.narrow(0, start, len)));
  });
}

std::string rows_table(const std::vector<Row>& rows) {
  std::ostringstream os;
  const Row* ref = !rows.empty() && rows[0].label == "fp32" ? &rows[0] : nullptr;
  os << "| model | file (KB) | size vs fp32 | val AUC | test AUC | test ACC | agreement with fp32 | batch 1 "
        "(ms) | "
        "batch 256 (ms) | speed-up at 256 |\n|---|---|---|---|---|---|---|---|---|---|\n";
  for (const auto& r : rows) {
    os << "| " << r.label << " | " << fmt(static_cast<double>(r.file_bytes) / 1024.0, 1) << " | "
       << (ref ? fmt(static_cast<double>(r.file_bytes) / static_cast<double>(ref->file_bytes), 3) + "x" : "-")
       << " | " << fmt(r.val_auc, 4) << " | " << fmt(r.test_auc, 4) << " | " << fmt(r.test_acc, 4) << " | "
       << fmt(100 * r.agreement, 1) << "% | " << fmt(r.ms_batch1, 3) << " | " << fmt(r.ms_batch256, 1)
       << " | " << (ref ? fmt(ref->ms_batch256 / r.ms_batch256, 2) + "x" : "-") << " |\n";
  }
  return os.str();
}

}  // namespace mednet::quant
