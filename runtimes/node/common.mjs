// Values shared by the node wrapper's two conventions: configuration, errors and replies.
// A reply is { status, headers: [[name, value], ...], body: Buffer } so that both conventions
// hand the HTTP server the same shape.

export const HEALTH_PATH = '/__lambdaclone/health';
export const JSON_TYPE = 'application/json';

const TEXT_TYPES = new Set([
  'application/json',
  'application/xml',
  'application/javascript',
  'application/x-www-form-urlencoded',
  'application/graphql',
]);

function intEnv(name, fallback) {
  const value = Number.parseInt(process.env[name] ?? '', 10);
  return Number.isFinite(value) ? value : fallback;
}

/** Everything read from the environment, once, at start. */
export function readConfig(env = process.env) {
  return {
    host: env.HOST || '127.0.0.1',
    port: intEnv('PORT', -1),
    codeDir: env.LAMBDA_CODE_DIR || '',
    handler: env.LAMBDA_HANDLER || 'handler.handler',
    pathPrefix: (env.LAMBDA_PATH_PREFIX || '').replace(/\/+$/, ''),
    convention: env.LAMBDA_CONVENTION || 'auto',
    name: env.LAMBDA_FUNCTION_NAME || 'function',
    key: env.LAMBDA_FUNCTION_KEY || '',
    version: env.LAMBDA_FUNCTION_VERSION || '$LATEST',
    memoryMb: intEnv('LAMBDA_MEMORY_MB', 128),
    timeoutMs: intEnv('LAMBDA_TIMEOUT_MS', 3000),
    region: env.AWS_REGION || 'us-east-1',
    logGroup: env.AWS_LAMBDA_LOG_GROUP_NAME || `/aws/lambda/${env.LAMBDA_FUNCTION_NAME || 'function'}`,
    logStream: env.AWS_LAMBDA_LOG_STREAM_NAME
      || `[${env.LAMBDA_FUNCTION_VERSION || '$LATEST'}]${env.LAMBDA_FUNCTION_KEY || ''}`,
  };
}

/** A failure with Lambda's error shape; `stack` is only present for user exceptions. */
export class InvokeError extends Error {
  constructor(errorType, message, stack, status = 500) {
    super(message);
    this.errorType = errorType;
    this.stackTrace = stack;
    this.status = status;
  }

  payload() {
    const body = { errorType: this.errorType, errorMessage: this.message };
    if (this.stackTrace) body.stackTrace = this.stackTrace;
    return body;
  }
}

export const loadError = (message) => new InvokeError('HandlerLoadError', message);
export const invalidResponse = (message) => new InvokeError('InvalidResponse', message);

/** Describe whatever a handler threw or rejected with, as Lambda's node runtime does. */
export function fromThrown(thrown) {
  if (thrown instanceof InvokeError) return thrown;
  if (thrown instanceof Error) {
    const lines = String(thrown.stack || '').split('\n').slice(1).map((l) => l.trim());
    return new InvokeError(thrown.name || 'Error', thrown.message, lines);
  }
  const message = typeof thrown === 'string' ? thrown : JSON.stringify(thrown) ?? String(thrown);
  return new InvokeError(typeof thrown === 'string' ? 'string' : 'Error', message, []);
}

export function jsonReply(status, value, extraHeaders = []) {
  const body = Buffer.from(JSON.stringify(value));
  return { status, headers: [['content-type', JSON_TYPE], ...extraHeaders], body };
}

export const FUNCTION_ERROR_HEADER = 'x-amz-function-error';

/** A Lambda-convention failure as a Function URL answers it: 502, a generic body and
 * X-Amz-Function-Error: Unhandled; the details go to the function's log only. */
export function functionErrorReply() {
  return jsonReply(502, { message: 'Internal Server Error' }, [[FUNCTION_ERROR_HEADER, 'Unhandled']]);
}

/** One JSON line in the shape of Lambda's JSON error log, for stderr. */
export function errorLogLine(error, requestId) {
  return JSON.stringify({
    timestamp: new Date().toISOString(),
    level: 'ERROR',
    requestId,
    errorType: error.errorType,
    errorMessage: error.message,
    stackTrace: error.stackTrace ?? [],
  });
}

/** 500 (or the error's status) with the error JSON; the extra header tells it from a user 500. */
export function errorReply(error) {
  return jsonReply(error.status, error.payload(), [['x-lambdaclone-error-type', error.errorType]]);
}

/** Whether a body travels as text in a Lambda event (otherwise it is base64). */
export function isText(contentType, body) {
  if (!contentType) {
    try {
      new TextDecoder('utf-8', { fatal: true }).decode(body);
      return true;
    } catch {
      return false;
    }
  }
  const media = contentType.split(';', 1)[0].trim().toLowerCase();
  return media.startsWith('text/') || TEXT_TYPES.has(media)
    || media.endsWith('+json') || media.endsWith('+xml');
}

/** Write one whole line (stdout/stderr writes to pipes and files are synchronous in node). */
export function emit(stream, line) {
  (stream === 'err' ? process.stderr : process.stdout).write(line.endsWith('\n') ? line : `${line}\n`);
}
