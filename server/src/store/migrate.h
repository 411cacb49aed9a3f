// server/src/store/migrate.h — `tandem-server migrate`: copies everything one store holds into
// another, empty one (SQLite to PostgreSQL when a deployment outgrows one machine, or back), so
// rooms keep their epochs and seqs and clients resume across the move with recovered:true.
//
//   tandem-server migrate --from sqlite:data/tandem.db --to postgres://user:pw@db:5432/tandem
//
// The source is read in one snapshot (Store::export_batches), so it may belong to a running
// server; writes it takes after the snapshot are not copied: stop the server first for a
// final copy. The target must be empty (the command refuses otherwise) and is written in
// batches of --batch writes, each one transaction. Progress goes to stderr.
#pragma once

#include <string>
#include <vector>

namespace tandem::server::store {

// Runs the command with the arguments after "migrate"; returns the process exit code (0 copied,
// 1 failed, 2 usage).
int run_migrate(const std::vector<std::string>& args);

}  // namespace tandem::server::store
