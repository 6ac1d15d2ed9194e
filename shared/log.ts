// JSON-lines logger. One object per line on stderr (or a given stream); the `event` field is stable and is
// what integration tests and operators' log pipelines match on (`noun.verb`, e.g. `node.joined`).
// A tiny writer rather than a logging library: we need synchronous writes (a CLI may exit right after
// logging) and no transports; pino with sync destinations would be the choice if that ever changes.
import { writeSync } from 'node:fs';

export type Level = 'debug' | 'info' | 'warn' | 'error';
const RANK: Record<Level, number> = { debug: 10, info: 20, warn: 30, error: 40 };

export interface Logger {
  debug(event: string, fields?: Record<string, unknown>): void;
  info(event: string, fields?: Record<string, unknown>): void;
  warn(event: string, fields?: Record<string, unknown>): void;
  error(event: string, fields?: Record<string, unknown>): void;
  child(fields: Record<string, unknown>): Logger;
}

// Errors are logged as name/message/code; stacks only at debug level, where they are worth their bulk.
function serializable(value: unknown, withStack: boolean): unknown {
  if (value instanceof Error) {
    const out: Record<string, unknown> = { name: value.name, message: value.message };
    if ('code' in value) out.code = (value as { code: unknown }).code;
    if (withStack && value.stack) out.stack = value.stack;
    if (value.cause !== undefined && withStack) out.cause = serializable(value.cause, withStack);
    return out;
  }
  if (value instanceof Date) return value.toISOString();
  return value;
}

export function createLogger(options: { fd?: number; level?: Level; base?: Record<string, unknown> } = {}): Logger {
  const fd = options.fd ?? 2;
  const min = RANK[options.level ?? 'info'];
  const base = options.base ?? {};
  const write = (level: Level, event: string, fields?: Record<string, unknown>) => {
    if (RANK[level] < min) return;
    const line: Record<string, unknown> = { time: new Date().toISOString(), level, event, ...base };
    for (const [k, v] of Object.entries(fields ?? {})) line[k] = serializable(v, min <= RANK.debug);
    try {
      writeSync(fd, JSON.stringify(line) + '\n');
    } catch {
      // A closed stderr (e.g. the parent went away) must never crash the CA.
    }
  };
  return {
    debug: (e, f) => write('debug', e, f),
    info: (e, f) => write('info', e, f),
    warn: (e, f) => write('warn', e, f),
    error: (e, f) => write('error', e, f),
    child: (fields) => createLogger({ fd, level: options.level, base: { ...base, ...fields } }),
  };
}

/** A logger that drops everything (unit tests). */
export const silentLogger: Logger = {
  debug() {},
  info() {},
  warn() {},
  error() {},
  child: () => silentLogger,
};
