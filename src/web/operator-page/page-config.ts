/**
 * What the demo server hands the operator page (`GET /config.json`): where the main app is, and
 * the refresh tokens of the two demo users (made with the admin SDK's `auth.createToken`, as an
 * app's own server would after its sign-in). Never an admin token.
 */
export interface OperatorPageConfig {
  /** The main app's id. */
  readonly appId: string;
  /** The sandbox's URL: `apiURI` of `init`. */
  readonly apiURI: string;
  /** The sandbox's client WebSocket: `websocketURI` of `init`. */
  readonly websocketURI: string;
  /** The users one may sign in as. */
  readonly users: readonly DemoUser[];
  /** The daemon's live page, when it serves one. */
  readonly livePageUrl: string | null;
}

/** A demo user and their refresh token. */
export interface DemoUser {
  readonly name: string;
  readonly email: string;
  readonly token: string;
}
