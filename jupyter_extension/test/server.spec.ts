/** The server's rules are fetched once and shared, and fetched again after a failure. */
import { NbprodClient, UnreachableError } from '../src/api';
import { makeServer } from '../src/server';
import rules from './fixtures/rules.json';

function counting(answers: (() => Promise<Response>)[]): { client: NbprodClient; calls: string[] } {
  const calls: string[] = [];
  const client = new NbprodClient('/', url => {
    calls.push(url);
    return answers[Math.min(calls.length, answers.length) - 1]();
  });
  return { client, calls };
}

const info = (version = '1') =>
  Promise.resolve(new Response(JSON.stringify({ api_version: version, rules }), { status: 200 }));

describe('makeServer', () => {
  it('asks /info once for every caller', async () => {
    const { client, calls } = counting([info]);
    const server = makeServer(client);
    const [a, b] = await Promise.all([server.rules(), server.rules()]);
    expect(a).toEqual(rules);
    expect(await server.rules()).toBe(b);
    expect(calls).toEqual(['/nbprod/api/info']);
  });

  it('asks again after a failure', async () => {
    const { client, calls } = counting([() => Promise.reject(new TypeError('down')), info]);
    const server = makeServer(client);
    await expect(server.rules()).rejects.toBeInstanceOf(UnreachableError);
    expect(await server.rules()).toEqual(rules);
    expect(calls).toHaveLength(2);
  });

  it('warns when the server speaks another API version', async () => {
    const warn = jest.spyOn(console, 'warn').mockImplementation(() => undefined);
    await makeServer(counting([() => info('2')]).client).rules();
    expect(warn).toHaveBeenCalledWith(expect.stringContaining('server API 2'));
    warn.mockRestore();
  });
});
