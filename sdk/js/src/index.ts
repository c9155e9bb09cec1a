// @imqtt/sdk: the imqtt IM protocol (docs/protocol.md) over mqtt.js, with an
// outbox, sync cursors, request/reply matching and typed errors (docs/sdk.md).

export { connect, ImClient } from './client.js';
export { ImError, TimeoutError, ClosedError, Codes, isPermanentRefusal } from './errors.js';
export { newCid } from './ids.js';
export { conversationId, parseConversation, pendingSend, pendingSends, sendTopic } from './conv.js';
export { MemoryStore } from './stores/memory.js';
export { IndexedDBStore } from './stores/indexeddb.js';
export { FileStore } from './stores/file.js';
export type { Store } from './stores/store.js';
export type * from './types.js';
