#pragma once
/** @file Named tensors, as stored in a checkpoint (name -> tensor), ordered by name. */
#include <map>
#include <string>

#include <ATen/core/Tensor.h>

namespace nmar::core {

/** Tensors by their Hugging Face name; ordered so that writing is deterministic. */
using TensorMap = std::map<std::string, at::Tensor>;

}  // namespace nmar::core
