// Request/reply matching of rpcs (docs/protocol.md "RPC", "Replies").
// MQTT 5: Response Topic + Correlation Data (the rid); MQTT 3.1.1: reply_to and
// rid in the payload. Both: the reply topic is im/u/{user}/r/{deviceTag}, and a
// reply is matched by its correlation data, else by its rid.

import { ImError, TimeoutError, ClosedError } from './errors.js';
import type { RpcResult } from './types.js';

/** How the Rpc publishes: resolves at PUBACK, rejects with ImError on a refusing PUBACK. */
export type Publisher = (
  topic: string,
  payload: string,
  props?: { responseTopic: string; correlationData: Uint8Array },
) => Promise<void>;

interface Waiter {
  method: string;
  resolve: (r: RpcResult) => void;
  reject: (err: Error) => void;
  timer: ReturnType<typeof setTimeout>;
}

/** Matches rpc responses to requests; one per connection set-up (client). */
export class Rpc {
  private waiting = new Map<string, Waiter>();
  private counter = 0;

  constructor(
    private readonly replyTopic: string,
    private readonly v5: boolean,
    private readonly ridPrefix: string,
    private readonly timeoutMs: number,
    private readonly publish: Publisher,
  ) {}

  /** A request id unique across devices: random prefix + counter. */
  nextRid(): string {
    return `${this.ridPrefix}.${++this.counter}`;
  }

  /** Calls method with params; resolves with the response, rejects with ImError, TimeoutError. */
  call<R extends RpcResult = RpcResult>(method: string, params: Record<string, unknown> = {}): Promise<R> {
    const rid = this.nextRid();
    const body: Record<string, unknown> = { ...params, rid };
    if (!this.v5) body.reply_to = this.replyTopic;
    return new Promise<R>((resolve, reject) => {
      const timer = setTimeout(() => {
        this.waiting.delete(rid);
        reject(new TimeoutError(method, this.timeoutMs));
      }, this.timeoutMs);
      this.waiting.set(rid, { method, resolve: resolve as (r: RpcResult) => void, reject, timer });
      const props = this.v5
        ? { responseTopic: this.replyTopic, correlationData: new TextEncoder().encode(rid) }
        : undefined;
      this.publish(`im/rpc/${method}`, JSON.stringify(body), props).catch((err: Error) => {
        // A refusing PUBACK (MQTT 5) answers at once; the response that may
        // follow finds no waiter. Other publish errors (connection lost) wait
        // for the response or the timeout.
        if (err instanceof ImError) this.settle(rid, undefined, new ImError(err.code, err.reason, { method, topic: err.topic }));
      });
    });
  }

  /** Handles a publish on a reply topic; returns false when it matched no request. */
  handle(res: RpcResult, correlationData?: Uint8Array): boolean {
    let rid = res.rid;
    if (correlationData && correlationData.length > 0) rid = new TextDecoder().decode(correlationData);
    if (rid === undefined || !this.waiting.has(rid)) return false;
    if (res.ok) this.settle(rid, res);
    else this.settle(rid, undefined, new ImError(res.code, res.reason ?? '', { method: res.method }));
    return true;
  }

  private settle(rid: string, res?: RpcResult, err?: Error): void {
    const w = this.waiting.get(rid);
    if (!w) return;
    this.waiting.delete(rid);
    clearTimeout(w.timer);
    if (err) w.reject(err);
    else w.resolve(res as RpcResult);
  }

  /** Rejects every waiting request with err (default ClosedError). */
  close(err?: Error): void {
    for (const rid of [...this.waiting.keys()]) this.settle(rid, undefined, err ?? new ClosedError());
  }
}
