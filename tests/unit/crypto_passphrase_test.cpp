#include "test_keys.hpp"
#include "testutil.hpp"
#include <certmgr/crypto.hpp>
#include <certmgr/util/error.hpp>

#include <doctest/doctest.h>
#include <openssl/err.h>
#include <openssl/objects.h>
#include <openssl/pem.h>
#include <openssl/x509.h>

#include <cstdio>
#include <fcntl.h>
#include <string>
#include <string_view>
#include <unistd.h>

using namespace certmgr;
using crypto::Key;
using crypto::KeySpec;
using crypto::KeyType;

namespace {

using BioPtr = std::unique_ptr<BIO, util::FreeWith<BIO_free_all>>;
using SigPtr = std::unique_ptr<X509_SIG, util::FreeWith<X509_SIG_free>>;
using Pbe2Ptr = std::unique_ptr<PBE2PARAM, util::FreeWith<PBE2PARAM_free>>;
using ScryptPtr = std::unique_ptr<SCRYPT_PARAMS, util::FreeWith<SCRYPT_PARAMS_free>>;

using test::ec_key;
using test::rsa_key;

const util::Secret& passphrase() {
  static const util::Secret secret("correct horse battery staple");
  return secret;
}

using test::error_of;

std::string bio_text(BIO* bio) {
  char* data = nullptr;
  const long size = BIO_get_mem_data(bio, &data);
  return {data, static_cast<std::size_t>(size)};
}

// Encrypted the way older tools do it: traditional PEM with "Proc-Type: 4,ENCRYPTED".
std::string traditional_encrypted(const Key& key, std::string_view pass) {
  BioPtr bio(BIO_new(BIO_s_mem()));
  REQUIRE(PEM_write_bio_PrivateKey_traditional(bio.get(), key.get(), EVP_aes_256_cbc(),
                                               reinterpret_cast<const unsigned char*>(pass.data()),
                                               static_cast<int>(pass.size()), nullptr,
                                               nullptr) == 1);
  return bio_text(bio.get());
}

// A file of mode 0600 from the start (the passphrase must never be readable by others, not
// even for a moment, and never be on a command line).
void write_private(const std::filesystem::path& path, std::string_view text) {
  const int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
  REQUIRE(fd >= 0);
  REQUIRE(::write(fd, text.data(), text.size()) == static_cast<ssize_t>(text.size()));
  REQUIRE(::close(fd) == 0);
}

using test::run_command;

std::string quoted(const std::filesystem::path& path) { return "'" + path.string() + "'"; }

} // namespace

TEST_SUITE_BEGIN("crypto passphrases");

TEST_CASE("to_pem(passphrase) round trips RSA-2048 and EC P-256 keys through encrypted PKCS#8") {
  for (const Key* key : {&rsa_key(), &ec_key()}) {
    const util::Secret pem = key->to_pem(passphrase());
    const std::string_view text = pem.reveal();
    CHECK(text.starts_with("-----BEGIN ENCRYPTED PRIVATE KEY-----\n"));
    CHECK(text.ends_with("-----END ENCRYPTED PRIVATE KEY-----\n"));
    CHECK(crypto::is_encrypted_pem(text));
    ERR_clear_error();
    const Key again = Key::from_pem(text, "key.pem", &passphrase());
    CHECK(ERR_peek_error() == 0);
    CHECK(again.spec() == key->spec());
    CHECK(again.public_der() == key->public_der());
    CHECK(again.to_pem() == key->to_pem());
  }
}

TEST_CASE("to_pem(passphrase) uses PBES2 with scrypt N=16384 r=8 p=1 and AES-256-CBC") {
  const util::Secret pem = ec_key().to_pem(passphrase());
  BioPtr bio(BIO_new_mem_buf(pem.reveal().data(), static_cast<int>(pem.reveal().size())));
  SigPtr sig(PEM_read_bio_PKCS8(bio.get(), nullptr, nullptr, nullptr));
  REQUIRE(sig);
  const X509_ALGOR* algorithm = nullptr;
  X509_SIG_get0(sig.get(), &algorithm, nullptr);
  REQUIRE(OBJ_obj2nid(algorithm->algorithm) == NID_pbes2);
  Pbe2Ptr pbe2(static_cast<PBE2PARAM*>(
      ASN1_TYPE_unpack_sequence(ASN1_ITEM_rptr(PBE2PARAM), algorithm->parameter)));
  REQUIRE(pbe2);
  CHECK(OBJ_obj2nid(pbe2->encryption->algorithm) == NID_aes_256_cbc);
  REQUIRE(OBJ_obj2nid(pbe2->keyfunc->algorithm) == NID_id_scrypt);
  ScryptPtr scrypt(static_cast<SCRYPT_PARAMS*>(
      ASN1_TYPE_unpack_sequence(ASN1_ITEM_rptr(SCRYPT_PARAMS), pbe2->keyfunc->parameter)));
  REQUIRE(scrypt);
  CHECK(ASN1_INTEGER_get(scrypt->costParameter) == 16384);
  CHECK(ASN1_INTEGER_get(scrypt->blockSize) == 8);
  CHECK(ASN1_INTEGER_get(scrypt->parallelizationParameter) == 1);
  CHECK(ASN1_STRING_length(scrypt->salt) >= 8);
}

TEST_CASE("to_pem(passphrase) draws a new salt and IV every time") {
  CHECK(ec_key().to_pem(passphrase()) != ec_key().to_pem(passphrase()));
}

TEST_CASE("the encrypted PEM does not contain the passphrase or the clear key") {
  const util::Secret pem = rsa_key().to_pem(passphrase());
  const std::string_view text = pem.reveal();
  CHECK(text.find(passphrase().reveal()) == std::string_view::npos);
  CHECK(text.find("correct") == std::string_view::npos);
  const std::string clear(rsa_key().to_pem().reveal());
  // The first base64 line of the clear key (version, algorithm, start of the key).
  const std::string first_line = clear.substr(28, 64);
  CHECK(text.find(first_line) == std::string_view::npos);
}

TEST_CASE("to_pem refuses an empty passphrase and one longer than the readers accept") {
  CHECK(error_of([] { (void)ec_key().to_pem(util::Secret()); }) == "empty passphrase");
  const util::Secret too_long(std::string(crypto::k_max_passphrase_bytes + 1, 'x'));
  CHECK(error_of([&] { (void)ec_key().to_pem(too_long); }) == "passphrase longer than 1024 bytes");
  // The longest one allowed still decrypts: OpenSSL's callback buffer really holds it.
  const util::Secret longest(std::string(crypto::k_max_passphrase_bytes, 'x'));
  const util::Secret pem = ec_key().to_pem(longest);
  CHECK(Key::from_pem(pem.reveal(), "k.pem", &longest).public_der() == ec_key().public_der());
  CHECK(error_of([&] { (void)Key::from_pem(pem.reveal(), "k.pem", &too_long); }) ==
        "k.pem: the passphrase is longer than 1024 bytes");
}

TEST_CASE("from_pem with a wrong passphrase fails with one line and a clean error queue") {
  const util::Secret wrong("correct horse battery stapler");
  const util::Secret pkcs8 = ec_key().to_pem(passphrase());
  const std::string traditional = traditional_encrypted(rsa_key(), passphrase().reveal());
  for (const std::string_view text : {pkcs8.reveal(), std::string_view(traditional)}) {
    ERR_clear_error();
    const std::string message = error_of([&] { (void)Key::from_pem(text, "/etc/k.pem", &wrong); });
    CHECK(message == "/etc/k.pem: wrong passphrase (cannot decrypt the key)");
    CHECK(ERR_peek_error() == 0);
  }
}

TEST_CASE("from_pem without a passphrase names the encrypted key instead of prompting") {
  const util::Secret pkcs8 = rsa_key().to_pem(passphrase());
  const std::string traditional = traditional_encrypted(ec_key(), passphrase().reveal());
  for (const std::string_view text : {pkcs8.reveal(), std::string_view(traditional)}) {
    const std::string expected = "/etc/k.pem: the key is encrypted and no passphrase is configured";
    CHECK(error_of([&] { (void)Key::from_pem(text, "/etc/k.pem", nullptr); }) == expected);
    CHECK(error_of([&] { (void)Key::from_pem(text, "/etc/k.pem"); }) == expected);
    CHECK(ERR_peek_error() == 0);
  }
}

TEST_CASE("from_pem decrypts a legacy traditional encrypted key") {
  const std::string traditional = traditional_encrypted(ec_key(), passphrase().reveal());
  REQUIRE(traditional.find("Proc-Type: 4,ENCRYPTED") != std::string::npos);
  const Key key = Key::from_pem(traditional, "old.pem", &passphrase());
  CHECK(key.public_der() == ec_key().public_der());
}

TEST_CASE("from_pem with a passphrase still reads clear keys") {
  const util::Secret clear = ec_key().to_pem();
  CHECK(Key::from_pem(clear.reveal(), "k.pem", &passphrase()).public_der() ==
        ec_key().public_der());
}

TEST_CASE("is_encrypted_pem tells encrypted key blocks from everything else") {
  const util::Secret pkcs8 = ec_key().to_pem(passphrase());
  const std::string encrypted(pkcs8.reveal());
  CHECK(crypto::is_encrypted_pem(encrypted));
  CHECK(crypto::is_encrypted_pem(traditional_encrypted(rsa_key(), "pass")));
  CHECK(crypto::is_encrypted_pem("# label line\n" + encrypted));
  std::string crlf;
  for (const char c : traditional_encrypted(ec_key(), "pass")) {
    if (c == '\n') crlf += '\r';
    crlf += c;
  }
  CHECK(crypto::is_encrypted_pem(crlf));

  CHECK_FALSE(crypto::is_encrypted_pem(""));
  CHECK_FALSE(crypto::is_encrypted_pem("hello"));
  CHECK_FALSE(crypto::is_encrypted_pem(ec_key().to_pem().reveal()));
  CHECK_FALSE(crypto::is_encrypted_pem(rsa_key().to_pem().reveal()));
  CHECK_FALSE(crypto::is_encrypted_pem("-----BEGIN CERTIFICATE-----\nProc-Type: 4,ENCRYPTED\n"
                                       "-----END CERTIFICATE-----\n"));
  CHECK_FALSE(crypto::is_encrypted_pem("-----BEGIN EC PRIVATE KEY-----\nMHcCAQEE\n"
                                       "Proc-Type: 4,ENCRYPTED\n-----END EC PRIVATE KEY-----\n"));
}

TEST_CASE("openssl pkey decrypts the encrypted PEM with -passin file: to the same key") {
  const test::TempDir dir;
  for (const Key* key : {&rsa_key(), &ec_key()}) {
    const std::string name = key == &rsa_key() ? "rsa" : "ec";
    const auto key_file = dir.path() / (name + ".pem");
    const auto pass_file = dir.path() / (name + ".pass");
    const util::Secret pem = key->to_pem(passphrase());
    write_private(key_file, pem.reveal());
    write_private(pass_file, std::string(passphrase().reveal()) + "\n");
    const std::string der =
        run_command("openssl pkey -in " + quoted(key_file) + " -passin file:" + quoted(pass_file) +
                    " -pubout -outform DER 2>/dev/null");
    CHECK(der == key->public_der());
  }
}

TEST_CASE("from_pem decrypts what openssl pkcs8 encrypts with scrypt and with PBKDF2") {
  const test::TempDir dir;
  const auto clear_file = dir.path() / "clear.pem";
  const auto pass_file = dir.path() / "pass";
  write_private(clear_file, ec_key().to_pem().reveal());
  write_private(pass_file, std::string(passphrase().reveal()) + "\n");
  for (const std::string kdf : {"-scrypt", "-v2 aes-256-cbc"}) {
    const std::string pem = run_command("openssl pkcs8 -topk8 -in " + quoted(clear_file) + " " +
                                        kdf + " -passout file:" + quoted(pass_file));
    REQUIRE(pem.starts_with("-----BEGIN ENCRYPTED PRIVATE KEY-----"));
    CHECK(Key::from_pem(pem, "k.pem", &passphrase()).public_der() == ec_key().public_der());
  }
}

TEST_SUITE_END();
