// wasm-client/canvas/dev_token_unsupported.cpp — the browser build's dev_token.h: the page
// (web/canvas.html) fetches the token with fetch() and passes --token, so the app never does.
#include "dev_token.h"

namespace canvas {

tandem::Result<std::string> fetch_dev_token(const std::string&, const std::string&) {
  return tandem::Error{"dev_token", "--dev-name is only available in the desktop build"};
}

}  // namespace canvas
