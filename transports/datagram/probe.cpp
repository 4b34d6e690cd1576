#include "transports/datagram/probe.hpp"

#include <sodium.h>

#include <algorithm>

#include "transports/bytes.hpp"
#include "transports/ip_range.hpp"

namespace crust::datagram {

namespace {

constexpr char label[] = "crust-punch-probe";

// type, attempt, from_offerer, nonce: the head both packets share.
constexpr size_t head_size = 1 + 16 + 1 + 8;
constexpr size_t mac_size = 16;

void write_head(uint8_t* out, uint8_t type, const attempt_id& attempt,
                bool from_offerer, const probe_nonce& nonce) {
  out[0] = type;
  std::copy(attempt.begin(), attempt.end(), out + 1);
  out[17] = from_offerer ? 1 : 0;
  std::copy(nonce.begin(), nonce.end(), out + 18);
}

// What the MAC covers: everything before it.
size_t covered(const uint8_t* data) {
  return data[0] == probe_ack_type ? probe_ack_size - mac_size : head_size;
}

} // namespace

bool is_probe(const uint8_t* data, size_t size) {
  return size > 0 && (data[0] == probe_type || data[0] == probe_ack_type);
}

std::optional<attempt_id> probe_attempt(const uint8_t* data, size_t size) {
  if (!is_probe(data, size)
      || size != (data[0] == probe_type ? probe_size : probe_ack_size))
    return std::nullopt;
  attempt_id id;
  std::copy(data + 1, data + 17, id.begin());
  return id;
}

std::optional<probe> open_probe(const uint8_t* data, size_t size,
                                const probe_key& key) {
  auto id = probe_attempt(data, size);
  if (!id || data[17] > 1)
    return std::nullopt;
  bool ack = data[0] == probe_ack_type;
  auto n = covered(data);
  auto m = attempt_mac(key, label, data, n);
  if (sodium_memcmp(m.data(), data + n, mac_size) != 0)
    return std::nullopt;
  probe p;
  p.ack = ack;
  p.attempt = *id;
  p.from_offerer = data[17] == 1;
  std::copy(data + 18, data + head_size, p.nonce.begin());
  if (!ack) {
    // One reading per datagram: the padding carries nothing.
    if (!std::all_of(data + head_size + mac_size, data + size,
                     [](uint8_t b) { return b == 0; }))
      return std::nullopt;
    return p;
  }
  auto at = data + head_size;
  auto ip = from_ip_bytes(at[0], at + 1);
  if (!ip)
    return std::nullopt;
  // What an IPv4 address leaves of the 16 bytes is zero.
  if (at[0] == 4
      && !std::all_of(at + 5, at + 17, [](uint8_t b) { return b == 0; }))
    return std::nullopt;
  p.observed = ip_endpoint{*ip, bytes::get<uint16_t>(at + 17)};
  if (p.observed.port == 0)
    return std::nullopt;
  return p;
}

void seal_probe(uint8_t* data, size_t size, const probe_key& key) {
  if (!probe_attempt(data, size))
    return;
  auto n = covered(data);
  auto m = attempt_mac(key, label, data, n);
  std::copy(m.begin(), m.end(), data + n);
}

std::vector<uint8_t> encode_probe(const attempt_id& attempt,
                                  const probe_key& key, bool from_offerer,
                                  const probe_nonce& nonce) {
  std::vector<uint8_t> out(probe_size, 0);
  write_head(out.data(), probe_type, attempt, from_offerer, nonce);
  seal_probe(out.data(), out.size(), key);
  return out;
}

std::vector<uint8_t> encode_probe_ack(const attempt_id& attempt,
                                      const probe_key& key, bool from_offerer,
                                      const probe_nonce& nonce,
                                      const ip_endpoint& observed) {
  auto addr = to_ip_bytes(observed.ip);
  if (!addr || observed.port == 0)
    return {};
  std::vector<uint8_t> out(probe_ack_size, 0);
  write_head(out.data(), probe_ack_type, attempt, from_offerer, nonce);
  auto at = out.data() + head_size;
  at[0] = addr->family;
  std::copy(addr->addr.begin(), addr->addr.begin() + addr->size(), at + 1);
  bytes::store<uint16_t>(at + 17, observed.port);
  seal_probe(out.data(), out.size(), key);
  return out;
}

} // namespace crust::datagram
