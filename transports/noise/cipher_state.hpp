// Noise CipherState: a key and a 64-bit counter nonce. Sans-I/O.
#pragma once

#include <cstdint>
#include <vector>

#include "transports/noise/primitives.hpp"

namespace crust::noise {

class cipher_state {
public:
  cipher_state() = default;
  cipher_state(const cipher_state&) = default;
  cipher_state& operator=(const cipher_state&) = default;
  ~cipher_state();

  void initialize_key(const key& k);

  bool has_key() const {
    return has_key_;
  }

  uint64_t nonce() const {
    return n_;
  }

  /// SetNonce(n) of the spec: datagrams carry their nonce, since they
  /// arrive out of order (a replay window decides which are new).
  void set_nonce(uint64_t n) {
    n_ = n;
  }

  /// Appends the ciphertext (or, without a key, the plaintext) to `out`.
  /// False when the nonce space is used up (2^64 - 1 is reserved).
  bool encrypt_with_ad(const uint8_t* ad, size_t ad_len, const uint8_t* plain,
                       size_t len, std::vector<uint8_t>& out);

  /// Encrypts the `len` bytes at `data` where they are, the tag behind
  /// them (room for len + tag_len bytes; needs a key). False when the
  /// nonce space is used up or there is no key.
  bool encrypt_in_place(const uint8_t* ad, size_t ad_len, uint8_t* data,
                        size_t len);

  /// Appends the plaintext to `out`; false on a bad tag (the nonce does not
  /// advance then, and the connection must be dropped).
  bool decrypt_with_ad(const uint8_t* ad, size_t ad_len, const uint8_t* cipher,
                       size_t len, std::vector<uint8_t>& out);

  /// Opens the `len` bytes at `data` (ciphertext, then tag) where they
  /// are; the plaintext is the first len - tag_len of them. Needs a key;
  /// false on a bad tag (the nonce does not advance then).
  bool decrypt_in_place(const uint8_t* ad, size_t ad_len, uint8_t* data,
                        size_t len);

  /// REKEY(k) of the spec: the new key is the first 32 bytes of encrypting
  /// 32 zero bytes with nonce 2^64 - 1.
  void rekey();

private:
  key k_{};
  uint64_t n_ = 0;
  bool has_key_ = false;
};

} // namespace crust::noise
