// The original convention: an Express-style handler(req, res) exported as the module's default.
// Only the commonly used part of Express's request/response API is provided; no dependency on
// Express itself. The invocation ends when the response is sent (json/send/end/sendStatus),
// which may be after the handler returned. An async handler that resolves with a value other
// than undefined without sending is answered with that value as JSON.

import { STATUS_CODES } from 'node:http';
import { JSON_TYPE, InvokeError, fromThrown, invalidResponse } from './common.mjs';

const SHORT_TYPES = {
  json: JSON_TYPE, html: 'text/html', text: 'text/plain', txt: 'text/plain', xml: 'application/xml',
  bin: 'application/octet-stream',
};

function parseQuery(raw) {
  const query = {};
  for (const [key, value] of new URLSearchParams(raw)) {
    if (!(key in query)) query[key] = value;
    else if (Array.isArray(query[key])) query[key].push(value);
    else query[key] = [query[key], value];
  }
  return query;
}

/** req.body as Express' json/urlencoded/text parsers would leave it. */
function parseBody(body, contentType) {
  if (!body.length) return {};
  const media = (contentType || '').split(';', 1)[0].trim().toLowerCase();
  const text = body.toString('utf8');
  if (media === JSON_TYPE || media.endsWith('+json')) {
    try {
      return JSON.parse(text);
    } catch (err) {
      const message = `request body is not valid JSON: ${err.message}`;
      throw new InvokeError('InvalidRequestContent', message, undefined, 400);
    }
  }
  if (media === 'application/x-www-form-urlencoded') return parseQuery(text);
  return text;
}

export function makeRequest(r) {
  const headers = r.headers;
  const get = (name) => headers[String(name).toLowerCase()];
  return {
    method: r.method,
    path: r.path,
    url: r.query ? `${r.path}?${r.query}` : r.path,
    originalUrl: r.originalUrl,
    query: parseQuery(r.query),
    params: {},
    headers,
    body: parseBody(r.body, headers['content-type']),
    rawBody: r.body,
    ip: r.sourceIp,
    hostname: (headers.host || '').replace(/:\d+$/, ''),
    protocol: headers['x-forwarded-proto'] || 'http',
    get,
    header: get,
  };
}

/** The `res` object; `done(reply)` / `fail(error)` settle the invocation exactly once. */
export class Response {
  #headers = new Map();
  #done;
  #fail;

  constructor(done, fail) {
    this.statusCode = 200;
    this.headersSent = false;
    this.#done = done;
    this.#fail = fail;
  }

  status(code) { this.statusCode = code; return this; }

  set(name, value) {
    if (typeof name === 'object') {
      for (const [k, v] of Object.entries(name)) this.set(k, v);
    } else {
      this.#headers.set(name.toLowerCase(), [name, Array.isArray(value) ? value.map(String) : String(value)]);
    }
    return this;
  }

  header(name, value) { return this.set(name, value); }

  setHeader(name, value) { return this.set(name, value); }

  get(name) { return this.#headers.get(String(name).toLowerCase())?.[1]; }

  getHeader(name) { return this.get(name); }

  removeHeader(name) { this.#headers.delete(String(name).toLowerCase()); return this; }

  append(name, value) {
    const old = this.get(name);
    const added = Array.isArray(value) ? value : [value];
    return this.set(name, old === undefined ? added : [old, ...added].flat());
  }

  type(value) { return this.set('Content-Type', SHORT_TYPES[value] ?? value); }

  json(value) {
    let text;
    try {
      text = JSON.stringify(value);
    } catch (err) {
      this.#finishWithError(invalidResponse(`res.json: value is not JSON-serializable: ${err.message}`));
      return this;
    }
    if (this.get('content-type') === undefined) this.type('json');
    return this.#finish(text ?? '');
  }

  send(value) {
    if (Buffer.isBuffer(value) || value instanceof Uint8Array) {
      if (this.get('content-type') === undefined) this.type('bin');
      return this.#finish(Buffer.from(value));
    }
    if (typeof value === 'string') {
      if (this.get('content-type') === undefined) this.set('Content-Type', 'text/html; charset=utf-8');
      return this.#finish(value);
    }
    return value === undefined ? this.#finish('') : this.json(value);
  }

  end(value) { return this.#finish(value ?? ''); }

  sendStatus(code) { return this.status(code).type('text').send(STATUS_CODES[code] ?? String(code)); }

  redirect(statusOrUrl, url) {
    const [code, location] = url === undefined ? [302, statusOrUrl] : [statusOrUrl, url];
    return this.status(code).set('Location', location).end();
  }

  #finishWithError(error) {
    this.headersSent = true;
    this.#fail(error);
  }

  #finish(body) {
    if (this.headersSent) throw new Error('Cannot send a response twice');
    const status = Number(this.statusCode);
    if (!Number.isInteger(status) || status < 100 || status > 599) {
      this.#finishWithError(invalidResponse(`status must be an HTTP status, got ${JSON.stringify(this.statusCode)}`));
      return this;
    }
    this.headersSent = true;
    const headers = [];
    for (const [name, value] of this.#headers.values()) {
      for (const v of Array.isArray(value) ? value : [value]) headers.push([name, v]);
    }
    this.#done({ status, headers, body: Buffer.isBuffer(body) ? body : Buffer.from(String(body)) });
    return this;
  }
}

/** Bind an Express-style handler (see the module comment for when an invocation ends). */
export function makeOriginalInvoker(fn) {
  return (request) => new Promise((resolve, reject) => {
    const res = new Response(resolve, reject);
    const fail = (err) => { if (!res.headersSent) reject(fromThrown(err)); };
    let out;
    try {
      out = fn(makeRequest(request), res);
    } catch (err) {
      fail(err);
      return;
    }
    const answer = (value) => {
      if (value !== undefined && value !== res && !res.headersSent) res.json(value);
    };
    if (out !== null && typeof out?.then === 'function') out.then(answer, fail);
    else answer(out);
  });
}
