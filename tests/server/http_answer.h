// tests/server/http_answer.h — HttpApi::handle answers through a callback, at once or (routes
// that wait for the store) from a later loop pass; tests of the immediate routes read it here.
#pragma once

#include <gtest/gtest.h>

#include <optional>

#include "http_api.h"
#include "publish_api.h"

namespace tandem::server::testing {

// The answer `api` gives to `request` before handle() returns (a failed expectation if none).
inline HttpResponse answer_now(const HttpApi& api, const HttpRequest& request, Now now) {
  std::optional<HttpResponse> answer;
  api.handle(request, now, [&](HttpResponse response) { answer = std::move(response); });
  EXPECT_TRUE(answer.has_value()) << request.method << " " << request.path << " was not answered at once";
  return answer.value_or(HttpResponse{0, "", ""});
}

// publish(), then the hub's loop passes (commit(): the rooms read, the events stored) until
// it answers.
inline HttpResponse publish_and_commit(Hub& hub, std::string_view body, Now now) {
  std::optional<HttpResponse> answer;
  publish(hub, body, now, [&](HttpResponse response) { answer = std::move(response); });
  hub.commit();
  EXPECT_TRUE(answer.has_value()) << "publish was not answered";
  return answer.value_or(HttpResponse{0, "", ""});
}

}  // namespace tandem::server::testing
