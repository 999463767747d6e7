#pragma once
// Test fixtures made at test time: zip archives (stored, deflate, zip64 extras), and
// MedMNIST-format files for datasets we have no real files for.
#include <cstdint>
#include <functional>
#include <string>
#include <utility>
#include <vector>

#include <ATen/core/Tensor.h>
#include <torch/nn/module.h>

#include "mednet/run/config.h"

namespace mednet::testing {

enum class ZipMethod { Stored, Deflate };

/// Writes a zip archive of (name, bytes) entries. zip64 adds zip64 extra fields as numpy does.
void write_zip(const std::string& path, const std::vector<std::pair<std::string, std::string>>& entries,
               ZipMethod method, bool zip64 = false);

/// Writes an .npz (deflate) of named tensors.
void write_npz(const std::string& path, const std::vector<std::pair<std::string, at::Tensor>>& arrays,
               ZipMethod method = ZipMethod::Deflate);

/// Writes an .npz holding one uint8 array of the given shape whose i-th data byte is i % 251, streamed
/// in 1 MiB pieces (a file of gigabytes without holding it in memory). Sizes below 4 GiB.
void write_patterned_npz(const std::string& path, const std::string& key, const std::vector<int64_t>& shape,
                         ZipMethod method);

/// A MedMNIST-format file for a catalog dataset at 28 px with n samples per split. Labels follow a
/// learnable rule (the mean intensity of the image decides the class), so a short training run can
/// reach a validation AUC well above chance. Classes are balanced, so each occurs in every split of at
/// least as many samples as classes.
void write_fake_medmnist(const std::string& path, const std::string& flag, int64_t n_train, int64_t n_val,
                         int64_t n_test, uint64_t seed = 1);

/// BatchNorm statistics and affine parameters away from the identity (as after training): running means
/// in [-0.2, 0.2], variances in [0.5, 2], scales in [0.3, 1], shifts in [-0.2, 0.2] (every module whose
/// name holds "bn" or is a ResNet shortcut's "downsample.1").
void randomize_batch_norm(torch::nn::Module& m);

/// A short run (one epoch, batch 16, on the CPU) of a small plain CNN (widths {4}, hidden {4}) on a
/// generated file of the dataset's format written to ROOT/FLAG.npz (40/10/12 samples); adjust changes the
/// config before training. Returns the run folder, ROOT/run.
std::string tiny_trained_run(const std::string& root, const std::string& flag,
                             const std::function<void(run::TrainConfig&)>& adjust = {});

/// Experiment 2A's CNN (no augmentation, seed 0) trained for `epochs` epochs on the real RetinaMNIST in
/// root, on the CPU, into a new temp folder tagged `tag`; returns that folder. For real-data tests.
std::string real_retina_cnn_run(const std::string& root, int epochs, const std::string& tag);

/// A .safetensors file of float32 tensors (or float16 with half = true), in the given order.
void write_safetensors(const std::string& path,
                       const std::vector<std::pair<std::string, at::Tensor>>& tensors, bool half = false);

/// A fresh empty folder under the system temp dir.
/// data.pkl as Python's torch.save(model.state_dict()) writes it (protocol 2): an OrderedDict of 'b' (a
/// strided view: elements 1 and 3) and 'a' (all 6) over storage record '0' of 6 floats, an int entry 'n',
/// then BUILD with its _metadata.
std::string python_state_dict_pickle();

std::string temp_dir(const std::string& tag);

/// Reads a whole file.
std::string read_file(const std::string& path);

/// Runs a shell command; returns (exit code, stdout + stderr).
std::pair<int, std::string> run_command(const std::string& cmd);

}  // namespace mednet::testing
