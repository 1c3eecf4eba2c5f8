/**
 * An app's signed-up users (`$users`) and their refresh tokens: what `db.auth.createToken`
 * (`POST /admin/refresh_tokens`) makes and `db.asUser({email}|{token})` names. Users are real
 * `$users` entities in the app's store, so rules can link to them and `auth.ref` can walk them.
 *
 * Not reproduced: magic codes, guest sign-in, `extra-fields`, `linkedPrimaryUser`, sign-out
 * (tokens never expire), and the `$users.create` rule on sign-up (the server skips it here too).
 */
import type { AttrCatalog } from './schema.js';
import type { Change, EntityStore } from './store.js';

/** A user as rules see it. */
export interface AppUser {
  readonly id: string;
  readonly email: string | null;
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
    return e ? { id, email: typeof e.attrs['email'] === 'string' ? e.attrs['email'] : null } : undefined;
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
    const token = this.newId();
    this.tokens.set(token, user.id);
    return { user, created: !existing, token, changes };
  }

  /** `$users.id` and `$users.email`, which every real app has as system attributes. */
  private ensureUserAttrs(): (() => void)[] {
    const { catalog } = this.app;
    const undo = [catalog.ensureNamespace('$users')];
    if (!catalog.blob('$users', 'email')) {
      undo.push(
        catalog.addBlob({
          ns: '$users',
          label: 'email',
          unique: true,
          indexed: true,
          required: false,
          checkedType: 'string',
        }),
      );
    }
    return undo;
  }
}
