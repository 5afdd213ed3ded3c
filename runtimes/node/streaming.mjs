// Lambda response streaming, as Lambda's node runtime offers it: the global `awslambda` with
// streamifyResponse(handler) and HttpResponseStream.from(stream, {statusCode, headers,
// cookies}). A streamified handler is called as handler(event, responseStream, context); each
// write goes to the caller at once, as a chunk of a chunked HTTP/1.1 body. Importing this
// module installs the global (the wrapper imports it before the user's module is loaded).

import { Writable } from 'node:stream';
import { invalidResponse } from './common.mjs';

const STREAMING = Symbol.for('aws.lambda.runtime.handler.streaming');
const DEFAULT_TYPE = 'application/octet-stream';
const DROPPED = new Set(['content-length', 'transfer-encoding', 'connection', 'keep-alive', 'x-request-id']);

/** Whether `fn` was wrapped by awslambda.streamifyResponse. */
export const isStreaming = (fn) => fn?.[STREAMING] === 'response';

/** The responseStream a streamified handler writes to: a Writable over the HTTP response
 * whose head (status, headers) goes out before the first chunk. */
class ResponseStream extends Writable {
  constructor(res, requestId) {
    super();
    this.res = res;
    this.requestId = requestId;
    this.prelude = null;
    this.contentType = DEFAULT_TYPE;
  }

  setContentType(type) {
    this.contentType = String(type);
  }

  setPrelude(prelude) {
    if (this.res.headersSent) throw invalidResponse('HttpResponseStream.from must come before the first write');
    this.prelude = prelude ?? {};
  }

  commit() {
    if (this.res.headersSent) return;
    const { statusCode = 200, headers = {}, cookies = [] } = this.prelude ?? {};
    const status = Number(statusCode);
    if (!Number.isInteger(status) || status < 100 || status > 599) {
      throw invalidResponse(`statusCode must be an HTTP status, got ${JSON.stringify(statusCode)}`);
    }
    const named = Object.entries(headers ?? {}).filter(([name]) => !DROPPED.has(name.toLowerCase()));
    if (!named.some(([name]) => name.toLowerCase() === 'content-type')) named.push(['content-type', this.contentType]);
    for (const [name, value] of named) this.res.setHeader(name, String(value));
    if (cookies.length) this.res.setHeader('set-cookie', cookies.map(String));
    this.res.setHeader('x-request-id', this.requestId);
    this.res.writeHead(status);
    this.res.flushHeaders();
  }

  _write(chunk, encoding, done) {
    try {
      this.commit();
    } catch (err) {
      done(err);
      return;
    }
    if (this.res.write(chunk)) done();
    else this.res.once('drain', () => done());
  }

  _final(done) {
    try {
      this.commit();
    } catch (err) {
      done(err);
      return;
    }
    this.res.end(() => done());
  }
}

globalThis.awslambda ??= {
  streamifyResponse(handler) {
    const streamed = (event, responseStream, context) => handler(event, responseStream, context);
    streamed[STREAMING] = 'response';
    return streamed;
  },
  HttpResponseStream: {
    from(stream, prelude) {
      stream.setPrelude(prelude);
      return stream;
    },
  },
};

function finished(stream) {
  return new Promise((resolve, reject) => {
    if (stream.writableFinished) resolve();
    stream.once('finish', resolve);
    stream.once('error', reject);
  });
}

/** A reply the wrapper streams: `stream(res)` runs the handler writing to `res`, and settles
 * once the handler has settled and the body has ended (ended for it if it did not). */
export function streamingReply(fn, event, context, requestId) {
  return {
    stream: async (res) => {
      const responseStream = new ResponseStream(res, requestId);
      const done = finished(responseStream);
      done.catch(() => {}); // a failed stream also fails the handler: that error is reported
      await fn(event, responseStream, context);
      if (!responseStream.writableEnded) responseStream.end();
      await done;
    },
  };
}
