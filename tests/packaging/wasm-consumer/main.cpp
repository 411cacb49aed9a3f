// tests/packaging/wasm-consumer/main.cpp — the client core from the installed wasm package:
// encodes a chat request and decodes the server's chat event (cJSON and the core's number
// parsing, both from the package), printing what it got.
#include <cstdio>
#include <optional>
#include <string>
#include <variant>

#include <tandem/protocol/codec.h>

int main() {
  using namespace tandem::protocol;
  const std::string sent = encode_client(ChatSend{"chat:wasm", "hello from wasm"}, std::string("1"));
  std::printf("encoded %s\n", sent.c_str());

  auto frames = decode_server(
      R"({"type":"chat","room":"chat:wasm","user":"ana","name":"Ana","color":"#e91e63","text":"hello from wasm","seq":41,"ts":1732345678901})");
  if (frames.size() != 1 || !frames[0].ok()) return 1;
  const auto* chat = std::get_if<ChatMessage>(&frames[0]->message);
  if (chat == nullptr) return 1;
  std::printf("decoded chat seq %lld from %s: %s\n", static_cast<long long>(chat->seq), chat->user.c_str(),
              chat->text.c_str());
  return 0;
}
