// certmgr/util/passphrase.hpp: the run-time passphrase of encrypted key files (config value
// `true`) and the process hardening that keeps it, and every other secret, out of core files
// and out of reach of other users' /proc reads.
#pragma once

#include <certmgr/util/secret.hpp>

#include <cstddef>
#include <filesystem>
#include <optional>

namespace certmgr::util {

/// Longest passphrase accepted from any source (OpenSSL's passphrase callback buffer is 1024
/// bytes: a longer one could encrypt a key nothing can decrypt).
inline constexpr std::size_t k_max_passphrase_bytes = 1024;

/// Where the run-time passphrase (config value `true`) comes from, first that yields one:
/// `--pass-file FILE` (its first line, trailing "\n" and "\r\n" stripped), the environment
/// variable CERTMGR_PASSPHRASE, a hidden prompt on /dev/tty (only when stdin is a terminal).
/// An empty value counts as none. Throws util::Error (kind general) naming the pass file on a read
/// error ("<file>: cannot read pass file: <strerror>") or when the file's first line is empty
/// ("<file>: the pass file is empty"). Returns nullopt when no source yields a value.
[[nodiscard]] std::optional<Secret>
runtime_passphrase(const std::optional<std::filesystem::path>& pass_file);

/// Removes CERTMGR_PASSPHRASE from this process's environment (after it was read), overwriting
/// the value bytes in place first.
void forget_passphrase_environment();

/// Makes the process non-dumpable (prctl PR_SET_DUMPABLE 0) and sets RLIMIT_CORE to 0, so that no
/// core file or /proc/<pid>/environ|mem read by another user can show a passphrase.
void protect_secrets_in_memory();

} // namespace certmgr::util
