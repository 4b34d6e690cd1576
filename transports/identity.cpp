#include "transports/identity.hpp"

#include <sodium.h>

#include <cstring>
#include <stdexcept>

namespace crust {


identity::~identity() {
  sodium_memzero(secret_.data(), secret_.size());
}

identity identity::from_seed(const uint8_t* seed) {
  identity result;
  crypto_sign_ed25519_seed_keypair(result.id_.bytes.data(),
                                   result.secret_.data(), seed);
  return result;
}

identity identity::ephemeral() {
  if (sodium_init() < 0)
    throw std::runtime_error("libsodium failed to initialise");
  uint8_t seed[crypto_sign_ed25519_SEEDBYTES];
  randombytes_buf(seed, sizeof(seed));
  auto result = from_seed(seed);
  sodium_memzero(seed, sizeof(seed));
  return result;
}

void identity::copy_seed(uint8_t* out) const {
  std::memcpy(out, secret_.data(), seed_size);
}

noise::keypair identity::noise_static() const {
  noise::keypair kp;
  crypto_sign_ed25519_sk_to_curve25519(kp.secret.data(), secret_.data());
  crypto_scalarmult_curve25519_base(kp.pub.data(), kp.secret.data());
  return kp;
}

identity::signature identity::sign(const std::vector<uint8_t>& msg) const {
  signature sig;
  crypto_sign_ed25519_detached(sig.data(), nullptr, msg.data(), msg.size(),
                               secret_.data());
  return sig;
}

bool identity::verify(const peer_id& signer, const std::vector<uint8_t>& msg,
                      const uint8_t* sig) {
  return crypto_sign_ed25519_verify_detached(sig, msg.data(), msg.size(),
                                             signer.bytes.data())
         == 0;
}

bool identity::binds(const peer_id& ed25519, const noise::key& x25519) {
  noise::key derived;
  if (crypto_sign_ed25519_pk_to_curve25519(derived.data(), ed25519.bytes.data())
      != 0)
    return false;
  return sodium_memcmp(derived.data(), x25519.data(), derived.size()) == 0;
}

} // namespace crust
