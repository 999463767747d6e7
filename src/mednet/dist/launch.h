#pragma once
// `--nproc N` on one machine: N copies of this program started as the ranks of one job, with the
// environment a launcher such as torchrun sets (RANK, WORLD_SIZE, LOCAL_RANK, MASTER_ADDR=127.0.0.1,
// MASTER_PORT a free port), and watched until they end.
#include <string>
#include <vector>

namespace mednet::dist {

struct LaunchOptions {
  int nproc = 2;
  std::vector<std::string> args;  ///< the workers' command line after the program name
  int timeout_seconds = 300;      ///< after one worker fails, how long the others may take to end
  bool quiet_workers = true;      ///< ranks other than 0 write no standard output (errors still show)
};

/// A TCP port on 127.0.0.1 that is free now.
int free_port();

/// Starts the workers and waits for them. Returns 0 when all exit 0, 130 when the first to stop was
/// interrupted (Ctrl-C), otherwise 1. When one fails, the others get timeout_seconds
/// to notice and end, then are killed: no worker is left running. Ctrl-C is passed to every worker.
int launch_local(const LaunchOptions& options);

}  // namespace mednet::dist
