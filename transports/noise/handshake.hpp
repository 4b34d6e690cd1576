// Noise HandshakeState (with its SymmetricState) for the fundamental
// patterns over 25519 / ChaChaPoly / BLAKE2b. Sans-I/O: messages in and out
// as bytes, no sockets, no clock. crust speaks XX (and IK once peers are
// known from the cache); the other patterns exist so the test vectors can
// check every token of the machinery.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "transports/noise/cipher_state.hpp"
#include "transports/noise/primitives.hpp"

namespace crust::noise {

enum class token : uint8_t { e, s, ee, es, se, ss };

struct pattern {
  const char* name; // "XX", "IK", ...
  std::vector<token> initiator_pre; // pre-message: initiator's keys known
  std::vector<token> responder_pre; // pre-message: responder's keys known
  std::vector<std::vector<token>> messages; // alternating, initiator first
  bool one_way;
};

/// A fundamental pattern by name ("XX", "IK", "N", ...), or nullptr.
const pattern* find_pattern(const std::string& name);

struct handshake_config {
  const pattern* pat = nullptr;
  bool initiator = false;
  std::vector<uint8_t> prologue;
  std::optional<keypair> s;  // our static key pair, when the pattern sends it
  std::optional<keypair> e;  // fixed ephemeral: test vectors only
  std::optional<key> rs;     // the peer's static key, when known in advance
};

class handshake_state {
public:
  explicit handshake_state(handshake_config cfg);
  ~handshake_state();

  /// Writes the next message, carrying `payload`, to `out`. False when it is
  /// not our turn, the handshake is over, or the message would be too long.
  bool write_message(const uint8_t* payload, size_t len,
                     std::vector<uint8_t>& out);

  /// Reads the peer's next message and appends its payload to `payload`.
  /// False on any failure: wrong turn, truncated, bad tag, a low-order key.
  /// A failed handshake cannot be resumed.
  bool read_message(const uint8_t* msg, size_t len,
                    std::vector<uint8_t>& payload);

  bool finished() const {
    return next_ == cfg_.pat->messages.size();
  }

  bool failed() const {
    return failed_;
  }

  /// Whether the next message is ours to write.
  bool my_turn() const;

  /// After the handshake: the initiator-to-responder and the
  /// responder-to-initiator cipher states.
  std::pair<cipher_state, cipher_state> split() const;

  const digest& handshake_hash() const {
    return h_;
  }

  /// The peer's static key, once the handshake revealed it.
  const std::optional<key>& remote_static() const {
    return cfg_.rs;
  }

private:
  void mix_hash(const uint8_t* data, size_t len);
  void mix_key(const key& ikm);
  bool encrypt_and_hash(const uint8_t* plain, size_t len,
                        std::vector<uint8_t>& out);
  bool decrypt_and_hash(const uint8_t* cipher, size_t len,
                        std::vector<uint8_t>& out);
  bool mix_dh(token t);
  // Marks the handshake failed and takes back what was written.
  bool fail(std::vector<uint8_t>& out, size_t start);

  handshake_config cfg_;
  std::optional<key> re_;
  digest h_{};
  digest ck_{};
  cipher_state cs_;
  size_t next_ = 0;
  bool failed_ = false;
};

} // namespace crust::noise
