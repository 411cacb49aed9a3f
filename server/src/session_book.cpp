// server/src/session_book.cpp — sessions and their resume window (see session_book.h).
#include "session_book.h"

#include <algorithm>

namespace tandem::server {

SessionClaim SessionBook::claim(const std::optional<std::string>& wanted, std::string_view user,
                                ConnectionId connection, IdSource& ids, Millis now) {
  if (wanted) {
    auto it = sessions_.find(*wanted);
    // Another user's session id is treated like an unknown one: no hint that it exists.
    const bool resumable = it != sessions_.end() && it->second.user == user &&
                           (!it->second.resumable_until || now < *it->second.resumable_until);
    if (resumable) {
      Entry& entry = it->second;
      SessionClaim claim{it->first, SessionStart::Resumed, std::nullopt};
      if (entry.connection != 0 && entry.connection != connection) claim.replaced = entry.connection;
      entry.connection = connection;
      entry.resumable_until.reset();
      return claim;
    }
  }
  std::string id = ids.session_id();
  while (sessions_.contains(id)) id = ids.session_id();  // 128 random bits: never in practice
  sessions_.emplace(id, Entry{std::string(user), connection, std::nullopt});
  return SessionClaim{std::move(id), SessionStart::New, std::nullopt};
}

void SessionBook::detach(std::string_view session, ConnectionId connection, Millis now) {
  auto it = sessions_.find(std::string(session));
  if (it == sessions_.end() || it->second.connection != connection) return;
  it->second.connection = 0;
  it->second.resumable_until = now + resume_window_;
}

void SessionBook::expire(Millis now) {
  std::erase_if(sessions_, [&](const auto& item) {
    return item.second.resumable_until && now >= *item.second.resumable_until;
  });
}

std::size_t SessionBook::detached() const {
  return static_cast<std::size_t>(
      std::count_if(sessions_.begin(), sessions_.end(), [](const auto& item) { return item.second.resumable_until.has_value(); }));
}

}  // namespace tandem::server
