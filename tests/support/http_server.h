#pragma once
// A one-file HTTP server on 127.0.0.1 (an ephemeral port) for download tests: it serves one body,
// optionally cutting the transfer short or answering 404. Never touches any other address.
#include <atomic>
#include <string>
#include <thread>

namespace mednet::testing {

class LoopbackHttpServer {
 public:
  enum class Mode { Serve, CutOff, NotFound };
  /// extra_headers: whole lines ("Name: value\r\n") added to a 200 answer.
  LoopbackHttpServer(std::string body, Mode mode, std::string extra_headers = "");
  ~LoopbackHttpServer();
  std::string url(const std::string& path = "/file.npz") const;

 private:
  void serve();
  std::string body_;
  Mode mode_;
  std::string extra_headers_;
  int listen_fd_ = -1;
  int port_ = 0;
  std::atomic<bool> stop_{false};
  std::thread thread_;
};

}  // namespace mednet::testing
