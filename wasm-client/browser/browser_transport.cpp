// wasm-client/browser/browser_transport.cpp — the browser WebSocket, or its Server-Sent Events
// look-alike (sse_socket.js), behind tandem::Transport. See browser_transport.h for the event
// contract. Every use of the browser's WebSocket lives here.
//
// The socket is driven through four small EM_JS functions rather than emscripten's
// websocket.h: that library (a general socket table, binary frames, events copied into C
// structs) was ~3 KB of the loader for the text frames and three events used here (issue 15).
#include "browser_transport.h"

#include <cstdint>

#include <emscripten/em_js.h>
#include <emscripten/emscripten.h>

#include "tandem/protocol/errors.h"

// The page's sockets live in Module.tandemSockets, by id (0 is never used). Events reach C++
// through function pointers (read from the loader's wasmTable) with `self` first; a message's text and a close reason are
// copied into wasm memory (malloc/free: exported by every module linking this file) for the
// call and freed after it. A binary frame is not the core's (Yjs documents over the connection:
// tandem-yjs.mjs listens on the socket itself): it is ignored here. Each socket is tagged with
// Module.tandemOwner, the client handle tandem.mjs set before calling into the core, so it can
// find its client's WebSocket (TandemClient.socket). on_open(self), on_message(self, text,
// length), on_close(self, code, reason) come as table indices (EM_JS parameters cannot be
// function pointer types).
// `stream` non-zero: an event stream (TandemEventStream, sse_socket.js) instead of a WebSocket,
// given the same ws(s):// URL. Returns the socket's id; -1 for a URL the browser would refuse (new WebSocket throws a
// SyntaxError on a URL it cannot parse, another scheme, a #fragment); 0 when this browser
// cannot create the socket.
EM_JS(int, tandem_ws_open, (const char* url, int stream, void* self, int on_open, int on_message, int on_close), {
  var address = UTF8ToString(url);
  var parsed;
  var socket;
  try {
    parsed = new URL(address);
  } catch (error) {
  }
  if (!parsed || (parsed.protocol != "ws:" && parsed.protocol != "wss:") || parsed.hash != "") return -1;
  try {
    socket = stream ? new TandemEventStream(address) : new WebSocket(address);
  } catch (error) {
    return 0;
  }
  function withText(value, call) {
    var size = lengthBytesUTF8(value) + 1;
    var text = _malloc(size);
    stringToUTF8(value, text, size);
    try {
      call(text, size - 1);
    } finally {
      _free(text);
    }
  }
  socket.onopen = function() { wasmTable.get(on_open)(self); };
  socket.onmessage = function(event) {
    if (typeof event.data == "string")
      withText(event.data, function(text, length) { wasmTable.get(on_message)(self, text, length); });
  };
  socket.onclose = function(event) {
    withText(event.reason, function(text) { wasmTable.get(on_close)(self, event.code, text); });
  };
  socket.owner = Module.tandemOwner;
  var sockets = Module.tandemSockets || (Module.tandemSockets = [null]);
  sockets.push(socket);
  return sockets.length - 1;
});

// Sends text[0, length) if the socket is OPEN (send() throws while CONNECTING and drops
// silently once CLOSING); 1 when sent.
EM_JS(int, tandem_ws_send, (int id, const char* text, int length), {
  var socket = Module.tandemSockets[id];
  if (!socket || socket.readyState != 1) return 0;
  socket.send(UTF8ToString(text, length));
  return 1;
});

EM_JS(void, tandem_ws_close, (int id, int code, const char* reason), {
  var socket = Module.tandemSockets[id];
  if (socket) socket.close(code, UTF8ToString(reason));
});

// Calls on_later(self) (a table index) on a later JS task; returns the timer (never 0).
// Rather than emscripten_set_timeout, whose loader code (callUserCallback and the exit
// handling behind it) is for programs with a main() (issue 18: -140 B gzipped).
EM_JS(int, tandem_later, (void* self, int on_later), {
  return setTimeout(function() { wasmTable.get(on_later)(self); }, 0);
});

EM_JS(void, tandem_cancel_later, (int timer), { clearTimeout(timer); });

// Drops the socket's handlers, so no event can reach its transport afterwards, and its id.
EM_JS(void, tandem_ws_forget, (int id), {
  var socket = Module.tandemSockets[id];
  if (!socket) return;
  socket.onopen = socket.onmessage = socket.onclose = null;
  delete Module.tandemSockets[id];
});

namespace tandem::browser {
namespace {

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

BrowserTransport* self(void* user_data) { return static_cast<BrowserTransport*>(user_data); }

void on_open(void* user_data) { self(user_data)->handle_open(); }
void on_message(void* user_data, const char* text, int length) {
  self(user_data)->handle_message(std::string_view(text, static_cast<std::size_t>(length)));
}
void on_close(void* user_data, int code, const char* reason) { self(user_data)->handle_browser_close(code, reason); }

void on_deferred_close(void* user_data) { self(user_data)->deliver_deferred_close(); }

// A function pointer is its index in the wasm table.
template <class Function>
int table_index(Function* function) {
  return static_cast<int>(reinterpret_cast<std::intptr_t>(function));
}

}  // namespace

BrowserTransport::~BrowserTransport() {
  if (socket_ != kNoSocket) tandem_ws_close(socket_, protocol::close::normal.code, "");
  detach_socket();
  cancel_deferred_close();
}

void BrowserTransport::open(const std::string& url, TransportEvents& events) {
  // The core opens again only after on_closed; if it does not, the older attempt is dropped
  // silently rather than reported into the new one.
  if (socket_ != kNoSocket) tandem_ws_close(socket_, protocol::close::normal.code, "");
  detach_socket();
  cancel_deferred_close();

  events_ = &events;
  const int socket = tandem_ws_open(url.c_str(), carrier_ == Carrier::EventStream, this, table_index(&on_open),
                                    table_index(&on_message), table_index(&on_close));
  if (socket <= 0) {
    schedule_close(protocol::close::abnormal.code,
                   socket < 0 ? "not a valid WebSocket URL" : "this browser cannot open the connection");
    return;
  }
  socket_ = socket;
}

SendStatus BrowserTransport::send(std::string_view frame) {
  if (socket_ == kNoSocket) return SendStatus::NotOpen;
  // JSON text never contains a raw NUL (the codec escapes it), so the text arrives whole.
  return tandem_ws_send(socket_, frame.data(), static_cast<int>(frame.size())) ? SendStatus::Sent
                                                                                : SendStatus::NotOpen;
}

void BrowserTransport::close(int code, std::string_view reason) {
  if (socket_ == kNoSocket) return;  // nothing open, or its on_closed is already on its way
  const std::string browser_reason = browser_close_reason(reason);
  tandem_ws_close(socket_, browser_close_code(code), browser_reason.c_str());
  detach_socket();
  schedule_close(code, reason);
}

void BrowserTransport::handle_open() {
  if (events_ != nullptr) events_->on_open();
}

void BrowserTransport::handle_message(std::string_view text) {
  if (events_ != nullptr) events_->on_message(text);
}

void BrowserTransport::handle_browser_close(int code, std::string_view reason) {
  // Detach first: the core may open() again from inside on_closed.
  detach_socket();
  if (events_ != nullptr) events_->on_closed(code, reason);
}

void BrowserTransport::deliver_deferred_close() {
  deferred_timer_ = kNoTimer;
  if (!deferred_close_) return;
  const DeferredClose closed = std::move(*deferred_close_);
  deferred_close_.reset();
  if (events_ != nullptr) events_->on_closed(closed.code, closed.reason);
}

void BrowserTransport::schedule_close(int code, std::string_view reason) {
  cancel_deferred_close();
  deferred_close_ = DeferredClose{code, std::string(reason)};
  deferred_timer_ = tandem_later(this, table_index(&on_deferred_close));
}

void BrowserTransport::detach_socket() {
  if (socket_ == kNoSocket) return;
  // Clears the JS handlers, so no callback can reach this object afterwards.
  tandem_ws_forget(socket_);
  socket_ = kNoSocket;
}

void BrowserTransport::cancel_deferred_close() {
  if (deferred_timer_ != kNoTimer) tandem_cancel_later(deferred_timer_);
  deferred_timer_ = kNoTimer;
  deferred_close_.reset();
}

}  // namespace tandem::browser
