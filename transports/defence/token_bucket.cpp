#include "transports/defence/token_bucket.hpp"

#include <algorithm>

namespace crust {

token_bucket::token_bucket(double rate, double burst, time_point now)
  : rate_(rate), burst_(burst), tokens_(burst), last_(now) {
  // nop
}

void token_bucket::refill(time_point now) {
  if (now <= last_)
    return;
  std::chrono::duration<double> dt = now - last_;
  tokens_ = std::min(burst_, tokens_ + dt.count() * rate_);
  last_ = now;
}

bool token_bucket::take(double n, time_point now) {
  refill(now);
  if (tokens_ < n)
    return false;
  tokens_ -= n;
  return true;
}

void token_bucket::charge(double n, time_point now) {
  refill(now);
  tokens_ -= n;
}

token_bucket::duration token_bucket::wait_for(double n, time_point now) {
  refill(now);
  if (tokens_ >= n)
    return duration::zero();
  std::chrono::duration<double> secs{(n - tokens_) / rate_};
  return std::chrono::duration_cast<duration>(secs) + duration{1};
}

double token_bucket::available(time_point now) {
  refill(now);
  return tokens_;
}

} // namespace crust
