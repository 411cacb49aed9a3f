// ws_url_test.cpp — WebSocket URL parsing for the native transport.
#include "ws_url.h"

#include <gtest/gtest.h>

using namespace tandem::native;

TEST(ws_url_test, splits_host_port_and_path_with_query) {
  auto url = parse_ws_url("ws://127.0.0.1:8080/ws?token=abc&session=s1");
  ASSERT_TRUE(url.ok());
  EXPECT_EQ(url->scheme, WsScheme::Plain);
  EXPECT_EQ(url->host, "127.0.0.1");
  EXPECT_EQ(url->port, 8080);
  EXPECT_EQ(url->path, "/ws?token=abc&session=s1");
  EXPECT_EQ(url->host_header, "127.0.0.1:8080");
}

TEST(ws_url_test, defaults_port_by_scheme_and_path_to_root) {
  auto plain = parse_ws_url("ws://example.org");
  ASSERT_TRUE(plain.ok());
  EXPECT_EQ(plain->port, 80);
  EXPECT_EQ(plain->path, "/");
  EXPECT_EQ(plain->host_header, "example.org");
  auto secure = parse_ws_url("wss://example.org?x=1");
  ASSERT_TRUE(secure.ok());
  EXPECT_EQ(secure->scheme, WsScheme::Secure);
  EXPECT_EQ(secure->port, 443);
  EXPECT_EQ(secure->path, "/?x=1");
}

TEST(ws_url_test, wss_keeps_an_explicit_port_in_the_host_header) {
  auto url = parse_ws_url("wss://127.0.0.1:8443/ws?token=abc");
  ASSERT_TRUE(url.ok());
  EXPECT_EQ(url->scheme, WsScheme::Secure);
  EXPECT_EQ(url->host, "127.0.0.1");  // what the server's certificate must name
  EXPECT_EQ(url->port, 8443);
  EXPECT_EQ(url->path, "/ws?token=abc");
  EXPECT_EQ(url->host_header, "127.0.0.1:8443");
  auto v6 = parse_ws_url("wss://[::1]:8443/ws");
  ASSERT_TRUE(v6.ok());
  EXPECT_EQ(v6->host, "::1");
  EXPECT_EQ(v6->host_header, "[::1]:8443");
}

TEST(ws_url_test, accepts_bracketed_ipv6) {
  auto url = parse_ws_url("ws://[::1]:9000/ws");
  ASSERT_TRUE(url.ok());
  EXPECT_EQ(url->host, "::1");
  EXPECT_EQ(url->port, 9000);
  EXPECT_EQ(url->host_header, "[::1]:9000");
  auto no_port = parse_ws_url("ws://[::1]/ws");
  ASSERT_TRUE(no_port.ok());
  EXPECT_EQ(no_port->host_header, "[::1]");
}

TEST(ws_url_test, refuses_what_cannot_be_dialled) {
  const char* bad[] = {"http://h/ws", "https://h/ws", "wss://", "ws://", "ws://:80/ws", "ws://h:0/ws", "ws://h:65536/ws",
                       "ws://h:8a/ws", "ws://h:/ws", "ws://u@h/ws", "ws://h/ws#frag", "ws://h/a b",
                       "ws://[::1/ws", "ws://[::1]x/ws"};
  for (const char* text : bad) {
    auto url = parse_ws_url(text);
    EXPECT_FALSE(url.ok()) << text;
    if (!url.ok()) {
      EXPECT_EQ(url.error().code, "invalid_url") << text;
    }
  }
}
