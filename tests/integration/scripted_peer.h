// scripted_peer.h — a WebSocket peer that follows a script, byte by byte, for testing the
// native transport's own behaviour where tandem-server cannot be made to misbehave on demand:
// fragmented messages, exact close frames (the lws 1012 quirk), a TCP drop without a close
// frame. It speaks just enough RFC 6455 for that; it is a test fixture, not a server.
//
// The script runs on its own thread (the test thread pumps the transport meanwhile); every
// blocking step has a deadline, and a failed step ends the script with an error message that
// finish() returns.
#pragma once

#include <functional>
#include <string>
#include <thread>

#include "wait.h"

namespace tandem::integration {

struct PeerFrame {
  int opcode = 0;  // 1 text, 2 binary, 8 close, 9 ping, 10 pong, 0 continuation
  bool fin = true;
  std::string payload;
};

// One accepted connection, as the script sees it. Every call throws std::runtime_error on a
// socket error or when its deadline passes.
class PeerConnection {
 public:
  explicit PeerConnection(int fd) : fd_(fd) {}  // takes ownership of `fd`
  ~PeerConnection();
  PeerConnection(const PeerConnection&) = delete;
  PeerConnection& operator=(const PeerConnection&) = delete;
  // Reads the upgrade request and answers 101. Returns the request target ("/ws?x=1").
  std::string handshake();
  void send_frame(int opcode, std::string_view payload, bool fin = true);
  void send_text(std::string_view payload) { send_frame(1, payload); }
  void send_close(int code, std::string_view reason);
  // Reads exactly `n` raw bytes (for checking what arrives before any WebSocket framing).
  std::string read_bytes(std::size_t n, milliseconds timeout = kStepDeadline) {
    return read_exact(n, Clock::now() + timeout);
  }
  // Reads one frame from the client (unmasking it).
  PeerFrame read_frame(milliseconds timeout = kStepDeadline);
  // Discards whatever arrives until the client closes the TCP connection.
  void wait_for_disconnect(milliseconds timeout = kStepDeadline);
  // Closes the TCP connection without a close frame.
  void drop();

 private:
  void write_all(std::string_view bytes);
  std::string read_exact(std::size_t n, Clock::time_point deadline);
  int fd_;
};

class ScriptedPeer {
 public:
  ScriptedPeer();  // listens on 127.0.0.1, a free port
  ~ScriptedPeer();
  ScriptedPeer(const ScriptedPeer&) = delete;
  ScriptedPeer& operator=(const ScriptedPeer&) = delete;

  int port() const { return port_; }
  std::string url(std::string_view target = "/ws") const;

  // Accepts one connection (within the step deadline) and runs `script` on it, on a thread.
  void run(std::function<void(PeerConnection&)> script);
  // Waits for the script to end; returns "" when it completed, else what went wrong.
  std::string finish();

 private:
  int listen_fd_ = -1;
  int port_ = 0;
  std::thread thread_;
  std::string error_;
};

}  // namespace tandem::integration
