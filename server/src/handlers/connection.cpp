// server/src/handlers/connection.cpp — the connection family: auth and ping.
#include <string>

#include "handlers.h"
#include "../log.h"

namespace tandem::server::handlers {

void register_connection(HandlerRegistry& registry) {
  // auth: the first message when the URL had no token. The hub lets only this through before
  // authentication; once authenticated a second auth is a client bug, not a re-login.
  registry.on<protocol::Auth>([](HandlerContext& ctx, const protocol::Auth& auth) {
    if (ctx.connection.auth == AuthState::Authenticated) {
      ctx.error(protocol::errc::invalid_message, "already authenticated");
      return;
    }
    // A session in the URL counts too when the message names none.
    const std::optional<std::string>& session = auth.session ? auth.session : ctx.connection.presented_session;
    ctx.hub.authenticate(ctx.connection, auth.token, session, ctx.now, ctx.frame.id);
  });

  // ping: app-level liveness (browsers cannot see WS pings). Answered with pong, same id.
  registry.on<protocol::Ping>([](HandlerContext& ctx, const protocol::Ping&) {
    ctx.reply(protocol::Pong{ctx.now.wall});
  });
}

}  // namespace tandem::server::handlers
