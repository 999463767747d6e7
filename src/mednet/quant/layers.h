#pragma once
// A plain network (the sequential cnn, 2D and 3D) as a list of layers in inference form: conv
// [+BatchNorm] [+ReLU], max-pool, average pool, flatten, linear [+ReLU]. BatchNorm folds into its
// convolution. Both the int8 conversion and quantization-aware training start from this list.
#include <string>
#include <vector>

#include <ATen/core/Tensor.h>

#include "mednet/models/classifier.h"

namespace mednet::quant {

/// One layer of a plain network in inference form.
struct Layer {
  enum class Op { Conv, MaxPool, AvgPool, Flatten, Linear };
  Op op = Op::Conv;
  std::string source;  ///< the float model's module names ("features.0+features.1+features.2")
  int dims = 2;        ///< spatial dimensions of a convolution or pool
  int64_t kernel = 1, stride = 1, padding = 0;
  bool relu = false;
  double dropout = 0;       ///< after the ReLU, in training only (quantization-aware training)
  at::Tensor weight, bias;  ///< convolution and linear (bias undefined: none)
  at::Tensor bn_weight, bn_bias, bn_mean, bn_var;  ///< BatchNorm after a convolution (undefined: none)
  double bn_eps = 1e-5;
};
std::string op_name(Layer::Op op);
/// The inverse of op_name; an unknown name is an error.
Layer::Op parse_op(const std::string& name);
/// True for the layers with weights (convolution and linear).
bool has_weights(Layer::Op op);

/// The model's layers in order (CPU copies). Only the sequential "cnn" converts; another model, or a
/// layer without an int8 form, is a usage error that names it.
std::vector<Layer> extract_layers(models::ClassifierImpl& model);
/// The layers with every BatchNorm folded into its convolution (which then has a bias).
std::vector<Layer> fold_layers(const std::vector<Layer>& layers);
/// One layer in float (inference: BatchNorm with running statistics, no dropout).
at::Tensor apply_float(const Layer& layer, const at::Tensor& x);
/// The whole list in float.
at::Tensor run_float(const std::vector<Layer>& layers, const at::Tensor& x);

/// A k x k (x k) max-pool with stride k (float or quantized 2D input).
at::Tensor max_pool(const at::Tensor& x, int dims, int64_t k);
/// Global average pooling to 1 x 1 (x 1).
at::Tensor avg_pool(const at::Tensor& x, int dims);

}  // namespace mednet::quant
