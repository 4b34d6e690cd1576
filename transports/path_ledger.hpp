// What a connection that may move between paths (relayed, then direct,
// and back) remembers so that a move loses, duplicates and reorders no
// message (docs/PROTOCOL.md, "Moving a connection"). Sans-I/O; the link
// owns one while it is a path of such a connection.
//
// Messages are numbered per lane (0 high, 1 normal) from the start of
// the connection, whichever path carried them: the sender keeps each
// message it sent until the peer confirms it (ACK: how many of each lane
// it delivered), and a move hands the next path what was not confirmed
// and what was not sent, numbered from the first unconfirmed one. The
// new path says that number first (RESUME); the receiver, which knows
// how many it delivered, skips the ones it has and delivers the rest.
// A receiver takes messages from one path at a time: what the old path
// still brings after a move is also on the new one.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <deque>
#include <vector>

namespace crust {

class path_ledger {
public:
  using counts = std::array<uint64_t, 2>;

  /// What moves from one path to the next.
  struct handover {
    /// The number of out[lane].front().
    counts first{};
    /// Per lane: the messages the peer did not confirm, then those never
    /// sent, oldest first.
    std::array<std::deque<std::vector<uint8_t>>, 2> out;
    /// How many of each lane we delivered.
    counts delivered{};
  };

  /// Unconfirmed bytes above which no more is sent until an ACK comes.
  static constexpr size_t max_unconfirmed = 4 * 1024 * 1024;

  /// An ACK goes out after this many messages or bytes delivered, and on
  /// the heartbeat tick for anything delivered since the last.
  static constexpr uint64_t ack_every_messages = 64;
  static constexpr uint64_t ack_every_bytes = 128 * 1024;

  path_ledger() = default;

  /// Carries on from `h` (its `out` goes to the caller's send queue).
  explicit path_ledger(const handover& h);

  // -- sending ----------------------------------------------------------------

  /// A whole message left on `lane`: kept until confirmed.
  void sent(uint8_t lane, std::vector<uint8_t>&& msg);

  /// The peer delivered `upto` of each lane. False when it confirms more
  /// than we numbered (sent, or handed over to send again: a violation);
  /// a stale ACK changes nothing.
  bool confirm(const counts& upto);

  /// More may be sent (what waits for an ACK is below the bound).
  bool may_send() const {
    return unconfirmed_bytes_ < max_unconfirmed;
  }

  size_t unconfirmed_bytes() const {
    return unconfirmed_bytes_;
  }

  // -- receiving --------------------------------------------------------------

  /// The peer's RESUME: its messages here start at `first`. False when
  /// that leaves a gap (it starts beyond what we delivered: lost).
  bool resume(const counts& first);

  /// A whole message of `size` bytes arrived on `lane`: true to deliver
  /// it, false for one we delivered already (after a resume).
  bool received(uint8_t lane, size_t size);

  /// An ACK is due now (enough delivered since the last).
  bool ack_due() const;

  /// On the heartbeat tick: anything delivered since the last ACK.
  bool ack_owed() const {
    return delivered_ != acked_;
  }

  /// The ACK to send (and it counts as sent).
  counts take_ack();

  // -- moving -----------------------------------------------------------------

  /// Everything the next path needs: the unconfirmed messages, then
  /// `unsent` (per lane, oldest first). The ledger is spent after it.
  handover leave(std::array<std::deque<std::vector<uint8_t>>, 2> unsent);

private:
  // Per lane: messages numbered confirmed_ .. next_ - 1.
  std::array<std::deque<std::vector<uint8_t>>, 2> kept_;
  // (confirmed_ may pass next_: an ACK for handed-over messages that
  // have not gone again yet; numbered_ bounds what an ACK may name.)
  counts confirmed_{};
  counts next_{};
  counts numbered_{};
  size_t unconfirmed_bytes_ = 0;

  counts delivered_{};
  counts acked_{};
  // Duplicates still to skip after a resume.
  counts skip_{};
  uint64_t bytes_since_ack_ = 0;
};

} // namespace crust
