// tests/support/yjs_updates.h — Yjs v1 updates and provider messages built by hand, for the
// tests of Yjs documents (server/src/yjs, ydocs/) that run without a JS Yjs.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "yjs/lib0.h"

namespace tandem::server::testing {

// The update holding one String item "x" of each of `clients` in y.getText("t") (at clock 0,
// no origins): a client's whole state is several of them merged, as Y.encodeStateAsUpdate
// would give for them.
inline std::string yjs_update_of(const std::vector<int>& clients) {
  yjs::Lib0Writer w;
  w.write_var_uint(clients.size());
  for (int client : clients) {
    w.write_var_uint(1);  // one struct
    w.write_var_uint(static_cast<std::uint64_t>(client));
    w.write_var_uint(0);  // clock
    w.write_uint8(4);     // String, parent named
    w.write_var_uint(1);
    w.write_var_string("t");
    w.write_var_string("x");
  }
  w.write_var_uint(0);  // no deletions
  return std::move(w).take();
}

// A Hocuspocus provider's auth message (type 2, Token) for `doc`; an empty token on a Tandem
// connection means "the connection's own".
inline std::string hocuspocus_auth(std::string_view doc, std::string_view token) {
  yjs::Lib0Writer w;
  w.write_var_string(doc);
  w.write_var_uint(2);
  w.write_var_uint(0);
  w.write_var_string(token);
  return std::move(w).take();
}

}  // namespace tandem::server::testing
