// What every tests/js script reads from its environment (set by tests/e2e/conftest.py).

/** The value of environment variable `name`; throws if it is unset or empty. */
export function requireEnv(name) {
  const value = process.env[name];
  if (!value) {
    throw new Error(`${name} is not set`);
  }
  return value;
}
