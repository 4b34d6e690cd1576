#include "transports/defence/flood_gate.hpp"

#include <algorithm>
#include <cmath>

namespace crust {

namespace {

// A quarter second's worth, but never less than one read can bring (64 KiB)
// or one record: a burst smaller than that would pause every read.
double burst_of(double rate, double floor) {
  return std::max(rate / 4, floor);
}

std::string rate_text(double bytes_per_sec) {
  const char* units[] = {"B/s", "KiB/s", "MiB/s", "GiB/s"};
  int u = 0;
  while (bytes_per_sec >= 1024 && u < 3) {
    bytes_per_sec /= 1024;
    ++u;
  }
  auto n = std::lround(bytes_per_sec * 10);
  auto text = std::to_string(n / 10);
  if (n % 10 != 0)
    text += "." + std::to_string(n % 10);
  return text + " " + units[u];
}

std::string seconds_text(flow_meter::duration d) {
  auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(d).count();
  if (ms % 1000 == 0)
    return std::to_string(ms / 1000) + "s";
  return std::to_string(ms) + "ms";
}

} // namespace

flow_meter::flow_meter(flow_rates r, time_point now)
  : rates_(r),
    bytes_(r.bytes_per_sec, burst_of(r.bytes_per_sec, 64 * 1024), now),
    records_(r.records_per_sec, burst_of(r.records_per_sec, 1), now) {
  // nop
}

void flow_meter::charge(size_t bytes, size_t records, time_point now) {
  bytes_.charge(static_cast<double>(bytes), now);
  records_.charge(static_cast<double>(records), now);
}

flow_meter::duration flow_meter::debt(time_point now) {
  // wait_for(0): how long until the bucket is out of debt.
  return std::max(bytes_.wait_for(0, now), records_.wait_for(0, now));
}

std::string flow_meter::describe(time_point now) {
  if (bytes_.wait_for(0, now) >= records_.wait_for(0, now))
    return rate_text(rates_.bytes_per_sec);
  return std::to_string(std::lround(rates_.records_per_sec)) + " records/s";
}

std::shared_ptr<ip_meters::shared_meter>
ip_meters::acquire(const std::string& ip, flow_meter::time_point now) {
  std::lock_guard<std::mutex> guard{mtx_};
  auto& slot = meters_[ip];
  if (auto live = slot.lock())
    return live;
  auto fresh = std::make_shared<shared_meter>(rates_, now);
  slot = fresh;
  // Forget the IPs nobody holds any more, so the table is as large as the
  // set of connected addresses (amortised: only when it has doubled).
  if (meters_.size() >= 2 * swept_at_) {
    for (auto i = meters_.begin(); i != meters_.end();)
      i = i->second.expired() ? meters_.erase(i) : std::next(i);
    swept_at_ = std::max<size_t>(meters_.size(), 16);
  }
  return fresh;
}

size_t ip_meters::slots() {
  std::lock_guard<std::mutex> guard{mtx_};
  return meters_.size();
}

size_t ip_meters::size() {
  std::lock_guard<std::mutex> guard{mtx_};
  size_t n = 0;
  for (auto& kv : meters_)
    n += kv.second.expired() ? 0 : 1;
  return n;
}

flood_gate::flood_gate(flow_rates per_connection,
                       std::shared_ptr<ip_meters::shared_meter> ip,
                       duration flood_timeout, time_point now)
  : own_(per_connection, now), ip_(std::move(ip)),
    flood_timeout_(flood_timeout) {
  // nop
}

flood_gate::verdict flood_gate::on_read(size_t bytes, size_t records,
                                        time_point now) {
  own_.charge(bytes, records, now);
  if (ip_) {
    std::lock_guard<std::mutex> guard{ip_->mtx};
    ip_->meter.charge(bytes, records, now);
  }
  return judge(now, true);
}

flood_gate::verdict flood_gate::on_resume(time_point now) {
  // A paid debt says nothing yet: the next read tells whether the peer
  // kept sending as fast as it could.
  return judge(now, false);
}

flood_gate::verdict flood_gate::judge(time_point now, bool after_read) {
  auto own = own_.debt(now);
  duration shared{0};
  std::string shared_limit;
  if (ip_) {
    std::lock_guard<std::mutex> guard{ip_->mtx};
    shared = ip_->meter.debt(now);
    if (shared > duration::zero())
      shared_limit = ip_->meter.describe(now);
  }
  pause_ = std::max(own, shared);
  if (pause_ == duration::zero()) {
    // A read within its limits: whatever came before was a burst.
    if (after_read)
      dry_since_.reset();
    return verdict::open;
  }
  if (!dry_since_)
    dry_since_ = now;
  auto dry = now - *dry_since_;
  if (dry < flood_timeout_) {
    // Judge again at the latest when the peer has been dry for too long.
    pause_ = std::min(pause_, flood_timeout_ - dry);
    return verdict::paused;
  }
  detail_ = own >= shared
              ? "sent faster than " + own_.describe(now)
                  + " (its limit per connection)"
              : "its address sent faster than " + shared_limit
                  + " (the limit per IP address)";
  detail_ += " for " + seconds_text(now - *dry_since_);
  return verdict::flood;
}

} // namespace crust
