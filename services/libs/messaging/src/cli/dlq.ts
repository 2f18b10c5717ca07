import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { connect } from 'nats';
import { natsSettingsFromEnv } from '../settings';
import { listDeadLetters, purgeDeadLetters, replayDeadLetter, resolveNatsUrl, showDeadLetter } from './dead-letters';

const USAGE = `Inspect the DEADLETTER stream.

  npm run dlq -- list [--subject <original subject>]    one line per dead-lettered message
  npm run dlq -- show <seq>                             its facts, headers and payload
  npm run dlq -- replay <seq>                           publish its original message again, to its original
                                                        subject, with a fresh msgId (the dead letter stays)
  npm run dlq -- purge [--subject <original subject>]   delete them (all, or one subject's)

  --server <url>   NATS URL (default: $NATS_URL, then .sandbox/nats-url)
  NATS_USER and NATS_PASSWORD: credentials, for a server that asks for them`;

async function main(argv: string[]): Promise<number> {
  const { values, positionals } = parseArgs({
    args: argv,
    allowPositionals: true,
    options: { server: { type: 'string' }, subject: { type: 'string' }, help: { type: 'boolean', short: 'h' } },
  });
  const [command, argument] = positionals;
  if (values.help || !command) {
    console.log(USAGE);
    return command || values.help ? 0 : 2;
  }
  const seq = Number(argument);
  if ((command === 'show' || command === 'replay') && !(Number.isInteger(seq) && seq > 0)) {
    console.error(`${command} needs a message sequence number, not "${argument ?? ''}"`);
    return 2;
  }
  if (!['list', 'show', 'replay', 'purge'].includes(command)) {
    console.error(`unknown command "${command}"\n\n${USAGE}`);
    return 2;
  }

  const servers = resolveNatsUrl(values.server, process.env, join(process.cwd(), '.sandbox', 'nats-url'));
  const { user, password } = natsSettingsFromEnv(process.env);
  const nc = await connect({ servers, name: 'dlq-cli', timeout: 5_000, ...(user ? { user, pass: password } : {}) });
  const print = (line: string) => console.log(line);
  try {
    if (command === 'list') await listDeadLetters(nc, print, values.subject);
    else if (command === 'show') await showDeadLetter(nc, seq, print);
    else if (command === 'replay') await replayDeadLetter(nc, seq, print);
    else await purgeDeadLetters(nc, print, values.subject);
    return 0;
  } finally {
    await nc.close();
  }
}

main(process.argv.slice(2)).then(
  (code) => process.exit(code),
  (error: unknown) => {
    console.error(error instanceof Error ? error.message : String(error));
    process.exit(1);
  },
);
