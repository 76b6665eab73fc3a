// HTTP calls to the deepserve API, relative to this page so that any base path works.

const TOKEN_KEY = "deepserve.token";

/** The access token typed in the page (kept in sessionStorage), or "". */
export function token() {
  return sessionStorage.getItem(TOKEN_KEY) || "";
}

/** Remember the access token sent as `Authorization: Bearer <token>`. */
export function setToken(value) {
  if (value) sessionStorage.setItem(TOKEN_KEY, value);
  else sessionStorage.removeItem(TOKEN_KEY);
}

/** `fetch` with the access token; a network failure becomes an ApiError. */
export async function request(url, options = {}) {
  const headers = new Headers(options.headers || {});
  if (token()) headers.set("Authorization", `Bearer ${token()}`);
  try {
    return await fetch(url, { ...options, headers });
  } catch (error) {
    throw new ApiError(`The server could not be reached (${error.message}).`, 0);
  }
}

/** An error answer of the API: its message, status and per-argument errors. */
export class ApiError extends Error {
  constructor(message, status, errors = null) {
    super(message);
    this.status = status;
    this.errors = errors;
  }
}

/** Throw an ApiError for a response that is not 2xx, read from the JSON error envelope. */
export async function check(response) {
  if (response.ok) return response;
  let body = {};
  try {
    body = await response.json();
  } catch {
    // not JSON: keep the status text
  }
  let message = body.message || `${response.status} ${response.statusText}`;
  if (response.status === 401 || response.status === 403) {
    message += " (set an access token at the top of the page)";
  }
  throw new ApiError(message, response.status, body.errors || null);
}

/** GET a JSON document; throws ApiError when the answer is an error. */
export async function getJSON(url) {
  const response = await check(await request(url, { headers: { Accept: "application/json" } }));
  return response.json();
}

/** The server's Swagger spec, model list and the models that failed to load (name -> reason,
 * from the readiness probe, which answers 503 while a model warms), fetched once per page. */
export async function loadServer() {
  const [spec, listing, readiness] = await Promise.all([
    getJSON("../swagger.json"),
    getJSON("../v2/models/"),
    request("../v2/health/ready", { headers: { Accept: "application/json" } }),
  ]);
  const rejected = readiness.status === 200 || readiness.status === 503 ? await readiness.json() : {};
  return { spec, models: listing.models, rejected: rejected.rejected || {} };
}

/** The URL of a link relation in a `links` list, or null. */
export function linkTo(links, rel) {
  const found = (links || []).find((link) => link.rel === rel);
  return found ? found.href : null;
}

/**
 * The Swagger operation answering `method` at `href`: the longest spec path that ends `href`
 * (links include the base path the server is mounted at; spec paths do not, and the spec's
 * `basePath` is the one of whichever request built it first).
 */
export function operation(spec, href, method) {
  const paths = Object.keys(spec.paths).filter((path) => href && href.endsWith(path));
  const longest = paths.sort((a, b) => b.length - a.length)[0];
  return longest ? spec.paths[longest][method] || null : null;
}

/** Resolve a Swagger `$ref` to `#/definitions/...` (other schemas are returned as they are). */
export function resolve(spec, schema) {
  const ref = schema && schema.$ref;
  if (!ref || !ref.startsWith("#/definitions/")) return schema || null;
  return spec.definitions[ref.slice("#/definitions/".length)] || null;
}
