// The message of a failed admin request: the server answers `{code, message}`.

/** `response`'s JSON body if it is ok; otherwise throws an Error with the server's message. */
export async function jsonOrThrow(response) {
  let body = null;
  try {
    body = await response.json();
  } catch {
    body = null;
  }
  if (!response.ok) {
    const message = body && body.message ? body.message : `HTTP ${response.status}`;
    const error = new Error(message);
    error.code = body && body.code;
    throw error;
  }
  return body;
}

export const messageOf = (e) => (e && e.data && e.data.message) || (e && e.message) || String(e);
