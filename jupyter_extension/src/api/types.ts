/** The shapes of the REST API's answers and forms (specification/nbprod-api.yml). */

/** The type a parameter's text is parsed by, as the server says (`list[int]` is `list`). */
export type ParameterKind = 'int' | 'float' | 'str' | 'bool' | 'list' | 'dict' | 'any';

export interface IParameter {
  name: string;
  type: string;
  kind: ParameterKind;
  default: unknown;
  default_source: string;
  nullable: boolean;
  help: string;
  required: boolean;
  /** The type as `nbprod params` shows it (`int?` for `int | None`). */
  label?: string;
}

export interface INotebookInfo {
  path: string | null;
  name: string;
  job: string;
  kernel: string;
  cell_index: number | null;
  parameters: IParameter[];
}

/** How the server reads parameter text (`-p NAME VALUE`): the words a form checks against. */
export interface IValueSyntax {
  null: string[];
  true: string[];
  false: string[];
  /** A regular expression a whole (trimmed) int matches. */
  int: string;
}

/** The server's rules the forms and the panel apply (`/info`'s `rules`). */
export interface IRules {
  job_name: { pattern: string; message: string };
  notification_events: string[];
  notification_targets: string[];
  active_statuses: string[];
  /** A cell's fragment in a run's browse page; `{index}` is the cell's index. */
  cell_anchor: string;
  values: IValueSyntax;
  /** The choices of a job's overlap and catchup fields, the default first. */
  job_choices: { overlap: string[]; catchup: string[] };
}

export interface IInfo {
  api_version: string;
  version: string;
  store: string;
  outputs_dir: string;
  embedded_scheduler: { state: string; name?: string; reason?: string; workers?: number };
  rules: IRules;
}

export interface ICronPreview {
  schedule: string | null;
  timezone: string;
  description: string;
  next: string[];
}

export interface INotifyTarget {
  type: string;
  url?: string;
  to?: string[] | string;
}

export interface IDefinition {
  name: string;
  notebook: string;
  parameters: Record<string, unknown>;
  schedule: string | null;
  timezone: string;
  kernel: string | null;
  timeout: number | null;
  retries: number;
  notifications: Record<string, INotifyTarget[]>;
  store: string | null;
  description: string;
  concurrency?: number;
  overlap?: string;
  catchup?: string;
  tags?: string[];
  /** The runs' output notebooks hide their code (papermill's report mode). */
  report_mode?: boolean;
}

export interface IJob {
  name: string;
  version: number;
  paused: boolean;
  schedule: string | null;
  timezone: string;
  next_runs: string[];
  next_run: string | null;
  last_status: string | null;
  last_run_id: string | null;
  /** Another scheduler fires the job (`nbprod export airflow`); nbprod's do not. */
  scheduled_by?: string | null;
  description?: string;
  definition: IDefinition;
  /** The working copy's cells differ from the pinned snapshot (null: unknown). */
  drifted?: boolean | null;
}

/** A run's error (the run record's `error`, as the REST API returns it). */
export interface IRunError {
  ename: string;
  evalue: string;
  /** The failing cell's position in the output notebook (markers, injected cell included). */
  cell_index: number | null;
  /** The failing cell as its author counts it (1-based); null for the injected parameters. */
  cell_number?: number | null;
  /** How every face names it: `cell 3`, or `injected parameters`. */
  cell_label?: string | null;
}

export interface IRun {
  run_id: string;
  job: string;
  status: string;
  trigger: string | null;
  attempt: number;
  started_at: string | null;
  finished_at: string | null;
  duration_s: number | null;
  progress: { cells_done: number; cells_total: number };
  parameters: Record<string, unknown>;
  error: IRunError | null;
  output: string | null;
  /** The output notebook hides its code cells' source. */
  report_mode?: boolean;
  cancel_requested?: boolean;
}

export interface IQueued {
  run_id: string;
  job: string;
  status: string;
}

export interface IOpened {
  path: string;
  run_id: string;
  status: string;
  cell: number | null;
  cell_number?: number | null;
  cell_label?: string | null;
}

/** `POST runs/{id}/debug`: the debug notebook written under the contents root. */
export interface IDebugNotebook {
  path: string;
  run_id: string;
  job: string;
  status: string;
  /** The failing cell's index in the debug notebook. */
  cell: number | null;
  kernel: string;
  cell_number?: number | null;
  cell_label?: string | null;
}

/** `GET jobs/{name}/drift`: the working copy against the pinned snapshot. */
export interface IDrift {
  job: string;
  version: number;
  notebook: string;
  drifted: boolean;
  message: string;
  cells: { where: string; kind: string; what: string[]; summary: string }[];
}

/** `GET/POST jobs/{name}/backfill`: the fire times of a past range (and the runs queued). */
export interface IBackfill {
  job: string;
  from: string;
  to: string;
  count: number;
  first: string | null;
  last: string | null;
  scheduled_for: string[];
  run_ids: string[];
}

/** `GET outputs/{run id}/{name}`: a run's output as a read-only contents model. */
export interface IOutputModel {
  name: string;
  path: string;
  type: 'notebook';
  format: 'json' | null;
  mimetype: null;
  content: unknown;
  writable: false;
  created: string | null;
  last_modified: string | null;
  size: null;
  nbprod: { run_id: string; job: string; status: string; cell: number | null };
}

/** Parameter values as text, parsed by the server like `-p NAME VALUE`; null is None. */
export type ParameterTexts = Record<string, string | null>;

/** `POST /runs`: run a notebook once. */
export interface IRunForm {
  path: string;
  name?: string;
  parameters?: ParameterTexts;
  kernel?: string;
  timeout?: string;
  store?: string;
  report_mode?: boolean;
}

/** `POST /jobs` (with `path`) and `PUT /jobs/{name}`. */
export interface IJobForm {
  name: string;
  path?: string;
  parameters?: ParameterTexts;
  kernel?: string;
  schedule?: string;
  timezone?: string;
  retries?: string;
  timeout?: string;
  notifications?: Record<string, INotifyTarget[]>;
  store?: string;
  description?: string;
  concurrency?: string;
  overlap?: string;
  catchup?: string;
  tags?: string[];
  report_mode?: boolean;
}

/** `POST /sweeps`: per parameter its values (two or more: an axis; one: fixed). */
export interface ISweepForm {
  path: string;
  name?: string;
  parameters: Record<string, (string | null)[]>;
  kernel?: string;
  timeout?: string;
  report_mode?: boolean;
}

export interface ISweepQueued {
  sweep_id: string;
  job: string;
  swept: string[];
  run_ids: string[];
  count: number;
  /** The sweep's browse page, relative to the server's base URL. */
  page: string;
}

/** `GET /templates`: a notebook template (`nbprod templates list`). */
export interface ITemplate {
  name: string;
  description: string;
  source: 'built-in' | 'user';
  /** Distributions its notebook imports, and those not installed on the server. */
  requires: string[];
  missing: string[];
  ready: boolean;
  /** The pip command that makes it ready ('' when it is). */
  install: string;
  overrides: boolean;
}

/** `POST /templates`: the new notebook (path relative to the contents root). */
export interface ITemplateCreated {
  path: string;
  template: string;
  missing: string[];
  install: string;
}

/** A step's state in a pipeline run (`running` once its run has started). */
export type StepState = 'pending' | 'queued' | 'running' | 'succeeded' | 'failed' | 'skipped';

/** A pipeline run as the Jobs panel lists it (`latest_run`, a pipeline's `runs`). */
export interface IPipelineRunSummary {
  run_id: string;
  pipeline: string;
  version: number;
  status: 'queued' | 'running' | 'succeeded' | 'failed';
  trigger: string;
  created_at: string;
  /** When its first step's run started. */
  started_at: string | null;
  finished_at: string | null;
  /** Created to finished; null while it runs. */
  duration_s: number | null;
  /** Step name → its live state, in the order the steps run. */
  steps: Record<string, StepState>;
}

/** One step of a pipeline's latest version. */
export interface IPipelineStep {
  name: string;
  needs: string[];
  notebook: string;
}

/** `GET /nbprod/api/pipelines`: a pipeline with its latest run. */
export interface IPipeline {
  name: string;
  version: number;
  schedule: string | null;
  timezone: string;
  description: string;
  tags: string[];
  steps: IPipelineStep[];
  latest_run: IPipelineRunSummary | null;
}

/** `GET /nbprod/api/pipelines/{name}`: also the definition and the newest runs. */
export interface IPipelineDetail extends IPipeline {
  definition: Record<string, unknown>;
  runs: IPipelineRunSummary[];
}

/** A step of a pipeline run record. */
export interface IPipelineRunStep {
  name: string;
  status: string;
  state: StepState;
  run_id: string | null;
  needs: string[];
  error: string | null;
  duration_s: number | null;
}

/** `GET /nbprod/api/pipeline-runs/{id}` (also what starting a run answers). */
export interface IPipelineRun {
  run_id: string;
  pipeline: string;
  version: number;
  status: IPipelineRunSummary['status'];
  trigger: string;
  created_at: string;
  started_at: string | null;
  finished_at: string | null;
  duration_s: number | null;
  steps: IPipelineRunStep[];
  step_states: Record<string, StepState>;
}

/** `POST /nbprod/api/pipeline-runs/{id}/cancel`. */
export interface IPipelineCancelled {
  run_id: string;
  /** One line per step cancelled. */
  cancelled: string[];
}
