// server/src/version.h — the version tandem-server reports (--version, /healthz, `connected`).
// TANDEM_SERVER_VERSION comes from the project version in the top-level CMakeLists.txt.
#pragma once

#ifndef TANDEM_SERVER_VERSION
#define TANDEM_SERVER_VERSION "0.0.0-dev"
#endif

namespace tandem::server {
inline constexpr const char* kServerVersion = TANDEM_SERVER_VERSION;
}
