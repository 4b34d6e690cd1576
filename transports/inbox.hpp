// Reassembles messages from DATA frames, one partial message per lane,
// each bounded by crust.max-message-size. Sans-I/O.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "crust/messages.hpp"

namespace crust {

class inbox {
public:
  enum class status { incomplete, complete, violation };

  explicit inbox(uint32_t max_message_size);

  /// Forgets the messages half reassembled (a new numbered stream starts
  /// on this path: the sender sends them again whole).
  void drop_partial() {
    for (auto& p : partial_)
      std::vector<uint8_t>{}.swap(p);
  }

  /// Takes the body of one DATA frame. On complete, `out` holds the message
  /// and `lane` its priority; on violation, `kind` and `detail` say why.
  status on_data(const uint8_t* body, size_t size, std::vector<uint8_t>& out,
                 priority& lane);

  misbehaviour kind() const {
    return kind_;
  }

  const std::string& detail() const {
    return detail_;
  }

private:
  uint32_t max_message_size_;
  std::vector<uint8_t> partial_[2];
  misbehaviour kind_ = misbehaviour::protocol_violation;
  std::string detail_;
};

} // namespace crust
