#pragma once
// The MedMNIST v3 dataset catalog, as data: one row per dataset (flag, task, channels, label names,
// split sizes, license) and one file per available size (URL and MD5). Everything else reads it.
#include <cstdint>
#include <string>
#include <vector>

#include "mednet/data/input_shape.h"

namespace mednet::data {

/// The four task types of the official evaluator.
enum class Task { BinaryClass, MultiClass, OrdinalRegression, MultiLabel };

/// The official task string ("binary-class", "multi-label, binary-class", ...).
std::string task_name(Task task);
/// What a report calls one of the task's outputs in prose: "class" (binary, multi-class), "grade" (ordinal),
/// "finding" (multi-label); plural adds the "s".
std::string output_noun(Task task, bool plural = false);
/// Parses task_name's strings back; anything else is an error naming `what` (the file it came from).
Task parse_task(const std::string& name, const std::string& what);

enum class Split { Train, Val, Test };
std::string split_name(Split split);
/// Parses "train" | "val" | "test"; anything else is a usage error.
Split parse_split(const std::string& name);

/// One downloadable file of a dataset.
struct SizeFile {
  int size;         ///< 28, 64, 128 or 224
  std::string md5;  ///< official MD5 of the .npz
};

struct DatasetInfo {
  std::string flag;          ///< "adrenalmnist3d"
  std::string display_name;  ///< "AdrenalMNIST3D"
  Task task;
  int channels;
  bool volumetric;  ///< 3D (28^3 / 64^3) rather than 2D
  std::vector<std::string> labels;
  int64_t n_train, n_val, n_test;
  std::string license;
  std::vector<SizeFile> files;

  int64_t split_size(Split split) const;
  /// Number of network outputs: classes, or labels for multi-label.
  int num_outputs() const { return static_cast<int>(labels.size()); }
  /// Label columns in the file: the label count for multi-label, else 1.
  int label_columns() const { return task == Task::MultiLabel ? num_outputs() : 1; }
  int spatial_dims() const { return volumetric ? 3 : 2; }
  std::vector<int> sizes() const;
  const SizeFile& file(int size) const;
  /// Official file name: "adrenalmnist3d.npz" for 28, "adrenalmnist3d_64.npz" otherwise.
  std::string file_name(int size) const;
  std::string url(int size) const;
};

/// The network input and output of a dataset at a size.
InputShape input_shape(const DatasetInfo& info, int size);

/// All 18 datasets, in the official order.
const std::vector<DatasetInfo>& catalog();

/// Looks a flag up (case-insensitive); an unknown flag is a usage error listing the valid ones.
const DatasetInfo& find_dataset(const std::string& flag);

}  // namespace mednet::data
