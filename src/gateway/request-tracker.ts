// The requests in flight and whether the gateway is closing: close() waits until the last request
// in flight ends, or until the connections are cut.
export interface RequestTracker {
  /** Set once close() or destroy() began: new requests are answered 503. */
  readonly closing: boolean;
  startClosing(): void;
  readonly inFlight: number;
  begin(): void;
  end(): void;
  /** Resolves once the requests in flight now have ended (or release() is called). */
  idle(): Promise<void>;
  /** Releases whoever waits in idle(), requests still in flight or not. */
  release(): void;
}

export function createRequestTracker(): RequestTracker {
  let closing = false;
  let inFlight = 0;
  const idle: Array<() => void> = [];
  const release = (): void => {
    for (const done of idle.splice(0)) done();
  };
  return {
    get closing() {
      return closing;
    },
    get inFlight() {
      return inFlight;
    },
    startClosing() {
      closing = true;
    },
    begin() {
      inFlight++;
    },
    end() {
      if (--inFlight === 0) release();
    },
    idle: () => new Promise<void>((r) => idle.push(r)),
    release,
  };
}
