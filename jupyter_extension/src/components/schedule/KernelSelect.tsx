import * as React from 'react';

export interface IKernel {
  name: string;
  display: string;
}

/** The kernel picker: the server's kernelspecs, plus the job's kernel if it is not one. */
export function KernelSelect(props: {
  kernels: IKernel[];
  value: string;
  onChange: (value: string) => void;
}): JSX.Element {
  const { kernels, value } = props;
  return (
    <label className="nbprod-row">
      <span>Kernel</span>
      <select
        name="kernel"
        className="jp-mod-styled"
        value={value}
        onChange={e => props.onChange(e.target.value)}
      >
        {kernels.map(k => (
          <option key={k.name} value={k.name}>
            {k.display}
          </option>
        ))}
        {value && !kernels.find(k => k.name === value) && <option value={value}>{value}</option>}
      </select>
    </label>
  );
}
