// json_numbers.h — doubles to JSON text and back, the one part of the JSON code that differs
// between native builds and WebAssembly (see json_numbers.cpp for why).
#pragma once

#include <string>

namespace tandem::json {

// Appends a finite double (json.cpp prints integers below 10^15 itself; -0 comes here) as
// %.15g prints it, or as %.17g when 15 digits do not read back as the same double: always
// exact, and short for the common values.
void append_double(std::string& out, double value);

}  // namespace tandem::json

#ifdef __EMSCRIPTEN__
// cJSON's number parser, in WebAssembly builds only: cJSON.c is compiled with
// -Dstrtod=tandem_strtod (cmake/TandemDeps.cmake). Same contract as strtod for the characters
// cJSON hands it ([0-9+-.eE]).
extern "C" double tandem_strtod(const char* text, char** end);
#endif
