// API Gateway's side of the Lambda convention: route templates and the REST API payload 1.0,
// the same rules as runtimes/python/gateway.py (one contract test runs both).
//
// LAMBDA_ROUTES (a JSON array of `GET /items/{id}`, `ANY /files/{proxy+}`, `$default`): the
// first route that matches gives the event its routeKey (2.0) or resource (1.0) and its
// pathParameters; a request no route matches is answered 404 {"message":"Not Found"} without
// calling the handler. LAMBDA_EVENT_FORMAT=1.0: the REST API event, and a result that must be
// {statusCode, headers, multiValueHeaders, body, isBase64Encoded} (nothing is inferred).

import { JSON_TYPE, invalidResponse, isText, loadError } from './common.mjs';

export const ACCOUNT_ID = '000000000000';
export const DEFAULT_ROUTE = '$default';
const EVENT_FORMATS = ['2.0', '1.0'];
const METHODS = ['ANY', 'GET', 'POST', 'PUT', 'PATCH', 'DELETE', 'HEAD', 'OPTIONS'];
const VARIABLE = /^\{([A-Za-z0-9_]+)(\+?)\}$/;
const IDENTITY_NULLS = [
  'accessKey', 'accountId', 'caller', 'cognitoAuthenticationProvider', 'cognitoAuthenticationType',
  'cognitoIdentityId', 'cognitoIdentityPoolId', 'principalOrgId', 'user', 'userArn',
];
const MONTHS = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec'];

const pad = (n) => String(n).padStart(2, '0');

/** API Gateway's time format: 21/Nov/2025:06:20:00 +0000 */
export function gatewayTime(d) {
  return `${pad(d.getUTCDate())}/${MONTHS[d.getUTCMonth()]}/${d.getUTCFullYear()}:`
    + `${pad(d.getUTCHours())}:${pad(d.getUTCMinutes())}:${pad(d.getUTCSeconds())} +0000`;
}

function parseRoute(text) {
  if (text === DEFAULT_ROUTE) return { key: text, method: '', path: '', segments: [] };
  const space = String(text).indexOf(' ');
  const method = String(text).slice(0, space);
  const path = String(text).slice(space + 1);
  if (space < 0 || !METHODS.includes(method) || !path.startsWith('/')) {
    throw loadError(`LAMBDA_ROUTES: ${JSON.stringify(text)} is not a route (GET /items/{id})`);
  }
  const segments = path === '/' ? [] : path.slice(1).split('/');
  segments.forEach((segment, i) => {
    const variable = VARIABLE.exec(segment);
    if (variable?.[2] && i !== segments.length - 1) {
      throw loadError(`LAMBDA_ROUTES: {${variable[1]}+} must be the path's last segment`);
    }
  });
  return { key: text, method, path, segments };
}

/** The event options the platform set; a bad value is a HandlerLoadError. */
export function eventOptions(env = process.env) {
  const eventFormat = env.LAMBDA_EVENT_FORMAT || '2.0';
  if (!EVENT_FORMATS.includes(eventFormat)) {
    throw loadError(`LAMBDA_EVENT_FORMAT must be one of ${EVENT_FORMATS.join(', ')}`);
  }
  let raw;
  try {
    raw = JSON.parse(env.LAMBDA_ROUTES || '[]');
  } catch (err) {
    throw loadError(`LAMBDA_ROUTES is not JSON: ${err.message}`);
  }
  return { eventFormat, routes: (Array.isArray(raw) ? raw : [raw]).map(parseRoute) };
}

function decode(text) {
  try {
    return decodeURIComponent(text);
  } catch {
    return text;
  }
}

function bind(template, segments) {
  const values = {};
  for (let i = 0; i < template.length; i += 1) {
    const variable = VARIABLE.exec(template[i]);
    if (variable?.[2]) {
      const rest = segments.slice(i);
      if (!rest.length || !rest.every(Boolean)) return null;
      values[variable[1]] = decode(rest.join('/'));
      return values;
    }
    if (i >= segments.length || !segments[i]) return null;
    if (variable) values[variable[1]] = decode(segments[i]);
    else if (template[i] !== segments[i]) return null;
  }
  return segments.length === template.length ? values : null;
}

/** The first route matching the method and raw path ($default without routes), or null. */
export function matchRoute(routes, method, path) {
  if (!routes.length) return { key: DEFAULT_ROUTE, resource: path, parameters: null };
  const segments = path === '/' ? [] : path.slice(1).split('/');
  for (const route of routes) {
    if (route.key === DEFAULT_ROUTE) return { key: DEFAULT_ROUTE, resource: path, parameters: null };
    if (route.method !== 'ANY' && route.method !== method) continue;
    const bound = bind(route.segments, segments);
    if (bound) {
      return { key: route.key, resource: route.path, parameters: Object.keys(bound).length ? bound : null };
    }
  }
  return null;
}

export function notFoundReply() {
  return { status: 404, headers: [['content-type', JSON_TYPE]], body: Buffer.from('{"message":"Not Found"}') };
}

/** The REST API (payload 1.0) proxy event for one request. */
export function buildV1Event(req, cfg, route) {
  const headers = {};
  const multiHeaders = {};
  for (let i = 0; i < req.rawHeaders.length; i += 2) {
    const key = req.rawHeaders[i].toLowerCase();
    headers[key] = req.rawHeaders[i + 1]; // the last value, as API Gateway 1.0 does
    (multiHeaders[key] ??= []).push(req.rawHeaders[i + 1]);
  }
  const query = {};
  const multiQuery = {};
  for (const [key, value] of new URLSearchParams(req.query)) {
    query[key] = value;
    (multiQuery[key] ??= []).push(value);
  }
  const now = new Date();
  const host = headers.host || 'localhost';
  const identity = Object.fromEntries(IDENTITY_NULLS.map((name) => [name, null]));
  Object.assign(identity, { sourceIp: req.sourceIp, userAgent: headers['user-agent'] || '' });
  const event = {
    version: '1.0',
    resource: route.resource,
    path: req.path,
    httpMethod: req.method,
    headers,
    multiValueHeaders: multiHeaders,
    queryStringParameters: Object.keys(query).length ? query : null,
    multiValueQueryStringParameters: Object.keys(multiQuery).length ? multiQuery : null,
    pathParameters: route.parameters,
    stageVariables: null,
    requestContext: {
      accountId: ACCOUNT_ID,
      apiId: cfg.key || cfg.name,
      domainName: host,
      domainPrefix: host.split('.', 1)[0],
      extendedRequestId: req.requestId,
      httpMethod: req.method,
      identity,
      path: req.path,
      protocol: req.protocol,
      requestId: req.requestId,
      requestTime: gatewayTime(now),
      requestTimeEpoch: now.getTime(),
      resourceId: null,
      resourcePath: route.resource,
      stage: '$default',
    },
    body: null,
    isBase64Encoded: false,
  };
  if (req.body.length) {
    const text = isText(headers['content-type'], req.body);
    event.body = req.body.toString(text ? 'utf8' : 'base64');
    event.isBase64Encoded = !text;
  }
  return event;
}

function scalar(name, value) {
  if (!['string', 'number', 'boolean'].includes(typeof value)) {
    throw invalidResponse(`header ${JSON.stringify(name)} must have a scalar value`);
  }
  return String(value);
}

/** headers and multiValueHeaders merged as API Gateway does: a name in both keeps only its
 * multiValueHeaders values. */
export function v1Headers(result) {
  const multi = result.multiValueHeaders ?? {};
  const single = result.headers ?? {};
  if (typeof multi !== 'object' || Array.isArray(multi) || typeof single !== 'object' || Array.isArray(single)) {
    throw invalidResponse('headers and multiValueHeaders must be objects');
  }
  const merged = [];
  for (const [name, values] of Object.entries(multi)) {
    if (!Array.isArray(values)) throw invalidResponse(`multiValueHeaders[${JSON.stringify(name)}] must be an array`);
    for (const value of values) merged.push([name, scalar(name, value)]);
  }
  const taken = new Set(Object.keys(multi).map((name) => name.toLowerCase()));
  for (const [name, value] of Object.entries(single)) {
    if (!taken.has(name.toLowerCase())) merged.push([name, scalar(name, value)]);
  }
  return merged;
}
