// certmgr/util/sigpipe.hpp: writes to a peer that went away must fail with EPIPE instead of
// killing certmgr (the stdin pipe of a hook, a TLS socket OpenSSL writes to with write(2)).
#pragma once

#include <pthread.h>
#include <signal.h>
#include <time.h>

namespace certmgr::util {

/// Blocks SIGPIPE in this thread only (the signal is thread-directed) while alive; a SIGPIPE
/// raised meanwhile is consumed before the old mask comes back, so the write sees EPIPE.
class SigpipeBlock {
public:
  SigpipeBlock() {
    sigemptyset(&m_pipe);
    sigaddset(&m_pipe, SIGPIPE);
    pthread_sigmask(SIG_BLOCK, &m_pipe, &m_old);
    m_was_pending = is_pending();
  }
  ~SigpipeBlock() {
    if (!m_was_pending && is_pending()) {
      const timespec now{};
      sigtimedwait(&m_pipe, nullptr, &now);
    }
    pthread_sigmask(SIG_SETMASK, &m_old, nullptr);
  }
  SigpipeBlock(const SigpipeBlock&) = delete;
  SigpipeBlock& operator=(const SigpipeBlock&) = delete;

private:
  bool is_pending() const {
    sigset_t pending;
    sigemptyset(&pending);
    return sigpending(&pending) == 0 && sigismember(&pending, SIGPIPE) == 1;
  }
  sigset_t m_pipe{};
  sigset_t m_old{};
  bool m_was_pending{false};
};

} // namespace certmgr::util
