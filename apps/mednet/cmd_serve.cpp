// mednet serve --run DIR: trained runs behind a local web page and a JSON API.
#include <signal.h>
#include <unistd.h>

#include <algorithm>
#include <iostream>
#include <set>
#include <thread>

#include "commands.h"
#include "mednet/core/error.h"
#include "mednet/core/runtime.h"
#include "mednet/serve/http_server.h"

namespace mednet::app {

namespace {

int stop_pipe[2] = {-1, -1};

void on_stop_signal(int) {
  const char c = 1;
  [[maybe_unused]] const ssize_t n = ::write(stop_pipe[1], &c, 1);
}

}  // namespace

void add_serve(CLI::App& app) {
  auto* cmd = app.add_subcommand("serve", "Serve trained runs: a web page and a JSON API on your own files");
  static std::vector<std::string> runs;
  static serve::ServeOptions so;
  static int threads = 1;
  static std::string device_name = "auto";
  static double max_upload_mb = 64;
  cmd->add_option("--run", runs,
                  "A folder to serve: a run (mednet train), an ensemble (mednet ensemble) or an int8 model "
                  "(mednet quantize), as DIR or NAME=DIR (the model's name in the API; "
                  "default the folder's name); repeat for more models")
      ->required();
  cmd->add_option("--host", so.host,
                  "Address to listen on (another than 127.0.0.1 needs --token or --insecure)")
      ->capture_default_str();
  cmd->add_option("--port", so.port, "Port (0: any free port, printed)")
      ->capture_default_str()
      ->check(CLI::Range(0, 65535));
  cmd->add_option("--token", so.token,
                  "Bearer token every API call must carry (Authorization: Bearer TOKEN)");
  cmd->add_flag("--insecure", so.insecure, "Allow another address than loopback without a token");
  cmd->add_option("--workers", so.workers, "Workers scoring requests (default: the core count)")
      ->check(CLI::Range(1, 256));
  cmd->add_option("--max-upload", max_upload_mb, "Largest upload in MB; larger ones get 413")
      ->capture_default_str()
      ->check(CLI::Range(0.001, 4096.0));
  cmd->add_option("--queue", so.queue, "Requests waiting at most; more get 503")
      ->capture_default_str()
      ->check(CLI::Range(1, 100000));
  cmd->add_option("--max-batch", so.max_batch, "Requests of one model scored in one forward pass at most")
      ->capture_default_str()
      ->check(CLI::Range(1, 4096));
  cmd->add_option("--time-limit", so.time_limit_s, "Seconds a request may wait and run; later gets 503")
      ->capture_default_str()
      ->check(CLI::Range(0.01, 3600.0));
  cmd->add_option("--threads", threads, "Threads per forward pass (workers run side by side)")
      ->capture_default_str()
      ->check(CLI::Range(1, 1024));
  cmd->add_option("--device", device_name, "cpu, cuda or auto")->capture_default_str();
  cmd->callback([] {
    core::bound_server_memory();
    const c10::Device device = core::resolve_device(device_name);
    so.max_upload = static_cast<size_t>(max_upload_mb * 1024 * 1024);
    if (so.workers <= 0) so.workers = static_cast<int>(std::max(1u, std::thread::hardware_concurrency()));
    core::set_threads(threads, device);
    serve::check_exposure(so);
    std::vector<std::unique_ptr<serve::ServedModel>> models;
    std::set<std::string> names;
    for (const auto& arg : runs) {
      const auto [name, dir] = serve::parse_model_arg(arg);
      MN_CHECK_USAGE(names.insert(name).second, "--run ", arg, ": a second model named '", name,
                     "' (give NAME=DIR)");
      models.push_back(serve::load_served_model(name, dir, device));
      std::cout << "model " << name << " from " << dir << ": " << serve::model_summary(*models.back())
                << "\n";
    }
    so.log = [](const std::string& line) { std::cerr << "serve: " << line << "\n"; };
    serve::HttpServer server(std::move(models), so);
    const int port = server.bind();
    MN_CHECK(::pipe(stop_pipe) == 0, "serve: cannot make a pipe");
    struct sigaction sa {};
    sa.sa_handler = on_stop_signal;
    sigemptyset(&sa.sa_mask);
    sigaction(SIGINT, &sa, nullptr);
    sigaction(SIGTERM, &sa, nullptr);
    std::thread watcher([&server] {
      char c;
      while (::read(stop_pipe[0], &c, 1) < 0 && errno == EINTR) {
      }
      server.stop();
    });
    const bool open = !serve::is_loopback(so.host);
    std::cout << "serving on http://"
              << (so.host.find(':') != std::string::npos ? "[" + so.host + "]" : so.host) << ":" << port
              << "/ with " << so.workers << " worker" << (so.workers > 1 ? "s" : "") << " ("
              << (!so.token.empty() ? "a bearer token is required on /v1/"
                  : open            ? "INSECURE: no token, reachable from other machines"
                                    : "loopback only, no token")
              << "); Ctrl-C or SIGTERM stops after answering the requests in flight" << std::endl;
    server.run();
    on_stop_signal(0);  // let the watcher end when run() returned on its own
    watcher.join();
    const auto n = server.answered();
    std::cout << "stopped: answered " << n[0] << " requests 2xx, " << n[1] << " 4xx, " << n[2] << " 5xx"
              << std::endl;
  });
}

}  // namespace mednet::app
