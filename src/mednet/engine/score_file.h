#pragma once
// Scores a standard result file (metrics/result_file.h) against the labels of the split its name
// gives, as the medmnist package's Evaluator.parse_and_evaluate does, with bootstrap intervals.
#include <string>

#include "mednet/data/dataset.h"
#include "mednet/metrics/bootstrap.h"
#include "mednet/metrics/metrics.h"
#include "mednet/metrics/result_file.h"

namespace mednet::engine {

struct FileScore {
  metrics::ResultFileName name;
  const data::DatasetInfo* info = nullptr;
  std::string data_file;
  int64_t rows = 0;
  metrics::Scores scores;
  metrics::ScoreIntervals ci;
};

/// root: the folder of the .npz files (empty: the default lookup). A file whose row count or score
/// width does not match the split is an error naming it.
FileScore score_result_file(const std::string& path, const std::string& root, bool check_md5,
                            const metrics::BootstrapOptions& bootstrap = {});

}  // namespace mednet::engine
