#include "mednet/serve/http_server.h"

#include "mednet/build_config.h"

#if MEDNET_HAVE_HTTPLIB
#include <httplib.h>
#endif

#include <arpa/inet.h>
#include <algorithm>
#include <atomic>
#include <thread>

#include <torch/torch.h>

#include "mednet/core/error.h"
#include "mednet/core/strings.h"
#include "mednet/explain/methods.h"
#include "mednet/serve/batch_queue.h"
#include "mednet/serve/predict_job.h"
#include "mednet/serve/upload.h"

extern const char* const mednet_serve_page;

namespace mednet::serve {

bool is_loopback(const std::string& host) {
  if (host == "localhost" || host == "::1") return true;
  in_addr a{};
  return inet_pton(AF_INET, host.c_str(), &a) == 1 && (ntohl(a.s_addr) >> 24) == 127;
}

bool same_secret(const std::string& a, const std::string& b) {
  unsigned char diff = a.size() == b.size() ? 0 : 1;
  const size_t n = std::max(a.size(), b.size());
  for (size_t i = 0; i < n; ++i) {
    const unsigned char x = i < a.size() ? static_cast<unsigned char>(a[i]) : 0;
    const unsigned char y = i < b.size() ? static_cast<unsigned char>(b[i]) : 0;
    diff |= static_cast<unsigned char>(x ^ y);
  }
  return diff == 0;
}

void check_exposure(const ServeOptions& o) {
  MN_CHECK_USAGE(is_loopback(o.host) || !o.token.empty() || o.insecure, "--host ", o.host,
                 ": other machines could reach the models; give --token SECRET (checked on every API call) "
                 "or --insecure");
}

#if MEDNET_HAVE_HTTPLIB
namespace {

void send_json(httplib::Response& res, int status, const nlohmann::json& body) {
  res.status = status;
  res.set_content(body.dump(), "application/json");
}

std::string reason_for(int status, const ServeOptions& o, const httplib::Request& req) {
  switch (status) {
    case 404:
      return "no such path: " + req.method + " " + core::printable_message(req.path);
    case 413:
      return "the upload is larger than the limit of " + std::to_string(o.max_upload) +
             " bytes (--max-upload)";
    case 400:
      return "a malformed request (a damaged or truncated HTTP message or multipart form)";
    case 408:
      return "the request took too long to arrive";
    default:
      return "HTTP " + std::to_string(status);
  }
}

}  // namespace

struct HttpServer::Impl {
  std::vector<std::unique_ptr<ServedModel>> models;
  ServeOptions o;
  httplib::Server svr;
  std::unique_ptr<UploadFolder> uploads;
  std::unique_ptr<BatchQueue<JobPtr>> queue;
  std::vector<std::string> methods = explain::cam_method_names();
  std::atomic<uint64_t> ok{0}, client_err{0}, server_err{0};

  ServedModel* find(const std::string& name) {
    for (auto& m : models)
      if (m->name == name) return m.get();
    return nullptr;
  }

  /// The body read by the handler itself (so no content type changes how httplib parses it): a multipart
  /// form's field "file" (or its first file), else the whole body. False when it was cut short.
  static bool read_upload(const httplib::Request& req, const httplib::ContentReader& reader,
                          std::string* bytes, std::string* filename, bool* form_without_file) {
    if (!req.is_multipart_form_data()) {
      return reader([&](const char* data, size_t n) {
        bytes->append(data, n);
        return true;
      });
    }
    bool got = false, in_file = false;
    const bool ok = reader(
        [&](const httplib::MultipartFormData& f) {
          in_file = !got && (f.name == "file" || !f.filename.empty());
          if (in_file) {
            got = true;
            *filename = f.filename;
          }
          return true;
        },
        [&](const char* data, size_t n) {
          if (in_file) bytes->append(data, n);
          return true;
        });
    *form_without_file = ok && !got;
    return ok;
  }

  void predict(const httplib::Request& req, httplib::Response& res, const httplib::ContentReader& reader) {
    // The body first, whatever the answer: a connection kept alive must not hold unread bytes.
    std::string bytes, filename = req.has_param("name") ? req.get_param_value("name") : "";
    bool no_file = false;
    const bool whole = read_upload(req, reader, &bytes, &filename, &no_file);
    const uint64_t declared = req.get_header_value<uint64_t>("Content-Length");
    if (declared > o.max_upload || bytes.size() > o.max_upload)
      return send_json(res, 413, error_body(reason_for(413, o, req)));
    if (!whole) return send_json(res, 400, error_body("a truncated or malformed upload"));
    const std::string name = req.matches[1];
    ServedModel* m = find(name);
    if (!m) {
      std::vector<std::string> names;
      for (auto& x : models) names.push_back(x->name);
      return send_json(
          res, 404,
          error_body("no model named '" + name + "' (this server has " + core::join(names, ", ") + ")"));
    }
    auto job = std::make_shared<PredictJob>();
    job->model = m;
    if (req.has_param("map")) {
      job->map = req.get_param_value("map");
      if (std::find(methods.begin(), methods.end(), job->map) == methods.end())
        return send_json(
            res, 400,
            error_body("map=" + job->map + ": no such method (one of " + core::join(methods, ", ") + ")"));
      const std::string refused = why_no_map(*m, job->map);
      if (!refused.empty()) return send_json(res, 400, error_body(refused));
    }
    job->with_image = req.has_param("image") && req.get_param_value("image") != "0";
    if (no_file)
      return send_json(res, 400, error_body("the form holds no file (send it as the field 'file')"));
    job->shown = shown_name(filename);
    if (bytes.empty()) return send_json(res, 400, error_body(job->shown + ": an empty upload"));
    try {
      job->input = uploads->read(bytes, job->shown, m->info->spatial_dims());
      job->conformed = data::conform(job->input.data, *m->info, m->config.size);
    } catch (const std::exception& e) {
      std::string what = e.what();
      if (what.find(job->shown) == std::string::npos) what = job->shown + ": " + what;
      return send_json(res, 400, error_body(what));
    }
    if (!queue->push(job)) {
      res.set_header("Retry-After", "1");
      return send_json(res, 503,
                       error_body("the server is busy: " + std::to_string(o.queue) +
                                  " requests are waiting (try again shortly)"));
    }
    if (!job->wait(std::chrono::milliseconds(static_cast<int64_t>(o.time_limit_s * 1000)))) {
      return send_json(
          res, 503,
          error_body("no answer within the time limit of " + core::format_fixed(o.time_limit_s, 1) + " s"));
    }
    send_json(res, job->status, job->answer);
  }

  void routes() {
    svr.Get("/", [](const httplib::Request&, httplib::Response& res) {
      res.set_header("Content-Security-Policy",
                     "default-src 'none'; script-src 'unsafe-inline'; style-src 'unsafe-inline'; "
                     "img-src data: blob:; connect-src 'self'");
      res.set_content(mednet_serve_page, "text/html; charset=utf-8");
    });
    svr.Get("/healthz", [this](const httplib::Request&, httplib::Response& res) {
      send_json(res, 200, {{"status", "ok"}, {"models", models.size()}, {"queued", queue->queued()}});
    });
    svr.Get("/v1/models", [this](const httplib::Request&, httplib::Response& res) {
      nlohmann::json list = nlohmann::json::array();
      for (auto& m : models) list.push_back(describe_model(*m));
      send_json(res, 200, {{"models", list}, {"map_methods", methods}});
    });
    svr.Post(R"(/v1/models/([^/]+)/predict)",
             [this](const httplib::Request& req, httplib::Response& res,
                    const httplib::ContentReader& reader) { predict(req, res, reader); });
    svr.set_pre_routing_handler([this](const httplib::Request& req, httplib::Response& res) {
      if (o.token.empty() || req.path.rfind("/v1/", 0) != 0)
        return httplib::Server::HandlerResponse::Unhandled;
      const std::string auth = req.get_header_value("Authorization");
      const std::string given = auth.rfind("Bearer ", 0) == 0 ? auth.substr(7) : "";
      if (same_secret(given, o.token)) return httplib::Server::HandlerResponse::Unhandled;
      res.set_header("WWW-Authenticate", "Bearer");
      send_json(res, 401,
                error_body("a missing or wrong token: send the header 'Authorization: Bearer TOKEN'"));
      return httplib::Server::HandlerResponse::Handled;
    });
    svr.set_error_handler([this](const httplib::Request& req, httplib::Response& res) {
      if (res.body.empty()) send_json(res, res.status, error_body(reason_for(res.status, o, req)));
    });
    svr.set_exception_handler([this](const httplib::Request&, httplib::Response& res, std::exception_ptr ep) {
      std::string what = "unknown";
      try {
        std::rethrow_exception(ep);
      } catch (const std::exception& e) {
        what = e.what();
      } catch (...) {
      }
      send_json(res, 500, error_body("internal error: " + what));
    });
    svr.set_logger([this](const httplib::Request& req, const httplib::Response& res) {
      if (res.status < 400) {
        ++ok;
      } else if (res.status < 500) {
        ++client_err;
      } else {
        ++server_err;
        if (o.log)
          o.log(req.method + " " + core::printable_message(req.path) + ": " + std::to_string(res.status) +
                " " + res.body.substr(0, 300));
      }
    });
  }
};

HttpServer::HttpServer(std::vector<std::unique_ptr<ServedModel>> models, ServeOptions options)
    : impl_(std::make_unique<Impl>()) {
  Impl& s = *impl_;
  s.models = std::move(models);
  s.o = std::move(options);
  MN_CHECK_USAGE(!s.models.empty(), "serve: no model (give --run DIR)");
  check_exposure(s.o);
  if (s.o.workers <= 0) s.o.workers = static_cast<int>(std::max(1u, std::thread::hardware_concurrency()));
  s.uploads = std::make_unique<UploadFolder>();
  s.queue = std::make_unique<BatchQueue<JobPtr>>(
      s.o.queue, s.o.workers, s.o.max_batch, [](const JobPtr& j) { return j->model->name; },
      [](std::vector<JobPtr>& jobs) { run_jobs(jobs); }, [](const JobPtr& j) { return j->given_up(); });
  const int connections = std::max(4, s.o.connections);
  s.svr.new_task_queue = [connections] { return new httplib::ThreadPool(static_cast<size_t>(connections)); };
  s.svr.set_payload_max_length(s.o.max_upload);
  s.svr.set_read_timeout(s.o.read_timeout_s, 0);
  s.svr.set_write_timeout(s.o.read_timeout_s, 0);
  s.svr.set_keep_alive_max_count(100000);
  s.svr.set_keep_alive_timeout(5);
  s.svr.set_tcp_nodelay(true);
  // SO_REUSEADDR only: httplib's default adds SO_REUSEPORT, which lets a second server share a port
  // that is in use instead of failing.
  s.svr.set_socket_options([](socket_t sock) {
    int yes = 1;
    setsockopt(sock, SOL_SOCKET, SO_REUSEADDR, &yes, sizeof yes);
  });
  s.routes();
}

HttpServer::~HttpServer() {
  stop();
  if (impl_->queue) impl_->queue->stop();
}

int HttpServer::bind() {
  Impl& s = *impl_;
  if (s.o.port == 0) {
    const int port = s.svr.bind_to_any_port(s.o.host);
    MN_CHECK_USAGE(port > 0, "--host ", s.o.host, ": cannot listen there");
    return port;
  }
  MN_CHECK_USAGE(s.svr.bind_to_port(s.o.host, s.o.port), "--host ", s.o.host, " --port ", s.o.port,
                 ": cannot listen there (in use, or not an address of this machine)");
  return s.o.port;
}

void HttpServer::run() {
  impl_->svr.listen_after_bind();
  impl_->queue->stop();
}

void HttpServer::stop() {
  impl_->svr.stop();
}

std::vector<uint64_t> HttpServer::answered() const {
  return {impl_->ok.load(), impl_->client_err.load(), impl_->server_err.load()};
}

#else
struct HttpServer::Impl {};
HttpServer::HttpServer(std::vector<std::unique_ptr<ServedModel>>, ServeOptions) {
  MN_CHECK(false, "this build has no HTTP server (install libcpp-httplib-dev and configure again)");
}
HttpServer::~HttpServer() = default;
int HttpServer::bind() {
  return 0;
}
void HttpServer::run() {}
void HttpServer::stop() {}
std::vector<uint64_t> HttpServer::answered() const {
  return {0, 0, 0};
}
#endif

}  // namespace mednet::serve
