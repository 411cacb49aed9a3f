// tests/server/wire_guard_test.cpp — the byte-level HTTP/WebSocket checks (wire_guard.h): what
// passes, what is refused with which answer, and that splitting the bytes anywhere changes
// nothing.
#include "wire_guard.h"

#include <gtest/gtest.h>

#include <string>

namespace tandem::server {
namespace {

const std::string kUpgrade =
    "GET /ws?token=t HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
    "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n";

std::string frame(std::string_view payload, bool masked) {
  std::string out;
  out += static_cast<char>(0x81);
  if (payload.size() < 126) {
    out += static_cast<char>((masked ? 0x80 : 0) | payload.size());
  } else {
    out += static_cast<char>((masked ? 0x80 : 0) | 126);
    out += static_cast<char>(payload.size() >> 8);
    out += static_cast<char>(payload.size() & 0xff);
  }
  if (masked) out += std::string(4, '\0');  // an all-zero mask leaves the payload as it is
  return out + std::string(payload);
}

// Feeds `bytes` whole and, again, one byte at a time: both must agree.
std::optional<WireRefusal> verdict_of(const std::string& bytes) {
  WireGuard whole;
  auto at_once = whole.feed(bytes).refusal;
  WireGuard bytewise;
  std::optional<WireRefusal> piecewise;
  for (char c : bytes)
    if (auto v = bytewise.feed(std::string_view(&c, 1)); v.refusal) {
      piecewise = v.refusal;
      break;
    }
  EXPECT_EQ(at_once.has_value(), piecewise.has_value()) << bytes;
  if (at_once && piecewise) {
    EXPECT_EQ(at_once->http_status, piecewise->http_status);
    EXPECT_EQ(at_once->close_code, piecewise->close_code);
  }
  return at_once;
}

int status_of(const std::string& bytes) {
  auto refusal = verdict_of(bytes);
  return refusal ? refusal->http_status : 0;
}

TEST(wire_guard_test, ordinary_requests_and_keep_alive_bodies_pass) {
  EXPECT_EQ(status_of("GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n"), 0);
  EXPECT_EQ(status_of("GET /healthz HTTP/1.0\r\n\r\n"), 0);
  EXPECT_EQ(status_of("\r\nGET / HTTP/1.1\nHost: x\n\n"), 0);  // a leading blank line, bare LFs
  // A body is skipped by its length, so the next request on the connection is checked too.
  EXPECT_EQ(status_of("POST /api HTTP/1.1\r\nHost: x\r\nContent-Length: 4\r\n\r\nX: \x01"
                      "GET / HTTP/1.1\r\nHost: x\r\n\r\n"),
            0);
  EXPECT_EQ(status_of("POST /api HTTP/1.1\r\nHost: x\r\nContent-Length: 4\r\n\r\nabcd"
                      "GET / HTTP/1.1\r\nHost: x\r\nX: \x01\r\n\r\n"),
            400);
  EXPECT_EQ(status_of("GET / HTTP/1.1\r\nHost: x\r\nX-Utf8: caf\xc3\xa9\t!\r\n\r\n"), 0);  // obs-text, tab
}

TEST(wire_guard_test, smuggling_prone_framing_is_refused_with_400) {
  EXPECT_EQ(status_of("POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\nContent-Length: 5\r\n\r\n"), 400);
  EXPECT_EQ(status_of("POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\nTransfer-Encoding: chunked\r\n\r\n"), 400);
  EXPECT_EQ(status_of("POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n"), 400);
  EXPECT_EQ(status_of("POST / HTTP/1.1\r\nHost: x\r\nContent-Length: +5\r\n\r\n"), 400);
  EXPECT_EQ(status_of("POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 5 5\r\n\r\n"), 400);
  EXPECT_EQ(status_of("POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 99999999999999999999\r\n\r\n"), 400);
  EXPECT_EQ(status_of("POST / HTTP/1.1\r\nHost: x\r\nContent-Length:\r\n\r\n"), 400);
}

TEST(wire_guard_test, bad_bytes_and_malformed_lines_are_refused_with_400) {
  EXPECT_EQ(status_of(std::string("GET / HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer k") + '\0' + "x\r\n\r\n"), 400);
  EXPECT_EQ(status_of("GET / HTTP/1.1\r\nHost: x\r\nX: a\x1b[31m\r\n\r\n"), 400);
  EXPECT_EQ(status_of("GET / HTTP/1.1\r\nHost: x\r\nX: a\rb\r\n\r\n"), 400);      // bare CR
  EXPECT_EQ(status_of("GET / HTTP/1.1\r\nHost: x\r\nX: a\r\n b\r\n\r\n"), 400);   // obs-fold
  EXPECT_EQ(status_of("GET / HTTP/1.1\r\nHost : x\r\n\r\n"), 400);                 // space before colon
  EXPECT_EQ(status_of("GET / HTTP/1.1\r\nHo(st: x\r\n\r\n"), 400);                 // not a token
  EXPECT_EQ(status_of("GET / HTTP/1.1\r\n: x\r\n\r\n"), 400);                      // no name
  EXPECT_EQ(status_of("GET / HTTP/1.1\r\nHost x\r\n\r\n"), 400);                   // no colon
  EXPECT_EQ(status_of("GET /\x01 HTTP/1.1\r\nHost: x\r\n\r\n"), 400);              // request line
  EXPECT_EQ(status_of("GET / HTTP/1.1\r\n\r\n"), 400);                             // no Host
  EXPECT_EQ(status_of("GET / HTTP/1.1\r\nHost: a\r\nHost: b\r\n\r\n"), 400);        // two
  EXPECT_EQ(status_of("GET / HTTP/2.0\r\nHost: x\r\n\r\n"), 400);
  EXPECT_EQ(status_of("GARBAGE\r\n\r\n"), 400);
}

TEST(wire_guard_test, an_endless_head_is_refused_with_431) {
  std::string head = "GET / HTTP/1.1\r\nHost: x\r\n";
  while (head.size() <= WireGuard::kMaxHeadBytes) head += "X-Filler: " + std::string(100, 'f') + "\r\n";
  WireGuard guard;
  auto verdict = guard.feed(head);
  ASSERT_TRUE(verdict.refusal.has_value());
  EXPECT_EQ(verdict.refusal->http_status, 431);
}

TEST(wire_guard_test, upgrades_need_version_13_no_body_no_transfer_encoding_and_connection_upgrade) {
  EXPECT_EQ(status_of(kUpgrade), 0);
  std::string v8 = kUpgrade;
  v8.replace(v8.find("Version: 13"), 11, "Version: 8");
  auto refusal = verdict_of(v8);
  ASSERT_TRUE(refusal.has_value());
  EXPECT_EQ(refusal->http_status, 426);
  EXPECT_EQ(refusal->extra_header, "Sec-WebSocket-Version: 13");
  std::string missing = kUpgrade;
  missing.erase(missing.find("Sec-WebSocket-Version"), std::string("Sec-WebSocket-Version: 13\r\n").size());
  EXPECT_EQ(status_of(missing), 426);
  std::string with_te = kUpgrade;
  with_te.insert(with_te.size() - 2, "Transfer-Encoding: chunked\r\n");
  EXPECT_EQ(status_of(with_te), 400);
  std::string with_body = kUpgrade;
  with_body.insert(with_body.size() - 2, "Content-Length: 3\r\n");
  EXPECT_EQ(status_of(with_body), 400);
  std::string no_connection = kUpgrade;
  no_connection.replace(no_connection.find("Connection: Upgrade"), 19, "Connection: close");
  EXPECT_EQ(status_of(no_connection), 400);
  std::string post = kUpgrade;
  post.replace(0, 3, "POST");
  EXPECT_EQ(status_of(post), 400);
}

TEST(wire_guard_test, masked_frames_pass_and_an_unmasked_one_is_held_back_with_1002) {
  const std::string good = frame(R"({"type":"ping"})", true);
  const std::string big = frame(std::string(300, 'x'), true);  // 16-bit length
  EXPECT_FALSE(verdict_of(kUpgrade + good + big + good).has_value());

  WireGuard guard;
  const std::string bytes = kUpgrade + good + frame("evil", false) + good;
  auto verdict = guard.feed(bytes);
  ASSERT_TRUE(verdict.refusal.has_value());
  EXPECT_EQ(verdict.refusal->close_code, 1002);
  EXPECT_EQ(verdict.refusal->http_status, 0);
  EXPECT_EQ(verdict.pass, kUpgrade.size() + good.size()) << "what came before the unmasked frame passes";
  EXPECT_TRUE(guard.feed(good).refusal.has_value()) << "and nothing after it";
}

TEST(wire_guard_test, a_frame_split_across_reads_is_followed) {
  const std::string good = frame(std::string(1000, 'y'), true);
  WireGuard guard;
  ASSERT_FALSE(guard.feed(kUpgrade + good.substr(0, 3)).refusal);
  auto second = guard.feed(good.substr(3) + frame("evil", false).substr(0, 2));
  ASSERT_TRUE(second.refusal.has_value());
  EXPECT_EQ(second.pass, good.size() - 3);
}

TEST(wire_guard_test, methods_tandem_does_not_serve_get_501) {
  EXPECT_EQ(status_of("BREW /pot HTTP/1.1\r\nHost: x\r\n\r\n"), 501);
  EXPECT_EQ(status_of("TRACE / HTTP/1.1\r\nHost: x\r\n\r\n"), 501);
  EXPECT_EQ(status_of("OPTIONS / HTTP/1.1\r\nHost: x\r\n\r\n"), 0);
}

TEST(wire_guard_test, frames_breaking_rfc_6455_framing_rules_get_1002) {
  auto close_code_of = [](std::string frame_bytes) {
    auto refusal = verdict_of(kUpgrade + frame_bytes);
    return refusal ? refusal->close_code : 0;
  };
  std::string rsv = frame("{}", true);
  rsv[0] = static_cast<char>(0xC1);  // RSV1 + text
  EXPECT_EQ(close_code_of(rsv), 1002);
  std::string reserved = frame("{}", true);
  reserved[0] = static_cast<char>(0x83);  // opcode 3
  EXPECT_EQ(close_code_of(reserved), 1002);
  std::string fragmented_ping = frame("p", true);
  fragmented_ping[0] = static_cast<char>(0x09);  // ping without FIN
  EXPECT_EQ(close_code_of(fragmented_ping), 1002);
  std::string long_ping = frame(std::string(200, 'p'), true);
  long_ping[0] = static_cast<char>(0x89);
  EXPECT_EQ(close_code_of(long_ping), 1002);
  std::string ping = frame("p", true);
  ping[0] = static_cast<char>(0x89);
  EXPECT_EQ(close_code_of(ping), 0);
  std::string start = frame("{\"type\":", true);
  start[0] = static_cast<char>(0x01);  // text, no FIN
  std::string middle = frame("\"pi", true);
  middle[0] = static_cast<char>(0x00);  // continuation, no FIN
  std::string last = frame("ng\"}", true);
  last[0] = static_cast<char>(0x80);  // continuation, FIN
  EXPECT_EQ(close_code_of(start + middle + ping + last + frame("{}", true)), 0) << "a ping may come between fragments";
  EXPECT_EQ(close_code_of(last), 1002) << "a continuation with nothing to continue";
  EXPECT_EQ(close_code_of(start + frame("{}", true)), 1002) << "a new message inside a fragmented one";
  auto close_frame = [](std::string body) {
    std::string out = frame(body, true);
    out[0] = static_cast<char>(0x88);
    return out;
  };
  EXPECT_EQ(close_code_of(close_frame(std::string("\x03\xe8" "bye", 5))), 0);    // 1000
  EXPECT_EQ(close_code_of(close_frame(std::string("\x0f\xa0", 2))), 0);       // 4000
  EXPECT_EQ(close_code_of(close_frame("")), 0);                                // no code at all
  EXPECT_EQ(close_code_of(close_frame(std::string("\x03\xe7", 2))), 1002);    // 999
  EXPECT_EQ(close_code_of(close_frame(std::string("\x03\xee", 2))), 1002);    // 1006: never on the wire
  EXPECT_EQ(close_code_of(close_frame("x")), 1002);                            // a 1-byte body
}

}  // namespace
}  // namespace tandem::server
