// The problems a program has been logging through its rate-limited loggers (bad lines, refused
// batches, a destination down), kept with how often each came, so the status page can show them
// with their counts although the log itself printed only a few. Messages that differ only in their
// numbers ("... (5 failed reconnects)") are one problem, shown by its latest wording. Bounded: the
// least recently seen problem goes first when a new one would pass the limit.

export interface Problem {
  readonly message: string;
  readonly count: number;
  /** Epoch ms. */
  readonly firstAt: number;
  readonly lastAt: number;
}

const MAX_PROBLEMS = 50;
/** A message is cut here: a line with a client's bytes in it must not make the list large. */
const MAX_MESSAGE_CHARS = 300;

export interface RecentProblems {
  note(message: string): void;
  /** Most recent first. */
  list(): Problem[];
}

export function createRecentProblems(now: () => number = Date.now, max = MAX_PROBLEMS): RecentProblems {
  // A Map keeps insertion order: re-inserting on every sighting keeps it least recent first.
  const byShape = new Map<string, Problem>();
  return {
    note(message) {
      const text = message.length > MAX_MESSAGE_CHARS ? `${message.slice(0, MAX_MESSAGE_CHARS)}…` : message;
      const shape = text.replace(/\d+/g, '#');
      const t = now();
      const seen = byShape.get(shape);
      byShape.delete(shape);
      byShape.set(shape, { message: text, count: (seen?.count ?? 0) + 1, firstAt: seen?.firstAt ?? t, lastAt: t });
      if (byShape.size > max) byShape.delete(byShape.keys().next().value!);
    },
    list: () => [...byShape.values()].reverse(),
  };
}

/** The process's own list: every rate-limited logger notes into it (log.ts). */
export const recentProblems = createRecentProblems();
