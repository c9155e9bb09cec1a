// Package accounts is the replicated user store: who may log in with a
// password, who is disabled, and who holds which role. Every node knows
// every user as soon as the change commits: the records live in the raft
// state machine (persist raw keys), written through the one write path.
//
// # What it owns
//
//   - The user record under raw key k/u/{name} (JSON, record.go): name,
//     bcrypt hash ("" for a token-only user), state active|disabled, roles,
//     created and updated (unix ms). Raw letter k belongs to this package
//     (k/u/ users; other k/ sub-prefixes are for the token helpers).
//   - The name rules (ValidateName, the same as hooks/auth.ValidateUsername)
//     and the role rules (validateRoles: at most 16, [a-z0-9_.-]{1,64}).
//   - Service: Create, Import (an existing bcrypt hash), UpdateUser
//     (password, clear password, state, roles), Delete, Get, List (name
//     order, paging by the last name, filters by prefix, state and role),
//     Lookup (the authenticator's read) and HasRole.
//   - Changes and the watcher: every node tells Options.OnChange about the
//     user changes it applied, whoever proposed them.
//
// # Writes
//
// Every change is one command (persist ops encoded with persist.EncodeOps,
// proposed through Options.Node) made of a guard and the write: the guard
// requires the record to hold exactly the bytes the decision read (or to be
// absent), so a check-then-write holds at apply time. Create is
// create-if-absent: of two concurrent creates of one name exactly one wins,
// the other gets ErrExists. A lost guard re-reads and re-decides up to five
// times (ErrConflict after that). Password hashing (bcrypt,
// Config.BcryptCost) happens once, before the first attempt, outside any
// lock.
//
// # Reads
//
// Reads (Get, Lookup, List) read this node's store: as current as its
// applied index. A create acknowledged by the leader is visible on a
// follower once the follower applies it (milliseconds); the broker's admin
// API proposes through the leader and answers after commit.
//
// # Watcher
//
// With Options.OnChange, New installs a store observer
// (persist.Store.AddObserver) that picks the k/u/ puts and deletes out of
// each applied entry (Changes; a batch whose guard failed wrote nothing and
// is skipped) and queues them; one goroutine owned by the Service hands them
// to OnChange in log order. The observer never blocks (it runs under the
// store's writer lock); OnChange may (it closes connections). Close removes
// the observer and waits for the goroutine. A Restore (snapshot install)
// does not call observers: a node that catches up by snapshot does not kick
// the devices of a user disabled meanwhile, but refuses their next CONNECT.
//
// # Deleting a user
//
// Delete removes the record only. The user's messages stay in every
// conversation (other members' history and sync are unchanged, with the
// same seqs), their group memberships stay until an owner removes them or
// they are re-created and leave, and their MQTT sessions (queued messages
// included) end as any session does: at their session expiry, or through
// DELETE /api/v1/sessions/{id}. The name is free again: creating it anew
// gives the new user the old inbox and memberships (a name is the identity).
//
// # Lifecycle
//
// New, then use, then Close before the raft node and the store close.
// Close is idempotent.
package accounts
