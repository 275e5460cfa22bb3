/**
 * The typed client of the REST API under `/nbprod/api/` (specification/nbprod-api.yml): one
 * method per route, every URL built here. It takes the server's base URL and a fetch
 * function (in JupyterLab, ServerConnection's: see connection.ts), so it runs and is tested
 * without JupyterLab.
 */
import { errorFor } from './errors';
import {
  ICronPreview,
  IInfo,
  IJob,
  IBackfill,
  IDebugNotebook,
  IDrift,
  IJobForm,
  INotebookInfo,
  IOpened,
  IOutputModel,
  IPipeline,
  IPipelineCancelled,
  IPipelineDetail,
  IPipelineRun,
  IQueued,
  IRun,
  IRunForm,
  ISweepForm,
  ISweepQueued,
  ITemplate,
  ITemplateCreated,
  ParameterTexts
} from './types';

export type Fetch = (url: string, init: RequestInit) => Promise<Response>;

type Query = Record<string, string | number>;

/** `base` joined with path segments, each segment URL-encoded, then the query. */
export function joinUrl(base: string, segments: string[], query: Query = {}): string {
  const path = segments.map(encodeURIComponent).join('/');
  const url = `${base.replace(/\/+$/, '')}/${path}`;
  const search = Object.entries(query)
    .map(([key, value]) => `${encodeURIComponent(key)}=${encodeURIComponent(String(value))}`)
    .join('&');
  return search ? `${url}?${search}` : url;
}

export class NbprodClient {
  constructor(
    private readonly baseUrl: string,
    private readonly fetch: Fetch
  ) {}

  info(): Promise<IInfo> {
    return this.call('GET', ['info']);
  }

  /** A notebook's typed parameters, suggested job name and kernel (create mode). */
  notebookParameters(path: string): Promise<INotebookInfo> {
    return this.call('GET', ['parameters'], { query: { path } });
  }

  /** The parameters of an existing job's notebook (edit mode). */
  jobParameters(job: string): Promise<INotebookInfo> {
    return this.call('GET', ['parameters'], { query: { job } });
  }

  cronPreview(schedule: string, timezone: string, count = 3): Promise<ICronPreview> {
    return this.call('GET', ['cron'], { query: { schedule, timezone, count } });
  }

  async timezones(): Promise<string[]> {
    return (await this.call<{ timezones: string[] }>('GET', ['timezones'])).timezones;
  }

  async listTemplates(): Promise<ITemplate[]> {
    return (await this.call<{ templates: ITemplate[] }>('GET', ['templates'])).templates;
  }

  /** `nbprod new`: a notebook from a template in `folder` (never overwrites). */
  newFromTemplate(template: string, folder: string): Promise<ITemplateCreated> {
    return this.call('POST', ['templates'], { body: { template, folder } });
  }

  async listJobs(): Promise<IJob[]> {
    return (await this.call<{ jobs: IJob[] }>('GET', ['jobs'])).jobs;
  }

  getJob(name: string): Promise<IJob> {
    return this.call('GET', ['jobs', name]);
  }

  createJob(form: IJobForm & { path: string }): Promise<IJob> {
    return this.call('POST', ['jobs'], { body: form });
  }

  /** A new version of the job (`name` is the job's, whatever `form.name` says). */
  updateJob(name: string, form: IJobForm): Promise<IJob> {
    return this.call('PUT', ['jobs', name], { body: form });
  }

  deleteJob(name: string): Promise<unknown> {
    return this.call('DELETE', ['jobs', name]);
  }

  setPaused(name: string, paused: boolean): Promise<IJob> {
    return this.call('POST', ['jobs', name, paused ? 'pause' : 'resume'], { body: {} });
  }

  /** Queue a run of a job now, with parameter values replacing its own. */
  runJob(name: string, parameters?: ParameterTexts): Promise<IQueued> {
    return this.call('POST', ['jobs', name, 'runs'], { body: parameters ? { parameters } : {} });
  }

  /** Queue one run of a notebook (no job definition is saved). */
  runNotebook(form: IRunForm): Promise<IQueued> {
    return this.call('POST', ['runs'], { body: form });
  }

  /** Queue a sweep: one run per combination of the values, tagged with the sweep. */
  createSweep(form: ISweepForm): Promise<ISweepQueued> {
    return this.call('POST', ['sweeps'], { body: form });
  }

  /** The browse UI's page of a sweep (its runs and results). */
  browseSweepUrl(sweepId: string): string {
    return joinUrl(this.baseUrl, ['nbprod', 'sweeps', sweepId]);
  }

  async listRuns(options: { job?: string; limit?: number } = {}): Promise<IRun[]> {
    const query: Query = {};
    if (options.job) {
      query.job = options.job;
    }
    if (options.limit !== undefined) {
      query.limit = options.limit;
    }
    return (await this.call<{ runs: IRun[] }>('GET', ['runs'], { query })).runs;
  }

  getRun(runId: string): Promise<IRun> {
    return this.call('GET', ['runs', runId]);
  }

  cancelRun(runId: string): Promise<IRun> {
    return this.call('POST', ['runs', runId, 'cancel'], { body: {} });
  }

  /** Copy a run's output notebook under the contents root; the answer has its path. */
  openOutput(runId: string): Promise<IOpened> {
    return this.call('POST', ['runs', runId, 'open'], { body: {} });
  }

  /** Write a notebook to debug a failed run (its input snapshot, its parameters) in
   * `folder` under the contents root. */
  debugRun(runId: string, folder?: string): Promise<IDebugNotebook> {
    return this.call('POST', ['runs', runId, 'debug'], { body: folder ? { folder } : {} });
  }

  /** A run's output notebook from the store, read-only (`path`: `<run id>/<file>`). */
  getOutput(path: string, content = true): Promise<IOutputModel> {
    return this.call('GET', ['outputs', ...path.split('/')], {
      query: content ? {} : { content: 0 }
    });
  }

  /** How the working copy of a job's notebook differs from its pinned snapshot. */
  jobDrift(name: string): Promise<IDrift> {
    return this.call('GET', ['jobs', name, 'drift']);
  }

  /** A new version of the job pinning its working copy (*Update job*). */
  pinWorkingCopy(name: string): Promise<IJob> {
    return this.call('POST', ['jobs', name, 'update'], { body: {} });
  }

  /** The fire times a backfill from `from` to `to` (YYYY-MM-DD) would run. */
  backfillPreview(name: string, from: string, to: string): Promise<IBackfill> {
    return this.call('GET', ['jobs', name, 'backfill'], { query: { from, to } });
  }

  /** Queue one run per fire time from `from` to `to`. */
  backfill(name: string, from: string, to: string): Promise<IBackfill> {
    return this.call('POST', ['jobs', name, 'backfill'], { body: { from, to } });
  }

  async listPipelines(): Promise<IPipeline[]> {
    return (await this.call<{ pipelines: IPipeline[] }>('GET', ['pipelines'])).pipelines;
  }

  /** A pipeline's definition and its `runs` newest runs. */
  getPipeline(name: string, runs?: number): Promise<IPipelineDetail> {
    return this.call('GET', ['pipelines', name], { query: runs === undefined ? {} : { runs } });
  }

  /** Start a run of a pipeline's latest version (`step.param` → value overrides). */
  runPipeline(name: string, parameters?: ParameterTexts): Promise<IPipelineRun> {
    return this.call('POST', ['pipelines', name, 'runs'], {
      body: parameters ? { parameters } : {}
    });
  }

  getPipelineRun(runId: string): Promise<IPipelineRun> {
    return this.call('GET', ['pipeline-runs', runId]);
  }

  /** Cancel a pipeline run's queued and running steps; the ones after them are skipped. */
  cancelPipelineRun(runId: string): Promise<IPipelineCancelled> {
    return this.call('POST', ['pipeline-runs', runId, 'cancel'], { body: {} });
  }

  /** The browse UI's page of a pipeline run (each step's run, the values passed). */
  browsePipelineRunUrl(runId: string): string {
    return joinUrl(this.baseUrl, ['nbprod', 'pipeline-runs', runId]);
  }

  /** The browse UI's page of a run (a new tab), at a cell when `anchor` is the server's
   * cell-anchor template (`/info`'s `rules.cell_anchor`). */
  browseRunUrl(runId: string, cell?: number | null, anchor?: string): string {
    const url = joinUrl(this.baseUrl, ['nbprod', 'runs', runId]);
    if (cell === null || cell === undefined || !anchor) {
      return url;
    }
    return `${url}#${anchor.replace('{index}', String(cell))}`;
  }

  private async call<T>(
    method: string,
    segments: string[],
    options: { query?: Query; body?: unknown } = {}
  ): Promise<T> {
    const url = joinUrl(this.baseUrl, ['nbprod', 'api', ...segments], options.query);
    const init: RequestInit = { method };
    if (options.body !== undefined) {
      init.body = JSON.stringify(options.body);
    }
    let response: Response;
    try {
      response = await this.fetch(url, init);
    } catch (error) {
      throw errorFor(0, `cannot reach the server: ${error}`);
    }
    const text = await response.text();
    let data: unknown = null;
    if (text) {
      try {
        data = JSON.parse(text);
      } catch {
        data = { message: text.slice(0, 200) };
      }
    }
    if (!response.ok) {
      const answer = (data || {}) as { message?: string; field?: string | null };
      throw errorFor(response.status, answer.message || response.statusText, answer.field || null);
    }
    return data as T;
  }
}
