// wasm-client/canvas/dev_token.h — gets a development token for --dev-name: one blocking
// GET /api/v1/dev/token?name=NAME to the server behind the --url (only a server started with
// --dev answers it). Desktop build: dev_token.cpp (a plain socket, HTTP/1.0, bounded in time
// and size). Browser build: dev_token_unsupported.cpp — web/canvas.html fetches the token
// itself and passes --token.
#pragma once

#include <string>

#include "tandem/result.h"

namespace canvas {

// Returns the token. `ws_url` is the --url (ws://host:port/...; wss:// is refused: this
// helper speaks no TLS, and a TLS server is no development server). Fails with code
// "dev_token" and a message saying what went wrong (no answer, status, no token in the body).
// Blocks for at most a few seconds.
tandem::Result<std::string> fetch_dev_token(const std::string& ws_url, const std::string& name);

}  // namespace canvas
