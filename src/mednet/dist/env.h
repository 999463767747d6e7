#pragma once
// Where a worker of a distributed job stands, read from the environment that torchrun, SLURM scripts
// and `mednet train --nproc` set: RANK, WORLD_SIZE, LOCAL_RANK, MASTER_ADDR, MASTER_PORT.
#include <string>

namespace mednet::dist {

struct DistEnv {
  int rank = 0;
  int world_size = 1;
  int local_rank = 0;
  std::string master_addr = "127.0.0.1";
  int master_port = 29500;
  /// True when WORLD_SIZE was set (a launcher started this process).
  bool launched = false;
};

/// The environment's values; WORLD_SIZE unset means one process. A value that is not a number in
/// range (RANK outside 0..WORLD_SIZE-1, a port outside 1..65535) is an error naming the variable.
DistEnv read_env();

}  // namespace mednet::dist
