#pragma once
// A network as a list of layers in inference form, in the order they compute: conv [+BatchNorm]
// [+ReLU], max-pool, average pool, flatten, linear [+ReLU], and the residual add [+ReLU]. A layer reads
// the previous layer's output unless it names another one (a residual block's shortcut), so the list
// holds sequential networks and ResNets alike. BatchNorm folds into its convolution. The int8
// conversion, calibration and quantization-aware training all run the list through run_layers.
// quant/extract.h builds it from a model.
#include <functional>
#include <string>
#include <vector>

#include <ATen/core/Tensor.h>

namespace mednet::quant {

/// One layer of a plain network in inference form.
struct Layer {
  enum class Op { Conv, MaxPool, AvgPool, Flatten, Linear, Add, Prepare };
  Op op = Op::Conv;
  std::string source;  ///< the float model's module names ("features.0+features.1+features.2")
  int dims = 2;        ///< spatial dimensions of a convolution or pool
  int64_t kernel = 1, stride = 1, padding = 0;
  /// What the layer reads: -1 the previous layer's output (the network input for the first layer),
  /// k >= 0 the output of layer k.
  int input = -1;
  /// Add only: the layer whose output is added to the input (the shortcut), an index below this one.
  int residual = -1;
  /// Prepare only (VGG16's input, first and in float; the input quantize follows it): grayscale to 3
  /// channels, bilinear resize to `resize` pixels (0: keep), ImageNet normalisation.
  int64_t resize = 0;
  bool imagenet_norm = false;
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
/// True for the layers whose output has a range of its own (weights or an add); a pool or flatten
/// keeps its input's range.
bool has_own_range(Layer::Op op);
/// True when the list starts with a Prepare layer (the input quantize then follows it).
bool starts_with_prepare(const std::vector<Layer>& layers);
/// Layer i's input index: -1 for the network input, else the index of the layer it reads.
int input_of(const std::vector<Layer>& layers, size_t i);
/// The same for layer l at index i of its list.
int input_index(const Layer& l, size_t i);

/// The layers with every BatchNorm folded into its convolution (which then has a bias).
std::vector<Layer> fold_layers(const std::vector<Layer>& layers);
/// One step of run_layers: layer i's output from its input and, for an add, the shortcut's output.
using LayerStep = std::function<at::Tensor(size_t i, const at::Tensor& input, const at::Tensor& residual)>;
/// Runs the list on x: each layer gets its input (and shortcut), an output is kept until its last reader
/// has run. Returns the last layer's output. Indices that do not point back are an error.
at::Tensor run_layers(const std::vector<Layer>& layers, const at::Tensor& x, const LayerStep& step);

/// One layer in float (inference: BatchNorm with running statistics, no dropout); residual is the
/// shortcut of an add (undefined otherwise).
at::Tensor apply_float(const Layer& layer, const at::Tensor& x, const at::Tensor& residual = at::Tensor());
/// The whole list in float.
at::Tensor run_float(const std::vector<Layer>& layers, const at::Tensor& x);

/// A float convolution with the layer's geometry (2D or 3D by its dims, its stride and padding) and the
/// given weight and bias (undefined: none).
at::Tensor conv_nd(const Layer& l, const at::Tensor& x, const at::Tensor& weight, const at::Tensor& bias);
/// A k x k (x k) max-pool with the given stride and padding (float or quantized 2D input).
at::Tensor max_pool(const at::Tensor& x, int dims, int64_t k, int64_t stride, int64_t padding);
/// Global average pooling to 1 x 1 (x 1).
at::Tensor avg_pool(const at::Tensor& x, int dims);

}  // namespace mednet::quant
