#pragma once
// One error path for the whole library: MN_CHECK(cond, parts...) throws mednet::Error with the parts
// streamed into one message. The library never prints or exits; the app catches and reports.
#include <sstream>
#include <stdexcept>
#include <string>
#include <utility>

namespace mednet {

/// What went wrong, for the app to map to an exit code.
enum class ErrorKind { Usage, Runtime };

/// The library's one exception type.
class Error : public std::runtime_error {
 public:
  explicit Error(const std::string& what, ErrorKind kind = ErrorKind::Runtime)
      : std::runtime_error(what), kind_(kind) {}
  ErrorKind kind() const { return kind_; }

 private:
  ErrorKind kind_;
};

namespace detail {
template <typename... Parts>
std::string concat(Parts&&... parts) {
  std::ostringstream os;
  (os << ... << std::forward<Parts>(parts));
  return os.str();
}
}  // namespace detail

}  // namespace mednet

/// Throws mednet::Error (runtime) with the streamed parts unless cond holds.
#define MN_CHECK(cond, ...)                                                    \
  do {                                                                         \
    if (!(cond)) throw ::mednet::Error(::mednet::detail::concat(__VA_ARGS__)); \
  } while (0)

/// Throws mednet::Error of kind Usage (bad flag, unknown name) unless cond holds.
#define MN_CHECK_USAGE(cond, ...)                                                                          \
  do {                                                                                                     \
    if (!(cond)) throw ::mednet::Error(::mednet::detail::concat(__VA_ARGS__), ::mednet::ErrorKind::Usage); \
  } while (0)
