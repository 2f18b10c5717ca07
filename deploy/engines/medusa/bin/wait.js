// Waits for what the store needs before it starts, so pods start in order without crash loops:
//   node bin/wait.js services    PostgreSQL (DATABASE_URL) and Redis (REDIS_URL) accept connections
//   node bin/wait.js setup       the setup Job of this revision (URUMI_SETUP_REVISION) has finished
// Run from the built server (its node_modules hold `pg`). Gives up after WAIT_TIMEOUT_SECONDS (default 600).
'use strict';
const net = require('node:net');
const { Client } = require(require.resolve('pg', { paths: [process.cwd()] }));

const deadline = Date.now() + Number(process.env.WAIT_TIMEOUT_SECONDS || 600) * 1000;
const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

const reachable = (url) =>
  new Promise((resolve) => {
    const { hostname, port } = new URL(url);
    const socket = net.connect({ host: hostname, port: Number(port) || 5432, timeout: 3000 });
    socket.once('connect', () => socket.end(() => resolve(true)));
    socket.once('timeout', () => socket.destroy() || resolve(false));
    socket.once('error', () => resolve(false));
  });

async function setupFinished(revision) {
  const client = new Client({ connectionString: process.env.DATABASE_URL });
  try {
    await client.connect();
    const { rows } = await client.query(
      "select 1 from information_schema.tables where table_name = 'urumi_setup' and table_schema = current_schema()",
    );
    if (!rows.length) return false;
    return (await client.query('select 1 from urumi_setup where revision = $1', [revision])).rows.length > 0;
  } catch {
    return false;
  } finally {
    await client.end().catch(() => undefined);
  }
}

async function until(what, check) {
  for (let said = false; ; said = true) {
    if (await check()) return;
    if (Date.now() > deadline) throw new Error(`gave up waiting for ${what}`);
    if (!said) console.log(`waiting for ${what}`);
    await sleep(2000);
  }
}

async function main(target) {
  if (target === 'services') {
    await until('PostgreSQL', () => reachable(process.env.DATABASE_URL));
    await until('Redis', () => reachable(process.env.REDIS_URL));
  } else if (target === 'setup') {
    const revision = process.env.URUMI_SETUP_REVISION || 'local';
    await until(`the setup of revision ${revision}`, () => setupFinished(revision));
  } else {
    throw new Error('usage: node bin/wait.js services|setup');
  }
}

main(process.argv[2]).catch((error) => {
  console.error(error.message);
  process.exit(1);
});
