// The users whose presence a device watches (docs/sdk.md "Presence"). The
// server lets a subscription to im/presence/{x} through only when its
// presence policy shows x (default: users who share a conversation), so a
// watched user may be refused now and allowed later: the client subscribes
// every watched user again after each (re)connect, on every watchPresence,
// and, for refused ones, once a conversation with them shows up.

/** Watched users and whether the server let each subscription through. */
export class Watched {
  private users = new Map<string, boolean>(); // user -> granted
  private hinted = new Set<string>(); // refused users retried after a direct conversation (this connection)

  /** Adds users (refused until a SUBACK says otherwise). */
  add(users: string[]): void {
    for (const u of users) if (!this.users.has(u)) this.users.set(u, false);
  }

  /** Every watched user. */
  all(): string[] {
    return [...this.users.keys()];
  }

  /** Records a SUBACK of user's presence. */
  granted(user: string, ok: boolean): void {
    if (this.users.has(user)) this.users.set(user, ok);
  }

  /** Forgets the retries of the last connection (after a reconnect). */
  reset(): void {
    this.hinted.clear();
  }

  /**
   * The refused users to subscribe again now that the conversation peer (a
   * direct one; once per connection) or a group (notice: all refused) shows
   * up in a message or an ack.
   */
  retry(hint: { peer: string } | { group: true }): string[] {
    if ('peer' in hint) {
      if (this.users.get(hint.peer) !== false || this.hinted.has(hint.peer)) return [];
      this.hinted.add(hint.peer);
      return [hint.peer];
    }
    return [...this.users].filter(([, ok]) => !ok).map(([u]) => u);
  }
}
