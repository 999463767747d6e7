#pragma once
// `mednet serve`: the loaded runs behind a JSON API and a page, on cpp-httplib.
//   GET  /                         the page (self-contained: no script or style from elsewhere)
//   GET  /healthz                  {"status": "ok", ...}
//   GET  /v1/models                each model: dataset, task, labels, input shape, trust parts
//   POST /v1/models/NAME/predict   the file as the body, or a multipart form with a file field;
//                                  ?map=METHOD adds a map of the predicted class, ?image=1 the
//                                  conformed input (what the page draws)
// Errors are {"error": "..."} naming what was wrong: 400 a damaged or unsupported file, 401 no or a wrong
// token, 404 an unknown model or path, 413 over --max-upload, 503 a full queue or the time limit passed.
// Requests go through a bounded queue to a fixed pool of workers (batch_queue.h); stop() answers what is
// in flight before run() returns.
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "mednet/serve/served_model.h"

namespace mednet::serve {

struct ServeOptions {
  std::string host = "127.0.0.1";
  int port = 8080;  ///< 0: any free port (bind() says which)
  std::string token;
  bool insecure = false;
  int workers = 0;  ///< 0: the core count
  size_t max_upload = 64u << 20;
  size_t queue = 256;                           ///< requests waiting at most; more get 503
  size_t max_batch = 64;                        ///< requests of one model in one forward pass at most
  double time_limit_s = 30;                     ///< per request, from the moment it is queued
  int read_timeout_s = 10;                      ///< a client that sends nothing for this long is dropped
  int connections = 64;                         ///< connections served at once
  std::function<void(const std::string&)> log;  ///< server errors (5xx); none: quiet
};

/// 127.0.0.0/8, ::1 and "localhost".
bool is_loopback(const std::string& host);
/// a == b, in a time that does not depend on where they differ.
bool same_secret(const std::string& a, const std::string& b);
/// A usage error unless the host is loopback, or a token or insecure is given.
void check_exposure(const ServeOptions& o);

class HttpServer {
 public:
  HttpServer(std::vector<std::unique_ptr<ServedModel>> models, ServeOptions options);
  ~HttpServer();
  HttpServer(const HttpServer&) = delete;
  HttpServer& operator=(const HttpServer&) = delete;
  /// Binds the address; returns the port (an error naming --host/--port when it cannot).
  int bind();
  /// Serves until stop(); returns once the requests in flight are answered.
  void run();
  /// From any thread (a signal watcher).
  void stop();
  /// Requests answered so far by status class: {2xx, 4xx, 5xx}.
  std::vector<uint64_t> answered() const;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace mednet::serve
