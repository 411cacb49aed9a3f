# toolchains/node-path.sh — sourced by the setup, run and test scripts: puts the Node.js that
# setup.sh unpacked into .cache/node/ (when the machine's own was missing or too old) first on
# PATH, so that npm, CMake's find_program(node) and the tests all use the same one.
# ROOT must be the repository root.
tandem_node_path() {
  if [ -x "$ROOT/.cache/node/bin/node" ]; then
    case ":$PATH:" in
      *":$ROOT/.cache/node/bin:"*) ;;
      *) export PATH="$ROOT/.cache/node/bin:$PATH" ;;
    esac
  fi
}
tandem_node_path
