// Splits a byte stream into frames. Sans-I/O: bytes in, frames out. It never
// holds more than one maximum-size frame plus the bytes of one read.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "crust/messages.hpp"
#include "transports/wire.hpp"

namespace crust {

struct frame_view {
  wire::frame_type type;
  const uint8_t* body;
  size_t size;
};

class frame_decoder {
public:
  enum class status { frame, need_more, violation };

  explicit frame_decoder(uint32_t max_frame_size);

  /// Appends bytes read from the peer.
  void feed(const void* data, size_t size);

  /// Extracts the next complete frame into `out` (valid until the next
  /// feed). On violation, `kind()` and `detail()` say what was wrong and the
  /// decoder stays broken: the connection must close.
  status next(frame_view& out);

  misbehaviour kind() const {
    return kind_;
  }

  const std::string& detail() const {
    return detail_;
  }

  /// Bytes held but not yet returned as frames.
  size_t buffered() const {
    return buf_.size() - pos_;
  }

private:
  status fail(misbehaviour kind, std::string detail);

  uint32_t max_frame_size_;
  std::vector<uint8_t> buf_;
  size_t pos_ = 0;
  bool broken_ = false;
  misbehaviour kind_ = misbehaviour::protocol_violation;
  std::string detail_;
};

/// Appends a complete frame to `out`.
void append_frame(std::vector<char>& out, wire::frame_type type,
                  const void* body, size_t size);

} // namespace crust
