// server/src/wire_guard.h — checks the raw bytes one client connection sends, before
// libwebsockets parses them, for what libwebsockets 4.1.6 accepts but RFC 9112 (HTTP/1.1) and
// RFC 6455 (WebSocket) say a server must refuse (docs/LWS-NOTES.md §12).
//
// HTTP requests (each request head of a keep-alive connection, bodies skipped by
// Content-Length):
//   - a request line or header with NUL or another control character, a header line folded
//     onto the next (obs-fold), whitespace before a header's colon, a bare CR    -> 400
//   - duplicate or malformed Content-Length, Transfer-Encoding at all (Tandem reads no
//     chunked bodies; with Content-Length it is the classic smuggling pair)      -> 400
//   - HTTP/1.1 without exactly one Host                                           -> 400
//   - a method Tandem does not serve (not GET HEAD POST PUT DELETE PATCH OPTIONS)  -> 501
//   - a request head over kMaxHeadBytes                                           -> 431
//   - a WebSocket upgrade with a body or with Sec-WebSocket-Version other than 13 -> 400 / 426
// WebSocket frames after an upgrade (no extension is negotiated):
//   - a client frame without the mask bit, with an RSV bit, with a reserved
//     opcode, a control frame fragmented or over 125 bytes, a continuation with
//     no message to continue, a new message inside a fragmented one, a close
//     frame with a 1-byte body or a code RFC 6455 7.4 does not allow            -> close 1002
//
// Pure: no sockets, no clock. lws_socket_hooks.cpp feeds it every byte lws reads from a
// connection and acts on the refusal; unit tests feed it bytes directly.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace tandem::server {

struct WireRefusal {
  int http_status = 0;       // an HTTP answer (400, 426, 431), then close; 0 for a WebSocket refusal
  int close_code = 0;        // a WebSocket close code (1002); 0 for an HTTP refusal
  std::string message;       // why: the answer's body or the close reason
  std::string extra_header;  // a header line for the answer without CRLF ("Sec-WebSocket-Version: 13")
};

class WireGuard {
 public:
  // Request heads longer than this are refused with 431. The edge gives lws room for more
  // (max_http_header_data), so this answer comes first instead of lws dropping the connection.
  static constexpr std::size_t kMaxHeadBytes = 12 * 1024;

  struct Verdict {
    // How many of the fed bytes may reach libwebsockets: all of them, or, after a refusal,
    // those before the offending WebSocket frame (an HTTP refusal passes none: the hooks answer
    // and end the connection themselves).
    std::size_t pass = 0;
    std::optional<WireRefusal> refusal;
  };

  // The next bytes the client sent, in order. After a refusal every later call refuses again.
  Verdict feed(std::string_view bytes);

  bool upgraded() const {
    return phase_ == Phase::FrameHeader || phase_ == Phase::FramePayload || phase_ == Phase::ClosePayload;
  }

 private:
  enum class Phase { RequestLine, HeaderLineStart, HeaderName, HeaderValue, ExpectLf, Body, FrameHeader, FramePayload, ClosePayload, Refused };

  // One request head's facts, reset at each request line.
  struct Head {
    std::size_t bytes = 0;
    std::string method;         // first token of the request line (at most 16 bytes kept)
    bool method_done = false;
    std::string line_tail;      // last bytes of the request line: its HTTP version
    std::string name;           // the header being read, lower case (at most 64 bytes kept)
    std::string value;          // its value when it is one we look at (at most 64 bytes kept)
    bool value_overflow = false;
    int content_lengths = 0;
    std::uint64_t content_length = 0;
    bool bad_content_length = false;
    bool transfer_encoding = false;
    int hosts = 0;
    bool upgrade_websocket = false;
    bool connection_upgrade = false;
    std::string websocket_version;
  };

  std::optional<WireRefusal> byte_of_head(unsigned char c);
  std::optional<WireRefusal> end_of_header_line();
  std::optional<WireRefusal> end_of_head();
  std::optional<WireRefusal> byte_of_frame_header(unsigned char c);
  std::optional<WireRefusal> byte_of_close_payload(unsigned char c);

  Phase phase_ = Phase::RequestLine;
  Phase after_lf_ = Phase::HeaderLineStart;  // where a CR's LF leads
  Head head_;
  std::uint64_t body_left_ = 0;
  // The WebSocket frame header being read (2 to 14 bytes) and the payload still to skip.
  unsigned char frame_header_[14] = {};
  std::size_t frame_header_have_ = 0;
  std::size_t frame_header_need_ = 2;
  std::uint64_t payload_left_ = 0;
  bool in_fragmented_message_ = false;
  std::size_t close_payload_read_ = 0;  // of a close frame's payload (at most 125 bytes)
  unsigned close_code_ = 0;  // a text/binary frame without FIN came; continuations follow
  std::optional<WireRefusal> refusal_;
};

}  // namespace tandem::server
