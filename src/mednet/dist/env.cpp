#include "mednet/dist/env.h"

#include <cstdlib>
#include <string>

#include "mednet/core/error.h"

namespace mednet::dist {

namespace {

int int_var(const char* name, int fallback, long lo, long hi) {
  const char* v = std::getenv(name);
  if (v == nullptr || *v == '\0') return fallback;
  char* end = nullptr;
  const long x = std::strtol(v, &end, 10);
  MN_CHECK_USAGE(end != v && *end == '\0' && x >= lo && x <= hi, "environment variable ", name, "='", v,
                 "' is not an integer in ", lo, "..", hi);
  return static_cast<int>(x);
}

}  // namespace

DistEnv read_env() {
  DistEnv e;
  const char* world = std::getenv("WORLD_SIZE");
  if (world == nullptr || *world == '\0') return e;
  e.launched = true;
  e.world_size = int_var("WORLD_SIZE", 1, 1, 65536);
  e.rank = int_var("RANK", -1, 0, e.world_size - 1);
  MN_CHECK_USAGE(e.rank >= 0, "WORLD_SIZE is set but RANK is not (a launcher sets both)");
  e.local_rank = int_var("LOCAL_RANK", 0, 0, 65535);
  if (const char* a = std::getenv("MASTER_ADDR"); a != nullptr && *a != '\0') e.master_addr = a;
  e.master_port = int_var("MASTER_PORT", 29500, 1, 65535);
  return e;
}

}  // namespace mednet::dist
