#include "mednet/engine/score_file.h"

#include "mednet/core/error.h"

namespace mednet::engine {

FileScore score_result_file(const std::string& path, const std::string& root, bool check_md5,
                            const metrics::BootstrapOptions& bootstrap) {
  FileScore f;
  f.name = metrics::parse_result_file_name(path);
  const at::Tensor probs = metrics::read_result_file(path);
  f.info = &data::find_dataset(f.name.flag);
  const data::MedMnist d = data::open_medmnist(*f.info, f.name.size, root, nullptr, check_md5);
  f.data_file = d.path;
  const data::SplitData& split = d.split(data::parse_split(f.name.split));
  f.rows = probs.size(0);
  MN_CHECK(f.rows == split.size(), "result file ", path, " has ", f.rows, " rows but the ", f.name.split,
           " split of ", d.path, " has ", split.size(), " samples");
  const int64_t want = f.info->num_outputs();
  const bool binary_one_column = f.info->task == data::Task::BinaryClass && probs.size(1) == 1;
  MN_CHECK(probs.size(1) == want || binary_one_column, "result file ", path, " has ", probs.size(1),
           " scores per row; ", f.info->flag, " has ", want, " classes");
  f.scores = metrics::evaluate(f.info->task, split.labels, probs);
  f.ci = metrics::bootstrap_scores(f.info->task, split.labels, probs, bootstrap);
  return f;
}

}  // namespace mednet::engine
