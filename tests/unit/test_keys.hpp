// tests/unit/test_keys.hpp: keys shared by the crypto tests, generated once per test binary
// (RSA generation costs a noticeable fraction of a second).
#pragma once

#include <certmgr/crypto.hpp>

namespace certmgr::test {

inline const crypto::Key& ec_key() {
  static const crypto::Key key =
      crypto::Key::generate(crypto::KeySpec{.type = crypto::KeyType::ecdsa, .curve = "secp256r1"});
  return key;
}

inline const crypto::Key& rsa_key() {
  static const crypto::Key key =
      crypto::Key::generate(crypto::KeySpec{.type = crypto::KeyType::rsa, .rsa_bits = 2048});
  return key;
}

} // namespace certmgr::test
