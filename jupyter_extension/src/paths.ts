/** Contents paths the extension makes, pure (jest-tested without JupyterLab). */

/** The read-only drive of run outputs (see lab/outputs.ts). */
export const DRIVE = 'nbprod-run';

/** The drive path of a run's output: `nbprod-run:<run id>/<job> run <run id>.ipynb` (the
 * file name is the tab's label: JupyterLab names a tab after its file). */
export function outputPath(job: string, runId: string): string {
  return `${DRIVE}:${runId}/${job} run ${runId}.ipynb`;
}

/** Whether a contents path is in the drive (no Schedule button, read-only). */
export function isOutputPath(path: string): boolean {
  return path.startsWith(`${DRIVE}:`);
}

/** The statuses a run can be debugged in: it stopped in a cell. */
export const DEBUGGABLE = ['failed', 'timed_out', 'lost', 'kernel_died'];

/** The cells *Re-run up to the failing cell* executes: every one before it. */
export function cellsBefore(failing: number | null): number[] {
  return failing === null || failing <= 0 ? [] : Array.from({ length: failing }, (_, i) => i);
}

/** A debug folder setting as the server takes it: relative, no `..`, default nbprod-debug. */
export function debugFolder(setting: string | undefined | null): string {
  const text = (setting || '').trim().replace(/\/+$/, '');
  return text || 'nbprod-debug';
}
