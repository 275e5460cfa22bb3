/**
 * The typed client: the URL and body of each route, and error answers mapped to typed
 * errors. The fetch function (the client's boundary with the network) is a stub that
 * records requests and answers like the server does.
 */
import {
  ApiError,
  BadInputError,
  ConflictError,
  ForbiddenError,
  NbprodClient,
  NotFoundError,
  UnavailableError,
  UnreachableError,
  joinUrl
} from '../src/api';

interface ICall {
  url: string;
  method: string;
  body: unknown;
}

function stub(status = 200, answer: unknown = {}): { client: NbprodClient; calls: ICall[] } {
  const calls: ICall[] = [];
  const client = new NbprodClient('http://host/base/', async (url, init) => {
    calls.push({
      url,
      method: init.method || 'GET',
      body: init.body === undefined ? undefined : JSON.parse(String(init.body))
    });
    const text = typeof answer === 'string' ? answer : JSON.stringify(answer);
    return new Response(text, { status });
  });
  return { client, calls };
}

describe('joinUrl', () => {
  it('encodes each segment and the query, and drops trailing slashes of the base', () => {
    expect(joinUrl('http://h/b//', ['jobs', 'a b/c'], { q: 'x&y', n: 3 })).toBe(
      'http://h/b/jobs/a%20b%2Fc?q=x%26y&n=3'
    );
    expect(joinUrl('/', ['info'])).toBe('/info');
  });
});

describe('NbprodClient routes', () => {
  const API = 'http://host/base/nbprod/api';
  const cases: [string, (c: NbprodClient) => Promise<unknown>, string, string, unknown][] = [
    ['info', c => c.info(), 'GET', `${API}/info`, undefined],
    [
      'notebookParameters',
      c => c.notebookParameters('dir/My report.ipynb'),
      'GET',
      `${API}/parameters?path=dir%2FMy%20report.ipynb`,
      undefined
    ],
    [
      'jobParameters',
      c => c.jobParameters('daily'),
      'GET',
      `${API}/parameters?job=daily`,
      undefined
    ],
    [
      'cronPreview',
      c => c.cronPreview('0 7 * * 1-5', 'Europe/Berlin'),
      'GET',
      `${API}/cron?schedule=0%207%20*%20*%201-5&timezone=Europe%2FBerlin&count=3`,
      undefined
    ],
    ['getJob', c => c.getJob('a.b'), 'GET', `${API}/jobs/a.b`, undefined],
    [
      'createJob',
      c => c.createJob({ name: 'd', path: 'x.ipynb' }),
      'POST',
      `${API}/jobs`,
      { name: 'd', path: 'x.ipynb' }
    ],
    [
      'updateJob',
      c => c.updateJob('d', { name: 'd', schedule: '@daily' }),
      'PUT',
      `${API}/jobs/d`,
      { name: 'd', schedule: '@daily' }
    ],
    ['deleteJob', c => c.deleteJob('d'), 'DELETE', `${API}/jobs/d`, undefined],
    ['pause', c => c.setPaused('d', true), 'POST', `${API}/jobs/d/pause`, {}],
    ['resume', c => c.setPaused('d', false), 'POST', `${API}/jobs/d/resume`, {}],
    ['runJob', c => c.runJob('d'), 'POST', `${API}/jobs/d/runs`, {}],
    [
      'runJob with parameters',
      c => c.runJob('d', { days: '7' }),
      'POST',
      `${API}/jobs/d/runs`,
      { parameters: { days: '7' } }
    ],
    [
      'runNotebook',
      c => c.runNotebook({ path: 'x.ipynb', parameters: { n: '1' } }),
      'POST',
      `${API}/runs`,
      { path: 'x.ipynb', parameters: { n: '1' } }
    ],
    ['getRun', c => c.getRun('r/1'), 'GET', `${API}/runs/r%2F1`, undefined],
    ['cancelRun', c => c.cancelRun('r1'), 'POST', `${API}/runs/r1/cancel`, {}],
    ['openOutput', c => c.openOutput('r1'), 'POST', `${API}/runs/r1/open`, {}]
  ];
  it.each(cases)('%s', async (_label, call, method, url, body) => {
    const { client, calls } = stub();
    await call(client);
    expect(calls).toEqual([{ method, url, body }]);
  });

  it('unwraps the lists of jobs, runs and timezones', async () => {
    expect(await stub(200, { jobs: [{ name: 'a' }] }).client.listJobs()).toEqual([{ name: 'a' }]);
    expect(await stub(200, { timezones: ['UTC'] }).client.timezones()).toEqual(['UTC']);
    const { client, calls } = stub(200, { runs: [] });
    expect(await client.listRuns({ limit: 25 })).toEqual([]);
    await client.listRuns({ job: 'daily' });
    await client.listRuns();
    expect(calls.map(c => c.url)).toEqual([
      'http://host/base/nbprod/api/runs?limit=25',
      'http://host/base/nbprod/api/runs?job=daily',
      'http://host/base/nbprod/api/runs'
    ]);
  });
});

describe('error answers', () => {
  const kinds: [number, typeof ApiError][] = [
    [400, BadInputError],
    [403, ForbiddenError],
    [404, NotFoundError],
    [409, ConflictError],
    [502, UnavailableError],
    [503, UnavailableError],
    [500, ApiError]
  ];
  it.each(kinds)('%d is a %p with the message and the field', async (status, Kind) => {
    const answer = { status, message: `m${status}`, field: 'parameters.days' };
    const error = await stub(status, answer)
      .client.info()
      .catch(e => e);
    expect(error).toBeInstanceOf(Kind);
    expect(error).toBeInstanceOf(ApiError);
    expect([error.status, error.message, error.field]).toEqual([
      status,
      `m${status}`,
      'parameters.days'
    ]);
  });

  it('a 400 without a field has field null; a non-JSON answer keeps its text', async () => {
    const noField = await stub(400, { status: 400, message: 'bad' })
      .client.info()
      .catch(e => e);
    expect(noField).toBeInstanceOf(BadInputError);
    expect(noField.field).toBeNull();
    const html = await stub(404, '<html>Not Found</html>')
      .client.info()
      .catch(e => e);
    expect(html).toBeInstanceOf(NotFoundError);
    expect(html.message).toBe('<html>Not Found</html>');
  });

  it('a failing fetch is an UnreachableError with status 0', async () => {
    const client = new NbprodClient('/', () => Promise.reject(new TypeError('network down')));
    const error = await client.info().catch(e => e);
    expect(error).toBeInstanceOf(UnreachableError);
    expect(error.status).toBe(0);
    expect(error.message).toContain('network down');
  });
});

describe('browseRunUrl', () => {
  const { client } = stub();
  it('is the run page, at the cell with the server-sent anchor', () => {
    expect(client.browseRunUrl('r 1')).toBe('http://host/base/nbprod/runs/r%201');
    expect(client.browseRunUrl('r1', 4, 'cell-id=nbprod-{index}')).toBe(
      'http://host/base/nbprod/runs/r1#cell-id=nbprod-4'
    );
    expect(client.browseRunUrl('r1', null, 'cell-id=nbprod-{index}')).toBe(
      'http://host/base/nbprod/runs/r1'
    );
  });
});
