/** The template routes of the client, and the chooser's readiness text. */
import { ITemplate, NbprodClient } from '../src/api';
import { readiness } from '../src/templateText';

const TEMPLATE: ITemplate = {
  name: 'report',
  description: 'A report',
  source: 'built-in',
  requires: ['pandas', 'matplotlib'],
  missing: [],
  ready: true,
  install: '',
  overrides: false
};

describe('template routes', () => {
  it('lists templates and creates a notebook from one in a folder', async () => {
    const calls: { url: string; method: string; body: unknown }[] = [];
    const answers = [{ templates: [TEMPLATE] }, { path: 'a/report.ipynb', missing: [] }];
    const client = new NbprodClient('http://host/base/', async (url, init) => {
      calls.push({
        url,
        method: init.method || 'GET',
        body: init.body && JSON.parse(String(init.body))
      });
      return new Response(JSON.stringify(answers.shift()), { status: 200 });
    });
    expect(await client.listTemplates()).toEqual([TEMPLATE]);
    expect((await client.newFromTemplate('report', 'a')).path).toBe('a/report.ipynb');
    expect(calls).toEqual([
      { url: 'http://host/base/nbprod/api/templates', method: 'GET', body: undefined },
      {
        url: 'http://host/base/nbprod/api/templates',
        method: 'POST',
        body: { template: 'report', folder: 'a' }
      }
    ]);
  });
});

describe('readiness', () => {
  it('says ready with what it imports, or what is missing and how to install it', () => {
    expect(readiness(TEMPLATE)).toBe('ready (pandas, matplotlib)');
    expect(readiness({ ...TEMPLATE, requires: [] })).toBe('ready');
    const needy = { ...TEMPLATE, ready: false, missing: ['matplotlib'], install: 'pip install x' };
    expect(readiness(needy)).toBe('needs matplotlib: pip install x');
  });
});
