// nmar launch --nproc N [--master-addr A] [--master-port P] -- <nmar arguments...>
// Starts N copies of nmar with the torchrun environment (RANK, WORLD_SIZE, LOCAL_RANK,
// MASTER_ADDR, MASTER_PORT) on this machine, prefixes their output with [rank k], and ends them
// all when one fails or on Ctrl-C.
#include <CLI/CLI.hpp>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <iostream>
#include <memory>
#include <string>
#include <vector>

#include "cli_common.h"
#include "util/error.h"

namespace nmar::app {
namespace {

volatile sig_atomic_t g_interrupts = 0;
void onLaunchSignal(int) { g_interrupts = g_interrupts + 1; }

struct LaunchArgs {
  int nproc = 1;
  std::string masterAddr = "127.0.0.1";
  int masterPort = 0;
  std::vector<std::string> command;
};

/** One child process and its two output pipes. */
struct Child {
  int rank = 0;
  pid_t pid = -1;
  int fds[2] = {-1, -1};   ///< stdout, stderr read ends
  std::string pending[2];  ///< partial lines
  bool running = true;
  int code = 0;  ///< exit status (128 + signal when killed)
};

/** A port that is free now on @p addr (the OS picks it). */
int freePort(const std::string& addr) {
  const int s = ::socket(AF_INET, SOCK_STREAM, 0);
  if (s < 0) throw core::Error("launch: socket: " + std::string(std::strerror(errno)));
  sockaddr_in sa{};
  sa.sin_family = AF_INET;
  sa.sin_port = 0;
  if (::inet_pton(AF_INET, addr.c_str(), &sa.sin_addr) != 1) sa.sin_addr.s_addr = INADDR_ANY;
  socklen_t len = sizeof sa;
  const bool ok = ::bind(s, reinterpret_cast<sockaddr*>(&sa), sizeof sa) == 0 &&
                  ::getsockname(s, reinterpret_cast<sockaddr*>(&sa), &len) == 0;
  ::close(s);
  if (!ok) throw core::Error("launch: no free port on " + addr + " (set --master-port)");
  return ntohs(sa.sin_port);
}

void forward(Child& c, int which, const char* data, std::size_t n, bool flush) {
  std::string& buf = c.pending[which];
  buf.append(data, n);
  FILE* out = which == 0 ? stdout : stderr;
  std::size_t start = 0;
  for (std::size_t nl; (nl = buf.find('\n', start)) != std::string::npos; start = nl + 1) {
    std::fprintf(out, "[rank %d] %.*s\n", c.rank, static_cast<int>(nl - start), buf.data() + start);
  }
  buf.erase(0, start);
  if (flush && !buf.empty()) {
    std::fprintf(out, "[rank %d] %s\n", c.rank, buf.c_str());
    buf.clear();
  }
  std::fflush(out);
}

Child spawn(int rank, const LaunchArgs& a, int port, const std::string& exe) {
  int out[2], err[2];
  if (::pipe(out) != 0 || ::pipe(err) != 0) {
    throw core::Error("launch: pipe: " + std::string(std::strerror(errno)));
  }
  const pid_t pid = ::fork();
  if (pid < 0) throw core::Error("launch: fork: " + std::string(std::strerror(errno)));
  if (pid == 0) {
    ::dup2(out[1], STDOUT_FILENO);
    ::dup2(err[1], STDERR_FILENO);
    for (int fd : {out[0], out[1], err[0], err[1]}) ::close(fd);
    ::setenv("RANK", std::to_string(rank).c_str(), 1);
    ::setenv("LOCAL_RANK", std::to_string(rank).c_str(), 1);
    ::setenv("WORLD_SIZE", std::to_string(a.nproc).c_str(), 1);
    ::setenv("LOCAL_WORLD_SIZE", std::to_string(a.nproc).c_str(), 1);
    ::setenv("MASTER_ADDR", a.masterAddr.c_str(), 1);
    ::setenv("MASTER_PORT", std::to_string(port).c_str(), 1);
    // Like torchrun: one intra-op thread per process unless the user chose otherwise.
    ::setenv("OMP_NUM_THREADS", "1", 0);
    std::vector<char*> argv{const_cast<char*>("nmar")};
    for (const std::string& s : a.command) argv.push_back(const_cast<char*>(s.c_str()));
    argv.push_back(nullptr);
    ::execv(exe.c_str(), argv.data());
    std::fprintf(stderr, "nmar launch: cannot run %s: %s\n", exe.c_str(), std::strerror(errno));
    ::_exit(127);
  }
  ::close(out[1]);
  ::close(err[1]);
  Child c;
  c.rank = rank;
  c.pid = pid;
  c.fds[0] = out[0];
  c.fds[1] = err[0];
  return c;
}

void signalAll(std::vector<Child>& children, int sig) {
  for (Child& c : children) {
    if (c.running) ::kill(c.pid, sig);
  }
}

int runLaunch(const LaunchArgs& a) {
  if (a.command.empty())
    throw core::Error("launch: nothing to run (give nmar's arguments after --)");
  if (a.command[0] == "launch") throw core::Error("launch: the command must not be launch itself");
  std::error_code ec;
  const std::string exe = std::filesystem::read_symlink("/proc/self/exe", ec).string();
  if (ec) throw core::Error("launch: cannot find the nmar executable: " + ec.message());
  const int port = a.masterPort > 0 ? a.masterPort : freePort(a.masterAddr);
  std::fprintf(stderr, "launch: %d processes, MASTER_ADDR=%s MASTER_PORT=%d\n", a.nproc,
               a.masterAddr.c_str(), port);

  struct sigaction sa {};
  sa.sa_handler = onLaunchSignal;
  sigemptyset(&sa.sa_mask);
  sa.sa_flags = 0;  // no SA_RESTART: poll() returns on a signal
  struct sigaction oldInt {
  }, oldTerm{};
  sigaction(SIGINT, &sa, &oldInt);
  sigaction(SIGTERM, &sa, &oldTerm);

  std::vector<Child> children;
  for (int r = 0; r < a.nproc; ++r) children.push_back(spawn(r, a, port, exe));

  int firstFailure = 0;
  int handledInterrupts = 0;
  using Clock = std::chrono::steady_clock;
  Clock::time_point killDeadline = Clock::time_point::max();
  for (;;) {
    std::vector<pollfd> pfds;
    std::vector<std::pair<Child*, int>> owners;
    for (Child& c : children) {
      for (int w = 0; w < 2; ++w) {
        if (c.fds[w] >= 0) {
          pfds.push_back({c.fds[w], POLLIN, 0});
          owners.push_back({&c, w});
        }
      }
    }
    bool anyRunning = false;
    for (const Child& c : children) anyRunning = anyRunning || c.running;
    if (pfds.empty() && !anyRunning) break;
    const int n = ::poll(pfds.data(), pfds.size(), 100);
    if (n > 0) {
      char buf[8192];
      for (std::size_t i = 0; i < pfds.size(); ++i) {
        if (!(pfds[i].revents & (POLLIN | POLLHUP | POLLERR))) continue;
        auto [c, w] = owners[i];
        const ssize_t got = ::read(c->fds[w], buf, sizeof buf);
        if (got > 0) {
          forward(*c, w, buf, static_cast<std::size_t>(got), false);
        } else if (got == 0 || errno != EINTR) {
          forward(*c, w, "", 0, true);
          ::close(c->fds[w]);
          c->fds[w] = -1;
        }
      }
    }
    // Ctrl-C or SIGTERM: pass it on (the trainers checkpoint and stop); a second one kills.
    if (g_interrupts > handledInterrupts) {
      handledInterrupts = g_interrupts;
      signalAll(children, handledInterrupts == 1 ? SIGINT : SIGKILL);
      if (firstFailure == 0) firstFailure = 130;
    }
    for (Child& c : children) {
      if (!c.running) continue;
      int status = 0;
      if (::waitpid(c.pid, &status, WNOHANG) != c.pid) continue;
      c.running = false;
      c.code = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
      if (c.code != 0 && firstFailure == 0) {
        firstFailure = c.code;
        std::fprintf(stderr, "launch: rank %d exited with status %d; stopping the others\n", c.rank,
                     c.code);
        signalAll(children, SIGTERM);
        killDeadline = Clock::now() + std::chrono::seconds(10);
      }
    }
    if (Clock::now() > killDeadline) {
      signalAll(children, SIGKILL);
      killDeadline = Clock::time_point::max();
    }
  }
  sigaction(SIGINT, &oldInt, nullptr);
  sigaction(SIGTERM, &oldTerm, nullptr);
  return firstFailure;
}

}  // namespace

void registerLaunchCommand(CLI::App& app) {
  auto args = std::make_shared<LaunchArgs>();
  CLI::App* cmd = app.add_subcommand(
      "launch",
      "Data-parallel training on this machine: starts N copies of nmar with the torchrun\n"
      "environment (RANK, WORLD_SIZE, LOCAL_RANK, MASTER_ADDR, MASTER_PORT; OMP_NUM_THREADS=1\n"
      "unless set), e.g.  nmar launch --nproc 2 -- train experiments/addition-masked.toml\n"
      "Output lines get a [rank k] prefix. When one process fails the others are stopped and\n"
      "its exit status is returned; Ctrl-C is passed on (the trainers checkpoint and stop), a\n"
      "second Ctrl-C kills them. On a cluster, let the scheduler or torchrun set the variables\n"
      "and run `nmar train` directly.");
  cmd->add_option("--nproc", args->nproc, "Number of processes")
      ->required()
      ->check(CLI::Range(1, 1024));
  cmd->add_option("--master-addr", args->masterAddr, "Address of rank 0's store")
      ->capture_default_str();
  cmd->add_option("--master-port", args->masterPort,
                  "Port of rank 0's store (default: a free port)")
      ->check(CLI::Range(1, 65535));
  cmd->add_option("command", args->command, "nmar arguments for every process, after --")
      ->required();
  cmd->callback([args] {
    const int rc = runLaunch(*args);
    if (rc != 0) throw CLI::RuntimeError(rc);
  });
}

}  // namespace nmar::app
