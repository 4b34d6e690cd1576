// The bootstrap cache on disk. Every change is a locked read-modify-write:
// an exclusive lock on FILE.lock, the current file read back (so changes
// other processes made meanwhile are kept), the change applied, the result
// written to a temporary file, synced and renamed over FILE. Readers
// therefore see the old file or the new one, never a mix. A file that
// cannot be used (corrupt, another network, a foreign format) is renamed
// to FILE.unusable-<unix time>, reported, and rebuilt from empty.
//
// Blocking file I/O: actors call this from a detached actor only.
#pragma once

#include <functional>
#include <string>

#include <caf/error.hpp>
#include <caf/expected.hpp>

#include "discovery/peer_cache.hpp"

namespace crust {

class cache_file {
public:
  cache_file(std::string path, std::string network, size_t capacity);

  struct loaded {
    peer_cache cache;
    /// Set when the file was unusable and set aside: what and where.
    std::string warning;
  };

  /// Creates the directory and checks that the file can be written.
  caf::error check_writable();

  /// Reads the file; a missing file is an empty cache.
  caf::expected<loaded> load();

  /// Applies `change` to the file's current contents, under the lock.
  caf::expected<loaded> update(const std::function<void(peer_cache&)>& change);

  const std::string& path() const {
    return path_;
  }

private:
  caf::expected<loaded> read_unlocked();
  caf::error write_unlocked(const peer_cache& cache);

  std::string path_;
  std::string network_;
  size_t capacity_;
};

/// Where the cache lives when crust.bootstrap-cache-file is not set:
/// $XDG_STATE_HOME/crust/NETWORK/bootstrap-cache.json, or
/// ~/.local/state/... when XDG_STATE_HOME is not set.
std::string default_cache_path(const std::string& network);

} // namespace crust
