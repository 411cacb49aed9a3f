# cmake/TandemDeps.cmake — where third-party code comes from.
#
# Native builds link Debian's packages (found with pkg-config). WebAssembly builds compile
# the sources of cJSON and Dear ImGui from Debian's source packages, which
# toolchains/setup.sh unpacks into .cache/deps/ (never committed). Each dependency becomes
# one imported or static target: tandem::cjson, and (apps only) tandem::imgui.
set(TANDEM_DEPS_DIR "${PROJECT_SOURCE_DIR}/.cache/deps" CACHE PATH "unpacked Debian source packages")

if(EMSCRIPTEN)
  set(_cjson "${TANDEM_DEPS_DIR}/cjson")
  if(NOT EXISTS "${_cjson}/cJSON.c")
    message(FATAL_ERROR "cJSON sources missing in ${_cjson}: run toolchains/setup.sh first")
  endif()
  add_library(tandem_cjson STATIC "${_cjson}/cJSON.c")
  # Only while building: the installed package (packaging/client) carries the archive, and no
  # installed header includes cJSON.h.
  target_include_directories(tandem_cjson SYSTEM PUBLIC "$<BUILD_INTERFACE:${_cjson}>")
  # cJSON parses numbers with the JS engine's Number() instead of musl's strtod (128-bit soft
  # float in wasm, ~15 KB of code): shared/src/json_numbers.cpp defines tandem_strtod.
  target_compile_definitions(tandem_cjson PRIVATE strtod=tandem_strtod)
  # cJSON.h is included as <cJSON.h> natively (Debian puts it in include/cjson, on the path
  # via pkg-config); the same spelling works here.
  add_library(tandem::cjson ALIAS tandem_cjson)
else()
  find_package(PkgConfig REQUIRED)
  pkg_check_modules(CJSON REQUIRED IMPORTED_TARGET libcjson)
  add_library(tandem::cjson ALIAS PkgConfig::CJSON)
endif()
