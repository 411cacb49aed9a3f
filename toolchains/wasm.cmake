# toolchains/wasm.cmake — WebAssembly builds with Debian's emscripten (3.1.6).
#
# Wraps emscripten's own toolchain file and works around the Debian quirks (DESIGN.md):
#  - em++'s optimizer needs Debian's node-acorn: every compile and link runs with
#    NODE_PATH=/usr/share/nodejs (a launcher, since the variable must be set at build time);
#  - its HTML output step is broken, so targets link to .js (never .html);
#  - ports that download (SDL2) are unavailable offline; GLFW 3 and WebGL 2 are built in.
set(TANDEM_EMSCRIPTEN_ROOT "/usr/share/emscripten" CACHE PATH "Debian's emscripten")
include("${TANDEM_EMSCRIPTEN_ROOT}/cmake/Modules/Platform/Emscripten.cmake")

set(_tandem_env "env;NODE_PATH=/usr/share/nodejs")
set(CMAKE_C_COMPILER_LAUNCHER "${_tandem_env}" CACHE STRING "" FORCE)
set(CMAKE_CXX_COMPILER_LAUNCHER "${_tandem_env}" CACHE STRING "" FORCE)
set(CMAKE_C_LINKER_LAUNCHER "${_tandem_env}" CACHE STRING "" FORCE)
set(CMAKE_CXX_LINKER_LAUNCHER "${_tandem_env}" CACHE STRING "" FORCE)
set(CMAKE_EXECUTABLE_SUFFIX ".js")
