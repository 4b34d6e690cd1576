// The live hole-punching attempts of one service, as its connections see
// them: a connection the listener accepted looks up the attempt its
// PUNCH_HELLO names (secure_channel::settings::find_punch). Shared
// between the service's attempts, which add and remove themselves, and
// its connection actors, which read it on other threads: hence the lock.
#pragma once

#include <map>
#include <mutex>
#include <optional>

#include "transports/secure_channel.hpp"

namespace crust {

class punch_registry {
public:
  using path = secure_channel::punch_path;

  void add(const path& p) {
    std::lock_guard<std::mutex> guard{mtx_};
    live_[p.attempt] = p;
  }

  void remove(const attempt_id& a) {
    std::lock_guard<std::mutex> guard{mtx_};
    live_.erase(a);
  }

  std::optional<path> find(const attempt_id& a) const {
    std::lock_guard<std::mutex> guard{mtx_};
    auto i = live_.find(a);
    if (i == live_.end())
      return std::nullopt;
    return i->second;
  }

private:
  mutable std::mutex mtx_;
  std::map<attempt_id, path> live_;
};

} // namespace crust
