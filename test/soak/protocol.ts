/** What the soak's driver and its client process tell each other, over the IPC channel. */

/** The client's settings, passed as its one argument (JSON). */
export interface SoakClientConfig {
  /** `host:port` of the Consul the client watches. */
  readonly consul: string;
  readonly service: string;
  /** Concurrent callers. */
  readonly callers: number;
  /** How long after the first picker the client measures its heap for the baseline. */
  readonly warmupMs: number;
}

/** Driver → client: churn is over; `size` instances are registered, all healthy. */
export interface FinishMessage {
  readonly type: 'finish';
  readonly size: number;
}

/** Client → driver. */
export type ClientMessage =
  | { readonly type: 'started' }
  | { readonly type: 'result'; readonly result: ClientResult };

export interface ClientResult {
  /** Calls that succeeded (a server stream counts once). */
  readonly calls: number;
  readonly failures: number;
  /** The first few failures, `code: details`. */
  readonly failureSamples: readonly string[];
  /** How many backends answered at least one call. */
  readonly backendsSeen: number;
  /** Heap in use after `global.gc()`, in bytes: after warm-up, and when churn ended. */
  readonly heapAfterWarmup: number;
  readonly heapAtEnd: number;
  /** The last picker's size, and the channel's backends once they settled. */
  readonly pickerSize: number;
  readonly backendCount: number;
  /** Whether the channel holds a backend for exactly the picker's addresses. */
  readonly backendsMatchPicker: boolean;
  /** `process.getActiveResourcesInfo()` after `close()`, stdio and the IPC channel aside. */
  readonly resourcesAfterClose: readonly string[];
}
