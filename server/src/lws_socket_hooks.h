// server/src/lws_socket_hooks.h — the bytes under libwebsockets, for what lws 4.1.6 does not do
// itself (docs/LWS-NOTES.md §12):
//
//   1. Check what a client sends before lws parses it. Every byte lws reads from a client
//      connection goes through a WireGuard (wire_guard.h): a smuggling-prone or malformed HTTP
//      request is answered here (400 / 426 / 431) and the connection ends; an unmasked
//      WebSocket frame is held back and reported to the edge, which closes with 1002.
//   2. Linger on close: when lws closes a client connection, our side is shut down for writing
//      (the peer sees FIN after our close frame or answer) and the peer's input is read and
//      dropped for `linger` before the socket really closes — so a client that is still sending
//      receives our close code instead of a TCP reset that would destroy it.
//
// How: this file defines recv() and close(). A program's own definitions come first in symbol
// lookup, so libwebsockets.so's calls land here; they forward to libc's (dlsym RTLD_NEXT) for
// every descriptor the edge did not register. Only client connections accepted by the edge
// (on the lws thread) are registered; libpq, hiredis, files and other threads pass straight
// through (one array lookup). With TLS the bytes under lws are ciphertext: the guard is not
// used for TLS connections (watch() with check_bytes=false), lingering still is.
//
// Everything but recv()/close() themselves runs on the lws thread.
#pragma once

#include <cstddef>
#include <string_view>
#include <vector>

#include "wire_guard.h"

namespace tandem::server::socket_hooks {

// Turns the hooks on for this process (once, before the loop starts). `linger_ms` 0: close at once.
void enable(int linger_ms);

// A client connection lws just accepted (LWS_CALLBACK_FILTER_NETWORK_CONNECTION).
void watch(int fd, bool check_bytes);

// WebSocket refusals found since the last call: (descriptor, why). The edge closes each
// connection with the refusal's close code; until then lws reads nothing more from it.
struct FrameRefusal {
  int fd = -1;
  WireRefusal refusal;
};
std::vector<FrameRefusal> take_frame_refusals();

// Writes an HTTP error answer straight to `fd` (small: a socket that cannot take it at once
// loses it) with `error_code` in its JSON body; the caller then ends the connection.
void answer(int fd, const WireRefusal& refusal, std::string_view error_code);

// Makes lws read end of stream from `fd` (a refused connection the edge has no WebSocket for).
void end_connection(int fd);

// Reads and drops the input of lingering sockets; closes those whose peer closed or whose
// linger ran out. Call after every loop pass (cheap when nothing lingers).
void drain_lingering();

// Closes every lingering socket now (shutdown).
void close_lingering();

// Sockets lingering now (tests, logs).
std::size_t lingering();

}  // namespace tandem::server::socket_hooks
