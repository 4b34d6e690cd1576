// A node's identity: an Ed25519 key pair. The peer id is the public key;
// the Noise static key is the X25519 key derived from it, so proving the
// static key in a handshake proves the peer id.
#pragma once

#include <array>
#include <vector>
#include <cstdint>
#include <string>

#include "crust/peer_id.hpp"
#include "transports/noise/primitives.hpp"

namespace crust {

class identity {
public:
  /// A fresh identity that lives only as long as the process.
  static identity ephemeral();

  /// The identity whose Ed25519 key comes from `seed` (seed_size bytes).
  static identity from_seed(const uint8_t* seed);

  static constexpr size_t seed_size = 32;

  /// Copies the Ed25519 seed to `out` (seed_size bytes): what an identity
  /// file keeps (transports/io/identity_file). The caller wipes it.
  void copy_seed(uint8_t* out) const;

  identity(const identity&) = default;
  identity& operator=(const identity&) = default;
  ~identity();

  const peer_id& id() const {
    return id_;
  }

  /// The X25519 key pair for Noise, derived from the Ed25519 secret.
  noise::keypair noise_static() const;

  /// Whether the X25519 key derived from the Ed25519 key `ed25519` is
  /// `x25519`: how a handshake's static key proves a claimed peer id.
  static bool binds(const peer_id& ed25519, const noise::key& x25519);

  static constexpr size_t signature_size = 64;
  using signature = std::array<uint8_t, signature_size>;

  /// An Ed25519 signature of `msg` by this identity.
  signature sign(const std::vector<uint8_t>& msg) const;

  /// Whether `sig` is `signer`'s signature of `msg`.
  static bool verify(const peer_id& signer, const std::vector<uint8_t>& msg,
                     const uint8_t* sig);

private:
  identity() = default;

  std::array<uint8_t, 64> secret_{}; // libsodium's Ed25519 secret key
  peer_id id_;
};

} // namespace crust
