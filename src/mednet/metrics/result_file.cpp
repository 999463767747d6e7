#include "mednet/metrics/result_file.h"

#include <cmath>
#include <cstdio>
#include <filesystem>
#include <map>
#include <sstream>

#include <torch/torch.h>

#include "mednet/core/error.h"
#include "mednet/core/fs.h"
#include "mednet/core/strings.h"

namespace mednet::metrics {

namespace {

std::string fixed3(double v) {
  char buf[64];
  std::snprintf(buf, sizeof buf, "%.3f", v);
  return buf;
}

std::vector<std::string> split_on(const std::string& s, char sep) {
  std::vector<std::string> out;
  std::string cur;
  std::istringstream in(s);
  while (std::getline(in, cur, sep)) out.push_back(cur);
  if (!s.empty() && s.back() == sep) out.emplace_back();
  return out;
}

bool starts_with(const std::string& s, const char* p) {
  return s.rfind(p, 0) == 0;
}

std::string split_of(const std::string& part) {
  for (const char* s : {"train", "val", "test"}) {
    if (starts_with(part, s)) return s;
  }
  return "";
}

}  // namespace

std::string result_file_name(const ResultFileName& n, double auc, double acc) {
  MN_CHECK(n.run.find_first_of("._@/") == std::string::npos, "result file: run name '", n.run,
           "' must not hold '.', '_', '@' or '/'");
  MN_CHECK(!n.flag.empty() && n.flag.find('_') == std::string::npos, "result file: bad dataset flag '",
           n.flag, "'");
  const std::string size_flag = n.size == 28 ? "" : "_" + std::to_string(n.size);
  return n.flag + size_flag + "_" + n.split + "_[AUC]" + fixed3(auc) + "_[ACC]" + fixed3(acc) + "@" + n.run +
         ".csv";
}

ResultFileName parse_result_file_name(const std::string& path) {
  const std::string name = std::filesystem::path(path).filename().string();
  const std::vector<std::string> parts = split_on(name, '_');
  ResultFileName r;
  MN_CHECK(parts.size() >= 2, "result file ", path,
           ": the name must start {flag}_{split} or {flag}_{size}_{split} (for example "
           "retinamnist_test_[AUC]0.750_[ACC]0.520@seed0.csv)");
  r.flag = parts[0];
  r.split = split_of(parts[1]);
  if (r.split.empty()) {
    MN_CHECK(parts.size() >= 3 && !split_of(parts[2]).empty(), "result file ", path,
             ": no split (train, val or test) after the dataset flag", parts.size() >= 3 ? " and size" : "");
    r.split = split_of(parts[2]);
    try {
      size_t used = 0;
      r.size = std::stoi(parts[1], &used);
      MN_CHECK(used == parts[1].size() && r.size > 0, "bad size");
    } catch (const std::exception&) {
      MN_CHECK(false, "result file ", path, ": '", parts[1], "' is not an image size");
    }
  }
  const auto at = name.rfind('@');
  if (at != std::string::npos) r.run = name.substr(at + 1, name.find('.', at) - at - 1);
  return r;
}

void write_result_file(const std::string& path, const at::Tensor& probs_in) {
  const at::Tensor probs = probs_in.detach().to(at::kCPU).to(at::kDouble).contiguous();
  MN_CHECK(probs.dim() == 2, "result file ", path, ": scores must be [N, K], got ", probs.sizes());
  std::string text;
  const double* p = probs.data_ptr<double>();
  char buf[40];
  for (int64_t i = 0; i < probs.size(0); ++i) {
    text += std::to_string(i);
    for (int64_t k = 0; k < probs.size(1); ++k) {
      std::snprintf(buf, sizeof buf, ",%.9g", p[i * probs.size(1) + k]);
      text += buf;
    }
    text += '\n';
  }
  core::write_file_atomic(path, text);
}

at::Tensor read_result_file(const std::string& path) {
  const std::string text = core::read_file(path);
  std::map<int64_t, std::vector<double>> rows;
  size_t width = 0;
  int line_no = 0;
  std::istringstream in(text);
  std::string line;
  while (std::getline(in, line)) {
    ++line_no;
    if (!line.empty() && line.back() == '\r') line.pop_back();
    if (line.empty()) continue;
    const std::vector<std::string> cells = split_on(line, ',');
    MN_CHECK(cells.size() >= 2, "result file ", path, " line ", line_no, ": expected index,score,...; got '",
             core::escape_bytes(line.substr(0, 80)), "'");
    std::vector<double> values;
    int64_t index = 0;
    try {
      size_t used = 0;
      index = std::stoll(cells[0], &used);
      MN_CHECK(used == cells[0].size() && index >= 0, "bad index");
      for (size_t c = 1; c < cells.size(); ++c) {
        const double v = std::stod(cells[c], &used);
        MN_CHECK(used == cells[c].size() && std::isfinite(v), "bad score");
        values.push_back(v);
      }
    } catch (const std::exception&) {
      MN_CHECK(false, "result file ", path, " line ", line_no, ": not an index and finite scores: '",
               core::escape_bytes(line.substr(0, 80)), "'");
    }
    MN_CHECK(width == 0 || values.size() == width, "result file ", path, " line ", line_no, ": ",
             values.size(), " scores where earlier lines have ", width);
    width = values.size();
    MN_CHECK(rows.emplace(index, std::move(values)).second, "result file ", path, " line ", line_no,
             ": index ", index, " appears twice");
  }
  MN_CHECK(!rows.empty(), "result file ", path, " holds no rows");
  MN_CHECK(rows.rbegin()->first == static_cast<int64_t>(rows.size()) - 1, "result file ", path,
           ": indices are not 0..", rows.size() - 1, " (largest is ", rows.rbegin()->first, ")");
  at::Tensor out =
      torch::empty({static_cast<int64_t>(rows.size()), static_cast<int64_t>(width)}, torch::kDouble);
  double* o = out.data_ptr<double>();
  for (const auto& [i, v] : rows) std::copy(v.begin(), v.end(), o + i * static_cast<int64_t>(width));
  return out;
}

}  // namespace mednet::metrics
