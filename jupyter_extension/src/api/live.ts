/**
 * Live updates for the Jobs panel: run changes pushed by the server's event stream
 * (`GET /nbprod/api/events`, server-sent events), with polling as the fallback when the
 * stream is unavailable (an older or configured-off server, a proxy that buffers, a
 * broken connection). Plain TypeScript: the EventSource constructor and the timers are
 * arguments, so it runs and is tested without a browser.
 */
import { IRun } from './types';

/** One pushed change (the stream's `run` event). */
export interface IRunEvent {
  run_id: string;
  job: string;
  status: string;
  cells_done: number;
  cells_total: number;
}

/** The part of the browser's EventSource used here. */
export interface IEventSource {
  readonly readyState: number;
  addEventListener(type: string, listener: (event: { data?: string }) => void): void;
  close(): void;
}

export type EventSourceFactory = (url: string) => IEventSource;

/** The stream's URL under the server's base URL; with the token as a query argument when
 * there is one (an EventSource sends no Authorization header). */
export function eventsUrl(baseUrl: string, token: string): string {
  const url = `${baseUrl.replace(/\/+$/, '')}/nbprod/api/events`;
  return token ? `${url}?token=${encodeURIComponent(token)}` : url;
}

export interface ITimers {
  set(fn: () => void, ms: number): unknown;
  clear(id: unknown): void;
}

export type LiveMode = 'connecting' | 'push' | 'poll' | 'stopped';

export interface ILiveOptions {
  /** The stream's URL; null: no stream (polling only). */
  url: string | null;
  /** Opens a stream (the browser's EventSource); null where there is none. */
  connect: EventSourceFactory | null;
  /** Reloads everything the panel shows. */
  refresh: () => Promise<void>;
  /** A pushed run change, applied at once. */
  onRun: (event: IRunEvent) => void;
  /** The polling period (the user setting), read at each poll. */
  pollSeconds: () => number;
  /** While pushed: a full reload this often anyway (jobs edited elsewhere). */
  safetySeconds?: number;
  /** The stream must say `ready` within this, else the panel polls. */
  connectSeconds?: number;
  /** After falling back to polling, the stream is tried again after this. */
  retrySeconds?: number;
  timers?: ITimers;
  log?: (message: string) => void;
  /** Told each change of mode (the panel shows it as a data attribute). */
  onMode?: (mode: LiveMode) => void;
}

const defaultTimers: ITimers = {
  set: (fn, ms) => setTimeout(fn, ms),
  clear: id => clearTimeout(id as ReturnType<typeof setTimeout>)
};

/**
 * Keeps the panel fresh: one reload when the stream is ready, each pushed change applied
 * at once and followed by a reload (coalesced: at most one in flight and one waiting);
 * polling every `pollSeconds` while the stream does not work, and a new try at it later.
 */
export class LiveUpdates {
  private current: LiveMode = 'stopped';
  private source: IEventSource | null = null;
  private timer: unknown = null;
  private connecting: unknown = null;
  private retry: unknown = null;
  private inFlight: Promise<void> | null = null;
  private again = false;
  private readonly timers: ITimers;
  private readonly log: (message: string) => void;

  constructor(private readonly options: ILiveOptions) {
    this.timers = options.timers || defaultTimers;
    this.log = options.log || (() => undefined);
  }

  get mode(): LiveMode {
    return this.current;
  }

  start(): void {
    this.setMode('connecting');
    void this.reload(); // the panel is filled at once, whatever the stream does
    this.open();
  }

  stop(): void {
    this.setMode('stopped');
    this.closeSource();
    this.clearTimer();
    if (this.retry !== null) {
      this.timers.clear(this.retry);
      this.retry = null;
    }
  }

  /** A full reload now (or right after the one in flight). */
  reload(): Promise<void> {
    if (this.inFlight) {
      this.again = true;
      return this.inFlight;
    }
    const run = async (): Promise<void> => {
      try {
        await this.options.refresh();
      } catch {
        // the panel shows its own error; the next push or poll tries again
      }
      if (this.again && this.current !== 'stopped') {
        this.again = false;
        await run();
      }
    };
    this.inFlight = run().finally(() => (this.inFlight = null));
    return this.inFlight;
  }

  private open(): void {
    const { url, connect } = this.options;
    if (!url || !connect) {
      this.fallBack('no event stream in this browser');
      return;
    }
    let source: IEventSource;
    try {
      source = connect(url);
    } catch (e) {
      this.fallBack(`cannot open the event stream: ${e}`);
      return;
    }
    this.source = source;
    // (Polling, if it is on, goes on until the stream is ready.)
    this.connecting = this.timers.set(() => {
      this.connecting = null;
      if (this.source === source) {
        this.fallBack('the event stream did not answer');
      }
    }, this.connectMs());
    source.addEventListener('ready', () => {
      if (this.source !== source) {
        return;
      }
      this.clearConnecting();
      this.setMode('push');
      this.setTimer(() => this.safety(), this.seconds(this.options.safetySeconds, 30));
      void this.reload();
    });
    source.addEventListener('run', event => {
      if (this.source !== source || !event.data) {
        return;
      }
      let change: IRunEvent;
      try {
        change = JSON.parse(event.data) as IRunEvent;
      } catch {
        return;
      }
      this.options.onRun(change);
      void this.reload();
    });
    source.addEventListener('error', () => {
      if (this.source === source) {
        this.fallBack('the event stream failed');
      }
    });
  }

  /** Poll from now on, and try the stream again in a while. */
  private fallBack(why: string): void {
    if (this.current === 'stopped') {
      return;
    }
    this.log(`nbprod: ${why}; the Jobs panel polls instead`);
    this.closeSource();
    this.setMode('poll');
    this.setTimer(() => this.poll(), this.options.pollSeconds() * 1000);
    if (this.options.url && this.options.connect && this.retry === null) {
      this.retry = this.timers.set(
        () => {
          this.retry = null;
          if (this.current === 'poll') {
            this.open();
          }
        },
        this.seconds(this.options.retrySeconds, 30)
      );
    }
  }

  private poll(): void {
    void this.reload().then(() => {
      if (this.current === 'poll') {
        this.setTimer(() => this.poll(), this.options.pollSeconds() * 1000);
      }
    });
  }

  private safety(): void {
    void this.reload();
    if (this.current === 'push') {
      this.setTimer(() => this.safety(), this.seconds(this.options.safetySeconds, 30));
    }
  }

  private setMode(mode: LiveMode): void {
    if (mode !== this.current) {
      this.current = mode;
      this.options.onMode?.(mode);
    }
  }

  private connectMs(): number {
    return this.seconds(this.options.connectSeconds, 10);
  }

  private seconds(value: number | undefined, fallback: number): number {
    return (value === undefined ? fallback : value) * 1000;
  }

  private setTimer(fn: () => void, ms: number): void {
    this.clearTimer();
    this.timer = this.timers.set(() => {
      this.timer = null;
      fn();
    }, ms);
  }

  private clearTimer(): void {
    if (this.timer !== null) {
      this.timers.clear(this.timer);
      this.timer = null;
    }
  }

  private clearConnecting(): void {
    if (this.connecting !== null) {
      this.timers.clear(this.connecting);
      this.connecting = null;
    }
  }

  private closeSource(): void {
    this.clearConnecting();
    if (this.source) {
      this.source.close();
      this.source = null;
    }
  }
}

/**
 * Runs as listed, with pushed changes newer than the listing laid over them: a listing
 * requested before a change arrived must not turn a finished run back into a running one.
 * `pushed` maps run ids to their latest change and the sequence number it arrived with;
 * `since` is the sequence number when the listing was requested.
 */
export function overlay(
  runs: IRun[],
  pushed: Map<string, { seq: number; event: IRunEvent }>,
  since: number
): IRun[] {
  return runs.map(run => {
    const change = pushed.get(run.run_id);
    return change && change.seq > since ? applyChange(run, change.event) : run;
  });
}

/** A run with a pushed change's status and progress. */
export function applyChange(run: IRun, event: IRunEvent): IRun {
  return {
    ...run,
    status: event.status,
    progress: { cells_done: event.cells_done, cells_total: event.cells_total }
  };
}
