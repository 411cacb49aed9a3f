// tests/server/origin_policy_test.cpp — the allowed_origins setting: what it accepts, and which
// Origin headers it lets through (the refusal on the wire is tests/integration/origin_test.cpp).
#include "origin_policy.h"

#include <gtest/gtest.h>

namespace tandem::server {
namespace {

OriginPolicy policy(std::string_view setting) {
  auto parsed = OriginPolicy::parse(setting);
  EXPECT_TRUE(parsed.ok()) << (parsed.ok() ? "" : parsed.error().message);
  return parsed.ok() ? parsed.value() : OriginPolicy{};
}

constexpr std::string_view kHost = "tandem.example.com:8443";

TEST(origin_policy_test, empty_setting_allows_every_origin) {
  const OriginPolicy open = policy("");
  EXPECT_FALSE(open.restricts());
  EXPECT_TRUE(open.allows("https://evil.example", kHost));
  EXPECT_TRUE(open.allows("garbage", kHost));
  EXPECT_TRUE(open.allows(std::nullopt, kHost));
  EXPECT_FALSE(policy(" , ").restricts());
}

TEST(origin_policy_test, listed_origins_match_exactly) {
  const OriginPolicy list = policy("https://app.example.com, http://localhost:5173");
  EXPECT_TRUE(list.restricts());
  EXPECT_TRUE(list.allows("https://app.example.com", kHost));
  EXPECT_TRUE(list.allows("http://localhost:5173", kHost));
  EXPECT_FALSE(list.allows("http://app.example.com", kHost));        // another scheme
  EXPECT_FALSE(list.allows("https://app.example.com:444", kHost));   // another port
  EXPECT_FALSE(list.allows("https://evil.app.example.com", kHost));  // a subdomain
  EXPECT_FALSE(list.allows("https://app.example.com.evil.net", kHost));
  EXPECT_FALSE(list.allows("http://localhost:51730", kHost));
  EXPECT_FALSE(list.allows("null", kHost));
  EXPECT_FALSE(list.allows("", kHost));
}

TEST(origin_policy_test, case_and_default_ports_do_not_matter) {
  const OriginPolicy list = policy("HTTPS://App.Example.com:443,http://[::1]:80");
  EXPECT_TRUE(list.allows("https://app.example.com", kHost));
  EXPECT_TRUE(list.allows("https://APP.example.com:443", kHost));
  EXPECT_TRUE(list.allows("http://[::1]", kHost));
}

TEST(origin_policy_test, no_origin_header_is_a_non_browser_client_and_allowed) {
  EXPECT_TRUE(policy("https://app.example.com").allows(std::nullopt, kHost));
}

TEST(origin_policy_test, self_allows_the_pages_this_server_serves) {
  const OriginPolicy own = policy("self");
  EXPECT_TRUE(own.restricts());
  EXPECT_TRUE(own.allows("https://tandem.example.com:8443", kHost));
  EXPECT_TRUE(own.allows("http://tandem.example.com:8443", kHost));  // TLS ended by a proxy
  EXPECT_TRUE(own.allows("https://tandem.example.com", "tandem.example.com"));
  EXPECT_TRUE(own.allows("https://tandem.example.com", "Tandem.Example.com:443"));
  EXPECT_FALSE(own.allows("https://tandem.example.com:9443", kHost));
  EXPECT_FALSE(own.allows("https://evil.example", kHost));
  EXPECT_FALSE(own.allows("https://tandem.example.com", ""));
  EXPECT_FALSE(own.allows("null", "null"));
}

TEST(origin_policy_test, null_is_allowed_only_when_listed) {
  EXPECT_TRUE(policy("null").allows("null", kHost));
  EXPECT_FALSE(policy("self").allows("null", kHost));
}

TEST(origin_policy_test, entries_that_are_not_origins_are_refused_by_name) {
  for (const char* bad : {"https://app.example.com/", "https://app.example.com/path", "app.example.com",
                          "https://", "https://user@app.example.com", "https://app.example.com:0",
                          "https://app.example.com:99999", "https://app.example.com:", "*",
                          "https://a b.example.com", "://x"}) {
    auto parsed = OriginPolicy::parse(std::string("self, ") + bad);
    ASSERT_FALSE(parsed.ok()) << bad;
    EXPECT_NE(parsed.error().message.find(std::string("\"") + bad + "\" is not an origin"), std::string::npos)
        << parsed.error().message;
  }
}

TEST(origin_policy_test, malformed_origin_headers_are_refused_when_a_list_is_set) {
  const OriginPolicy list = policy("self,https://app.example.com");
  EXPECT_FALSE(list.allows("https://app.example.com/", kHost));
  EXPECT_FALSE(list.allows("https://app.example.com\r\nx: y", kHost));
  EXPECT_FALSE(list.allows("https://tandem.example.com:8443/x", kHost));
}

}  // namespace
}  // namespace tandem::server
