/**
 * Live updates: the panel is pushed run changes by the event stream, and polls when the
 * stream is unavailable or fails (and tries it again later). The browser's EventSource is a
 * stand-in that the test drives like the server would (ready, run, error); the timers are
 * jest's fake ones.
 */
import { eventsUrl, IEventSource, IRun, IRunEvent, LiveUpdates, overlay } from '../src/api';

class FakeSource implements IEventSource {
  readyState = 0;
  closed = false;
  private listeners = new Map<string, ((event: { data?: string }) => void)[]>();
  constructor(readonly url: string) {}
  addEventListener(type: string, listener: (event: { data?: string }) => void): void {
    this.listeners.set(type, [...(this.listeners.get(type) || []), listener]);
  }
  close(): void {
    this.closed = true;
    this.readyState = 2;
  }
  emit(type: string, data?: unknown): void {
    if (type === 'ready') {
      this.readyState = 1;
    }
    const event = data === undefined ? {} : { data: JSON.stringify(data) };
    for (const listener of this.listeners.get(type) || []) {
      listener(event);
    }
  }
  /** What an EventSource does on an HTTP error answer (403, 503): closed, then `error`. */
  refuse(): void {
    this.readyState = 2;
    this.emit('error');
  }
}

function setup(options: { stream?: boolean; pollSeconds?: number } = {}) {
  const sources: FakeSource[] = [];
  const changes: IRunEvent[] = [];
  const modes: string[] = [];
  let refreshes = 0;
  const live = new LiveUpdates({
    url: options.stream === false ? null : '/base/nbprod/api/events',
    connect:
      options.stream === false
        ? null
        : url => {
            const source = new FakeSource(url);
            sources.push(source);
            return source;
          },
    refresh: async () => {
      refreshes += 1;
    },
    onRun: change => changes.push(change),
    pollSeconds: () => options.pollSeconds ?? 0.5,
    onMode: mode => modes.push(mode)
  });
  return { live, sources, changes, modes, refreshes: () => refreshes };
}

const CHANGE: IRunEvent = {
  run_id: 'r1',
  job: 'daily',
  status: 'succeeded',
  cells_done: 2,
  cells_total: 2
};

beforeEach(() => jest.useFakeTimers());
afterEach(() => jest.useRealTimers());

describe('LiveUpdates with a working stream', () => {
  it('loads once at start and once when ready, then never polls', async () => {
    const t = setup();
    t.live.start();
    await jest.advanceTimersByTimeAsync(0);
    expect(t.sources).toHaveLength(1);
    expect(t.sources[0].url).toBe('/base/nbprod/api/events');
    t.sources[0].emit('ready', {});
    await jest.advanceTimersByTimeAsync(0);
    expect(t.live.mode).toBe('push');
    expect(t.modes).toEqual(['connecting', 'push']);
    const loaded = t.refreshes();
    expect(loaded).toBe(2);
    await jest.advanceTimersByTimeAsync(20_000); // 40 polling periods: no poll
    expect(t.refreshes()).toBe(loaded);
    await jest.advanceTimersByTimeAsync(15_000); // the slow safety reload (30 s)
    expect(t.refreshes()).toBe(loaded + 1);
    t.live.stop();
  });

  it('applies a pushed change at once, then reloads', async () => {
    const t = setup();
    t.live.start();
    t.sources[0].emit('ready', {});
    await jest.advanceTimersByTimeAsync(0);
    const before = t.refreshes();
    t.sources[0].emit('run', CHANGE);
    expect(t.changes).toEqual([CHANGE]); // synchronously, before any request
    await jest.advanceTimersByTimeAsync(0);
    expect(t.refreshes()).toBe(before + 1);
    t.live.stop();
  });

  it('coalesces reloads: one in flight and one after it, however many changes', async () => {
    let release: () => void = () => undefined;
    let calls = 0;
    const sources: FakeSource[] = [];
    const live = new LiveUpdates({
      url: '/e',
      connect: url => {
        sources.push(new FakeSource(url));
        return sources[sources.length - 1];
      },
      refresh: () => {
        calls += 1;
        return new Promise<void>(resolve => (release = resolve));
      },
      onRun: () => undefined,
      pollSeconds: () => 0.5
    });
    live.start(); // reload 1 in flight
    sources[0].emit('ready', {});
    for (let i = 0; i < 5; i++) {
      sources[0].emit('run', CHANGE);
    }
    expect(calls).toBe(1);
    release();
    await jest.advanceTimersByTimeAsync(0);
    expect(calls).toBe(2); // the one waiting, for all of them
    release();
    await jest.advanceTimersByTimeAsync(0);
    expect(calls).toBe(2);
    live.stop();
  });
});

describe('LiveUpdates falling back to polling', () => {
  it('polls when the stream is refused (an older server, live events off), and tries again', async () => {
    const t = setup({ pollSeconds: 0.5 });
    t.live.start();
    t.sources[0].refuse();
    await jest.advanceTimersByTimeAsync(0);
    expect(t.live.mode).toBe('poll');
    expect(t.sources[0].closed).toBe(true);
    const start = t.refreshes();
    await jest.advanceTimersByTimeAsync(2_000);
    expect(t.refreshes()).toBe(start + 4); // every 0.5 s, as before streams
    await jest.advanceTimersByTimeAsync(28_000); // the stream is tried again after 30 s
    expect(t.sources).toHaveLength(2);
    const polled = t.refreshes();
    await jest.advanceTimersByTimeAsync(1_000);
    expect(t.refreshes()).toBe(polled + 2); // still polling while it connects
    t.sources[1].emit('ready', {});
    await jest.advanceTimersByTimeAsync(0);
    expect(t.live.mode).toBe('push');
    const pushed = t.refreshes();
    await jest.advanceTimersByTimeAsync(5_000);
    expect(t.refreshes()).toBe(pushed); // polling stopped
    t.live.stop();
  });

  it('polls when a working stream breaks, until it is back', async () => {
    const t = setup();
    t.live.start();
    t.sources[0].emit('ready', {});
    await jest.advanceTimersByTimeAsync(0);
    t.sources[0].emit('error'); // the server went away
    expect(t.live.mode).toBe('poll');
    const start = t.refreshes();
    await jest.advanceTimersByTimeAsync(1_000);
    expect(t.refreshes()).toBe(start + 2);
    // A late event of the closed stream is ignored.
    t.sources[0].emit('run', CHANGE);
    expect(t.changes).toEqual([]);
    t.live.stop();
  });

  it('polls when the stream never says ready', async () => {
    const t = setup();
    t.live.start();
    await jest.advanceTimersByTimeAsync(9_000);
    expect(t.live.mode).toBe('connecting');
    await jest.advanceTimersByTimeAsync(1_000);
    expect(t.live.mode).toBe('poll');
    expect(t.sources[0].closed).toBe(true);
    t.live.stop();
  });

  it('polls from the start where there is no EventSource', async () => {
    const t = setup({ stream: false, pollSeconds: 1 });
    t.live.start();
    await jest.advanceTimersByTimeAsync(0);
    expect(t.live.mode).toBe('poll');
    await jest.advanceTimersByTimeAsync(3_000);
    expect(t.refreshes()).toBe(4); // at start, then every second
    await jest.advanceTimersByTimeAsync(60_000);
    expect(t.sources).toHaveLength(0); // nothing to try again
    t.live.stop();
  });

  it('stops everything on stop', async () => {
    const t = setup();
    t.live.start();
    t.sources[0].refuse();
    t.live.stop();
    const count = t.refreshes();
    await jest.advanceTimersByTimeAsync(120_000);
    expect(t.refreshes()).toBe(count);
    expect(t.sources).toHaveLength(1);
  });
});

describe('overlay', () => {
  const run = (status: string): IRun => ({
    run_id: 'r1',
    job: 'daily',
    status,
    trigger: 'manual',
    attempt: 1,
    started_at: null,
    finished_at: null,
    duration_s: null,
    progress: { cells_done: 1, cells_total: 2 },
    parameters: {},
    error: null,
    output: null
  });

  it('keeps a change that arrived after the listing was requested', () => {
    const pushed = new Map([['r1', { seq: 3, event: CHANGE }]]);
    const [shown] = overlay([run('running')], pushed, 2);
    expect(shown.status).toBe('succeeded');
    expect(shown.progress).toEqual({ cells_done: 2, cells_total: 2 });
  });

  it('trusts the listing over changes it was requested after', () => {
    const pushed = new Map([['r1', { seq: 2, event: { ...CHANGE, status: 'running' } }]]);
    expect(overlay([run('succeeded')], pushed, 2)[0].status).toBe('succeeded');
  });
});

describe('eventsUrl', () => {
  it('is under the base URL, with the token when there is one', () => {
    expect(eventsUrl('http://h/base/', 'a b')).toBe('http://h/base/nbprod/api/events?token=a%20b');
    expect(eventsUrl('/', '')).toBe('/nbprod/api/events');
  });
});
