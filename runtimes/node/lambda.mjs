// The AWS Lambda convention: handler(event, context[, callback]) with a Function URL (v2.0)
// event, or the REST API's payload 1.0 event, routed by the function's route templates
// (gateway.mjs). Async functions, promise-returning functions and callback(err, result) style
// all work, so existing Lambda functions run unchanged; so do streamified handlers
// (awslambda.streamifyResponse, streaming.mjs), whose replies are streamed.

import { JSON_TYPE, fromThrown, invalidResponse, isText } from './common.mjs';
import {
  ACCOUNT_ID, DEFAULT_ROUTE, buildV1Event, eventOptions, gatewayTime, matchRoute, notFoundReply,
  v1Headers,
} from './gateway.mjs';
import { isStreaming, streamingReply } from './streaming.mjs';

/** Headers lower-cased and comma-joined; Cookie headers become the `cookies` array. */
function splitHeaders(rawHeaders) {
  const headers = {};
  const cookies = [];
  for (let i = 0; i < rawHeaders.length; i += 2) {
    const key = rawHeaders[i].toLowerCase();
    const value = rawHeaders[i + 1];
    if (key === 'cookie') {
      cookies.push(...value.split(';').map((c) => c.trim()).filter(Boolean));
    } else {
      headers[key] = key in headers ? `${headers[key]},${value}` : value;
    }
  }
  return { headers, cookies };
}

function queryParameters(raw) {
  const params = {};
  for (const [key, value] of new URLSearchParams(raw)) {
    params[key] = key in params ? `${params[key]},${value}` : value;
  }
  return params;
}

/** The API Gateway HTTP API v2 / Function URL event for one request; `route` is the route
 * template it matched ($default when absent). */
export function buildEvent(req, cfg, route = null) {
  const { headers, cookies } = splitHeaders(req.rawHeaders);
  const now = new Date();
  const host = headers.host || 'localhost';
  const routeKey = route?.key ?? DEFAULT_ROUTE;
  const event = {
    version: '2.0',
    routeKey,
    rawPath: req.path,
    rawQueryString: req.query,
    headers,
    requestContext: {
      accountId: ACCOUNT_ID,
      apiId: cfg.key || cfg.name,
      domainName: host,
      domainPrefix: host.split('.', 1)[0],
      http: {
        method: req.method,
        path: req.path,
        protocol: req.protocol,
        sourceIp: req.sourceIp,
        userAgent: headers['user-agent'] || '',
      },
      requestId: req.requestId,
      routeKey,
      stage: '$default',
      time: gatewayTime(now),
      timeEpoch: now.getTime(),
    },
    isBase64Encoded: false,
  };
  if (cookies.length) event.cookies = cookies;
  if (route?.parameters) event.pathParameters = route.parameters;
  const query = queryParameters(req.query);
  if (Object.keys(query).length) event.queryStringParameters = query;
  if (req.body.length) {
    const text = isText(headers['content-type'], req.body);
    event.body = req.body.toString(text ? 'utf8' : 'base64');
    event.isBase64Encoded = !text;
  }
  return event;
}

/** The context argument, with the property names of the node Lambda runtime. */
export function makeContext(req, cfg, finish) {
  const deadline = performance.now() + cfg.timeoutMs;
  return {
    awsRequestId: req.requestId,
    functionName: cfg.name,
    functionVersion: cfg.version,
    memoryLimitInMB: String(cfg.memoryMb),
    invokedFunctionArn: `arn:aws:lambda:${cfg.region}:${ACCOUNT_ID}:function:${cfg.name}`,
    logGroupName: cfg.logGroup,
    logStreamName: cfg.logStream,
    identity: undefined,
    clientContext: undefined,
    callbackWaitsForEmptyEventLoop: true,
    getRemainingTimeInMillis: () => Math.max(0, Math.floor(deadline - performance.now())),
    succeed: (result) => finish(null, result),
    fail: (err) => finish(err ?? new Error('context.fail called'), undefined),
    done: (err, result) => finish(err, result),
  };
}

function resultHeaders(raw) {
  if (raw == null) return [];
  if (typeof raw !== 'object' || Array.isArray(raw)) {
    throw invalidResponse('headers must be an object of name -> value');
  }
  return Object.entries(raw).map(([name, value]) => {
    if (!['string', 'number', 'boolean'].includes(typeof value)) {
      throw invalidResponse(`header ${JSON.stringify(name)} must have a scalar value`);
    }
    return [name, String(value)];
  });
}

function resultBody(body, isBase64) {
  if (body == null) return Buffer.alloc(0);
  if (typeof body !== 'string') {
    throw invalidResponse(`body must be a string, got ${typeof body} (JSON.stringify it)`);
  }
  if (!isBase64) return Buffer.from(body);
  if (!/^[A-Za-z0-9+/]*={0,2}$/.test(body) || body.length % 4 !== 0) {
    throw invalidResponse('body is not valid base64');
  }
  return Buffer.from(body, 'base64');
}

function v2Headers(result) {
  const headers = resultHeaders(result.headers);
  const cookies = result.cookies ?? [];
  if (!Array.isArray(cookies) || !cookies.every((c) => typeof c === 'string')) {
    throw invalidResponse('cookies must be an array of strings');
  }
  for (const cookie of cookies) headers.push(['set-cookie', cookie]);
  return headers;
}

/** Turn a handler's result into a reply: {statusCode, ...} as given; in 2.0 anything else as
 * JSON (1.0 infers nothing: anything else is an InvalidResponse). */
export function toReply(result, eventFormat = '2.0') {
  const structured = result !== null && typeof result === 'object' && 'statusCode' in result;
  if (eventFormat === '1.0' && !structured) {
    throw invalidResponse('a payload 1.0 result must be an object with statusCode (and headers, body)');
  }
  if (structured) {
    const status = Number(result.statusCode);
    if (!Number.isInteger(status) || status < 100 || status > 599) {
      throw invalidResponse(`statusCode must be an HTTP status, got ${JSON.stringify(result.statusCode)}`);
    }
    const headers = eventFormat === '1.0' ? v1Headers(result) : v2Headers(result);
    if (!headers.some(([n]) => n.toLowerCase() === 'content-type')) headers.push(['content-type', JSON_TYPE]);
    return { status, headers, body: resultBody(result.body, Boolean(result.isBase64Encoded)) };
  }
  let text;
  try {
    text = JSON.stringify(result === undefined ? null : result);
  } catch (err) {
    throw invalidResponse(`the result is not JSON-serializable: ${err.message}`);
  }
  return { status: 200, headers: [['content-type', JSON_TYPE]], body: Buffer.from(text) };
}

/**
 * Call a Lambda-style handler. The invocation ends with the first of: the returned promise
 * settling, callback()/context.done() being called, or a sync handler that takes no callback
 * returning. A sync value other than undefined is used as the result.
 */
function call(fn, event, req, cfg) {
  return new Promise((resolve, reject) => {
    let settled = false;
    const finish = (err, result) => {
      if (settled) return;
      settled = true;
      if (err != null) reject(fromThrown(err));
      else resolve(result);
    };
    const context = makeContext(req, cfg, finish);
    let out;
    try {
      out = fn(event, context, finish);
    } catch (err) {
      settled = true;
      reject(fromThrown(err));
      return;
    }
    if (out !== null && typeof out?.then === 'function') {
      out.then((value) => finish(null, value), (err) => finish(err ?? new Error('rejected'), undefined));
    } else if (out !== undefined) {
      finish(null, out);
    } else if (fn.length < 3) {
      finish(null, undefined);
    }
  });
}

/**
 * Bind a Lambda-style handler with the event options the platform set (a bad one is a
 * HandlerLoadError): route the request (404 when no route matches, the handler not called),
 * build its event, and turn the result into a reply — or, for a streamified handler, a reply
 * the wrapper streams (`{ stream(res) }`).
 */
export function makeLambdaInvoker(fn, cfg) {
  const { eventFormat, routes } = eventOptions();
  const streaming = isStreaming(fn);
  return async (req) => {
    const route = matchRoute(routes, req.method, req.path);
    if (!route) return notFoundReply();
    const event = eventFormat === '1.0' ? buildV1Event(req, cfg, route) : buildEvent(req, cfg, route);
    if (streaming) {
      const context = makeContext(req, cfg, () => {});
      return streamingReply(fn, event, context, req.requestId);
    }
    return toReply(await call(fn, event, req, cfg), eventFormat);
  };
}
