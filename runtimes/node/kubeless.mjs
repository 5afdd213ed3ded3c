// Kubeless's convention: handler(event, context), whose return value is the response body.
//
// Kubeless functions must run unchanged, so this follows Kubeless's node runtime (Express with
// body-parser behind it):
// - event = { data, 'event-id', 'event-type', 'event-time', 'event-namespace',
//   extensions: { request, response } }. `data` is the parsed body for application/json, the
//   body as a utf-8 string otherwise, and {} when there is no body (body-parser's empty body).
//   The event-* values come from the request headers of those names; when one is absent,
//   lambdaclone fills in the request id, the content type, the invocation's time (RFC 3339, as
//   `kubeless function call` sends it) and 'lambdaclone' (Kubeless left them undefined).
//   `extensions.request` is an Express-style request whose `body` is the raw Buffer (Kubeless
//   parses with bodyParser.raw first); `extensions.response` is an Express-style response: a
//   function that sends through it answers itself and its return value is ignored.
// - context = { 'function-name', timeout (seconds), runtime, 'memory-limit' }.
// - The result (a value or a promise of one), as Kubeless finalizes it: a string is the body
//   as is, an object (arrays and null too) is JSON, undefined is an empty body, any other value
//   is JSON.stringify'd. Always status 200. A throw or a rejection is a 500 (the wrapper's
//   error JSON).
// The function is the export named by the handler (`module.exports = { f }`, handler
// `file.f`), or module.exports itself when it is a function, whatever the handler names.

import { JSON_TYPE, InvokeError, fromThrown } from './common.mjs';
import { Response, makeRequest } from './express.mjs';

const EVENT_NAMESPACE = 'lambdaclone';
const SHORT_TYPES = {
  json: JSON_TYPE, urlencoded: 'application/x-www-form-urlencoded', text: 'text/plain',
  html: 'text/html', multipart: 'multipart/*',
};

const mediaType = (contentType) => (contentType || '').split(';', 1)[0].trim().toLowerCase();

/** Express's req.is(...types): the first type the request's content type matches, or false. */
function typeIs(contentType, types) {
  const actual = mediaType(contentType);
  if (!actual) return false;
  const [major, minor] = actual.split('/');
  for (const given of types.flat()) {
    const wanted = String(SHORT_TYPES[given] ?? (given.includes('/') ? given : `*/${given}`)).toLowerCase();
    const [wMajor, wMinor] = wanted.split('/');
    const minorOk = wMinor === '*' || wMinor === minor || (wMinor.startsWith('*+') && minor.endsWith(wMinor.slice(1)));
    if ((wMajor === '*' || wMajor === major) && minorOk) return given;
  }
  return false;
}

/** event.data as Kubeless computes it from the raw body. */
function eventData(body, contentType) {
  if (!body.length || mediaType(contentType) === 'multipart/form-data') return {};
  const text = body.toString('utf8');
  if (!typeIs(contentType, ['application/json'])) return text;
  try {
    return JSON.parse(text);
  } catch (err) {
    throw new InvokeError('InvalidRequestContent', `request body is not valid JSON: ${err.message}`, undefined, 400);
  }
}

function kubelessRequest(request) {
  const req = makeRequest({ ...request, body: Buffer.alloc(0) });
  const contentType = request.headers['content-type'];
  req.body = request.body.length ? request.body : {};
  req.rawBody = request.body;
  req.is = (...types) => typeIs(contentType, types);
  return req;
}

function buildEvent(request, res) {
  const headers = request.headers;
  const data = eventData(request.body, headers['content-type']);
  return {
    'event-type': headers['event-type'] ?? headers['content-type'],
    'event-id': headers['event-id'] ?? request.requestId,
    'event-time': headers['event-time'] ?? new Date().toISOString().replace(/\.\d+Z$/, 'Z'),
    'event-namespace': headers['event-namespace'] ?? EVENT_NAMESPACE,
    data,
    extensions: { request: kubelessRequest(request), response: res },
  };
}

/** Send the handler's result unless the function already answered through the response. */
function finalize(res, result) {
  if (res.headersSent) return;
  if (typeof result === 'string') res.end(result);
  else if (typeof result === 'object') res.json(result);
  else if (result === undefined) res.end();
  else res.end(JSON.stringify(result) ?? '');
}

/** Bind a Kubeless handler; the context is the same for every call, as in Kubeless. */
export function makeKubelessInvoker(fn, cfg) {
  const context = {
    'function-name': cfg.name,
    timeout: cfg.timeoutMs / 1000,
    runtime: `nodejs${process.versions.node.split('.', 1)[0]}`,
    'memory-limit': `${cfg.memoryMb}Mi`,
  };
  return (request) => new Promise((resolve, reject) => {
    const res = new Response(resolve, reject);
    const fail = (err) => { if (!res.headersSent) reject(fromThrown(err)); };
    let out;
    try {
      out = fn(buildEvent(request, res), context);
    } catch (err) {
      fail(err);
      return;
    }
    Promise.resolve(out).then((value) => finalize(res, value)).catch(fail);
  });
}
