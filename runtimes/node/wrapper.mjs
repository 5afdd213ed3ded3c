// lambdaclone's node runtime wrapper: serve one user handler over HTTP/1.1 with node:http.
//
// Configured only by environment variables (see runtimes/README.md); the same file runs as a
// local process and inside the container image. No third-party dependencies. The server starts
// listening while the handler loads; requests wait for the load to finish.

import { randomUUID } from 'node:crypto';
import { rmSync } from 'node:fs';
import http from 'node:http';
import {
  HEALTH_PATH, InvokeError, emit, errorLogLine, errorReply, fromThrown, functionErrorReply,
  jsonReply, readConfig,
} from './common.mjs';
import { loadInvoker } from './loader.mjs';
import './streaming.mjs'; // installs the global `awslambda` before the user's module loads

const cfg = readConfig();
// LAMBDA_SOCKET: serve on this Unix socket instead of HOST:PORT (runtimes/contract.py).
const socketPath = process.env.LAMBDA_SOCKET || '';
if (!socketPath && !(cfg.port >= 0 && cfg.port <= 65535)) {
  emit('err', 'lambdaclone wrapper: PORT must be set to a TCP port number');
  process.exit(2);
}
// Resolves to { invoker, convention } or { failure }; never rejects.
const loaded = loadInvoker(cfg).then(
  (bound) => bound,
  (err) => {
    const failure = err instanceof InvokeError ? err : new InvokeError('HandlerLoadError', String(err?.message ?? err));
    emit('err', `[ERROR] HandlerLoadError: ${failure.message}`);
    return { failure };
  },
);

function stripPrefix(path) {
  const prefix = cfg.pathPrefix;
  if (prefix && (path === prefix || path.startsWith(`${prefix}/`))) return path.slice(prefix.length) || '/';
  return path;
}

function readBody(req) {
  return new Promise((resolve, reject) => {
    const chunks = [];
    req.on('data', (chunk) => chunks.push(chunk));
    req.on('end', () => resolve(Buffer.concat(chunks)));
    req.on('error', reject);
  });
}

function report(requestId, startedAt) {
  const ms = performance.now() - startedAt;
  const maxMb = Math.round(process.resourceUsage().maxRSS / 1024);
  emit('out', `END RequestId: ${requestId}`);
  emit('out', `REPORT RequestId: ${requestId}\tDuration: ${ms.toFixed(2)} ms\t`
    + `Billed Duration: ${Math.max(1, Math.ceil(ms))} ms\tMemory Size: ${cfg.memoryMb} MB\t`
    + `Max Memory Used: ${maxMb} MB`);
}

async function invoke(state, request) {
  if (state.failure) return errorReply(state.failure);
  try {
    return await state.invoker(request);
  } catch (thrown) {
    // Process boundary: whatever the user's handler threw must become a 500, not a crash.
    const error = fromThrown(thrown);
    if (state.convention === 'lambda') {
      // As a Function URL: 502 and a generic body to the caller, the details to the log.
      emit('err', errorLogLine(error, request.requestId));
      return functionErrorReply();
    }
    emit('err', `[ERROR] RequestId: ${request.requestId} ${error.errorType}: ${error.message}`);
    if (error.stackTrace?.length) emit('err', error.stackTrace.join('\n'));
    return errorReply(error);
  }
}

function send(res, reply, requestId) {
  const grouped = new Map();
  for (const [name, value] of reply.headers) {
    const key = name.toLowerCase();
    if (['content-length', 'transfer-encoding', 'connection', 'keep-alive', 'x-request-id'].includes(key)) continue;
    grouped.set(key, [...(grouped.get(key) ?? []), value]);
  }
  try {
    for (const [name, values] of grouped) res.setHeader(name, values.length === 1 ? values[0] : values);
  } catch (err) {
    for (const name of res.getHeaderNames()) res.removeHeader(name);
    send(res, errorReply(new InvokeError('InvalidResponse', `bad response header: ${err.message}`)), requestId);
    return;
  }
  if (requestId) res.setHeader('x-request-id', requestId);
  res.setHeader('content-length', reply.body.length);
  res.writeHead(reply.status);
  res.end(res.req.method === 'HEAD' ? undefined : reply.body);
}

async function onRequest(req, res) {
  const [target, query = ''] = req.url.split(/\?(.*)/s, 2);
  const path = stripPrefix(target);
  if (path === HEALTH_PATH) {
    const state = await loaded;
    const ok = () => jsonReply(200, { status: 'ok', convention: state.convention });
    send(res, state.failure ? errorReply(state.failure) : ok(), '');
    return;
  }
  const body = await readBody(req);
  const requestId = req.headers['x-request-id'] || randomUUID();
  // The last X-Forwarded-For hop is the one the platform in front of us added (the control
  // plane's proxy, or the load balancer); earlier hops are the caller's claims.
  const hops = (req.headers['x-forwarded-for'] ?? '').split(',').map((h) => h.trim()).filter(Boolean);
  const request = {
    method: req.method,
    path,
    query,
    originalUrl: req.url,
    headers: req.headers,
    rawHeaders: req.rawHeaders,
    body,
    sourceIp: hops.length ? hops[hops.length - 1] : (req.socket.remoteAddress ?? '127.0.0.1'),
    requestId,
    protocol: `HTTP/${req.httpVersion}`,
  };
  const state = await loaded;
  emit('out', `START RequestId: ${requestId} Version: ${cfg.version}`);
  const startedAt = performance.now();
  const reply = await invoke(state, request);
  if (reply.stream) {
    await stream(res, reply, requestId);
    report(requestId, startedAt);
    return;
  }
  report(requestId, startedAt);
  send(res, reply, requestId);
}

/** A streamified handler's reply: its chunks go out as it writes them. A failure before the
 * first byte answers as a Function URL does (502); after it, the body is cut off. */
async function stream(res, reply, requestId) {
  try {
    await reply.stream(res);
  } catch (thrown) {
    // Process boundary: whatever the user's handler threw must not crash the wrapper.
    emit('err', errorLogLine(fromThrown(thrown), requestId));
    if (!res.headersSent) send(res, functionErrorReply(), requestId);
    else res.destroy();
  }
}

// Errors thrown outside any invocation (a timer, a stray promise) are logged, not fatal: the
// other requests this process is serving must not be dropped.
process.on('uncaughtException', (err) => emit('err', `[ERROR] Uncaught: ${err?.stack ?? err}`));
process.on('unhandledRejection', (err) => emit('err', `[ERROR] Unhandled rejection: ${err?.stack ?? err}`));
// As PID 1 in a container SIGTERM is ignored unless handled; exit promptly instead.
process.on('SIGTERM', () => process.exit(0));

const server = http.createServer({ noDelay: true, keepAlive: true }, (req, res) => {
  onRequest(req, res).catch((err) => {
    emit('err', `[ERROR] wrapper: ${err?.stack ?? err}`);
    if (!res.headersSent) send(res, errorReply(fromThrown(err)), '');
  });
});
server.keepAliveTimeout = 65_000; // longer than the control plane's and the ALB's idle timeouts
server.headersTimeout = 66_000;
if (socketPath) {
  rmSync(socketPath, { force: true }); // a previous worker's socket
  server.listen(socketPath);
} else {
  server.listen(cfg.port, cfg.host);
}
