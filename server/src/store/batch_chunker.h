// server/src/store/batch_chunker.h — cuts a stream of writes into WriteBatches of at most N
// writes for a sink: how the stores export themselves (Store::export_batches) without holding
// the whole store in one batch.
#pragma once

#include <cstddef>
#include <utility>

#include "store/store.h"

namespace tandem::server::store {

class BatchChunker {
 public:
  BatchChunker(std::size_t writes_per_batch, const Store::BatchSink& sink)
      : limit_(writes_per_batch == 0 ? 1 : writes_per_batch), sink_(sink) {}

  // Adds a write; hands the batch to the sink when it is full. The sink's error, if any.
  template <class W>
  Result<Done> add(W write) {
    batch_.add(std::move(write));
    if (batch_.writes().size() < limit_) return Done{};
    return flush();
  }
  // Hands over what is left (nothing when empty).
  Result<Done> flush() {
    if (batch_.empty()) return Done{};
    auto sunk = sink_(batch_);
    batch_.clear();
    return sunk;
  }

 private:
  std::size_t limit_;
  const Store::BatchSink& sink_;
  WriteBatch batch_;
};

}  // namespace tandem::server::store
