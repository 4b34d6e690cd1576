// A node's identity on disk: the Ed25519 seed in a file only its owner may
// read, created on first use. The key itself is transports/identity.
#pragma once

#include <string>

#include <caf/expected.hpp>

#include "transports/identity.hpp"

namespace crust {

/// Reads the identity in `path`, or creates it there (mode 0600) when the
/// file does not exist. Refuses a file that others may read, a file of
/// the wrong format, and a path it cannot write.
caf::expected<identity> load_or_create_identity(const std::string& path);

} // namespace crust
