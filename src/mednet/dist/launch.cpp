#include "mednet/dist/launch.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <chrono>
#include <cstring>
#include <iostream>
#include <thread>

#include "mednet/core/error.h"

namespace mednet::dist {

namespace {

std::vector<pid_t>* g_children = nullptr;

void forward_signal(int sig) {
  if (g_children == nullptr) return;
  for (pid_t p : *g_children)
    if (p > 0) kill(p, sig);
}

int exit_code_of(int status) {
  if (WIFEXITED(status)) return WEXITSTATUS(status);
  if (WIFSIGNALED(status)) return 128 + WTERMSIG(status);
  return 1;
}

}  // namespace

int free_port() {
  const int fd = socket(AF_INET, SOCK_STREAM, 0);
  MN_CHECK(fd >= 0, "cannot open a socket to find a free port: ", std::strerror(errno));
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  a.sin_port = 0;
  socklen_t len = sizeof a;
  const bool ok = bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) == 0 &&
                  getsockname(fd, reinterpret_cast<sockaddr*>(&a), &len) == 0;
  close(fd);
  MN_CHECK(ok, "cannot find a free port on 127.0.0.1: ", std::strerror(errno));
  return ntohs(a.sin_port);
}

int launch_local(const LaunchOptions& o) {
  MN_CHECK_USAGE(o.nproc >= 1 && o.nproc <= 256, "--nproc must be in 1..256, got ", o.nproc);
  const int port = free_port();
  std::vector<pid_t> children(static_cast<size_t>(o.nproc), -1);
  g_children = &children;
  struct sigaction sa {};
  sa.sa_handler = forward_signal;
  sigemptyset(&sa.sa_mask);
  // Ctrl-C at a terminal reaches every worker already (they share the terminal's process group), so
  // the launcher ignores it and waits for them to stop at the same step; SIGTERM is passed on.
  struct sigaction ign {};
  ign.sa_handler = SIG_IGN;
  sigemptyset(&ign.sa_mask);
  struct sigaction old_int {
  }, old_term{};
  sigaction(SIGINT, &ign, &old_int);
  sigaction(SIGTERM, &sa, &old_term);

  char self[4096];
  const ssize_t n = readlink("/proc/self/exe", self, sizeof self - 1);
  MN_CHECK(n > 0, "cannot find this program's own path (/proc/self/exe)");
  self[n] = '\0';
  for (int r = 0; r < o.nproc; ++r) {
    const pid_t pid = fork();
    MN_CHECK(pid >= 0, "cannot start worker ", r, ": ", std::strerror(errno));
    if (pid == 0) {
      signal(SIGINT, SIG_DFL);
      signal(SIGTERM, SIG_DFL);
      setenv("RANK", std::to_string(r).c_str(), 1);
      setenv("LOCAL_RANK", std::to_string(r).c_str(), 1);
      setenv("WORLD_SIZE", std::to_string(o.nproc).c_str(), 1);
      setenv("LOCAL_WORLD_SIZE", std::to_string(o.nproc).c_str(), 1);
      setenv("MASTER_ADDR", "127.0.0.1", 1);
      setenv("MASTER_PORT", std::to_string(port).c_str(), 1);
      if (r > 0 && o.quiet_workers) {
        const int devnull = open("/dev/null", O_WRONLY);
        if (devnull >= 0) dup2(devnull, STDOUT_FILENO);
      }
      std::vector<char*> argv;
      argv.push_back(self);
      for (const auto& a : o.args) argv.push_back(const_cast<char*>(a.c_str()));
      argv.push_back(nullptr);
      execv(self, argv.data());
      std::cerr << "mednet: error: worker " << r << " could not start: " << std::strerror(errno) << "\n";
      _exit(127);
    }
    children[static_cast<size_t>(r)] = pid;
  }

  int first_failure = 0;
  int running = o.nproc;
  auto deadline = std::chrono::steady_clock::time_point::max();
  while (running > 0) {
    int status = 0;
    const pid_t pid = waitpid(-1, &status, WNOHANG);
    if (pid > 0) {
      for (size_t r = 0; r < children.size(); ++r) {
        if (children[r] != pid) continue;
        children[r] = -1;
        --running;
        const int code = exit_code_of(status);
        if (code != 0 && first_failure == 0) {
          first_failure = code;
          std::cerr << "mednet: worker " << r << " ended with exit code " << code << "; waiting up to "
                    << o.timeout_seconds << " s for the other workers to end\n";
          deadline = std::chrono::steady_clock::now() + std::chrono::seconds(o.timeout_seconds);
        }
      }
      continue;
    }
    if (pid < 0 && errno != EINTR) break;
    if (std::chrono::steady_clock::now() > deadline) {
      for (pid_t p : children)
        if (p > 0) kill(p, SIGKILL);
      deadline = std::chrono::steady_clock::time_point::max();
      std::cerr << "mednet: workers still running after " << o.timeout_seconds << " s were stopped\n";
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  sigaction(SIGINT, &old_int, nullptr);
  sigaction(SIGTERM, &old_term, nullptr);
  g_children = nullptr;
  // A stopped (Ctrl-C) job keeps 130; any other failure of the job is exit code 1.
  if (first_failure == 0 || first_failure == 130) return first_failure;
  return 1;
}

}  // namespace mednet::dist
