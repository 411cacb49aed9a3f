// wasm-client/canvas/seq_feed.h — "what arrived since I last looked" over a replica's list of
// seq-carrying entries (chat messages, stream events): the entries above the last seq taken,
// the join's history or replay included. A list that restarts at a lower seq (a cleared or reset
// room, a new stream) is reported again from its start.
#pragma once

#include <cstdint>
#include <deque>
#include <vector>

namespace canvas {

template <class Entry>
class SeqFeed {
 public:
  std::vector<Entry> take_new(const std::deque<Entry>& entries) {
    if (!entries.empty() && entries.back().seq < last_seq_) last_seq_ = 0;  // started over
    std::vector<Entry> fresh;
    for (const Entry& entry : entries)
      if (entry.seq > last_seq_) fresh.push_back(entry);
    if (!fresh.empty()) last_seq_ = fresh.back().seq;
    return fresh;
  }

 private:
  std::int64_t last_seq_ = 0;
};

}  // namespace canvas
