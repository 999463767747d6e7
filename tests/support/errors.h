#pragma once
// The message of the mednet::Error a call throws, for tests that check what a user is told.
#include <functional>
#include <string>

#include "mednet/core/error.h"

namespace mednet::testing {

/// f's mednet::Error message, or "" when it throws none.
inline std::string error_of(const std::function<void()>& f) {
  try {
    f();
  } catch (const mednet::Error& e) {
    return e.what();
  }
  return "";
}

}  // namespace mednet::testing
