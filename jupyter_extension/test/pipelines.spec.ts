/**
 * The pipeline routes of the typed client (URL, method, body; lists unwrapped) and the
 * panel's pure display logic of pipelines (step chips, active runs, the run line).
 */
import { IPipeline, IPipelineRunSummary, NbprodClient, NotFoundError } from '../src/api';
import { isActive, runLine, stepChips, stepProgress } from '../src/pipelineView';

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
    return new Response(JSON.stringify(answer), { status });
  });
  return { client, calls };
}

const API = 'http://host/base/nbprod/api';

describe('pipeline routes', () => {
  const cases: [string, (c: NbprodClient) => Promise<unknown>, string, string, unknown][] = [
    ['getPipeline', c => c.getPipeline('daily-ml'), 'GET', `${API}/pipelines/daily-ml`, undefined],
    [
      'getPipeline with runs',
      c => c.getPipeline('daily ml', 5),
      'GET',
      `${API}/pipelines/daily%20ml?runs=5`,
      undefined
    ],
    ['runPipeline', c => c.runPipeline('daily-ml'), 'POST', `${API}/pipelines/daily-ml/runs`, {}],
    [
      'runPipeline with parameters',
      c => c.runPipeline('daily-ml', { 'extract.days': '30' }),
      'POST',
      `${API}/pipelines/daily-ml/runs`,
      { parameters: { 'extract.days': '30' } }
    ],
    [
      'getPipelineRun',
      c => c.getPipelineRun('p/1'),
      'GET',
      `${API}/pipeline-runs/p%2F1`,
      undefined
    ],
    [
      'cancelPipelineRun',
      c => c.cancelPipelineRun('p1'),
      'POST',
      `${API}/pipeline-runs/p1/cancel`,
      {}
    ]
  ];
  it.each(cases)('%s', async (_label, call, method, url, body) => {
    const { client, calls } = stub();
    await call(client);
    expect(calls).toEqual([{ method, url, body }]);
  });

  it('unwraps the list of pipelines', async () => {
    const { client, calls } = stub(200, { pipelines: [{ name: 'a' }] });
    expect(await client.listPipelines()).toEqual([{ name: 'a' }]);
    expect(calls).toEqual([{ method: 'GET', url: `${API}/pipelines`, body: undefined }]);
  });

  it('an unknown pipeline is a NotFoundError with the server message', async () => {
    const answer = { status: 404, message: 'no pipeline nope', field: null };
    const error = await stub(404, answer)
      .client.runPipeline('nope')
      .catch(e => e);
    expect(error).toBeInstanceOf(NotFoundError);
    expect(error.message).toBe('no pipeline nope');
  });

  it('builds the browse page of a pipeline run', () => {
    expect(stub().client.browsePipelineRunUrl('2026 x')).toBe(
      'http://host/base/nbprod/pipeline-runs/2026%20x'
    );
  });
});

function pipeline(steps: string[]): IPipeline {
  return {
    name: 'p',
    version: 1,
    schedule: null,
    timezone: 'UTC',
    description: '',
    tags: [],
    steps: steps.map(name => ({ name, needs: [], notebook: `${name}.ipynb` })),
    latest_run: null
  };
}

function run(
  status: IPipelineRunSummary['status'],
  steps: IPipelineRunSummary['steps'],
  more: Partial<IPipelineRunSummary> = {}
): IPipelineRunSummary {
  return {
    run_id: 'r1',
    pipeline: 'p',
    version: 1,
    status,
    trigger: 'manual',
    created_at: '2026-12-02T17:00:00.000000Z',
    started_at: null,
    finished_at: null,
    duration_s: null,
    steps,
    ...more
  };
}

describe('pipeline display', () => {
  it('has a chip per step in run order; steps the run does not know are none', () => {
    const p = pipeline(['extract', 'train', 'report']);
    expect(stepChips(p, null)).toEqual([
      { name: 'extract', state: 'none' },
      { name: 'train', state: 'none' },
      { name: 'report', state: 'none' }
    ]);
    const latest = run('running', { train: 'running', extract: 'succeeded' });
    expect(stepChips(p, latest)).toEqual([
      { name: 'train', state: 'running' },
      { name: 'extract', state: 'succeeded' },
      { name: 'report', state: 'none' }
    ]);
  });

  it('counts a queued or running run as active, an ended one not', () => {
    expect(isActive(null)).toBe(false);
    expect(isActive(run('queued', {}))).toBe(true);
    expect(isActive(run('running', {}))).toBe(true);
    expect(isActive(run('succeeded', {}))).toBe(false);
    expect(isActive(run('failed', {}))).toBe(false);
  });

  it('says how many steps succeeded and when, how long, why it ran', () => {
    const ended = run(
      'failed',
      { a: 'succeeded', b: 'failed', c: 'skipped' },
      { started_at: '2026-12-02T17:00:01.5Z', duration_s: 8.84, trigger: 'rerun' }
    );
    expect(stepProgress(ended)).toBe('1/3 steps succeeded');
    expect(runLine(ended)).toBe('2026-12-02 17:00 UTC · 8.8 s · rerun');
    expect(runLine(run('queued', { a: 'queued' }))).toBe('2026-12-02 17:00 UTC · manual');
  });
});
