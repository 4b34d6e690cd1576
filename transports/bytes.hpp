// Big-endian integers on the wire: every format crust writes by hand
// (records, HELLO, peer exchange, beacon, STUN, datagrams) uses these.
#pragma once

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <vector>

namespace crust::bytes {

/// Appends `x` as sizeof(T) big-endian bytes.
template <class T>
void put(std::vector<uint8_t>& out, T x) {
  for (size_t i = sizeof(T); i-- > 0;)
    out.push_back(static_cast<uint8_t>(x >> (8 * i)));
}

/// Writes `x` as sizeof(T) big-endian bytes at `p`.
template <class T>
void store(uint8_t* p, T x) {
  for (size_t i = 0; i < sizeof(T); ++i)
    p[i] = static_cast<uint8_t>(x >> (8 * (sizeof(T) - 1 - i)));
}

/// Reads sizeof(T) big-endian bytes at `p`.
template <class T>
T get(const uint8_t* p) {
  T x = 0;
  for (size_t i = 0; i < sizeof(T); ++i)
    x = static_cast<T>((x << 8) | p[i]);
  return x;
}

/// A fixed-size array's bytes (an attempt id, a key) as messages carry
/// them; to_array reads them back.
template <class Array>
std::vector<uint8_t> to_vector(const Array& x) {
  return {x.begin(), x.end()};
}

/// A fixed-size array (an attempt id, a key) from bytes that travelled in
/// a message as a vector; none unless the size is exactly right.
template <class Array>
std::optional<Array> to_array(const std::vector<uint8_t>& raw) {
  Array out;
  if (raw.size() != out.size())
    return std::nullopt;
  std::copy(raw.begin(), raw.end(), out.begin());
  return out;
}

} // namespace crust::bytes
