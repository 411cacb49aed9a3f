// tests/server/yjs_check_main.cpp — tandem_yjs_check: the Yjs codec (server/src/yjs/) as a
// command, for tests/server/yjs_interop.mjs to compare with the real yjs and providers.
//
//   tandem_yjs_check check <dir>
//     Checks every file in <dir> as its name's prefix says and prints one JSON line per file,
//     in name order: {"file": name, "ok": true, ...what was read} or {"file", "ok": false,
//     "code", "message"}. Prefixes:
//       update-  a v1 update: "structs" and "deletes", {client: [[clock, length], ...]}
//       sv-      a state vector: "clocks", {client: clock}
//       yws-     a y-websocket message a client sends
//       hp-      a Hocuspocus message a provider sends
//     Messages print "kind" and their parts (a sync update's summary as above).
//   tandem_yjs_check encode <dir> <address as hex>
//     Writes what a server sends, one message per file (names below), for the test to feed to
//     real providers; Hocuspocus messages carry the given address.
// Exit status: 0 when every file could be read (refusals included), 2 on wrong usage or I/O.
#include <algorithm>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <iterator>
#include <string>
#include <string_view>
#include <type_traits>
#include <variant>
#include <vector>

#include "yjs/messages.h"
#include "yjs/update_check.h"

namespace {

namespace fs = std::filesystem;
namespace yjs = tandem::server::yjs;

// JSON string: quotes, backslashes and control characters escaped (NUL included, as in a
// Hocuspocus session address); the input is UTF-8 (the decoders checked it).
std::string json_string(std::string_view text) {
  std::string out = "\"";
  for (const char ch : text) {
    const auto c = static_cast<unsigned char>(ch);
    if (c == '"' || c == '\\') {
      out += '\\';
      out += ch;
    } else if (c < 0x20) {
      char escaped[8];
      std::snprintf(escaped, sizeof escaped, "\\u%04x", c);
      out += escaped;
    } else {
      out += ch;
    }
  }
  return out + "\"";
}

std::string ranges_json(const std::vector<yjs::ClientRanges>& clients) {
  std::string out = "{";
  for (const yjs::ClientRanges& client : clients) {
    if (out.size() > 1) out += ",";
    out += "\"" + std::to_string(client.client) + "\":[";
    for (std::size_t i = 0; i < client.ranges.size(); ++i)
      out += (i ? ",[" : "[") + std::to_string(client.ranges[i].clock) + "," + std::to_string(client.ranges[i].length) + "]";
    out += "]";
  }
  return out + "}";
}

std::string summary_json(const yjs::UpdateSummary& summary) {
  return "\"structs\":" + ranges_json(summary.structs) + ",\"deletes\":" + ranges_json(summary.deletes);
}

std::string clocks_json(const yjs::StateVector& clocks) {
  std::string out = "\"clocks\":{";
  for (std::size_t i = 0; i < clocks.size(); ++i)
    out += (i ? ",\"" : "\"") + std::to_string(clocks[i].client) + "\":" + std::to_string(clocks[i].clock);
  return out + "}";
}

// The parts of one decoded message, as JSON members (after "ok": true).
struct Describe {
  std::string operator()(const yjs::SyncStep1& m) const { return "\"kind\":\"sync_step1\"," + clocks_json(m.clocks); }
  std::string operator()(const yjs::SyncStep2& m) const { return "\"kind\":\"sync_step2\"," + summary_json(m.summary); }
  std::string operator()(const yjs::SyncUpdate& m) const { return "\"kind\":\"sync_update\"," + summary_json(m.summary); }
  std::string operator()(const yjs::AwarenessUpdate& m) const {
    std::string out = "\"kind\":\"awareness\",\"entries\":[";
    for (std::size_t i = 0; i < m.entries.size(); ++i)
      out += (i ? ",[" : "[") + std::to_string(m.entries[i].client) + "," + std::to_string(m.entries[i].clock) + "," +
             json_string(m.entries[i].state) + "]";
    return out + "]";
  }
  std::string operator()(const yjs::QueryAwareness&) const { return "\"kind\":\"query_awareness\""; }
  std::string operator()(const yjs::ywebsocket::PermissionDenied& m) const {
    return "\"kind\":\"permission_denied\",\"reason\":" + json_string(m.reason);
  }
  std::string operator()(const yjs::hocuspocus::Token& m) const {
    return "\"kind\":\"token\",\"token\":" + json_string(m.token) + ",\"version\":" + json_string(m.provider_version);
  }
  std::string operator()(const yjs::hocuspocus::Stateless& m) const {
    return "\"kind\":\"stateless\",\"payload\":" + json_string(m.payload);
  }
  std::string operator()(const yjs::hocuspocus::Close&) const { return "\"kind\":\"close\""; }
  std::string operator()(const yjs::hocuspocus::Pong&) const { return "\"kind\":\"pong\""; }
};

template <class T>
std::string refused_or(const tandem::Result<T>& result, auto describe) {
  if (!result) return "\"ok\":false,\"code\":" + json_string(result.error().code) + ",\"message\":" + json_string(result.error().message);
  return "\"ok\":true," + describe(result.value());
}

std::string check(std::string_view name, const std::string& bytes) {
  if (name.starts_with("update-"))
    return refused_or(yjs::check_update(bytes), [](const yjs::UpdateSummary& s) { return summary_json(s); });
  if (name.starts_with("sv-"))
    return refused_or(yjs::check_state_vector(bytes), [](const yjs::StateVector& v) { return clocks_json(v); });
  if (name.starts_with("yws-"))
    return refused_or(yjs::ywebsocket::decode(bytes),
                      [](const yjs::ywebsocket::Message& m) { return std::visit(Describe{}, m); });
  if (name.starts_with("hp-"))
    return refused_or(yjs::hocuspocus::decode(bytes), [](const yjs::hocuspocus::Message& m) {
      return "\"address\":" + json_string(m.address) + ",\"document\":" + json_string(yjs::hocuspocus::document_name(m.address)) +
             ",\"session\":" + json_string(yjs::hocuspocus::session_id(m.address)) + "," + std::visit(Describe{}, m.body);
    });
  return "\"ok\":false,\"code\":\"usage\",\"message\":\"unknown file name prefix\"";
}

bool read_file(const fs::path& path, std::string& bytes) {
  std::ifstream in(path, std::ios::binary);
  bytes.assign(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
  return in.is_open() && !in.bad();
}

int check_dir(const fs::path& dir) {
  std::vector<fs::path> files;
  for (const fs::directory_entry& entry : fs::directory_iterator(dir))
    if (entry.is_regular_file()) files.push_back(entry.path());
  std::sort(files.begin(), files.end());
  for (const fs::path& file : files) {
    std::string bytes;
    if (!read_file(file, bytes)) {
      std::cerr << "cannot read " << file << "\n";
      return 2;
    }
    const std::string name = file.filename().string();
    std::cout << "{\"file\":" << json_string(name) << "," << check(name, bytes) << "}\n";
  }
  return 0;
}

std::string from_hex(std::string_view hex) {
  std::string out;
  for (std::size_t i = 0; i + 1 < hex.size(); i += 2) out += static_cast<char>(std::stoi(std::string(hex.substr(i, 2)), nullptr, 16));
  return out;
}

int encode_dir(const fs::path& dir, const std::string& address) {
  namespace hp = yjs::hocuspocus;
  namespace yws = yjs::ywebsocket;
  const std::string empty_update("\0\0", 2);
  const std::string empty_state_vector(1, '\0');
  // "hi" typed into y.getText("t") by client 1 (update_check.h).
  const std::string hi("\x01\x01\x01\x00\x04\x01\x01t\x02hi\x00", 12);
  const yjs::AwarenessEntry states[] = {{777, 3, R"({"user":{"name":"tandem"}})"}};
  const std::pair<const char*, std::string> messages[] = {
      {"hp-authenticated-read-write", hp::encode_authenticated(address, hp::Scope::ReadWrite)},
      {"hp-authenticated-readonly", hp::encode_authenticated(address, hp::Scope::ReadOnly)},
      {"hp-permission-denied", hp::encode_permission_denied(address, "no way")},
      {"hp-token-request", hp::encode_token_request(address)},
      {"hp-sync-step1-empty", hp::encode_sync_step1(address, empty_state_vector)},
      {"hp-sync-step2-empty", hp::encode_sync_step2(address, empty_update)},
      {"hp-sync-update-hi", hp::encode_sync_update(address, hi)},
      {"hp-sync-status-applied", hp::encode_sync_status(address, true)},
      {"hp-sync-status-refused", hp::encode_sync_status(address, false)},
      {"hp-stateless", hp::encode_stateless(address, R"({"hello":"world"})")},
      {"hp-awareness", hp::encode_awareness(address, states)},
      {"hp-query-awareness", hp::encode_query_awareness(address)},
      {"hp-close", hp::encode_close(address, "bye")},
      {"hp-ping", hp::encode_ping()},
      {"yws-sync-step1-empty", yws::encode_sync_step1(empty_state_vector)},
      {"yws-sync-step2-empty", yws::encode_sync_step2(empty_update)},
      {"yws-sync-update-hi", yws::encode_sync_update(hi)},
      {"yws-awareness", yws::encode_awareness(states)},
      {"yws-query-awareness", yws::encode_query_awareness()},
      {"yws-permission-denied", yws::encode_permission_denied("no way")},
  };
  for (const auto& [name, bytes] : messages) {
    std::ofstream out(dir / name, std::ios::binary);
    out << bytes;
    if (!out) {
      std::cerr << "cannot write " << (dir / name) << "\n";
      return 2;
    }
  }
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  const std::vector<std::string> args(argv + 1, argv + argc);
  if (args.size() == 2 && args[0] == "check") return check_dir(args[1]);
  if (args.size() == 3 && args[0] == "encode") return encode_dir(args[1], from_hex(args[2]));
  std::cerr << "usage: tandem_yjs_check check <dir> | encode <dir> <address as hex>\n";
  return 2;
}
