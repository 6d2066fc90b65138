// Preload (node --import) that adds fixed HTTP headers to every request the
// conformance CLI sends to the server under test.
//
// Why: `@modelcontextprotocol/conformance` (0.1.16 and 0.2.0 alphas) has no option
// to send extra headers, but a gateway needs a bearer token. The CLI talks HTTP
// through Node's fetch (SDK transport, raw probes) and undici's request()
// (Host-header probes), which share the undici global dispatcher (one
// interceptor covers both), and node:http request() for malformed-header
// probes, which is wrapped here.
//
// Env: MSPLEX_CONFORMANCE_HEADERS  JSON object of headers to add
//      MSPLEX_CONFORMANCE_ORIGIN   only requests to this origin get them (no token leaks)
//      MSPLEX_CONFORMANCE_UNDICI   path to the undici package the CLI itself uses
// A header the request already sets (any case) is left alone.
import http from 'node:http';
import { createRequire } from 'node:module';

const extra = JSON.parse(process.env.MSPLEX_CONFORMANCE_HEADERS || '{}');
const origin = process.env.MSPLEX_CONFORMANCE_ORIGIN || '';
const undiciPath = process.env.MSPLEX_CONFORMANCE_UNDICI;
if (!origin || !undiciPath) {
  throw new Error('inject_headers.mjs needs MSPLEX_CONFORMANCE_ORIGIN and MSPLEX_CONFORMANCE_UNDICI');
}
const { Agent, setGlobalDispatcher } = createRequire(import.meta.url)(undiciPath);

function withExtra(headers) {
  const out = [];
  if (Array.isArray(headers)) {
    out.push(...headers.map(String));
  } else if (headers && typeof headers[Symbol.iterator] === 'function') {
    for (const [k, v] of headers) out.push(String(k), String(v));
  } else if (headers) {
    for (const [k, v] of Object.entries(headers)) {
      for (const one of Array.isArray(v) ? v : [v]) out.push(k, String(one));
    }
  }
  const present = new Set(out.filter((_, i) => i % 2 === 0).map((k) => k.toLowerCase()));
  for (const [k, v] of Object.entries(extra)) {
    if (!present.has(k.toLowerCase())) out.push(k, String(v));
  }
  return out;
}

const inject = (dispatch) => (opts, handler) => {
  const target = typeof opts.origin === 'string' ? opts.origin : opts.origin?.origin;
  if (target && new URL(target).origin === origin) {
    return dispatch({ ...opts, headers: withExtra(opts.headers) }, handler);
  }
  return dispatch(opts, handler);
};

setGlobalDispatcher(new Agent().compose(inject));

const plainRequest = http.request;
http.request = function request(options, ...rest) {
  if (options && typeof options === 'object' && !(options instanceof URL)) {
    const host = options.hostname ?? options.host;
    const scheme = options.protocol ?? 'http:';
    if (host && new URL(`${scheme}//${host}:${options.port ?? 80}`).origin === origin) {
      const merged = Object.fromEntries(
        Object.entries(extra).filter(([k]) => !Object.keys(options.headers ?? {}).some((h) => h.toLowerCase() === k.toLowerCase())),
      );
      options = { ...options, headers: { ...(options.headers ?? {}), ...merged } };
    }
  }
  return plainRequest.call(this, options, ...rest);
};
