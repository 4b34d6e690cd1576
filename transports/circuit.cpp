#include "transports/circuit.hpp"

#include <algorithm>
#include <limits>

namespace crust {

const char* to_string(circuit_reason r) {
  switch (r) {
    case circuit_reason::closed_by_peer:
      return "closed by the other end";
    case circuit_reason::refused:
      return "the relay refuses";
    case circuit_reason::not_connected:
      return "the relay does not keep that peer";
    case circuit_reason::too_many_circuits:
      return "the relay has its most circuits";
    case circuit_reason::too_many_for_peer:
      return "too many circuits for one peer";
    case circuit_reason::rate_limited:
      return "circuits opened too fast";
    case circuit_reason::idle:
      return "idle";
    case circuit_reason::over_credit:
      return "sent more than its credit";
    case circuit_reason::end_lost:
      return "the other end left the relay";
    case circuit_reason::relay_stopping:
      return "the relay stops";
    case circuit_reason::duplicate:
      return "circuit id in use";
  }
  return "unknown";
}

namespace {

template <class T>
void put(uint8_t*& p, uint64_t x) {
  auto v = static_cast<T>(std::min<uint64_t>(x, std::numeric_limits<T>::max()));
  for (int i = int(sizeof(T)) - 1; i >= 0; --i)
    *p++ = static_cast<uint8_t>(v >> (8 * i));
}

template <class T>
T get(const uint8_t*& p) {
  T v = 0;
  for (size_t i = 0; i < sizeof(T); ++i)
    v = static_cast<T>((v << 8) | *p++);
  return v;
}

} // namespace

std::array<uint8_t, relay_limits_size> encode(const relay_limits& l) {
  std::array<uint8_t, relay_limits_size> out{};
  auto p = out.data();
  put<uint16_t>(p, l.max_circuits);
  put<uint16_t>(p, l.max_circuits_per_peer);
  put<uint16_t>(p, l.open_burst);
  put<uint32_t>(p, static_cast<uint64_t>(l.open_interval.count()));
  put<uint32_t>(p, l.circuit_bytes_per_sec);
  put<uint32_t>(p, l.total_bytes_per_sec);
  put<uint32_t>(p, l.window);
  put<uint32_t>(p, static_cast<uint64_t>(l.idle_timeout.count()));
  return out;
}

relay_limits decode_relay_limits(const uint8_t* p) {
  relay_limits l;
  l.max_circuits = get<uint16_t>(p);
  l.max_circuits_per_peer = get<uint16_t>(p);
  l.open_burst = get<uint16_t>(p);
  l.open_interval = std::chrono::milliseconds(get<uint32_t>(p));
  l.circuit_bytes_per_sec = get<uint32_t>(p);
  l.total_bytes_per_sec = get<uint32_t>(p);
  l.window = get<uint32_t>(p);
  l.idle_timeout = std::chrono::milliseconds(get<uint32_t>(p));
  return l;
}

} // namespace crust
