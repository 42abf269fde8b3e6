// Data-parallel training over c10d (Gloo, loopback): the torchrun environment is read with named
// errors; a batch is split into shards whose union is the batch; one data-parallel SFT step (and
// one GRPO step) on 2 processes equals the single-process step on the whole batch; a 2-process
// run that is checkpointed and resumed by 2 processes ends with the weights of an uninterrupted
// single-process run. The processes are this test binary started again with NMAR_DDP_WORKER set.
#include <gtest/gtest.h>

#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <functional>
#include <limits>
#include <map>
#include <string>

#include <ATen/ATen.h>
#include <torch/csrc/autograd/grad_mode.h>
#include <torch/cuda.h>

#include "checkpoint/safetensors.h"
#include "train/distributed.h"
#include "train/experiment.h"
#include "train/grpo_trainer.h"
#include "train/sft_trainer.h"
#include "util/error.h"

using namespace nmar::core;
namespace fs = std::filesystem;

namespace {

#ifdef NMAR_DDP_GPU
// test_distributed_gpu (label gpu): the same steps on CUDA with NCCL, one GPU per process.
constexpr const char* kDevice = "cuda";
constexpr double kTol = 1e-4;  // GPU reductions sum in another order
bool ready(std::string* why) {
  *why = "needs NCCL and 2 CUDA devices";
  return ncclAvailable() && torch::cuda::device_count() >= 2;
}
#else
constexpr const char* kDevice = "cpu";
constexpr double kTol = 1e-5;
bool ready(std::string* why) {
  *why = "built without Gloo headers (libgloo-dev)";
  return glooAvailable();
}
#endif

#define SKIP_UNLESS_READY()                \
  do {                                     \
    std::string why;                       \
    if (!ready(&why)) GTEST_SKIP() << why; \
  } while (false)

std::string errorOf(const std::function<void()>& f) {
  try {
    f();
  } catch (const Error& e) {
    return e.what();
  }
  return "no error";
}

DistributedEnv envOf(const std::map<std::string, std::string>& vars) {
  return readDistributedEnv([&](const char* name) -> const char* {
    auto it = vars.find(name);
    return it == vars.end() ? nullptr : it->second.c_str();
  });
}

// Sensitive to the gradient's scale: no clipping, AdamW's eps large against the gradients, so a
// mean of per-rank means instead of the batch's token mean would show.
std::string sftText(const fs::path& out, int steps, const std::string& extra = "") {
  return "[run]\nname = \"d\"\nseed = 7\ndevice = \"" + std::string(kDevice) + "\"\nout_dir = \"" +
         out.string() +
         "\"\n[model]\nfamily = \"llama\"\npreset = \"tiny\"\n"
         "[data]\ntask = \"addition\"\nmin_difficulty = 1\nmax_difficulty = 3\n"
         "[deviation]\nkind = \"random\"\nfraction = 0.5\n"
         "[optim]\nlr = 0.05\nwarmup = 0\neps = 1.0\nclip = 0\nweight_decay = 0\n"
         "[train]\nsteps = " +
         std::to_string(steps) +
         "\nbatch_size = 7\naccumulation = 2\nlog_every = 1\n"
         "[eval]\nevery = 0\nexamples = 2\ntraces = 0\nmax_new_tokens = 6\n"
         "[checkpoint]\nevery = 0\nkeep = 0\n" + extra;
}

/** A deviation detector trained with the model (the loss normaliser is the whole batch's). */
const char* const kDetectorTable = "[detector]\nweight = 2.0\ninner_size = 8\n";

std::string grpoText(const fs::path& out) {
  return "[run]\nname = \"g\"\nseed = 5\ndevice = \"" + std::string(kDevice) + "\"\nout_dir = \"" +
         out.string() +
         "\"\n[model]\nfamily = \"llama\"\npreset = \"tiny\"\n"
         "[data]\ntask = \"addition\"\nmin_difficulty = 1\nmax_difficulty = 1\n"
         "[optim]\nlr = 0.05\nwarmup = 0\nschedule = \"constant\"\neps = 1.0\nclip = 0\n"
         "[train]\nsteps = 1\nlog_every = 1\n"
         "[eval]\nevery = 0\nexamples = 2\ntraces = 0\nmax_new_tokens = 6\n"
         "[checkpoint]\nevery = 0\nkeep = 0\n"
         "[grpo]\nnum_generations = 4\nprompts_per_step = 3\nnum_iterations = 2\nbeta = 0.05\n"
         "max_completion_length = 8\nundo_logit_bias = 3.0\nscale_rewards = \"batch\"\n"
         "token_credit = true\ntraces = 0\n"
         "[rewards]\noutcome = 1.0\nformat = 0.5\nefficiency = 1.0\nundo_penalty = 0.05\n";
}

double maxAbsDiff(const TensorMap& a, const TensorMap& b) {
  double d = 0.0;
  for (const auto& [name, t] : a) d = std::max(d, (t - b.at(name)).abs().max().item<double>());
  return d;
}

int freePort() {
  const int s = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in sa{};
  sa.sin_family = AF_INET;
  sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t len = sizeof sa;
  ::bind(s, reinterpret_cast<sockaddr*>(&sa), sizeof sa);
  ::getsockname(s, reinterpret_cast<sockaddr*>(&sa), &len);
  ::close(s);
  return ntohs(sa.sin_port);
}

/** Runs this binary's DistributedWorker test as ranks 0..world-1 of @p mode; true if all pass. */
bool runWorkers(const std::string& mode, const fs::path& dir, int world = 2) {
  const int port = freePort();
  std::vector<pid_t> pids;
  for (int rank = 0; rank < world; ++rank) {
    const pid_t pid = ::fork();
    if (pid == 0) {
      ::setenv("NMAR_DDP_WORKER", mode.c_str(), 1);
      ::setenv("NMAR_DDP_DIR", dir.c_str(), 1);
      ::setenv("RANK", std::to_string(rank).c_str(), 1);
      ::setenv("WORLD_SIZE", std::to_string(world).c_str(), 1);
      ::setenv("MASTER_ADDR", "127.0.0.1", 1);
      ::setenv("MASTER_PORT", std::to_string(port).c_str(), 1);
      ::setenv("OMP_NUM_THREADS", "1", 1);
      ::setenv("NMAR_DIST_TIMEOUT", "120", 1);  // a worker that dies does not hang the other
      const std::string self = fs::read_symlink("/proc/self/exe").string();
      ::execl(self.c_str(), self.c_str(), "--gtest_filter=DistributedWorker.Run", nullptr);
      ::_exit(127);
    }
    pids.push_back(pid);
  }
  bool ok = true;
  for (pid_t pid : pids) {
    int status = 0;
    ::waitpid(pid, &status, 0);
    ok = ok && WIFEXITED(status) && WEXITSTATUS(status) == 0;
  }
  return ok;
}

class TempDir {
 public:
  TempDir() {
    m_path = fs::temp_directory_path() /
             ("nmar-ddp-" + std::to_string(::getpid()) + "-" + std::to_string(s_counter++));
    fs::remove_all(m_path);
    fs::create_directories(m_path);
  }
  ~TempDir() { fs::remove_all(m_path); }
  const fs::path& path() const { return m_path; }

 private:
  fs::path m_path;
  static inline int s_counter = 0;
};

}  // namespace

// --- the worker: runs only inside a process started by runWorkers ---

TEST(DistributedWorker, Run) {
  const char* mode = std::getenv("NMAR_DDP_WORKER");
  if (!mode) GTEST_SKIP() << "only in a worker process";
  const fs::path dir = std::getenv("NMAR_DDP_DIR");
  auto dist = distributedFromEnvironment(c10::Device(kDevice));
  ASSERT_TRUE(dist->distributed());
  const std::string rank = std::to_string(dist->rank());
  const std::string m = mode;
  if (m == "sft-step") {
    SftTrainer t(parseExperiment(sftText(dir / "dp", 2), dir / "exp.toml"), nullptr, dist);
    t.trainStep();
    t.trainStep();
    writeSafetensors(dir / ("rank" + rank + ".safetensors"), t.model()->stateDict());
  } else if (m == "sft-detector-step") {
    SftTrainer t(parseExperiment(sftText(dir / "dp", 2, kDetectorTable), dir / "exp.toml"),
                 nullptr, dist);
    t.trainStep();
    t.trainStep();
    writeSafetensors(dir / ("rank" + rank + ".safetensors"), t.model()->stateDict());
    writeSafetensors(dir / ("detector" + rank + ".safetensors"), t.detector()->stateDict());
  } else if (m == "sft-first") {
    SftTrainer t(parseExperiment(sftText(dir / "dp", 5), dir / "exp.toml"), nullptr, dist);
    for (int i = 0; i < 3; ++i) t.trainStep();
    t.saveCheckpoint();
    t.trainStep();  // lost work: the resumed run redoes step 4
  } else if (m == "sft-resume") {
    SftTrainer t(parseExperiment(sftText(dir / "dp", 5), dir / "exp.toml"), nullptr, dist);
    t.resume();
    ASSERT_EQ(t.step(), 3);
    const TrainOutcome out = t.run();
    ASSERT_EQ(out.status, TrainStatus::kFinished);
    writeSafetensors(dir / ("rank" + rank + ".safetensors"), t.model()->stateDict());
  } else if (m == "sft-nan") {
    SftTrainer t(parseExperiment(sftText(dir / "dp", 3), dir / "exp.toml"), nullptr, dist);
    if (dist->rank() == 1) {
      torch::NoGradGuard g;
      t.model()->parameters()[0].fill_(std::numeric_limits<float>::quiet_NaN());
    }
    const TrainOutcome out = t.run();
    ASSERT_EQ(out.status, TrainStatus::kFailed);
    std::ofstream(dir / ("rank" + rank + ".txt")) << out.message;
  } else if (m == "grpo-step") {
    GrpoTrainer t(parseExperiment(grpoText(dir / "dp"), dir / "exp.toml"), nullptr, dist);
    const GrpoStepStats st = t.trainStep();
    writeSafetensors(
        dir / ("rank" + rank + ".safetensors"), t.model()->stateDict(),
        {{"reward", std::to_string(st.reward)}, {"tokens", std::to_string(st.tokens)}});
  } else {
    FAIL() << "unknown worker mode " << m;
  }
}

// --- the tests ---

TEST(DistributedEnv, AbsentMeansOneProcess) {
  const DistributedEnv env = envOf({});
  EXPECT_FALSE(env.distributed());
  EXPECT_EQ(env.rank, 0);
  EXPECT_EQ(env.worldSize, 1);
  EXPECT_FALSE(envOf({{"WORLD_SIZE", "1"}, {"RANK", "0"}}).distributed());
}

TEST(DistributedEnv, ReadsTorchrunVariables) {
  const DistributedEnv env = envOf({{"RANK", "3"},
                                    {"WORLD_SIZE", "4"},
                                    {"LOCAL_RANK", "1"},
                                    {"MASTER_ADDR", "node0"},
                                    {"MASTER_PORT", "29500"}});
  EXPECT_TRUE(env.distributed());
  EXPECT_EQ(env.rank, 3);
  EXPECT_EQ(env.worldSize, 4);
  EXPECT_EQ(env.localRank, 1);
  EXPECT_EQ(env.masterAddr, "node0");
  EXPECT_EQ(env.masterPort, 29500);
}

TEST(DistributedEnv, BadValuesNameTheVariable) {
  const std::map<std::string, std::string> good = {
      {"RANK", "1"}, {"WORLD_SIZE", "2"}, {"MASTER_ADDR", "127.0.0.1"}, {"MASTER_PORT", "29500"}};
  auto with = [&](const std::string& key, const char* value) {
    auto vars = good;
    if (value)
      vars[key] = value;
    else
      vars.erase(key);
    return errorOf([&] { envOf(vars); });
  };
  EXPECT_NE(with("RANK", "one").find("RANK: expected an integer"), std::string::npos);
  EXPECT_NE(with("RANK", "2").find("RANK: 2 must be less than WORLD_SIZE (2)"), std::string::npos);
  EXPECT_NE(with("RANK", "-1").find("RANK"), std::string::npos);
  EXPECT_NE(with("WORLD_SIZE", "0").find("WORLD_SIZE: expected an integer in [1,"),
            std::string::npos);
  EXPECT_NE(with("WORLD_SIZE", nullptr).find("WORLD_SIZE: missing"), std::string::npos);
  EXPECT_NE(with("RANK", nullptr).find("RANK: missing"), std::string::npos);
  EXPECT_NE(with("MASTER_PORT", "70000").find("MASTER_PORT: expected an integer in [1, 65535]"),
            std::string::npos);
  EXPECT_NE(with("MASTER_PORT", "29x").find("MASTER_PORT"), std::string::npos);
  EXPECT_NE(with("MASTER_ADDR", nullptr).find("MASTER_ADDR: missing"), std::string::npos);
  EXPECT_NE(with("LOCAL_RANK", "5").find("LOCAL_RANK"), std::string::npos);
  EXPECT_EQ(with("LOCAL_RANK", "1"), "no error");
  EXPECT_NE(with("NMAR_DIST_TIMEOUT", "0").find("NMAR_DIST_TIMEOUT: expected an integer"),
            std::string::npos);
  auto vars = good;
  vars["NMAR_DIST_TIMEOUT"] = "90";
  EXPECT_EQ(envOf(vars).timeout, std::chrono::seconds(90));
}

TEST(DistributedEnv, ShardsCoverTheBatchInOrder) {
  for (int batch : {2, 7, 8, 33}) {
    for (int world : {1, 2, 3}) {
      if (batch < world) continue;
      int next = 0;
      for (int r = 0; r < world; ++r) {
        const auto [b, e] = shardRange(batch, r, world);
        EXPECT_EQ(b, next);
        EXPECT_GE(e - b, batch / world);
        EXPECT_LE(e - b, batch / world + 1);
        next = e;
      }
      EXPECT_EQ(next, batch);
    }
  }
}

TEST(DistributedContext, ASingleProcessLeavesTensorsAlone) {
  DistributedContext one;
  EXPECT_FALSE(one.distributed());
  EXPECT_TRUE(one.isMain());
  std::vector<at::Tensor> t{at::ones({3})};
  one.allReduce(t, Reduce::kMean);
  EXPECT_EQ(t[0].sum().item<double>(), 3.0);
  EXPECT_EQ(one.allReduce(std::vector<double>{1.5, 2.0})[1], 2.0);
  EXPECT_TRUE(one.anyTrue(true));
  EXPECT_EQ(one.broadcast(4.0), 4.0);
  EXPECT_EQ(one.stats().calls, 0);
}

TEST(DistributedSft, OneStepOnTwoProcessesEqualsOneProcessOnTheWholeBatch) {
  SKIP_UNLESS_READY();
  TempDir dir;
  ASSERT_TRUE(runWorkers("sft-step", dir.path()));
  SftTrainer single(parseExperiment(sftText(dir.path() / "single", 2), dir.path() / "exp.toml"));
  const TensorMap before = single.model()->stateDict();
  TensorMap start;
  for (const auto& [k, v] : before) start[k] = v.clone();
  single.trainStep();
  single.trainStep();
  const TensorMap expected = single.model()->stateDict();
  for (const char* rank : {"rank0", "rank1"}) {
    const TensorMap got = readSafetensors(dir.path() / (std::string(rank) + ".safetensors"));
    EXPECT_LE(maxAbsDiff(expected, got), kTol) << rank;
  }
  EXPECT_GT(maxAbsDiff(start, expected), 1e-3) << "the steps must move the weights";
}

TEST(DistributedSft, AJointDetectorStepOnTwoProcessesEqualsOneProcess) {
  SKIP_UNLESS_READY();
  TempDir dir;
  ASSERT_TRUE(runWorkers("sft-detector-step", dir.path()));
  SftTrainer single(
      parseExperiment(sftText(dir.path() / "single", 2, kDetectorTable), dir.path() / "exp.toml"));
  TensorMap start;
  for (const auto& [k, v] : single.detector()->stateDict()) start[k] = v.clone();
  single.trainStep();
  single.trainStep();
  const TensorMap model = single.model()->stateDict();
  const TensorMap head = single.detector()->stateDict();
  for (const char* rank : {"0", "1"}) {
    EXPECT_LE(maxAbsDiff(model, readSafetensors(dir.path() / ("rank" + std::string(rank) +
                                                              ".safetensors"))),
              kTol)
        << "model, rank " << rank;
    EXPECT_LE(maxAbsDiff(head, readSafetensors(dir.path() / ("detector" + std::string(rank) +
                                                             ".safetensors"))),
              kTol)
        << "detector, rank " << rank;
  }
  EXPECT_GT(maxAbsDiff(start, head), 1e-3) << "the steps must move the detector";
}

TEST(DistributedSft, ATwoProcessRunResumedByTwoProcessesEqualsAnUninterruptedRun) {
  SKIP_UNLESS_READY();
  TempDir dir;
  ASSERT_TRUE(runWorkers("sft-first", dir.path()));
  EXPECT_TRUE(fs::exists(dir.path() / "dp" / "checkpoint-3" / "model.safetensors"));
  ASSERT_TRUE(runWorkers("sft-resume", dir.path()));
  SftTrainer straight(parseExperiment(sftText(dir.path() / "single", 5), dir.path() / "exp.toml"));
  straight.run();
  const TensorMap expected = straight.model()->stateDict();
  const TensorMap saved = readSafetensors(dir.path() / "dp" / "checkpoint-5" / "model.safetensors");
  EXPECT_LE(maxAbsDiff(expected, saved), kTol);
  EXPECT_LE(maxAbsDiff(expected, readSafetensors(dir.path() / "rank1.safetensors")), kTol);
}

TEST(DistributedSft, ANanOnOneRankFailsEveryRankAtTheSameStep) {
  SKIP_UNLESS_READY();
  TempDir dir;
  ASSERT_TRUE(runWorkers("sft-nan", dir.path()));
  for (const char* rank : {"rank0", "rank1"}) {
    std::ifstream in(dir.path() / (std::string(rank) + ".txt"));
    const std::string message((std::istreambuf_iterator<char>(in)), {});
    EXPECT_NE(message.find("loss is NaN at step 1"), std::string::npos) << rank << ": " << message;
  }
}

TEST(DistributedGrpo, OneStepOnTwoProcessesEqualsOneProcess) {
  SKIP_UNLESS_READY();
  TempDir dir;
  ASSERT_TRUE(runWorkers("grpo-step", dir.path()));
  GrpoTrainer single(parseExperiment(grpoText(dir.path() / "single"), dir.path() / "exp.toml"));
  const GrpoStepStats st = single.trainStep();
  const TensorMap expected = single.model()->stateDict();
  for (const char* rank : {"rank0", "rank1"}) {
    const fs::path file = dir.path() / (std::string(rank) + ".safetensors");
    std::map<std::string, std::string> meta;
    EXPECT_LE(maxAbsDiff(expected, readSafetensors(file, &meta)), kTol) << rank;
    EXPECT_NEAR(std::stod(meta.at("reward")), st.reward, 1e-6) << rank;
    EXPECT_EQ(std::stoll(meta.at("tokens")), st.tokens) << rank;
  }
}
