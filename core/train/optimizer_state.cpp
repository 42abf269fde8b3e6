#include "train/optimizer_state.h"

#include <cmath>
#include <map>
#include <memory>
#include <sstream>
#include <string>
#include <type_traits>
#include <vector>

#include <nlohmann/json.hpp>
#include <torch/optim/adamw.h>

#include "checkpoint/safetensors.h"
#include "util/error.h"
#include "util/tensor_map.h"

namespace nmar::core {
namespace fs = std::filesystem;
namespace {

constexpr char kFormat[] = "nmar-optimizer/1";
const char* const kFields[] = {"exp_avg", "exp_avg_sq", "max_exp_avg_sq"};

/**
 * The key LibTorch files a parameter's state under: the TensorImpl address as a string in
 * LibTorch 1.x, the address itself in 2.x.
 */
template <class Map>
typename Map::key_type stateKey(const Map&, const at::Tensor& p) {
  using Key = typename Map::key_type;
  if constexpr (std::is_same_v<Key, std::string>) {
    std::ostringstream os;  // what c10::guts::to_string(p.unsafeGetTensorImpl()) writes
    os << p.unsafeGetTensorImpl();
    return os.str();
  } else {
    return static_cast<Key>(p.unsafeGetTensorImpl());
  }
}

std::string tensorName(std::size_t index, const std::string& field) {
  return "param." + std::to_string(index) + "." + field;
}

torch::optim::AdamWOptions& adamwOptions(torch::optim::OptimizerParamGroup& group,
                                         const std::string& what) {
  auto* options = dynamic_cast<torch::optim::AdamWOptions*>(&group.options());
  if (options == nullptr)
    throw Error(what + ": only the AdamW optimizer's state can be saved and loaded");
  return *options;
}

double number(const nlohmann::json& group, const char* key, const std::string& where, double lo,
              double hi) {
  const auto it = group.find(key);
  if (it == group.end() || !it->is_number())
    throw Error(where + ": field \"" + key + "\" is missing or not a number");
  const double v = it->get<double>();
  if (!std::isfinite(v) || v < lo || v > hi)
    throw Error(where + ": field \"" + key + "\" = " + it->dump() + " is out of range");
  return v;
}

/** A parameter's state read from the file, checked, not yet installed. */
struct ParamState {
  std::int64_t step = 0;
  at::Tensor expAvg, expAvgSq, maxExpAvgSq;
};

}  // namespace

void requireOptimizerState(const fs::path& dir) {
  if (fs::exists(dir / kOptimizerStateFile)) return;
  if (fs::exists(dir / "optimizer.pt"))
    throw Error((dir / "optimizer.pt").string() +
                ": an optimizer state from an earlier nmar (a TorchScript archive, which nmar no "
                "longer loads: it is untrusted input that can carry code); this checkpoint cannot "
                "be resumed, but its weights can start a new run ([model].checkpoint)");
  throw Error((dir / kOptimizerStateFile).string() +
              ": missing (a checkpoint to resume from needs the optimizer state)");
}

void saveOptimizerState(torch::optim::Optimizer& optimizer, const fs::path& file) {
  const std::string what = file.string();
  TensorMap tensors;
  nlohmann::json groups = nlohmann::json::array();
  std::size_t index = 0;
  auto& state = optimizer.state();
  for (auto& group : optimizer.param_groups()) {
    const auto& o = adamwOptions(group, what);
    groups.push_back({{"lr", o.lr()},
                      {"beta1", std::get<0>(o.betas())},
                      {"beta2", std::get<1>(o.betas())},
                      {"eps", o.eps()},
                      {"weight_decay", o.weight_decay()},
                      {"amsgrad", o.amsgrad()},
                      {"params", group.params().size()}});
    for (const at::Tensor& p : group.params()) {
      const auto it = state.find(stateKey(state, p));
      if (it != state.end()) {
        const auto* s = dynamic_cast<const torch::optim::AdamWParamState*>(it->second.get());
        if (s == nullptr) throw Error(what + ": a parameter's state is not AdamW's");
        tensors[tensorName(index, "step")] = at::tensor({s->step()}, at::kLong);
        tensors[tensorName(index, "exp_avg")] = s->exp_avg();
        tensors[tensorName(index, "exp_avg_sq")] = s->exp_avg_sq();
        if (s->max_exp_avg_sq().defined())
          tensors[tensorName(index, "max_exp_avg_sq")] = s->max_exp_avg_sq();
      }
      ++index;
    }
  }
  writeSafetensors(file, tensors,
                   {{"format", kFormat}, {"type", "adamw"}, {"groups", groups.dump()}});
}

void loadOptimizerState(torch::optim::Optimizer& optimizer, const fs::path& file) {
  const std::string what = file.string();
  if (!fs::exists(file)) requireOptimizerState(file.parent_path());
  std::map<std::string, std::string> meta;
  TensorMap tensors = readSafetensors(file, &meta);
  if (meta["format"] != kFormat || meta["type"] != "adamw")
    throw Error(what + ": not an nmar AdamW optimizer state (metadata \"format\" must be \"" +
                kFormat + "\" and \"type\" \"adamw\")");
  nlohmann::json groups;
  try {
    groups = nlohmann::json::parse(meta["groups"]);
  } catch (const nlohmann::json::exception& e) {
    throw Error(what + ": metadata \"groups\" is not valid JSON: " + e.what());
  }
  auto& live = optimizer.param_groups();
  if (!groups.is_array() || groups.size() != live.size())
    throw Error(what + ": metadata \"groups\" must list " + std::to_string(live.size()) +
                " parameter group(s)");

  // Check everything first; change nothing until all of it is valid.
  std::vector<torch::optim::AdamWOptions> options;
  std::vector<std::pair<at::Tensor, ParamState>> states;
  std::size_t index = 0, used = 0;
  for (std::size_t g = 0; g < live.size(); ++g) {
    const std::string where = what + ": group " + std::to_string(g);
    const nlohmann::json& j = groups[g];
    if (!j.is_object()) throw Error(where + ": not a JSON object");
    auto o = adamwOptions(live[g], what);
    o.lr(number(j, "lr", where, 0.0, 1e6));
    o.betas({number(j, "beta1", where, 0.0, 1.0 - 1e-12), number(j, "beta2", where, 0.0, 1.0 - 1e-12)});
    o.eps(number(j, "eps", where, 0.0, 1.0));
    o.weight_decay(number(j, "weight_decay", where, 0.0, 1e6));
    if (!j.contains("amsgrad") || !j["amsgrad"].is_boolean())
      throw Error(where + ": field \"amsgrad\" is missing or not a boolean");
    o.amsgrad(j["amsgrad"].get<bool>());
    const std::size_t count = live[g].params().size();
    if (number(j, "params", where, 0, 1e12) != static_cast<double>(count))
      throw Error(where + ": field \"params\" = " + j["params"].dump() + ", but the model has " +
                  std::to_string(count) + " parameters in it");
    options.push_back(o);
    for (const at::Tensor& p : live[g].params()) {
      const std::string stepName = tensorName(index, "step");
      const auto step = tensors.find(stepName);
      if (step == tensors.end()) {
        for (const char* f : kFields)
          if (tensors.count(tensorName(index, f)))
            throw Error(what + ": tensor \"" + tensorName(index, f) + "\" has no \"" + stepName +
                        "\"");
        ++index;
        continue;
      }
      if (step->second.scalar_type() != at::kLong || step->second.numel() != 1 ||
          step->second.item<std::int64_t>() < 1)
        throw Error(what + ": tensor \"" + stepName + "\" must be one I64 value >= 1");
      ParamState st;
      st.step = step->second.item<std::int64_t>();
      ++used;
      for (const char* f : kFields) {
        const std::string name = tensorName(index, f);
        const auto t = tensors.find(name);
        const bool optional = std::string(f) == "max_exp_avg_sq";
        if (t == tensors.end()) {
          if (optional && !o.amsgrad()) continue;
          throw Error(what + ": tensor \"" + name + "\" is missing");
        }
        if (!at::isFloatingType(t->second.scalar_type()) || t->second.sizes() != p.sizes())
          throw Error(what + ": tensor \"" + name + "\" has shape " +
                      c10::str(t->second.sizes()) + " " + std::string(c10::toString(t->second.scalar_type())) +
                      "; its parameter has shape " + c10::str(p.sizes()));
        if (!at::isfinite(t->second).all().item<bool>())
          throw Error(what + ": tensor \"" + name + "\" holds NaN or infinite values");
        at::Tensor v = t->second.to(p.options().requires_grad(false));
        (optional ? st.maxExpAvgSq : std::string(f) == "exp_avg" ? st.expAvg : st.expAvgSq) = v;
        ++used;
      }
      states.emplace_back(p, std::move(st));
      ++index;
    }
  }
  if (used != tensors.size()) {
    for (const auto& [name, t] : tensors) {
      (void)t;
      bool known = false;
      for (std::size_t i = 0; i < index && !known; ++i)
        for (const char* f : {"step", "exp_avg", "exp_avg_sq", "max_exp_avg_sq"})
          known = known || name == tensorName(i, f);
      if (!known)
        throw Error(what + ": tensor \"" + name + "\" belongs to no parameter of this model (" +
                    std::to_string(index) + " parameters)");
    }
  }

  auto& state = optimizer.state();
  state.clear();
  for (std::size_t g = 0; g < live.size(); ++g)
    static_cast<torch::optim::AdamWOptions&>(live[g].options()) = options[g];
  for (auto& [p, st] : states) {
    auto s = std::make_unique<torch::optim::AdamWParamState>();
    s->step(st.step);
    s->exp_avg(st.expAvg);
    s->exp_avg_sq(st.expAvgSq);
    if (st.maxExpAvgSq.defined()) s->max_exp_avg_sq(st.maxExpAvgSq);
    state[stateKey(state, p)] = std::move(s);
  }
}

}  // namespace nmar::core
