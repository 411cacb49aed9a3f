// bench/src/ws_conn.h — one client WebSocket connection on a raw non-blocking TCP socket, for
// driving a thousand connections from one epoll loop (an lws client context per connection
// would cost ~30 KB each). Just enough RFC 6455 for a load tool: the upgrade request, masked
// text frames out, unmasked frames in (text, continuation, ping -> pong, close).
#pragma once

#include <netinet/in.h>

#include <cstddef>
#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <string_view>

namespace tandem::bench {

struct WsUrl {
  std::string host;   // IPv4 literal or "localhost"
  int port = 80;
  std::string path;   // "/ws"
};

// ws://host[:port]/path; nothing for anything else (wss is not supported by the bench).
std::optional<WsUrl> parse_ws_url(std::string_view url);

class WsConn {
 public:
  enum class State {
    Connecting,   // TCP connect in progress, upgrade request queued
    Handshaking,  // waiting for "101 Switching Protocols"
    Open,
    Closed,
  };
  using OnMessage = std::function<void(std::string_view text)>;

  WsConn() = default;
  WsConn(const WsConn&) = delete;
  WsConn& operator=(const WsConn&) = delete;
  ~WsConn();

  // Starts a non-blocking connect to `address` and queues the upgrade request for
  // `host_header` + `path_and_query`. False when the socket could not be created.
  bool start(const sockaddr_in& address, const std::string& host_header, const std::string& path_and_query);

  // Queues a masked text frame (only meaningful once Open; queued bytes go out in order).
  void send_text(std::string_view text);
  // Socket events from the loop. on_readable calls `on_message` for every complete text message.
  void on_writable();
  void on_readable(const OnMessage& on_message);

  int fd() const { return fd_; }
  State state() const { return state_; }
  bool wants_write() const { return state_ == State::Connecting || !outbound_.empty(); }
  const std::string& failure() const { return failure_; }
  // Once Closed: the code of the server's close frame, 1006 when the connection just ended.
  int close_code() const { return close_code_; }
  std::uint64_t bytes_received() const { return bytes_received_; }

 private:
  void fail(std::string why);
  void parse_frames(const OnMessage& on_message);
  void queue_frame(std::uint8_t opcode, std::string_view payload);

  int fd_ = -1;
  State state_ = State::Closed;
  std::string outbound_;  // bytes not yet taken by the kernel
  std::string inbound_;   // bytes not yet parsed
  std::string message_;   // a fragmented message being assembled
  std::string failure_;
  int close_code_ = 1006;
  std::uint64_t bytes_received_ = 0;  // WebSocket payload bytes of text frames
};

}  // namespace tandem::bench
