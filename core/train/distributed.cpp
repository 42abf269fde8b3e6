#include "train/distributed.h"

#include <cerrno>
#include <climits>
#include <cstdlib>

#include <ATen/ATen.h>
#include <torch/csrc/autograd/grad_mode.h>
#include <torch/version.h>

#if defined(USE_C10D_GLOO) && defined(NMAR_HAVE_GLOO)
#define NMAR_GLOO 1
#include <torch/csrc/distributed/c10d/ProcessGroupGloo.hpp>
#endif
// A CUDA LibTorch built with NCCL; nccl.h must be on the include path too (a pip install keeps it
// in nvidia/nccl/include: add that folder to CPATH when it is not found).
#if defined(USE_C10D_NCCL) && __has_include(<torch/csrc/distributed/c10d/ProcessGroupNCCL.hpp>) && \
    __has_include(<nccl.h>)
#define NMAR_NCCL 1
#include <torch/csrc/distributed/c10d/ProcessGroupNCCL.hpp>
#endif
#if defined(NMAR_GLOO) || defined(NMAR_NCCL)
#include <torch/csrc/distributed/c10d/TCPStore.hpp>
#endif

#include "util/error.h"
#include "util/log.h"

namespace nmar::core {
namespace {

using Clock = std::chrono::steady_clock;

/** Parses an integer environment value in [lo, hi]; Error naming @p name otherwise. */
int envInt(const char* name, const char* text, int lo, int hi) {
  errno = 0;
  char* end = nullptr;
  const long v = std::strtol(text, &end, 10);
  if (*text == '\0' || *end != '\0' || errno == ERANGE || v < lo || v > hi) {
    throw Error(std::string(name) + ": expected an integer in [" + std::to_string(lo) + ", " +
                std::to_string(hi) + "], got '" + text + "'");
  }
  return static_cast<int>(v);
}

bool isLoopback(const std::string& host) {
  return host == "localhost" || host.rfind("127.", 0) == 0 || host == "::1";
}

}  // namespace

DistributedEnv readDistributedEnv(const std::function<const char*(const char*)>& getenvFn) {
  auto get = [&](const char* name) -> const char* {
    return getenvFn ? getenvFn(name) : std::getenv(name);
  };
  DistributedEnv env;
  const char* world = get("WORLD_SIZE");
  const char* rank = get("RANK");
  if (!world && !rank) return env;
  if (!world) throw Error("WORLD_SIZE: missing (RANK is set to '" + std::string(rank) + "')");
  env.worldSize = envInt("WORLD_SIZE", world, 1, 1 << 20);
  if (!rank) {
    if (env.worldSize == 1) return env;
    throw Error("RANK: missing (WORLD_SIZE is " + std::to_string(env.worldSize) + ")");
  }
  env.rank = envInt("RANK", rank, 0, INT_MAX);
  if (env.rank >= env.worldSize) {
    throw Error("RANK: " + std::to_string(env.rank) + " must be less than WORLD_SIZE (" +
                std::to_string(env.worldSize) + ")");
  }
  const char* local = get("LOCAL_RANK");
  env.localRank = local ? envInt("LOCAL_RANK", local, 0, env.worldSize - 1) : env.rank;
  if (const char* t = get("NMAR_DIST_TIMEOUT")) {
    env.timeout = std::chrono::seconds(envInt("NMAR_DIST_TIMEOUT", t, 1, 7 * 24 * 3600));
  }
  if (!env.distributed()) return env;
  const char* addr = get("MASTER_ADDR");
  const char* port = get("MASTER_PORT");
  if (!addr || !*addr)
    throw Error("MASTER_ADDR: missing (WORLD_SIZE is " + std::string(world) + ")");
  if (!port) throw Error("MASTER_PORT: missing (WORLD_SIZE is " + std::string(world) + ")");
  env.masterAddr = addr;
  env.masterPort = envInt("MASTER_PORT", port, 1, 65535);
  return env;
}

bool glooAvailable() {
#ifdef NMAR_GLOO
  return true;
#else
  return false;
#endif
}

bool ncclAvailable() {
#ifdef NMAR_NCCL
  return true;
#else
  return false;
#endif
}

std::pair<int, int> shardRange(int batchSize, int rank, int worldSize) {
  const auto b = static_cast<std::int64_t>(batchSize);
  return {static_cast<int>(b * rank / worldSize), static_cast<int>(b * (rank + 1) / worldSize)};
}

#if TORCH_VERSION_MAJOR >= 2
using Collective = c10d::Backend;  // 2.x: ProcessGroupGloo/NCCL are Backends
#elif defined(NMAR_GLOO) || defined(NMAR_NCCL)
using Collective = c10d::ProcessGroup;  // 1.13: they are ProcessGroups
#endif

/** The c10d objects (absent in a single process or a build without c10d). */
struct DistributedContext::Group {
#if defined(NMAR_GLOO) || defined(NMAR_NCCL)
  c10::intrusive_ptr<c10d::Store> store;
  c10::intrusive_ptr<Collective> pg;
#endif
  std::string backend = "none";
  c10::Device device = c10::Device(c10::kCPU);
};

DistributedContext::DistributedContext() : m_group(std::make_unique<Group>()) {}

DistributedContext::DistributedContext(const DistributedEnv& env, c10::Device device,
                                       std::chrono::milliseconds timeout)
    : m_env(env), m_group(std::make_unique<Group>()) {
  m_group->device = device;
  if (!env.distributed()) return;
  const std::string where = "MASTER_ADDR=" + env.masterAddr +
                            " MASTER_PORT=" + std::to_string(env.masterPort) + " (rank " +
                            std::to_string(env.rank) + " of " + std::to_string(env.worldSize) + ")";
#if defined(NMAR_GLOO) || defined(NMAR_NCCL)
  try {
    c10d::TCPStoreOptions so;
    so.port = static_cast<std::uint16_t>(env.masterPort);
    so.isServer = env.rank == 0;
    so.numWorkers = static_cast<std::size_t>(env.worldSize);
    so.waitWorkers = true;
    so.timeout = timeout;
    m_group->store = c10::make_intrusive<c10d::TCPStore>(env.masterAddr, so);
  } catch (const std::exception& e) {
    throw Error("distributed: cannot reach the TCPStore at " + where + ": " + e.what());
  }
  try {
    if (device.is_cuda()) {
#ifdef NMAR_NCCL
      auto options = c10d::ProcessGroupNCCL::Options::create();
      options->timeout = timeout;
      m_group->pg = c10::make_intrusive<c10d::ProcessGroupNCCL>(m_group->store, env.rank,
                                                                env.worldSize, options);
      m_group->backend = "nccl";
#else
      throw Error("distributed: device " + device.str() +
                  " needs NCCL, and this LibTorch was built without it");
#endif
    } else {
#ifdef NMAR_GLOO
      auto options = c10d::ProcessGroupGloo::Options::create(timeout);
      const char* ifname = std::getenv("GLOO_SOCKET_IFNAME");
      if (ifname && *ifname) {
        options->devices.push_back(c10d::ProcessGroupGloo::createDeviceForInterface(ifname));
      } else if (isLoopback(env.masterAddr)) {
        options->devices.push_back(c10d::ProcessGroupGloo::createDeviceForHostname("127.0.0.1"));
      } else {
        options->devices.push_back(c10d::ProcessGroupGloo::createDefaultDevice());
      }
      options->threads = 1;  // one collective in flight at a time
      m_group->pg = c10::make_intrusive<c10d::ProcessGroupGloo>(m_group->store, env.rank,
                                                                env.worldSize, options);
      m_group->backend = "gloo";
#else
      throw Error("distributed: CPU training needs Gloo, and this build has no Gloo headers");
#endif
    }
  } catch (const Error&) {
    throw;
  } catch (const std::exception& e) {
    throw Error("distributed: cannot create the process group at " + where + ": " + e.what());
  }
  logger("core.train")
      ->info("distributed: rank {} of {} ({}, {})", env.rank, env.worldSize, m_group->backend,
             where);
#else
  (void)timeout;
  throw Error("distributed: WORLD_SIZE is " + std::to_string(env.worldSize) +
              " but this LibTorch has no c10d (Gloo/NCCL) support");
#endif
}

DistributedContext::~DistributedContext() = default;

std::string DistributedContext::backend() const { return m_group->backend; }

c10::Device DistributedContext::trainingDevice(c10::Device device) const {
  if (!distributed() || !device.is_cuda()) return device;
  return c10::Device(c10::kCUDA, static_cast<c10::DeviceIndex>(m_env.localRank));
}

void DistributedContext::collective(std::vector<at::Tensor>& flat, Reduce op, int root,
                                    bool broadcast) {
  if (!distributed()) return;
#if defined(NMAR_GLOO) || defined(NMAR_NCCL)
  const auto t0 = Clock::now();
  try {
    c10::intrusive_ptr<c10d::Work> work;
    if (broadcast) {
      c10d::BroadcastOptions bo;
      bo.rootRank = root;
      work = m_group->pg->broadcast(flat, bo);
    } else {
      c10d::AllreduceOptions ao;
      ao.reduceOp = op == Reduce::kMax ? c10d::ReduceOp::MAX : c10d::ReduceOp::SUM;
      work = m_group->pg->allreduce(flat, ao);
    }
    work->wait();
  } catch (const std::exception& e) {
    throw Error("distributed: " + std::string(broadcast ? "broadcast" : "all-reduce") +
                " failed on rank " + std::to_string(rank()) + " of " + std::to_string(worldSize()) +
                " (a peer died or diverged?): " + e.what());
  }
  if (op == Reduce::kMean && !broadcast) {
    for (at::Tensor& t : flat) t.div_(worldSize());
  }
  for (const at::Tensor& t : flat) m_stats.bytes += t.numel() * t.element_size();
  m_stats.calls += 1;
  m_stats.seconds += std::chrono::duration<double>(Clock::now() - t0).count();
#else
  (void)flat, (void)op, (void)root, (void)broadcast;
#endif
}

void DistributedContext::allReduce(std::vector<at::Tensor>& tensors, Reduce op) {
  for (at::Tensor& t : tensors) {
    std::vector<at::Tensor> one{t};
    collective(one, op, 0, false);
  }
}

std::vector<double> DistributedContext::allReduce(const std::vector<double>& values, Reduce op) {
  if (!distributed() || values.empty()) return values;
  at::Tensor t = at::tensor(values, at::TensorOptions().dtype(at::kDouble));
  if (m_group->device.is_cuda()) t = t.to(m_group->device);
  std::vector<at::Tensor> one{t};
  collective(one, op, 0, false);
  t = one[0].cpu().contiguous();
  return std::vector<double>(t.data_ptr<double>(), t.data_ptr<double>() + t.numel());
}

bool DistributedContext::anyTrue(bool flag) {
  if (!distributed()) return flag;
  return allReduce(std::vector<double>{flag ? 1.0 : 0.0}, Reduce::kMax)[0] > 0.5;
}

double DistributedContext::broadcast(double value, int root) {
  if (!distributed()) return value;
  at::Tensor t = at::full({1}, value, at::TensorOptions().dtype(at::kDouble));
  if (m_group->device.is_cuda()) t = t.to(m_group->device);
  std::vector<at::Tensor> one{t};
  collective(one, Reduce::kSum, root, true);
  return one[0].cpu().item<double>();
}

void DistributedContext::bucketed(const std::vector<at::Tensor>& tensors, Reduce op, int root,
                                  bool broadcast, std::int64_t bucketBytes) {
  torch::NoGradGuard noGrad;
  std::size_t i = 0;
  while (i < tensors.size()) {
    // One bucket: consecutive tensors of one dtype and device, up to bucketBytes.
    std::vector<at::Tensor> bucket{tensors[i]};
    std::int64_t bytes = tensors[i].numel() * tensors[i].element_size();
    std::size_t j = i + 1;
    for (; j < tensors.size(); ++j) {
      const at::Tensor& t = tensors[j];
      const std::int64_t b = t.numel() * t.element_size();
      if (bytes + b > bucketBytes || t.scalar_type() != tensors[i].scalar_type() ||
          t.device() != tensors[i].device()) {
        break;
      }
      bucket.push_back(t);
      bytes += b;
    }
    std::vector<at::Tensor> flat(1);
    const bool inPlace = bucket.size() == 1 && bucket[0].is_contiguous();
    if (inPlace) {
      flat[0] = bucket[0].view({-1});  // reduced in place
    } else {
      std::vector<at::Tensor> parts;
      for (const at::Tensor& t : bucket) parts.push_back(t.reshape({-1}));
      flat[0] = at::cat(parts, 0);
    }
    collective(flat, op, root, broadcast);
    std::int64_t offset = 0;
    for (const at::Tensor& t : inPlace ? std::vector<at::Tensor>{} : bucket) {
      const std::int64_t n = t.numel();
      t.copy_(flat[0].narrow(0, offset, n).view(t.sizes()));
      offset += n;
    }
    i = j;
  }
}

void DistributedContext::allReduceGradients(const std::vector<at::Tensor>& params, Reduce op,
                                            std::int64_t bucketBytes, std::vector<double>* extra) {
  if (!distributed()) return;
  std::vector<at::Tensor> grads;
  grads.reserve(params.size() + 1);
  for (const at::Tensor& p : params) {
    if (!p.requires_grad()) continue;
    if (!p.grad().defined()) const_cast<at::Tensor&>(p).mutable_grad() = at::zeros_like(p);
    grads.push_back(p.grad());
  }
  at::Tensor tail;
  if (extra && !extra->empty()) {
    const auto options =
        grads.empty() ? at::TensorOptions().dtype(at::kFloat) : grads.back().options();
    tail = at::tensor(*extra, at::TensorOptions().dtype(at::kDouble)).to(options);
    grads.push_back(tail);
  }
  // The extras are tiny: let them join the last bucket however full it is.
  const std::int64_t tailBytes = tail.defined() ? tail.numel() * tail.element_size() : 0;
  bucketed(grads, op, 0, false, bucketBytes + tailBytes);
  if (tail.defined()) {
    const at::Tensor back = tail.to(at::kCPU, at::kDouble).contiguous();
    extra->assign(back.data_ptr<double>(), back.data_ptr<double>() + back.numel());
  }
}

void DistributedContext::broadcastParameters(const std::vector<at::Tensor>& params, int root) {
  if (!distributed()) return;
  std::vector<at::Tensor> data;
  for (const at::Tensor& p : params) data.push_back(p.detach());
  bucketed(data, Reduce::kSum, root, true, kDefaultBucketBytes);
}

void DistributedContext::barrier() {
  if (!distributed()) return;
  // A one-element all-reduce: the same ordering guarantee as barrier() on every backend.
  allReduce(std::vector<double>{0.0});
}

std::shared_ptr<DistributedContext> distributedFromEnvironment(c10::Device device) {
  const DistributedEnv env = readDistributedEnv();
  if (!env.distributed()) return std::make_shared<DistributedContext>();
  if (device.is_cuda())
    device = c10::Device(c10::kCUDA, static_cast<c10::DeviceIndex>(env.localRank));
  return std::make_shared<DistributedContext>(env, device, env.timeout);
}

}  // namespace nmar::core
