/** Who a token is for: the hub may issue per-driver tokens, so the provider is told which driver asks. */
export type TokenSubject = { role: 'driver'; driverId: number } | { role: 'rider'; riderIndex: number };

/**
 * Called before every connection attempt rather than once, so short-lived
 * tokens are refreshed across reconnects. Undefined means connect without one.
 */
export type TokenProvider = (subject: TokenSubject) => Promise<string | undefined> | string | undefined;

/**
 * Builds `<hub>/ws/<role>?...` keeping any path prefix of the hub URL, so a
 * hub mounted behind a proxy at ws://host/dispatch still works.
 */
export function hubSocketUrl(hubUrl: string, role: 'driver' | 'rider', params: Record<string, string | number | undefined>): string {
  const url = new URL(hubUrl);
  url.pathname = `${url.pathname.replace(/\/+$/, '')}/ws/${role}`;
  url.search = '';
  for (const [name, value] of Object.entries(params)) {
    if (value !== undefined) url.searchParams.set(name, String(value));
  }
  return url.toString();
}
