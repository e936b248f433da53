/* The public portal API (/api/v1/), as docs/api.md describes it: session cookie + CSRF header. */

const BASE = "/api/v1/";
let csrfToken = null;

/** An answer of the API that is not a success: its status, its errors and whatever else it carried. */
export class ApiError extends Error {
  constructor(status, body, retryAfter) {
    super("HTTP " + status);
    this.status = status;
    this.body = body || {};
    this.errors = (body && body.errors) || [];
    this.retryAfter = retryAfter;
  }
}

/** The network could not be reached (no signal, server down): the request may be tried again later. */
export class Offline extends Error {}

async function csrf() {
  if (!csrfToken) {
    const body = await request("GET", "auth/csrf/");
    csrfToken = body.csrf_token;
  }
  return csrfToken;
}

export function forgetCsrf() {
  csrfToken = null;
}

export async function request(method, path, body, headers) {
  const init = { method: method, credentials: "same-origin", headers: Object.assign({ Accept: "application/json" }, headers) };
  if (method !== "GET") {
    init.headers["Content-Type"] = "application/json";
    init.headers["X-CSRFToken"] = await csrf();
    init.body = JSON.stringify(body || {});
  }
  let response;
  try {
    response = await fetch(BASE + path, init);
  } catch (error) {
    throw new Offline(String(error));
  }
  let data = null;
  if (response.status !== 204) {
    try {
      data = await response.json();
    } catch (error) {
      data = null;
    }
  }
  if (!response.ok) {
    const retry = response.headers.get("Retry-After");
    throw new ApiError(response.status, data, retry === null ? null : Number(retry));
  }
  return data;
}

export const get = (path) => request("GET", path);
export const post = (path, body, headers) => request("POST", path, body, headers);

/** Log in with the session: a fresh CSRF token first (login rotates it, so it is fetched again after). */
export async function login(email, password) {
  forgetCsrf();
  await post("auth/login/", { email: email, password: password });
  forgetCsrf();
}

export async function logout() {
  try {
    await post("auth/logout/");
  } finally {
    forgetCsrf();
  }
}
