// server/src/handlers/chat.cpp — the chat family (PROTOCOL.md). Being built (issue 4).
#include "handlers.h"

namespace tandem::server::handlers {

void register_chat(HandlerRegistry&) {}

}  // namespace tandem::server::handlers
