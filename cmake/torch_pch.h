// The headers precompiled once for every target that uses Torch (see nmar_torch_pch). Only
// third-party headers belong here; our own headers change too often.
#pragma once
#include <torch/torch.h>

#include <nlohmann/json.hpp>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <cstdint>
#include <filesystem>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>
