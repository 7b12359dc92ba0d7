// Hash-route placement: carbon's consistent hash ring over the destinations that are in the ring
// now, and the split of a batch over it (each metric name to its `replication` destinations).
import type { Batch, BatchQueue } from '../batch/batch.js';
import type { DestinationAddress } from './destination.js';
import { createHashRing, type HashRing, type HashType } from './hash-ring.js';
import type { NameCache } from './name-cache.js';
import type { Part } from './reserve.js';
import { splitByDestination, type SplitLines } from './split.js';

export interface RingMember {
  readonly address: DestinationAddress;
  readonly queue: BatchQueue;
  readonly inRing: boolean;
}

/** A batch's parts on their destinations, and the points it holds as placed (once each, whatever the replication). */
export interface Placed<D> {
  readonly parts: Array<Part<D>>;
  readonly points: number;
}

export interface RingPlacement<D extends RingMember> {
  /** Builds the ring again from the destinations whose `inRing` is set. */
  rebuild(all: Iterable<D>): void;
  /** Splits a batch over the ring (with `split`'s pass when given); null when no destination is in the ring. */
  place(batch: Batch, split?: SplitLines): Placed<D> | null;
}

/** `cache`: carbon_ch's name -> node cache, kept across rebuilds (each empties it). */
export function createRingPlacement<D extends RingMember>(hashType: HashType, replication: number, cache: NameCache): RingPlacement<D> {
  let ring: HashRing = createHashRing([], hashType, { cache });
  let members: D[] = [];
  return {
    rebuild(all) {
      members = [...all].filter((d) => d.inRing);
      ring = createHashRing(
        members.map((d) => d.address),
        hashType,
        { cache },
      );
    },
    place(batch, split) {
      if (members.length === 0) return null;
      const placed = split ? split(batch.data, ring, replication) : { parts: splitByDestination(batch.data, ring, replication), points: batch.points };
      return {
        parts: [...placed.parts].map(([index, part]) => {
          const dest = members[index]!;
          return { dest, queue: dest.queue, batch: part };
        }),
        points: placed.points,
      };
    },
  };
}
