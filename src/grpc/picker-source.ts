import type { Observable, Subscription } from 'rxjs';
import type { Picker } from '../picker.js';
import { BackendSet } from './backend-set.js';
import type { ChannelConfig } from './options.js';

/** What `picker$` has said so far, as the channel's resolver passes it on. */
export type Resolution =
  | { readonly kind: 'waiting' }
  | { readonly kind: 'picker'; readonly picker: Picker }
  /** `picker$` errored, or emitted something that is not a Picker: calls fail with this. */
  | { readonly kind: 'failed'; readonly message: string };

const WAITING: Resolution = Object.freeze({ kind: 'waiting' });

/**
 * A balanced channel's subscription to `picker$`, and the backends of its members, from the
 * channel's creation to its `close()`. It outlives grpc-js's resolver and load balancer,
 * which come and go as the channel leaves and enters IDLE: it hands them the latest
 * {@link Resolution}, and the balancer of the moment keeps {@link backends} (empty while the
 * channel is IDLE), which the channel reads.
 */
export class PickerSource {
  resolution: Resolution = WAITING;
  readonly backends = new BackendSet();
  private listener: ((resolution: Resolution) => void) | undefined;
  private readonly subscription: Subscription;

  constructor(
    picker$: Observable<Picker>,
    readonly config: ChannelConfig,
    /** The channel's target, `rxlb:///<name>`: metrics' `grpc.target`. */
    readonly target: string,
  ) {
    this.subscription = picker$.subscribe({
      next: (picker) => this.resolve(picker),
      error: (error: unknown) => {
        const message = error instanceof Error ? error.message : String(error);
        this.set({ kind: 'failed', message: `picker$ of "${this.name}" failed: ${message}` });
      },
      // On completion the last picker stays in use: discovery ended, the backends did not.
    });
  }

  /**
   * The service's name in messages: the channel's `name` option, else the name discovery
   * gives (`consulInstances$`'s service), else `"unnamed"`.
   */
  get name(): string {
    if (this.config.name !== undefined) return this.config.name;
    const { resolution } = this;
    const discovered = resolution.kind === 'picker' ? resolution.picker.discovery : undefined;
    return discovered?.service || 'unnamed';
  }

  /** Tells `listener`, and no other, of every resolution from now on. */
  watch(listener: (resolution: Resolution) => void): void {
    this.listener = listener;
  }

  unwatch(listener: (resolution: Resolution) => void): void {
    if (this.listener === listener) this.listener = undefined;
  }

  close(): void {
    this.listener = undefined;
    this.subscription.unsubscribe();
  }

  /** grpc-js prints channel options when tracing: say what this is, not its insides. */
  toJSON(): string {
    return `[picker$ of "${this.name}"]`;
  }

  private resolve(picker: unknown): void {
    if (!isPicker(picker)) {
      const what = picker === null ? 'null' : typeof picker;
      this.set({
        kind: 'failed',
        message: `picker$ of "${this.name}" emitted ${what}, not a Picker`,
      });
      return;
    }
    this.set({ kind: 'picker', picker });
  }

  private set(resolution: Resolution): void {
    this.resolution = resolution;
    this.listener?.(resolution);
  }
}

function isPicker(value: unknown): value is Picker {
  if (typeof value !== 'object' || value === null) return false;
  const { pick, instances } = value as Partial<Picker>;
  return typeof pick === 'function' && Array.isArray(instances);
}
