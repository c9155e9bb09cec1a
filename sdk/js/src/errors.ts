// Typed errors: ImError carries a protocol reason code (docs/protocol.md
// "Reason codes"); TimeoutError and ClosedError are the SDK's own.

/** A refusal by the server: a reason code and its reason text. */
export class ImError extends Error {
  /** The MQTT 5 reason code (e.g. 0x87 = 135 not authorized). */
  readonly code: number;
  /** The server's reason (starts with the fixed text of the protocol's table). */
  readonly reason: string;
  /** The rpc method refused, when it was an rpc. */
  readonly method?: string;
  /** The topic refused, when the server named it. */
  readonly topic?: string;

  constructor(code: number, reason: string, extra: { method?: string; topic?: string } = {}) {
    super(`imqtt: ${reason || 'refused'} (code 0x${code.toString(16).padStart(2, '0')})`);
    this.name = 'ImError';
    this.code = code;
    this.reason = reason;
    this.method = extra.method;
    this.topic = extra.topic;
  }
}

/** A request got no reply within timeoutMs (sends never time out: they stay in the outbox). */
export class TimeoutError extends Error {
  /** connect(): the last error of the attempts (network error, retryable refusal). */
  readonly cause?: unknown;

  constructor(what: string, ms: number, cause?: unknown) {
    super(`imqtt: ${what}: no reply within ${ms} ms` + (cause instanceof Error ? `: ${cause.message}` : ''));
    this.name = 'TimeoutError';
    this.cause = cause;
  }
}

/** The client was closed. */
export class ClosedError extends Error {
  constructor() {
    super('imqtt: client closed');
    this.name = 'ClosedError';
  }
}

/** Reason codes of the protocol, by name. */
export const Codes = {
  Success: 0x00,
  UnspecifiedError: 0x80,
  ImplementationSpecific: 0x83,
  UnsupportedProtocolVersion: 0x84,
  ClientIdentifierNotValid: 0x85,
  BadUserNameOrPassword: 0x86,
  NotAuthorized: 0x87,
  ServerUnavailable: 0x88,
  Banned: 0x8a,
  BadAuthenticationMethod: 0x8c,
  TopicNameInvalid: 0x90,
  MessageRateTooHigh: 0x96,
  QuotaExceeded: 0x97,
  PayloadFormatInvalid: 0x99,
} as const;

/** MQTT 3.1.1 CONNACK return codes mapped to MQTT 5 reason codes. */
export function connackCode(protocolVersion: number, rc: number): number {
  if (protocolVersion === 5) return rc;
  switch (rc) {
    case 1: return 0x84; // unacceptable protocol version
    case 2: return 0x85; // client identifier not valid
    case 3: return 0x88; // server unavailable
    case 4: return 0x86; // bad user name or password
    case 5: return 0x87; // not authorized
    default: return rc;
  }
}

/**
 * CONNACK reason codes that retrying cannot fix (after connackCode's
 * mapping): unsupported protocol version, client id not valid, bad user name
 * or password (a revoked or expired token too), not authorized, banned, bad
 * authentication method. A reconnect refused so stops the reconnect loop.
 */
const permanentConnack = new Set([0x84, 0x85, 0x86, 0x87, 0x8a, 0x8c]);

/** Whether a CONNACK refusal (an MQTT 5 reason code) is permanent. */
export function isPermanentRefusal(code: number): boolean {
  return permanentConnack.has(code);
}
