// server/src/handlers/streams.cpp — the streams family (PROTOCOL.md). Being built (issue 4).
#include "handlers.h"

namespace tandem::server::handlers {

void register_streams(HandlerRegistry&) {}

}  // namespace tandem::server::handlers
