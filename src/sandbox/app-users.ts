/**
 * An app's signed-up users (`$users`) and their refresh tokens: what `db.auth.createToken`
 * (`POST /admin/refresh_tokens`) and `db.auth.signInAsGuest()` make, what `db.asUser({email}|{token})`
 * and a client session's `init` name, and what sign-out revokes. Users are real `$users`
 * entities in the app's store, so rules can link to them and `auth.ref` can walk them.
 *
 * Not reproduced: magic codes, `extra-fields`, `linkedPrimaryUser`, token expiry, and the
 * `$users.create` rule on sign-up (the server skips it for `createToken`; it runs it for guests).
 */
import type { AttrCatalog } from './schema.js';
import type { Change, EntityStore } from './store.js';

/** A user as rules see it. */
export interface AppUser {
  readonly id: string;
  readonly email: string | null;
  /** `guest` for users made by `signInAsGuest`, absent otherwise. */
  readonly type?: string;
}

/** The users and refresh tokens of one app. */
export class AppUsers {
  private readonly tokens = new Map<string, string>();

  constructor(
    private readonly app: { readonly catalog: AttrCatalog; readonly store: EntityStore },
    private readonly newId: () => string,
  ) {}

  byEmail(email: string): AppUser | undefined {
    const attr = this.app.catalog.blob('$users', 'email');
    const [id] = (attr && this.app.store.lookup(attr, email)) ?? [];
    return id === undefined ? undefined : this.byId(id);
  }

  byId(id: string): AppUser | undefined {
    const e = this.app.store.entity('$users', id);
    if (!e) return undefined;
    const type = e.attrs['type'];
    return {
      id,
      email: typeof e.attrs['email'] === 'string' ? e.attrs['email'] : null,
      ...(typeof type === 'string' ? { type } : {}),
    };
  }

  byRefreshToken(token: string): AppUser | undefined {
    const id = this.tokens.get(token);
    return id === undefined ? undefined : this.byId(id);
  }

  /**
   * The user with this email (or id), signed up if new, plus a fresh refresh token.
   * Returns the store changes so live queries on `$users` hear about a sign-up.
   */
  signIn(spec: { email?: string; id?: string }): { user: AppUser; created: boolean; token: string; changes: Change[] } {
    const existing = spec.email !== undefined ? this.byEmail(spec.email) : this.byId(spec.id!);
    let changes: Change[] = [];
    let user = existing;
    if (!user) {
      const { store } = this.app;
      const id = spec.id ?? this.newId();
      store.begin();
      try {
        for (const undo of this.ensureUserAttrs()) store.onRollback(undo);
        const entity = store.ensureEntity('$users', id);
        if (spec.email !== undefined) store.setAttr(entity, this.app.catalog.blob('$users', 'email')!, spec.email);
        changes = store.commit();
      } catch (error) {
        store.rollback();
        throw error;
      }
      user = { id, email: spec.email ?? null };
    }
    return { user, created: !existing, token: this.issueToken(user.id), changes };
  }

  /** A new `$users` row with `type: guest` and its refresh token (runtime/routes.clj › sign-in-guest-post). */
  signInGuest(id: string = this.newId()): { user: AppUser; token: string; changes: Change[] } {
    const { store, catalog } = this.app;
    store.begin();
    let changes: Change[];
    try {
      for (const undo of this.ensureUserAttrs(true)) store.onRollback(undo);
      const entity = store.ensureEntity('$users', id);
      store.setAttr(entity, catalog.blob('$users', 'type')!, 'guest');
      changes = store.commit();
    } catch (error) {
      store.rollback();
      throw error;
    }
    return { user: { id, email: null, type: 'guest' }, token: this.issueToken(id), changes };
  }

  /** Forgets a refresh token (sign-out); later sessions that present it are refused. */
  revoke(token: string): void {
    this.tokens.delete(token);
  }

  private issueToken(userId: string): string {
    const token = this.newId();
    this.tokens.set(token, userId);
    return token;
  }

  /** `$users.id`, `$users.email` (and `$users.type` for guests), which every real app has as system attributes. */
  private ensureUserAttrs(withType = false): (() => void)[] {
    const { catalog } = this.app;
    const undo = [catalog.ensureNamespace('$users')];
    const add = (label: string, unique: boolean) => {
      if (catalog.blob('$users', label)) return;
      undo.push(
        catalog.addBlob({ ns: '$users', label, unique, indexed: unique, required: false, checkedType: 'string' }),
      );
    };
    add('email', true);
    if (withType) add('type', false);
    return undo;
  }
}
