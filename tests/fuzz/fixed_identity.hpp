// One identity per fuzzing process, to sign inputs so that a target
// reaches the parser behind a signature check.
#pragma once

#include <cstdlib>

#include <sodium.h>

#include "transports/identity.hpp"

namespace crust::fuzz {

inline const identity& fixed_identity() {
  static const identity me = [] {
    if (sodium_init() < 0)
      abort();
    return identity::ephemeral();
  }();
  return me;
}

} // namespace crust::fuzz
