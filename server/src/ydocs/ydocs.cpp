// server/src/ydocs/ydocs.cpp — Yjs documents (see ydocs.h).
#include "ydocs/ydocs.h"

#include <algorithm>
#include <memory>
#include <utility>

#include "endpoint.h"
#include "jwt.h"
#include "log.h"
#include "rooms/room_access.h"
#include "yjs/lib0.h"

namespace tandem::server {

namespace ywebsocket = yjs::ywebsocket;
namespace hocuspocus = yjs::hocuspocus;

namespace {

// The empty update (00 00) and the empty state vector (00), as sync messages.
const std::string& empty_step2() {
  static const std::string message = ywebsocket::encode_sync_step2(std::string_view("\0\0", 2));
  return message;
}
const std::string& empty_step1() {
  static const std::string message = ywebsocket::encode_sync_step1(std::string_view("\0", 1));
  return message;
}

}  // namespace

// ---- connections ------------------------------------------------------------------------------

void YDocs::opened(Connection& c, const OpenRequest& request, Now now) {
  if (c.wire != Wire::YWebsocket) return;  // Hocuspocus: auth messages per document
  if (!request.token) {
    hub_.close(c, protocol::close::unauthorized, "token required: connect to /yjs/{doc}?token=<JWT>");
    return;
  }
  auto claims = jwt::verify(*request.token, {hub_.settings().jwt_secret, now.wall / 1000, hub_.settings().jwt_leeway_s});
  if (!claims) {
    hub_.close(c, protocol::close::unauthorized, claims.error().message);
    return;
  }
  if (access(claims->sub, claims->rooms, claims->read_only, request.ydoc) == Access::Refused) {
    hub_.close(c, kYDocForbidden, "the token's rooms do not include " + ydoc_room(request.ydoc));
    return;
  }
  if (!hub_.mark_authenticated(c, *claims)) return;
  // Attached where the document runs: here, or (several instances) its messages go there.
  if (hub_.route_ydoc(c, request.ydoc, {}) == Hub::Route::Here) attach_y_websocket(c);
}

YDocs::Access YDocs::access(const std::string& sub, const std::vector<std::string>& rooms,
                            const std::vector<std::string>& read_only, const std::string& doc) const {
  const std::string room = ydoc_room(doc);
  if (room_access(rooms, sub, room) == RoomAccess::Forbidden) return Access::Refused;
  for (const std::string& pattern : read_only)
    if (room_matches(pattern, room)) return Access::Read;
  return Access::Write;
}

YDocs::Attachment& YDocs::attach_y_websocket(Connection& c) {
  return attach(c, c.ydoc, access(c.user.id, c.rooms, c.read_only, c.ydoc) == Access::Read);
}

YDocs::Attachment& YDocs::attach(Connection& c, const std::string& doc, bool read_only) {
  auto [it, fresh] = docs_.try_emplace(doc);
  Document& d = it->second;
  if (d.state == Document::State::Failed && d.connections.empty()) {
    d = Document{};  // try reading it again
    fresh = true;
  }
  if (fresh) {
    if (hub_.store()) {
      hub_.need_ydoc(doc);
    } else {
      d.state = Document::State::Ready;  // a hub without a store (tests): in memory only
    }
  }
  d.connections.push_back(c.id);
  std::vector<Attachment>& documents = attachments_[c.id].documents;
  documents.push_back(Attachment{doc, doc, read_only, false, std::nullopt, false, {}});
  return documents.back();
}

YDocs::Attachment* YDocs::attachment(ConnectionId id, std::string_view doc) {
  auto it = attachments_.find(id);
  if (it == attachments_.end()) return nullptr;
  for (Attachment& a : it->second.documents)
    if (a.doc == doc) return &a;
  return nullptr;
}

void YDocs::closed(Connection& c) {
  auto it = attachments_.find(c.id);
  if (it == attachments_.end()) return;
  std::vector<Attachment> attached = std::move(it->second.documents);
  attachments_.erase(it);
  for (Attachment& a : attached) detach(c, a);
}

void YDocs::detach(Connection& c, Attachment& a) {
  auto found = docs_.find(a.doc);
  if (found == docs_.end()) return;
  Document& d = found->second;
  std::erase(d.connections, c.id);
  if (a.answer_through) d.compaction_asked = false;  // its answer will not come
  // Its awareness states leave: a removal (state null, the clock one up) to everyone else.
  std::vector<yjs::AwarenessEntry> removed;
  for (std::uint64_t client : a.awareness_clients) {
    auto state = d.awareness.find(client);
    if (state == d.awareness.end() || state->second.owner != c.id) continue;
    removed.push_back({client, state->second.clock + 1, "null"});
    d.awareness.erase(state);
  }
  if (!removed.empty()) relay(d, c.id, ywebsocket::encode_awareness(removed), false);
}

std::vector<YDocSummary> YDocs::summaries() const {
  std::vector<YDocSummary> out;
  out.reserve(docs_.size());
  for (const auto& [name, d] : docs_) out.push_back({name, d.connections.size(), d.log.size(), d.bytes, d.last_seq});
  return out;
}

// ---- the log ----------------------------------------------------------------------------------

void YDocs::loaded(const std::string& name, Result<store::YDocRecord> record) {
  auto found = docs_.find(name);
  if (found == docs_.end() || found->second.state != Document::State::Loading) return;
  Document& d = found->second;
  if (!record) {
    LOG_ERROR("yjs document %s: cannot read its log: %s", name.c_str(), record.error().message.c_str());
    d.state = Document::State::Failed;
    for (ConnectionId id : std::vector<ConnectionId>(d.connections))
      if (Connection* c = hub_.find(id)) hub_.close(*c, protocol::close::internal_error, "the document cannot be read");
    return;
  }
  d.state = Document::State::Ready;
  for (store::StoredYUpdate& stored : record.value().updates) {
    auto summary = yjs::check_update(stored.data);
    if (!summary) {  // written by this server, so never; but never relayed either
      LOG_ERROR("yjs document %s: stored update %lld is malformed (%s): skipped", name.c_str(),
                static_cast<long long>(stored.seq), summary.error().message.c_str());
      continue;
    }
    yjs::merge_into(d.content, summary.value());
    d.bytes += stored.data.size();
    d.last_seq = std::max(d.last_seq, stored.seq);
    d.log.push_back(Entry{stored.seq, std::make_shared<const std::string>(std::move(stored.data))});
  }
}

void YDocs::forget_idle() {
  for (auto it = docs_.begin(); it != docs_.end();) {
    const Document& d = it->second;
    if (!d.connections.empty() || d.unstored > 0 || d.state == Document::State::Loading) {
      ++it;
      continue;
    }
    const std::string room = ydoc_room(it->first);
    it = docs_.erase(it);
    hub_.forget_owned(room);
  }
}

bool YDocs::live(std::string_view name) const { return docs_.contains(std::string(name)); }

void YDocs::lose(std::string_view name, std::string_view why) {
  auto found = docs_.find(std::string(name));
  if (found == docs_.end()) return;
  LOG_WARN("cluster: yjs document %s %s; its connections reconnect", found->first.c_str(), std::string(why).c_str());
  const std::string reason = "restart: document " + found->first + " " + std::string(why);
  const std::vector<ConnectionId> connections = std::move(found->second.connections);
  const std::string room = ydoc_room(found->first);
  docs_.erase(found);  // what it held in memory is not the store's any more: the next owner reads it
  hub_.forget_owned(room);  // and this instance no longer takes it for its own
  for (ConnectionId id : connections)
    if (Connection* c = hub_.find(id)) hub_.close(*c, protocol::close::restart, reason, QueuedFrames::Drop);
}

YDocs::Document* YDocs::ready(Connection& c, const std::string& name, bool& wait) {
  wait = false;
  auto found = docs_.find(name);
  if (found == docs_.end()) return nullptr;
  Document& d = found->second;
  switch (d.state) {
    case Document::State::Loading:
      hub_.need_ydoc(name);
      wait = true;
      return nullptr;
    case Document::State::Failed:
      hub_.close(c, protocol::close::internal_error, "the document cannot be read");
      return nullptr;
    case Document::State::Ready:
      return &d;
  }
  return nullptr;
}

// ---- input ------------------------------------------------------------------------------------

bool YDocs::receive(Connection& c, std::string_view bytes, Now now) {
  if (c.close) return true;
  return c.wire == Wire::YWebsocket ? receive_y_websocket(c, bytes, now) : receive_hocuspocus(c, bytes, now);
}

void YDocs::refuse(Connection& c, std::string_view reason) {
  if (c.wire == Wire::Tandem) {  // the connection carries more than Yjs: an error, counted as malformed
    hub_.protocol_error(c, Error{std::string(protocol::errc::invalid_message), "yjs: " + std::string(reason)},
                        std::nullopt, hub_.now());
    return;
  }
  hub_.metrics().protocol_error(protocol::errc::invalid_message);
  hub_.close(c, protocol::close::protocol_violation, reason);
}

bool YDocs::receive_y_websocket(Connection& c, std::string_view bytes, Now) {
  if (c.auth != AuthState::Authenticated) return true;
  auto attached = attachments_.find(c.id);
  if (attached == attachments_.end() || attached->second.documents.empty()) {
    // Not attached here: its document runs on another instance, or where was not known yet.
    switch (hub_.route_ydoc(c, c.ydoc, bytes)) {
      case Hub::Route::Elsewhere: return true;
      case Hub::Route::Wait: return false;
      case Hub::Route::Here:
        attach_y_websocket(c);
        attached = attachments_.find(c.id);
        break;
    }
  }
  Attachment& a = attached->second.documents.front();
  bool wait = false;
  Document* d = ready(c, a.doc, wait);
  if (!d) return !wait;
  auto message = ywebsocket::decode(bytes);
  if (!message) {
    refuse(c, message.error().message);
    return true;
  }
  std::visit(
      [&](auto& m) {
        using M = std::decay_t<decltype(m)>;
        if constexpr (std::is_same_v<M, ywebsocket::PermissionDenied>) {
          // y-protocols' auth goes from server to client only: nothing to do.
        } else {
          handle(c, a, *d, DocumentMessage(std::move(m)));
        }
      },
      message.value());
  return true;
}

bool YDocs::receive_hocuspocus(Connection& c, std::string_view bytes, Now now) {
  auto message = hocuspocus::decode(bytes);
  if (!message) {
    refuse(c, message.error().message);
    return true;
  }
  hocuspocus::Message& m = message.value();
  if (std::holds_alternative<hocuspocus::Pong>(m.body)) return true;
  if (const auto* token = std::get_if<hocuspocus::Token>(&m.body))
    return authenticate_hocuspocus(c, m.address, *token, bytes, now);
  if (c.auth == AuthState::Pending) {  // as on /ws: before any authentication only auth passes
    hub_.close(c, protocol::close::unauthorized, "authenticate first: send the provider's token");
    return true;
  }
  const std::string doc(hocuspocus::document_name(m.address));
  if (c.forwarded_ydocs.contains(doc)) {  // several instances: its owner runs it
    hub_.route_ydoc(c, doc, bytes);
    if (std::holds_alternative<hocuspocus::Close>(m.body)) c.forwarded_ydocs.erase(doc);
    return true;
  }
  Attachment* a = attachment(c.id, doc);
  if (!a || a->address != m.address) {  // not authenticated for this document: nothing of it is read
    hub_.send_binary(c, std::make_shared<const std::string>(hocuspocus::encode_permission_denied(
                            m.address, "authenticate for this document first")));
    return true;
  }
  if (std::holds_alternative<hocuspocus::Close>(m.body)) {
    Attachment gone = std::move(*a);
    std::erase_if(attachments_[c.id].documents, [&](const Attachment& x) { return x.doc == doc; });
    detach(c, gone);
    return true;
  }
  if (const auto* stateless = std::get_if<hocuspocus::Stateless>(&m.body)) {
    relay_stateless(c, *a, stateless->payload);
    return true;
  }
  bool wait = false;
  Document* d = ready(c, doc, wait);
  if (!d) return !wait;
  std::visit(
      [&](auto& body) {
        using B = std::decay_t<decltype(body)>;
        if constexpr (std::is_constructible_v<DocumentMessage, B>) handle(c, *a, *d, DocumentMessage(std::move(body)));
      },
      m.body);
  return true;
}

bool YDocs::authenticate_hocuspocus(Connection& c, std::string_view address, const hocuspocus::Token& token,
                                    std::string_view bytes, Now now) {
  auto answer = [&](std::string message) { hub_.send_binary(c, std::make_shared<const std::string>(std::move(message))); };
  auto deny = [&](const std::string& reason) { answer(hocuspocus::encode_permission_denied(address, reason)); };
  const std::string doc(hocuspocus::document_name(address));
  auto refuse_with = [&](const std::string& reason) {
    deny(reason);
    return true;
  };
  if (!hocuspocus::session_id(address).empty())
    return refuse_with("sessionAwareness is not supported: one provider per document and connection");
  if (!is_ydoc_name(doc)) return refuse_with("a document name is 1-120 of [A-Za-z0-9_:.@/-]");
  Access granted = Access::Refused;
  if (c.wire == Wire::Tandem && token.token.empty()) {
    // Over a Tandem connection (authenticated already) the provider may send no token: the
    // connection's own decides.
    granted = access(c.user.id, c.rooms, c.read_only, doc);
  } else {
    auto claims = jwt::verify(token.token, {hub_.settings().jwt_secret, now.wall / 1000, hub_.settings().jwt_leeway_s});
    if (!claims) return refuse_with(claims.error().message);
    granted = access(claims->sub, claims->rooms, claims->read_only, doc);
    if (granted == Access::Refused) return refuse_with("the token's rooms do not include " + ydoc_room(doc));
    if (c.auth == AuthState::Pending) {
      if (!hub_.mark_authenticated(c, *claims)) return true;
    } else if (claims->sub != c.user.id) {
      return refuse_with("this connection is " + c.user.id + "'s: open another one for " + claims->sub);
    }
  }
  if (granted == Access::Refused) return refuse_with("the token's rooms do not include " + ydoc_room(doc));
  // Checked here, run where the document runs: several instances forward the auth message to
  // its owner, which checks it again and answers.
  switch (hub_.route_ydoc(c, doc, bytes)) {
    case Hub::Route::Elsewhere: return true;
    case Hub::Route::Wait: return false;
    case Hub::Route::Here: break;
  }
  if (!token.provider_version.empty()) attachments_[c.id].answers_ping = true;
  if (Attachment* already = attachment(c.id, doc)) {
    already->read_only = granted == Access::Read;  // a new token: its access from now on
  } else {
    attach(c, doc, granted == Access::Read);
  }
  answer(hocuspocus::encode_authenticated(
      address, granted == Access::Read ? hocuspocus::Scope::ReadOnly : hocuspocus::Scope::ReadWrite));
  return true;
}

void YDocs::handle(Connection& c, Attachment& a, Document& d, const DocumentMessage& message) {
  std::visit(
      [&](const auto& m) {
        using M = std::decay_t<decltype(m)>;
        if constexpr (std::is_same_v<M, yjs::SyncStep1>) {
          sync_step1(c, a, d);
        } else if constexpr (std::is_same_v<M, yjs::SyncStep2>) {
          apply_update(c, a, d, m, a.answer_through.has_value());
        } else if constexpr (std::is_same_v<M, yjs::SyncUpdate>) {
          apply_update(c, a, d, m, false);
        } else if constexpr (std::is_same_v<M, yjs::AwarenessUpdate>) {
          awareness(c, a, d, m);
        } else {  // QueryAwareness
          std::vector<yjs::AwarenessEntry> states;
          for (const auto& [client, state] : d.awareness) states.push_back({client, state.clock, state.state});
          send(c, a, ywebsocket::encode_awareness(states));
        }
      },
      message);
}

// The client's state vector is not looked at: without CRDT code the whole log is its answer.
void YDocs::sync_step1(Connection& c, Attachment& a, Document& d) {
  // What the log holds is stored unless updates are on their way to the store: then the answer
  // waits for that commit, so a client never sees what a crash could still lose.
  const bool hold = d.unstored > 0;
  auto out = [&](std::string_view message) {
    Bytes frame = framed(c, a, message);
    if (hold) {
      hub_.send_after_commit(c, std::move(frame), MessageKind::Binary);
    } else {
      hub_.send_binary(c, std::move(frame));
    }
  };
  for (const Entry& entry : d.log) out(ywebsocket::encode_sync_update(*entry.update));
  out(empty_step2());
  if (!a.state_asked) {
    // The others' awareness states, once per connection, as the y-websocket server sends them
    // on connecting: a client never asks for them itself, and a late joiner would otherwise
    // see nobody until each state is renewed (every 15 s).
    std::vector<yjs::AwarenessEntry> states;
    for (const auto& [client, state] : d.awareness)
      if (state.owner != c.id) states.push_back({client, state.clock, state.state});
    if (!states.empty()) out(ywebsocket::encode_awareness(states));
    ask_state(c, a, d);
  }
}

// An empty step 1: the client answers with its whole state, which covers every entry sent to
// it before this (its answer then compacts them away, apply_update).
void YDocs::ask_state(Connection& c, Attachment& a, Document& d) {
  a.state_asked = true;
  a.answer_through = d.last_seq;
  const Bytes frame = framed(c, a, empty_step1());
  if (d.unstored > 0) {
    hub_.send_after_commit(c, frame, MessageKind::Binary);
  } else {
    hub_.send_binary(c, frame);
  }
}

void YDocs::apply_update(Connection& c, Attachment& a, Document& d, const yjs::SyncUpdatePayload& payload,
                         bool answers_state_request) {
  const std::string_view update = payload.update;
  // The seq up to which the answer covers the log; -1: not an answer (no compaction).
  const std::int64_t compact_through = answers_state_request ? a.answer_through.value_or(-1) : -1;
  if (answers_state_request) {
    a.answer_through.reset();
    d.compaction_asked = false;
  }
  const bool brings_nothing = yjs::covers(d.content, payload.summary);
  auto tell_hocuspocus = [&](bool applied) {
    if (c.wire == Wire::YWebsocket) return;
    hub_.send_after_commit(c, std::make_shared<const std::string>(hocuspocus::encode_sync_status(a.address, applied)),
                           MessageKind::Binary);
  };
  if (a.read_only) {
    if (!brings_nothing && c.wire == Wire::YWebsocket && !a.told_read_only) {
      a.told_read_only = true;
      send(c, a, ywebsocket::encode_permission_denied("read-only: your changes to this document are not applied"));
    }
    return tell_hocuspocus(brings_nothing);
  }
  // Compaction: the answer replaces every entry up to what its client had been sent.
  std::size_t dropped = 0, dropped_bytes = 0;
  if (compact_through >= 0) {
    for (const Entry& entry : d.log) {
      if (entry.seq > compact_through) break;
      ++dropped;
      dropped_bytes += entry.update->size();
    }
    if (dropped < 2) dropped = dropped_bytes = 0;  // nothing worth replacing
  }
  if (brings_nothing && dropped == 0) return tell_hocuspocus(true);
  const std::size_t bytes_after = d.bytes - dropped_bytes + update.size();
  if (bytes_after > static_cast<std::size_t>(hub_.settings().max_ydoc_bytes)) {
    hub_.close(c, kYDocTooLarge,
               "the document would hold " + std::to_string(bytes_after) + " bytes, over max_ydoc_bytes " +
                   std::to_string(hub_.settings().max_ydoc_bytes));
    return;
  }
  const std::int64_t seq = ++d.last_seq;
  store::WriteBatch& writes = hub_.writes();
  writes.add(store::WriteBatch::AppendYUpdate{a.doc, seq, std::string(update)});
  if (dropped > 0) {
    writes.add(store::WriteBatch::DropYUpdates{a.doc, compact_through});
    d.log.erase(d.log.begin(), d.log.begin() + static_cast<std::ptrdiff_t>(dropped));
    hub_.metrics().ydoc_compacted();
    LOG_DEBUG("yjs document %s: %zu updates (%zu bytes) compacted into one of %zu bytes", a.doc.c_str(), dropped,
              dropped_bytes, update.size());
  }
  d.log.push_back(Entry{seq, std::make_shared<const std::string>(update)});
  hub_.metrics().ydoc_updated();
  d.bytes = bytes_after;
  yjs::merge_into(d.content, payload.summary);
  ++d.unstored;
  hub_.after_commit([this, name = a.doc](bool) {
    if (auto found = docs_.find(name); found != docs_.end() && found->second.unstored > 0) --found->second.unstored;
  });
  if (!brings_nothing) relay(d, c.id, ywebsocket::encode_sync_update(update), true);
  tell_hocuspocus(true);
  maybe_ask_compaction(d);
}

// A long session compacts too: past ydoc_compact_after entries, one attached writer that has
// answered its first state request is asked again.
void YDocs::maybe_ask_compaction(Document& d) {
  if (d.compaction_asked || d.log.size() < static_cast<std::size_t>(hub_.settings().ydoc_compact_after)) return;
  for (ConnectionId id : d.connections) {
    Connection* c = hub_.find(id);
    if (!c || c->close) continue;
    for (Attachment& a : attachments_[id].documents) {
      if (a.read_only || a.answer_through || !a.state_asked) continue;
      if (&docs_.at(a.doc) != &d) continue;
      d.compaction_asked = true;
      ask_state(*c, a, d);
      return;
    }
  }
}

void YDocs::awareness(Connection& c, Attachment& a, Document& d, const yjs::AwarenessUpdate& update) {
  std::vector<yjs::AwarenessEntry> accepted;
  for (const yjs::AwarenessEntry& e : update.entries) {
    auto known = d.awareness.find(e.client);
    if (known != d.awareness.end() && known->second.owner != c.id) continue;  // another connection's client
    // y-websocket re-broadcasts what it hears, removals included: removing an unknown client
    // is nothing to do (and must not make it this connection's).
    if (known == d.awareness.end() && e.removed()) continue;
    const bool mine = std::find(a.awareness_clients.begin(), a.awareness_clients.end(), e.client) != a.awareness_clients.end();
    if (!mine) {
      if (a.awareness_clients.size() >= static_cast<std::size_t>(hub_.settings().max_awareness_clients)) continue;
      a.awareness_clients.push_back(e.client);
    }
    if (e.removed()) {
      d.awareness.erase(e.client);
    } else {
      d.awareness[e.client] = Awareness{e.clock, std::string(e.state), c.id};
    }
    accepted.push_back(e);
  }
  if (!accepted.empty()) relay(d, c.id, ywebsocket::encode_awareness(accepted), false);
}

// A stateless message (provider.sendStateless) goes to the document's other Hocuspocus
// connections as it came: Tandem runs no server hooks, so it is the apps' own ephemeral
// channel, like `broadcast` on /ws. Never stored; y-websocket has no such message.
void YDocs::relay_stateless(Connection& c, const Attachment& a, std::string_view payload) {
  auto found = docs_.find(a.doc);
  if (found == docs_.end()) return;
  Bytes frame;
  for (ConnectionId id : found->second.connections) {
    if (id == c.id) continue;
    Connection* other = hub_.find(id);
    if (!other || other->close || other->wire == Wire::YWebsocket) continue;
    if (!frame) frame = std::make_shared<const std::string>(hocuspocus::encode_stateless(a.address, payload));
    hub_.send_binary(*other, frame);
  }
}

void YDocs::tick(Now now) {
  if (now.mono < next_ping_) return;
  next_ping_ = now.mono + Millis(std::max(1000, hub_.settings().heartbeat_ms / 2));
  const Bytes ping = std::make_shared<const std::string>(hocuspocus::encode_ping());
  for (const auto& [id, attached] : attachments_) {
    if (!attached.answers_ping) continue;
    if (Connection* c = hub_.find(id); c && !c->close) hub_.send_binary(*c, ping);
  }
}

// ---- output -----------------------------------------------------------------------------------

Bytes YDocs::framed(const Connection& c, const Attachment& a, std::string_view message) const {
  if (c.wire == Wire::YWebsocket) return std::make_shared<const std::string>(message);
  yjs::Lib0Writer writer;
  writer.write_var_string(a.address);
  writer.write_bytes(message);
  return std::make_shared<const std::string>(std::move(writer).take());
}

void YDocs::send(Connection& c, const Attachment& a, std::string_view message) { hub_.send_binary(c, framed(c, a, message)); }

// To every connection of the document but `except`, each framing encoded once (a Hocuspocus
// address is the document's name: sessionAwareness is refused at auth).
void YDocs::relay(Document& d, ConnectionId except, std::string_view message, bool after_commit) {
  Bytes plain, hocuspocus_frame;
  for (ConnectionId id : d.connections) {
    if (id == except) continue;
    Connection* c = hub_.find(id);
    if (!c || c->close) continue;
    Bytes& frame = c->wire == Wire::YWebsocket ? plain : hocuspocus_frame;
    if (!frame) {
      const Attachment* a = nullptr;
      for (const Attachment& mine : attachments_[id].documents)
        if (&docs_.at(mine.doc) == &d) a = &mine;
      if (!a) continue;
      frame = framed(*c, *a, message);
    }
    if (after_commit) {
      hub_.send_after_commit(*c, frame, MessageKind::Binary);
    } else {
      hub_.send_binary(*c, frame);
    }
  }
}

}  // namespace tandem::server
