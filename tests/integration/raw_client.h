// raw_client.h — a TCP client that writes exactly the bytes a test gives it and reports exactly
// what came back, for HTTP/WebSocket conformance and hostile-input tests against the real
// server: smuggled or malformed requests, unmasked or oversize frames, floods. It also tells
// how the connection ended (FIN, reset, still open), which is what close-code delivery tests
// are about. Test fixture only: blocking I/O with deadlines, no TLS.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "wait.h"

namespace tandem::integration {

struct RawHttpResponse {
  int status = 0;  // 0: no response head arrived
  std::vector<std::pair<std::string, std::string>> headers;  // names lower case
  std::string body;                                          // Content-Length bytes (or what came)
  std::string header(std::string_view name) const;           // "" when absent
};

struct RawFrame {
  int opcode = 0;  // 1 text, 2 binary, 8 close, 9 ping, 10 pong, 0 continuation
  bool fin = true;
  std::string payload;
  int close_code() const;          // for a close frame: its code, 1005 when it has none
  std::string close_reason() const;
};

// How a connection ended, as the client saw it.
enum class RawEnding {
  StillOpen,  // nothing ended before the deadline
  Fin,        // the server closed cleanly (end of stream)
  Reset,      // ECONNRESET: data the server sent may have been destroyed
};

class RawClient {
 public:
  // Connects to 127.0.0.1:`port`; throws std::runtime_error when it cannot.
  explicit RawClient(int port);
  ~RawClient();
  RawClient(const RawClient&) = delete;
  RawClient& operator=(const RawClient&) = delete;

  // Writes all of `bytes`; false when the server has closed or reset the connection.
  bool send(std::string_view bytes);

  // An HTTP upgrade request for `target` with the usual headers; `extra` header lines (each
  // ending in \r\n) are added, `version` is Sec-WebSocket-Version.
  static std::string upgrade_request(std::string_view target, std::string_view extra = {}, std::string_view version = "13");
  // Sends upgrade_request(target, extra) and reads the answer's head (101 on success).
  RawHttpResponse upgrade(std::string_view target, std::string_view extra = {}, milliseconds timeout = kStepDeadline);

  // Reads one HTTP response (head and Content-Length body).
  RawHttpResponse read_response(milliseconds timeout = kStepDeadline);

  // A WebSocket frame as a client sends it: masked unless told otherwise.
  static std::string frame(int opcode, std::string_view payload, bool masked = true, bool fin = true);
  bool send_frame(int opcode, std::string_view payload, bool masked = true, bool fin = true) {
    return send(frame(opcode, payload, masked, fin));
  }
  bool send_text(std::string_view payload) { return send_frame(1, payload); }
  // Reads one frame from the server; nothing at the deadline or when the connection ended.
  std::optional<RawFrame> read_frame(milliseconds timeout = kStepDeadline);
  // Reads frames until a close frame arrives (returned) or the connection ends / the deadline.
  std::optional<RawFrame> read_until_close(milliseconds timeout = kStepDeadline);
  // Frames read so far by read_frame/read_until_close, in order.
  const std::vector<RawFrame>& frames() const { return frames_; }

  // Reads (and keeps) everything until the connection ends or the deadline passes.
  RawEnding wait_end(milliseconds timeout = kStepDeadline);
  // Reads (and keeps) until the unread bytes contain `needle`; false when the connection ended
  // or the deadline passed first. For streamed bodies (Server-Sent Events).
  bool wait_for_text(std::string_view needle, milliseconds timeout = kStepDeadline);
  // Bytes received and not yet consumed as a response or frame.
  const std::string& unread() const { return buffer_; }

 private:
  // Reads more bytes into buffer_; false at the deadline or end (ending_ says which).
  bool fill(Clock::time_point deadline);

  int fd_ = -1;
  std::string buffer_;
  std::vector<RawFrame> frames_;
  RawEnding ending_ = RawEnding::StillOpen;
};

}  // namespace tandem::integration
