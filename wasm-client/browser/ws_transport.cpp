// wasm-client/browser/ws_transport.cpp — the browser WebSocket behind tandem::Transport.
// See ws_transport.h for the event contract. Everything emscripten_websocket_* lives here.
#include "ws_transport.h"

#include <emscripten/em_js.h>
#include <emscripten/eventloop.h>
#include <emscripten/websocket.h>

#include "tandem/protocol/errors.h"

namespace tandem::browser {
namespace {

// WebSocket.readyState values (HTML spec).
enum class ReadyState : unsigned short { Connecting = 0, Open = 1, Closing = 2, Closed = 3 };

// The browser's close() throws unless the code is 1000 or in 3000-4999, and unless the reason
// is at most 123 bytes of UTF-8.
constexpr std::size_t kMaxCloseReasonBytes = 123;

int browser_close_code(int code) {
  const bool allowed = code == protocol::close::normal.code || (code >= 3000 && code <= 4999);
  return allowed ? code : protocol::close::normal.code;
}

std::string browser_close_reason(std::string_view reason) {
  if (reason.size() <= kMaxCloseReasonBytes) return std::string(reason);
  std::size_t cut = kMaxCloseReasonBytes;
  // Never cut a multi-byte UTF-8 sequence: back up over continuation bytes (10xxxxxx).
  while (cut > 0 && (static_cast<unsigned char>(reason[cut]) & 0xC0) == 0x80) --cut;
  return std::string(reason.substr(0, cut));
}

// new WebSocket(url) throws a SyntaxError on a URL it cannot parse (bad host, port out of range,
// a #fragment, another scheme), and emscripten_websocket_new does not catch it: the exception
// would unwind through the core mid-call. The same checks, done first, turn it into a 1006.
EM_JS(int, tandem_websocket_url_is_valid, (const char* url_text), {
  try {
    const url = new URL(UTF8ToString(url_text));
    return (url.protocol === "ws:" || url.protocol === "wss:") && url.hash === "" ? 1 : 0;
  } catch (error) {
    return 0;
  }
});

WebSocketTransport* self(void* user_data) { return static_cast<WebSocketTransport*>(user_data); }

EM_BOOL on_open(int, const EmscriptenWebSocketOpenEvent*, void* user_data) {
  self(user_data)->handle_open();
  return EM_TRUE;
}

EM_BOOL on_message(int, const EmscriptenWebSocketMessageEvent* event, void* user_data) {
  // The wire protocol is text only; a binary frame is not ours to interpret.
  if (!event->isText || event->numBytes == 0) return EM_TRUE;
  // For text, numBytes counts the NUL terminator emscripten appends.
  self(user_data)->handle_message(
      std::string_view(reinterpret_cast<const char*>(event->data), event->numBytes - 1));
  return EM_TRUE;
}

EM_BOOL on_close(int, const EmscriptenWebSocketCloseEvent* event, void* user_data) {
  self(user_data)->handle_browser_close(event->code, event->reason);
  return EM_TRUE;
}

// The browser fires "error" right before "close" (which carries the code), so nothing to do.
EM_BOOL on_error(int, const EmscriptenWebSocketErrorEvent*, void*) { return EM_TRUE; }

void on_deferred_close(void* user_data) { self(user_data)->deliver_deferred_close(); }

}  // namespace

WebSocketTransport::~WebSocketTransport() {
  if (socket_ != kNoSocket) emscripten_websocket_close(socket_, protocol::close::normal.code, "");
  detach_socket();
  cancel_deferred_close();
}

void WebSocketTransport::open(const std::string& url, TransportEvents& events) {
  // The core opens again only after on_closed; if it does not, the older attempt is dropped
  // silently rather than reported into the new one.
  if (socket_ != kNoSocket) emscripten_websocket_close(socket_, protocol::close::normal.code, "");
  detach_socket();
  cancel_deferred_close();

  events_ = &events;
  EmscriptenWebSocketCreateAttributes attributes;
  emscripten_websocket_init_create_attributes(&attributes);
  attributes.url = url.c_str();
  attributes.protocols = nullptr;
  attributes.createOnMainThread = EM_TRUE;
  if (!tandem_websocket_url_is_valid(url.c_str())) {
    schedule_close(protocol::close::abnormal.code, "not a valid WebSocket URL");
    return;
  }
  // <= 0: no WebSocket support in this browser (the result is an EMSCRIPTEN_RESULT code).
  const EMSCRIPTEN_WEBSOCKET_T socket = emscripten_websocket_new(&attributes);
  if (socket <= 0) {
    schedule_close(protocol::close::abnormal.code, "this browser cannot create a WebSocket");
    return;
  }
  socket_ = socket;
  emscripten_websocket_set_onopen_callback(socket_, this, on_open);
  emscripten_websocket_set_onmessage_callback(socket_, this, on_message);
  emscripten_websocket_set_onerror_callback(socket_, this, on_error);
  emscripten_websocket_set_onclose_callback(socket_, this, on_close);
}

SendStatus WebSocketTransport::send(std::string_view frame) {
  if (socket_ == kNoSocket) return SendStatus::NotOpen;
  unsigned short state = static_cast<unsigned short>(ReadyState::Closed);
  // send() on a CONNECTING socket throws in the browser; on CLOSING/CLOSED it drops silently.
  if (emscripten_websocket_get_ready_state(socket_, &state) != EMSCRIPTEN_RESULT_SUCCESS ||
      state != static_cast<unsigned short>(ReadyState::Open))
    return SendStatus::NotOpen;
  // JSON text never contains a raw NUL (the codec escapes it), so a C string carries it whole.
  send_buffer_.assign(frame);
  if (emscripten_websocket_send_utf8_text(socket_, send_buffer_.c_str()) != EMSCRIPTEN_RESULT_SUCCESS)
    return SendStatus::NotOpen;
  return SendStatus::Sent;
}

void WebSocketTransport::close(int code, std::string_view reason) {
  if (socket_ == kNoSocket) return;  // nothing open, or its on_closed is already on its way
  const std::string browser_reason = browser_close_reason(reason);
  emscripten_websocket_close(socket_, static_cast<unsigned short>(browser_close_code(code)),
                             browser_reason.c_str());
  detach_socket();
  schedule_close(code, reason);
}

void WebSocketTransport::handle_open() {
  if (events_ != nullptr) events_->on_open();
}

void WebSocketTransport::handle_message(std::string_view text) {
  if (events_ != nullptr) events_->on_message(text);
}

void WebSocketTransport::handle_browser_close(int code, std::string_view reason) {
  // Detach first: the core may open() again from inside on_closed.
  detach_socket();
  if (events_ != nullptr) events_->on_closed(code, reason);
}

void WebSocketTransport::deliver_deferred_close() {
  deferred_timer_ = kNoTimer;
  if (!deferred_close_) return;
  const DeferredClose closed = std::move(*deferred_close_);
  deferred_close_.reset();
  if (events_ != nullptr) events_->on_closed(closed.code, closed.reason);
}

void WebSocketTransport::schedule_close(int code, std::string_view reason) {
  cancel_deferred_close();
  deferred_close_ = DeferredClose{code, std::string(reason)};
  deferred_timer_ = emscripten_set_timeout(on_deferred_close, 0, this);
}

void WebSocketTransport::detach_socket() {
  if (socket_ == kNoSocket) return;
  // Clears the JS handlers, so no callback can reach this object afterwards.
  emscripten_websocket_delete(socket_);
  socket_ = kNoSocket;
}

void WebSocketTransport::cancel_deferred_close() {
  if (deferred_timer_ != kNoTimer) emscripten_clear_timeout(deferred_timer_);
  deferred_timer_ = kNoTimer;
  deferred_close_.reset();
}

}  // namespace tandem::browser
