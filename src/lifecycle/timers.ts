// The timers a stage schedules with, injectable so that tests run on a clock moved by hand.
export interface Timers {
  setTimeout: (fn: () => void, ms: number) => unknown;
  clearTimeout: (handle: never) => void;
}

export const realTimers: Timers = { setTimeout, clearTimeout: clearTimeout as (h: never) => void };
