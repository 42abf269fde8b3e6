#pragma once
/**
 * @file Data-parallel training over PyTorch's own c10d: the torchrun-style environment (RANK,
 * WORLD_SIZE, LOCAL_RANK, MASTER_ADDR, MASTER_PORT), a process group over a TCPStore (Gloo on CPU,
 * NCCL on CUDA when the LibTorch has it), bucketed gradient all-reduce, parameter broadcast and
 * barriers. Without the environment it is a single process: every call is a no-op. Torch header
 * (c10d stays inside the .cpp): not for viz/ or widgets/.
 */
#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include <ATen/core/Tensor.h>
#include <c10/core/Device.h>

namespace nmar::core {

/** The launch environment of one process (torchrun's variables). */
struct DistributedEnv {
  int rank = 0;            ///< RANK: this process, 0 .. worldSize - 1
  int worldSize = 1;       ///< WORLD_SIZE: processes in the job
  int localRank = 0;       ///< LOCAL_RANK: this process on its machine (the CUDA device index)
  std::string masterAddr;  ///< MASTER_ADDR: host of rank 0's TCPStore
  int masterPort = 0;      ///< MASTER_PORT: its port
  /** NMAR_DIST_TIMEOUT (seconds): how long a collective or the store waits for a peer. */
  std::chrono::milliseconds timeout = std::chrono::minutes(30);

  /** True when more than one process takes part. */
  bool distributed() const { return worldSize > 1; }
};

/**
 * Reads the torchrun variables through @p getenv (default: the process environment). None set, or
 * WORLD_SIZE = 1: a single process. NMAR_DIST_TIMEOUT (seconds, default 1800) bounds every wait
 * for a peer. Throws Error naming the variable for a value that is not an integer in range,
 * RANK >= WORLD_SIZE, or a variable missing when WORLD_SIZE > 1.
 */
DistributedEnv readDistributedEnv(const std::function<const char*(const char*)>& getenv = nullptr);

/** How a collective combines the ranks' values. */
enum class Reduce { kSum, kMean, kMax };

/** Time and bytes spent in collectives since the last reset (for logs and benchmarks). */
struct CommStats {
  double seconds = 0.0;    ///< wall time inside collectives (including waiting for peers)
  std::int64_t bytes = 0;  ///< bytes all-reduced or broadcast by this rank
  std::int64_t calls = 0;  ///< collectives issued
};

/**
 * One process's view of a data-parallel job. A single-process context (world 1) has no process
 * group and its collectives return at once, leaving tensors unchanged (kMean divides by 1).
 * Collectives block until every rank made the same call in the same order, so all ranks must
 * call them at the same points; a peer that died or diverged ends in an Error after the timeout.
 * Use it on one thread.
 */
class DistributedContext {
 public:
  /** A single process (rank 0 of 1). */
  DistributedContext();
  /**
   * Joins the job of @p env: rank 0 serves a TCPStore at MASTER_ADDR:MASTER_PORT, every rank
   * connects and creates a Gloo (CPU @p device) or NCCL (CUDA @p device) process group. Throws
   * Error naming MASTER_ADDR/MASTER_PORT when the store cannot be reached within @p timeout, or
   * when this LibTorch was built without the backend.
   */
  DistributedContext(const DistributedEnv& env, c10::Device device,
                     std::chrono::milliseconds timeout = std::chrono::minutes(30));
  ~DistributedContext();
  DistributedContext(const DistributedContext&) = delete;
  DistributedContext& operator=(const DistributedContext&) = delete;

  int rank() const { return m_env.rank; }
  int worldSize() const { return m_env.worldSize; }
  int localRank() const { return m_env.localRank; }
  /** True on rank 0: the process that writes checkpoints, the run store and logs. */
  bool isMain() const { return m_env.rank == 0; }
  /** True with more than one process. */
  bool distributed() const { return m_env.worldSize > 1; }
  /** The device this rank trains on for the experiment's @p device: cuda:LOCAL_RANK for CUDA. */
  c10::Device trainingDevice(c10::Device device) const;
  /** "gloo", "nccl" or "none". */
  std::string backend() const;

  /** Combines @p tensors in place across ranks (one collective per tensor). */
  void allReduce(std::vector<at::Tensor>& tensors, Reduce op = Reduce::kSum);
  /** Combines @p values across ranks in one collective and returns them. */
  std::vector<double> allReduce(const std::vector<double>& values, Reduce op = Reduce::kSum);
  /** True on every rank when @p flag is true on any rank. */
  bool anyTrue(bool flag);
  /** Rank @p root's @p value on every rank. */
  double broadcast(double value, int root = 0);

  /**
   * Combines the gradients of @p params like DistributedDataParallel: flattened into buckets of
   * about @p bucketBytes, one all-reduce per bucket, unflattened back. A parameter without a
   * gradient gets a zero gradient first (so every rank reduces the same buckets). @p extra values
   * (step statistics, flags) ride along in the last bucket in the gradients' dtype and come back
   * combined by the same @p op: no collective of their own.
   */
  void allReduceGradients(const std::vector<at::Tensor>& params, Reduce op = Reduce::kMean,
                          std::int64_t bucketBytes = kDefaultBucketBytes,
                          std::vector<double>* extra = nullptr);
  /** Copies rank @p root's @p params to every rank (bucketed like the gradients). */
  void broadcastParameters(const std::vector<at::Tensor>& params, int root = 0);
  /** Returns when every rank has called it. */
  void barrier();

  /** What the collectives cost so far; reset() starts again. */
  const CommStats& stats() const { return m_stats; }
  void resetStats() { m_stats = CommStats{}; }

  /** DDP's default bucket size (25 MiB). */
  static constexpr std::int64_t kDefaultBucketBytes = 25 * 1024 * 1024;

 private:
  struct Group;
  void collective(std::vector<at::Tensor>& flat, Reduce op, int root, bool broadcast);
  void bucketed(const std::vector<at::Tensor>& tensors, Reduce op, int root, bool broadcast,
                std::int64_t bucketBytes);

  DistributedEnv m_env;
  std::unique_ptr<Group> m_group;
  CommStats m_stats;
};

/**
 * The process's context from its environment (readDistributedEnv): a single-process context when
 * no job is described. @p device is the experiment's device; a CUDA job uses cuda:LOCAL_RANK.
 * Waits for peers at most env.timeout.
 */
std::shared_ptr<DistributedContext> distributedFromEnvironment(c10::Device device);

/** True when this build can create Gloo process groups (CPU data-parallel training). */
bool glooAvailable();
/** True when this build can create NCCL process groups (CUDA data-parallel training). */
bool ncclAvailable();

/** Rows [begin, end) of a batch of @p batchSize that rank @p rank of @p worldSize trains on. */
std::pair<int, int> shardRange(int batchSize, int rank, int worldSize);

}  // namespace nmar::core
