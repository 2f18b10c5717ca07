import { createServer } from 'node:net';

/** Resolves with `preferred` if it is free on loopback, else with a free port the kernel picks. */
export async function freePort(preferred = 0): Promise<number> {
  const tryListen = (port: number) =>
    new Promise<number | undefined>((resolve) => {
      const server = createServer();
      server.once('error', () => resolve(undefined));
      server.listen(port, '127.0.0.1', () => {
        const address = server.address();
        server.close(() => resolve(typeof address === 'object' && address ? address.port : undefined));
      });
    });
  const port = (preferred ? await tryListen(preferred) : undefined) ?? (await tryListen(0));
  if (port === undefined) throw new Error('no free loopback port');
  return port;
}

export async function isPortFree(port: number): Promise<boolean> {
  return (await freePort(port)) === port;
}
