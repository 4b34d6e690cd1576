// A connection's send queue: two priority lanes, bounded in bytes, drained
// one chunk at a time so that high-priority messages overtake bulk ones at
// chunk granularity. Sans-I/O: messages in, DATA frame bodies out.
#pragma once

#include <array>
#include <cstdint>
#include <deque>
#include <vector>

#include "crust/errors.hpp"
#include "crust/messages.hpp"

namespace crust {

/// One DATA frame's body: flags, then `size` bytes at `data`, from a
/// message pushed with `tag`.
struct chunk_view {
  uint8_t flags;
  const uint8_t* data;
  size_t size;
  uint32_t tag;
};

class outbox {
public:
  outbox(uint32_t capacity, uint32_t max_message_size);

  /// Queues a message, moving from `bytes`; errc::send_queue_full or
  /// errc::message_too_large when it cannot (`bytes` then stays as it was),
  /// errc::none otherwise. `tag` comes back with each of its chunks: the
  /// caller's note of whose it is.
  errc push(priority prio, std::vector<uint8_t>&& bytes, uint32_t tag = 0);

  /// The next chunk to send (high lane first), valid until pop(); false
  /// when nothing is queued.
  bool peek(chunk_view& out) const;

  /// Removes the chunk peek() returned; when it ended its message, the
  /// message's bytes move to `*finished` (when given).
  void pop(std::vector<uint8_t>* finished = nullptr);

  /// Queues a message accepted before, on another path of the same
  /// connection: the capacity is not looked at (it was when it came), and
  /// it does not count against new messages (its sender heard it left
  /// when the old path gave it up: the application paces by that).
  void push_moved(priority prio, std::vector<uint8_t>&& bytes);

  /// Takes every queued message whole (one partly sent from its start),
  /// per lane, oldest first; the outbox is empty after it.
  std::array<std::deque<std::vector<uint8_t>>, 2> take_all();

  bool empty() const {
    return lanes_[0].empty() && lanes_[1].empty();
  }

  /// Messages (whole or partly sent) still queued.
  size_t messages() const {
    return lanes_[0].messages.size() + lanes_[1].messages.size();
  }

  /// Message bytes still queued (moved ones included).
  size_t queued_bytes() const {
    return queued_ + moved_;
  }

private:
  struct entry {
    std::vector<uint8_t> bytes;
    uint32_t tag;
    bool moved; // push_moved: not counted against the capacity
  };

  struct lane {
    std::deque<entry> messages;
    size_t offset = 0; // into messages.front()
    bool empty() const {
      return messages.empty();
    }
  };

  const lane* first_busy() const;

  uint32_t capacity_;
  uint32_t max_message_size_;
  size_t queued_ = 0; // counted against the capacity
  size_t moved_ = 0;  // push_moved's, not counted
  lane lanes_[2];
};

} // namespace crust
