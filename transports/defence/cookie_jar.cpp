#include "transports/defence/cookie_jar.hpp"

#include <sodium.h>

namespace crust {

cookie_jar::cookie_jar(clock::time_point now) : since_(now) {
  randombytes_buf(current_.data(), current_.size());
  randombytes_buf(previous_.data(), previous_.size());
}

void cookie_jar::rotate(clock::time_point now) {
  if (now - since_ < rotation)
    return;
  // Long idle: both keys are stale, so neither old cookie stays good.
  if (now - since_ >= 2 * rotation)
    randombytes_buf(current_.data(), current_.size());
  previous_ = current_;
  randombytes_buf(current_.data(), current_.size());
  since_ = now;
}

cookie_jar::cookie cookie_jar::mac(const key& k, const std::string& source) {
  cookie out;
  crypto_generichash(out.data(), out.size(),
                     reinterpret_cast<const unsigned char*>(source.data()),
                     source.size(), k.data(), k.size());
  return out;
}

cookie_jar::cookie cookie_jar::make(const std::string& source,
                                    clock::time_point now) {
  rotate(now);
  return mac(current_, source);
}

bool cookie_jar::valid(const std::string& source, const cookie& c,
                       clock::time_point now) {
  rotate(now);
  auto a = mac(current_, source);
  auto b = mac(previous_, source);
  // Both compared, always: the time taken says nothing about which key.
  bool ok_a = sodium_memcmp(a.data(), c.data(), c.size()) == 0;
  bool ok_b = sodium_memcmp(b.data(), c.data(), c.size()) == 0;
  return ok_a || ok_b;
}

} // namespace crust
