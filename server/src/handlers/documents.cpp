// server/src/handlers/documents.cpp — the documents family (PROTOCOL.md). Being built (issue 4).
#include "handlers.h"

namespace tandem::server::handlers {

void register_documents(HandlerRegistry&) {}

}  // namespace tandem::server::handlers
