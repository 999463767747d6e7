#pragma once
// Test-time augmentation by flips: a model's per-class probabilities averaged over flipped copies of its
// input, the flips being those the run trained with (its augmentation's flip axes), so the model has seen
// every view it is asked about.
#include <functional>
#include <string>
#include <vector>

#include <ATen/core/Tensor.h>

#include "mednet/augment/augment.h"
#include "mednet/data/catalog.h"

namespace mednet::engine {

/// Sets of tensor dimensions to flip together ([N, C, *spatial]: spatial axis a is dimension a + 2); the
/// empty set is the input itself. No sets: no test-time augmentation.
using FlipSets = std::vector<std::vector<int64_t>>;

/// "none": no sets; "flips": every subset of the axes the training augmentation flips, the empty one first
/// (2 axes give 4 views, 3 give 8). "flips" for a run trained without flips, or another mode, is a usage
/// error naming --tta.
FlipSets tta_views(const std::string& mode, const std::vector<augment::TransformSpec>& augment);

/// Logits whose probabilities (metrics::probabilities) are probs [N, K]: log p for softmax tasks,
/// log(p / (1 - p)) for multi-label ones (p clamped away from 0 and 1).
at::Tensor probs_as_logits(data::Task task, const at::Tensor& probs);

/// The logits of x, or with flips the mean of the probabilities over the views, given back as logits
/// whose probabilities are that mean (probs_as_logits).
at::Tensor view_logits(const std::function<at::Tensor(const at::Tensor&)>& forward, const at::Tensor& x,
                       data::Task task, const FlipSets& views);

}  // namespace mednet::engine
