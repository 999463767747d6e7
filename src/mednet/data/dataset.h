#pragma once
// MedMNIST files on disk: where they are looked for, MD5 checks remembered between runs, and the
// splits loaded into channel-first uint8 tensors with their labels.
#include <string>
#include <vector>

#include <ATen/core/Tensor.h>

#include "mednet/data/catalog.h"

namespace mednet::data {

/// Folders searched for MedMNIST files, in order: the --root flag (when given), $MEDMNIST_ROOT,
/// ~/.medmnist (the Python package's default).
std::vector<std::string> root_candidates(const std::string& cli_root);

/// The first existing official file for the dataset and size; otherwise a runtime error naming the
/// folders searched and how to fetch the file.
std::string locate_file(const DatasetInfo& info, int size, const std::string& cli_root);

enum class Md5Status { Verified, Remembered, Unavailable, Skipped };
/// Checks a file against its official MD5 once; a match is remembered (path, size, mtime) in the cache
/// folder so later runs skip the hashing. A mismatch is a runtime error.
Md5Status verify_md5(const std::string& path, const std::string& expected);

/// One split: images as uint8 [N, C, H, W] (2D) or [N, C, D, H, W] (3D); labels as int64 [N, L].
struct SplitData {
  at::Tensor images;
  at::Tensor labels;
  int64_t size() const { return images.defined() ? images.size(0) : 0; }
};

/// Reads and validates one split from an open archive.
SplitData read_split(class NpzReader& npz, const DatasetInfo& info, int size, Split split);

struct MedMnist {
  const DatasetInfo* info = nullptr;
  int size = 28;
  std::string path;
  Md5Status md5 = Md5Status::Skipped;  ///< how open_medmnist checked the file
  SplitData train, val, test;
  const SplitData& split(Split s) const { return s == Split::Train ? train : s == Split::Val ? val : test; }
};

/// Loads all three splits of a file.
MedMnist load_medmnist(const DatasetInfo& info, int size, const std::string& path);

/// Finds the file (root lookup), checks its MD5 once (unless check_md5 is false, for files in the
/// official format that are not the official release), loads it; md5 receives how the check went.
MedMnist open_medmnist(const DatasetInfo& info, int size, const std::string& cli_root,
                       Md5Status* md5 = nullptr, bool check_md5 = true);

/// "verified", "verified earlier", or "not checked (no MD5 support in this build)".
std::string md5_status_name(Md5Status s);

/// uint8 images to float in [-1, 1], the (x / 255 - 0.5) / 0.5 normalisation of the MedMNIST baselines.
at::Tensor to_network_input(const at::Tensor& images_u8);
/// uint8 images as floats in [0, 1], the range augmentation works in.
at::Tensor to_unit(const at::Tensor& images_u8);
/// [0, 1] floats to the network's [-1, 1] (what to_network_input gives for unaugmented images).
at::Tensor unit_to_network_input(const at::Tensor& unit);

}  // namespace mednet::data
