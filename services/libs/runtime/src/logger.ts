import { LoggerService } from '@nestjs/common';
import pino, { Logger } from 'pino';

/** Keys whose values never reach a log line, wherever they appear in a logged object. */
const REDACTED = ['authorization', 'token', 'password', 'secret', 'cookie'].flatMap((key) => [
  key,
  `*.${key}`,
  `*.*.${key}`,
]);

export function createLogger(
  service: string,
  {
    level = process.env['LOG_LEVEL'] ?? 'info',
    destination,
  }: { level?: string; destination?: pino.DestinationStream } = {},
): Logger {
  const options: pino.LoggerOptions = {
    level,
    base: { service },
    timestamp: pino.stdTimeFunctions.isoTime,
    formatters: { level: (label) => ({ level: label }) },
    redact: { paths: REDACTED, censor: '[redacted]' },
  };
  return destination ? pino(options, destination) : pino(options);
}

/** Nest's logger interface over pino: one JSON object per line, with Nest's context as `context`. */
export class JsonLogger implements LoggerService {
  constructor(private readonly logger: Logger) {}

  log(message: unknown, context?: string): void {
    this.write('info', message, context);
  }
  /** Nest calls error(message, context) or error(message, stack, context); a message may be an object of fields. */
  error(message: unknown, stackOrContext?: string, context?: string): void {
    const fields = {
      context: context ?? stackOrContext,
      ...(context && stackOrContext ? { stack: stackOrContext } : {}),
    };
    if (message instanceof Error) this.logger.error({ ...fields, stack: message.stack }, message.message);
    else if (typeof message === 'object' && message !== null) this.logger.error({ ...fields, ...message });
    else this.logger.error(fields, String(message));
  }
  warn(message: unknown, context?: string): void {
    this.write('warn', message, context);
  }
  debug(message: unknown, context?: string): void {
    this.write('debug', message, context);
  }
  verbose(message: unknown, context?: string): void {
    this.write('trace', message, context);
  }

  private write(level: 'info' | 'warn' | 'debug' | 'trace', message: unknown, context?: string): void {
    if (typeof message === 'object' && message !== null) this.logger[level]({ context, ...message });
    else this.logger[level]({ context }, String(message));
  }
}
