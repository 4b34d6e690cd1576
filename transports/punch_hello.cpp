#include "transports/punch_hello.hpp"

#include <sodium.h>

#include <algorithm>
#include <cstring>

namespace crust {

namespace {

constexpr char magic[8] = {'c', 'r', 'p', 'u', 'n', 'c', 'h', 6};
constexpr char context[] = "crust-punch-hello";

std::array<uint8_t, 16> mac(const attempt_id& attempt, const probe_key& key) {
  return attempt_mac(key, context, attempt.data(), attempt.size());
}

} // namespace

std::array<uint8_t, 16> attempt_mac(const probe_key& key, const char* label,
                                    const uint8_t* data, size_t size) {
  std::array<uint8_t, 16> out{};
  crypto_generichash_state st;
  crypto_generichash_init(&st, key.data(), key.size(), out.size());
  crypto_generichash_update(&st, reinterpret_cast<const uint8_t*>(label),
                            std::strlen(label));
  crypto_generichash_update(&st, data, size);
  crypto_generichash_final(&st, out.data(), out.size());
  return out;
}

std::vector<uint8_t> encode_punch_hello(const attempt_id& attempt,
                                        const probe_key& key) {
  // Written in place: GCC 12 misreads inserting a short array at the end.
  std::vector<uint8_t> out(punch_hello_size);
  std::memcpy(out.data(), magic, sizeof(magic));
  std::copy(attempt.begin(), attempt.end(), out.begin() + sizeof(magic));
  auto m = mac(attempt, key);
  std::copy(m.begin(), m.end(), out.begin() + sizeof(magic) + attempt.size());
  return out;
}

std::optional<attempt_id> punch_hello_attempt(const uint8_t* body,
                                              size_t size) {
  if (size != punch_hello_size || std::memcmp(body, magic, sizeof(magic)) != 0)
    return std::nullopt;
  attempt_id id;
  std::copy(body + sizeof(magic), body + sizeof(magic) + id.size(),
            id.begin());
  return id;
}

bool punch_hello_valid(const uint8_t* body, size_t size,
                       const attempt_id& attempt, const probe_key& key) {
  auto named = punch_hello_attempt(body, size);
  if (!named || *named != attempt)
    return false;
  auto m = mac(attempt, key);
  return sodium_memcmp(body + sizeof(magic) + attempt.size(), m.data(),
                       m.size())
         == 0;
}

} // namespace crust
