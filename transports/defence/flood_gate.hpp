// Defence before decryption: what a connection reads is charged, bytes and
// records, to its own buckets and to those its source IP shares with every
// other connection from there. A bucket in debt pauses reading until it is
// paid (TCP then pushes back on the sender); a peer that stays over its
// limit for `flood_timeout` is a flood. Sans-I/O: the caller passes time.
#pragma once

#include <chrono>
#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>

#include "transports/defence/token_bucket.hpp"

namespace crust {

/// Rates a sender may keep up; bursts are a quarter second's worth.
struct flow_rates {
  double bytes_per_sec = 128.0 * 1024 * 1024;
  double records_per_sec = 32768;
};

/// A bytes bucket and a records bucket.
class flow_meter {
public:
  using time_point = token_bucket::time_point;
  using duration = token_bucket::duration;

  flow_meter(flow_rates r, time_point now);

  void charge(size_t bytes, size_t records, time_point now);

  /// Zero when neither bucket is in debt; else how long until both are paid.
  duration debt(time_point now);

  /// Which limit a debt is owed to, for people: "64 MiB/s" or "1000 records/s".
  std::string describe(time_point now);

private:
  flow_rates rates_;
  token_bucket bytes_;
  token_bucket records_;
};

/// The meters of source IPs, shared by their connections (which may run on
/// different threads). An IP's meter lives while a connection holds it.
class ip_meters {
public:
  explicit ip_meters(flow_rates per_ip) : rates_(per_ip) {
    // nop
  }

  struct shared_meter {
    std::mutex mtx;
    flow_meter meter;
    explicit shared_meter(flow_rates r, flow_meter::time_point now)
      : meter(r, now) {
      // nop
    }
  };

  std::shared_ptr<shared_meter> acquire(const std::string& ip,
                                        flow_meter::time_point now);

  /// IPs with a live meter.
  size_t size();

  /// Entries in the table, live or not yet swept: bounded by twice the
  /// live ones (plus 16), however many addresses came and went.
  size_t slots();

private:
  std::mutex mtx_;
  flow_rates rates_;
  std::map<std::string, std::weak_ptr<shared_meter>> meters_;
  size_t swept_at_ = 16;
};

/// One connection's gate: its own meter and its IP's.
class flood_gate {
public:
  using time_point = flow_meter::time_point;
  using duration = flow_meter::duration;

  enum class verdict {
    open,   // read on
    paused, // stop reading; resume after pause_for()
    flood,  // over the limit for too long: close, raise misbehaving(flood)
  };

  flood_gate(flow_rates per_connection,
             std::shared_ptr<ip_meters::shared_meter> ip, duration flood_timeout,
             time_point now);

  /// After a read of `bytes` holding `records` records.
  verdict on_read(size_t bytes, size_t records, time_point now);

  /// When a pause ends: open, paused again (the debt is not paid yet) or
  /// flood.
  verdict on_resume(time_point now);

  duration pause_for() const {
    return pause_;
  }

  /// Why the last verdict was flood, for people.
  const std::string& detail() const {
    return detail_;
  }

private:
  verdict judge(time_point now, bool after_read);

  flow_meter own_;
  std::shared_ptr<ip_meters::shared_meter> ip_;
  duration flood_timeout_;
  std::optional<time_point> dry_since_;
  duration pause_{0};
  std::string detail_;
};

} // namespace crust
