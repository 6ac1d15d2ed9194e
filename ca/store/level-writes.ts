// What one write to the level store (ca/store.ts) is — records written or deleted, and compare-and-set
// conditions on records it read — and which writes of a synced batch are accepted: conditions are checked at
// write time, in arrival order, against what is durable plus the writes accepted before it in the same batch.
import type { Queued } from '../group-commit.js';
import type { Tracked } from '../store-integrity.js';
import { storeConflict, type CertRecord, type Expect, type JoinSecrets, type JoinTokenRecord, type NodeRecord, type OperatorRecord } from './records.js';

export type Json = NodeRecord | CertRecord | JoinSecrets | JoinTokenRecord | OperatorRecord | Record<string, unknown>;

/** One record written (value) or deleted (no value); `hash` is the stored record's, when the caller read it. */
export interface Op {
  sub: Tracked;
  key: string;
  value?: Json;
  hash?: Buffer;
}

/** A write waiting for the next synced batch. */
export interface Write {
  ops: Op[];
  conditions: Condition[];
}

/** A compare-and-set condition: the record's JSON must still be `raw` (null: absent). */
export interface Condition {
  sub: 'nodes' | 'meta';
  key: string;
  raw: string | null;
  what: string;
}

/** The condition that the record is still `expect` (null: absent); none when the caller expects nothing. */
export function condition(sub: Condition['sub'], key: string, expect: Expect<object>, what: string): Condition | undefined {
  return expect === undefined ? undefined : { sub, key, raw: expect === null ? null : JSON.stringify(expect), what };
}

/**
 * Compare-and-set, at write time and in arrival order: each write's conditions are checked against what is
 * durable (`storedRaw`) plus the writes accepted before it in this batch. A write whose record moved is rejected
 * alone (STORE_CONFLICT); the accepted ones are returned in order.
 */
export async function acceptInOrder(group: Queued<Write>[], storedRaw: (sub: Condition['sub'], key: string) => Promise<string | null>): Promise<Queued<Write>[]> {
  if (!group.some((g) => g.item.conditions.length)) return group;
  const overlay = new Map<string, string | null>();
  const accepted: Queued<Write>[] = [];
  for (const g of group) {
    let failed: Condition | undefined;
    for (const c of g.item.conditions) {
      const id = `${c.sub}/${c.key}`;
      const raw = overlay.has(id) ? overlay.get(id)! : await storedRaw(c.sub, c.key);
      if (raw !== c.raw) {
        failed = c;
        break;
      }
    }
    if (failed) {
      g.reject(storeConflict(failed.what));
      continue;
    }
    for (const op of g.item.ops) if (op.sub !== 'certs') overlay.set(`${op.sub}/${op.key}`, op.value === undefined ? null : JSON.stringify(op.value));
    accepted.push(g);
  }
  return accepted;
}
