/**
 * The sandbox's apps: each with its admin token, catalogue and store. Deletion is soft, as on
 * the real server (§9.3): a deleted app disappears from the Platform API but stays inspectable.
 *
 * A seeded app (`seed`, the benchmark's already-provisioned account) gets its catalogue, store
 * and users only when something first opens it: a full store is ~3 KB, 300 MB for 100,000 apps
 * that a benchmark only lists.
 */
import { instantTimestamp } from '../instant-timestamp.js';
import { AppUsers } from './app-users.js';
import { SandboxHttpError, validationFailed, type Json } from './errors.js';
import { addSchemaTo, AttrCatalog, catalogFromSchema } from './schema.js';
import { EntityStore } from './store.js';
import type { TransactTarget } from './transact.js';

/** How an app came to be. */
export type AppOrigin = 'platform' | 'programmatic';

/** An app as the inspection API lists it. */
export interface SandboxAppInfo {
  id: string;
  title: string;
  /** ISO-8601 with milliseconds. */
  createdAt: string;
  deletedAt: string | null;
  via: AppOrigin;
}

/** One sandbox app. */
export interface SandboxApp extends TransactTarget {
  readonly id: string;
  /** Changed only through `AppRegistry.rename` (the listing caches rows). */
  title: string;
  readonly adminToken: string;
  readonly createdAtMs: number;
  deletedAtMs: number | null;
  readonly via: AppOrigin;
  /** The organisation that owns it; null: the sandbox user's own app. */
  readonly orgId: string | null;
  /** The app's rules (`null` until some are stored). */
  perms: Json;
  /** The stored rules' version (bumped on every change), `null` while none are stored. */
  rulesVersion: number | null;
  readonly catalog: AttrCatalog;
  readonly store: EntityStore;
  /** Signed-up users and their refresh tokens (what `asUser` names). */
  readonly users: AppUsers;
}

/** Parameters of a new app. */
export interface NewApp {
  title: string;
  schema?: unknown;
  perms?: unknown;
  via: AppOrigin;
  /** The id and admin token the caller chose (`POST /dash/apps`); both generated when absent. */
  id?: string;
  adminToken?: string;
  /** The organisation that owns the app (the sandbox's own); null or absent: the sandbox user. */
  orgId?: string | null;
}

/** An app of a seeded account: a title and a past creation time, nothing else. */
export interface SeededApp {
  title: string;
  createdAtMs: number;
}

/** Every app of one sandbox, by id; creates, soft-deletes and describes them. */
export class AppRegistry {
  private readonly apps = new Map<string, SandboxApp>();
  /** Live apps by admin token: every admin request and every chosen-token create looks one up. */
  private readonly byToken = new Map<string, SandboxApp>();
  /** Bumped by every create, seed and delete: the cached listing is stale once it moves. */
  private version = 0;
  private listing: { version: number; text: string } | null = null;
  /** A live app's row never changes, so it is serialised once. */
  private readonly rowText = new WeakMap<SandboxApp, string>();

  constructor(
    private readonly newId: () => string,
    /** The one sandbox user every platform app belongs to. */
    readonly creatorId: string,
    private readonly now: () => number = Date.now,
    /** The one organisation, whose admin the sandbox user is. */
    readonly org: { id: string; title: string } = { id: newId(), title: 'sandbox-org' },
  ) {}

  /** True when an app ever had this id (deleted ones included, as the apps table keeps them). */
  idTaken(id: string): boolean {
    return this.apps.has(id);
  }

  /** True when a live app has this admin token. */
  tokenTaken(token: string): boolean {
    return this.byAdminToken(token) !== undefined;
  }

  /** Creates an app; a schema that cannot be read is a 400 validation-failed (data-type `schema`) and no app. */
  create(spec: NewApp): SandboxApp {
    const catalog = readSchema(spec.schema, this.newId);
    return this.register(spec, catalog);
  }

  /**
   * Creates the app row first and applies the schema after, as the Platform API's create does: a
   * schema that cannot be read is a 400 validation-failed and the app stays behind.
   */
  createThenApplySchema(spec: NewApp): { app: SandboxApp; schemaError: SandboxHttpError | null } {
    const app = this.register(spec, new AttrCatalog(this.newId));
    try {
      readSchema(spec.schema, this.newId); // checked whole first, so a bad schema adds nothing
      addSchemaTo(app.catalog, spec.schema);
      return { app, schemaError: null };
    } catch (error) {
      if (error instanceof SandboxHttpError) return { app, schemaError: error };
      throw error;
    }
  }

  /**
   * Creates platform apps as if made long ago (no schema, no rules, no faults, no counters):
   * an account that already has them. Their stores are built on first use.
   */
  seed(apps: readonly SeededApp[]): SandboxApp[] {
    return apps.map((spec) => {
      const app = new RegisteredApp(
        this.newId(),
        spec.title,
        this.newId(),
        spec.createdAtMs,
        'platform',
        null,
        null,
        this.newId,
        () => {
          const catalog = new AttrCatalog(this.newId);
          return { catalog, store: new EntityStore(catalog, this.now) };
        },
      );
      this.add(app);
      return app;
    });
  }

  private register(spec: NewApp, catalog: AttrCatalog): SandboxApp {
    const store = new EntityStore(catalog, this.now);
    const app = new RegisteredApp(
      spec.id ?? this.newId(),
      spec.title,
      spec.adminToken ?? this.newId(),
      this.now(),
      spec.via,
      spec.orgId ?? null,
      (spec.perms ?? null) as Json,
      this.newId,
      () => ({ catalog, store }),
    );
    this.add(app);
    return app;
  }

  private add(app: SandboxApp): void {
    this.apps.set(app.id, app);
    this.byToken.set(app.adminToken, app);
    this.version++;
  }

  /** A live (not deleted) app. */
  live(id: string): SandboxApp | undefined {
    const app = this.apps.get(id);
    return app && app.deletedAtMs === null ? app : undefined;
  }

  /** The live app whose admin token this is. */
  byAdminToken(token: string): SandboxApp | undefined {
    return this.byToken.get(token);
  }

  /** Every app ever created, deleted ones included, oldest first. */
  all(): SandboxApp[] {
    return [...this.apps.values()];
  }

  /** A new title (the Platform API's app update). */
  rename(app: SandboxApp, title: string): void {
    app.title = title;
    this.rowText.delete(app);
    this.version++;
  }

  markDeleted(app: SandboxApp): void {
    app.deletedAtMs = this.now();
    if (this.byToken.get(app.adminToken) === app) this.byToken.delete(app.adminToken);
    this.version++;
  }

  /**
   * `{"apps": [rows of live apps]}` as JSON text, the Platform API's listing without includes.
   * Rebuilt only after a change, from rows serialised once: a 100,000-app listing must not cost
   * the sandbox ~400 ms of CPU per request, or a benchmark would measure the sandbox.
   */
  listingJson(): string {
    if (this.listing?.version === this.version) return this.listing.text;
    const rows: string[] = [];
    for (const app of this.apps.values()) {
      // The personal listing: org apps have no creator (superadmin routes.clj apps-list-get).
      if (app.deletedAtMs !== null || app.orgId !== null) continue;
      let text = this.rowText.get(app);
      if (text === undefined) this.rowText.set(app, (text = JSON.stringify(this.row(app))));
      rows.push(text);
    }
    this.listing = { version: this.version, text: `{"apps":[${rows.join(',')}]}` };
    return this.listing.text;
  }

  /** Live apps of the organisation, as `GET /superadmin/orgs/:id/apps` answers them (model/app.clj make-apps-q). */
  orgListing(): Record<string, Json>[] {
    return this.all()
      .filter((app) => app.deletedAtMs === null && app.orgId === this.org.id)
      .map((app) => ({
        ...this.row(app),
        admin_token: app.adminToken,
        rules: app.perms,
        rules_version: app.rulesVersion,
        org: { id: this.org.id, title: this.org.title },
        pro: false,
        user_app_role: null,
        members: [],
        invites: [],
        webhooks: [],
        magic_code_email_template: null,
      }));
  }

  /** The `apps` table row the Platform API returns (snake_case; no admin token). */
  row(app: SandboxApp): Record<string, Json> {
    return {
      id: app.id,
      creator_id: app.orgId === null ? this.creatorId : null,
      title: app.title,
      created_at: instantTimestamp(app.createdAtMs),
      org_id: app.orgId,
      deletion_marked_at: app.deletedAtMs === null ? null : instantTimestamp(app.deletedAtMs),
      status: 'active',
      subscription_id: null,
      magic_code_expiry_minutes: null,
      connection_string: null,
    };
  }

  info(app: SandboxApp): SandboxAppInfo {
    return {
      id: app.id,
      title: app.title,
      createdAt: new Date(app.createdAtMs).toISOString(),
      deletedAt: app.deletedAtMs === null ? null : new Date(app.deletedAtMs).toISOString(),
      via: app.via,
    };
  }
}

/** A SandboxApp whose catalogue, store and users exist from the first time one is asked for. */
class RegisteredApp implements SandboxApp {
  deletedAtMs: number | null = null;
  rulesVersion: number | null;
  private parts: { catalog: AttrCatalog; store: EntityStore; users: AppUsers } | null = null;

  constructor(
    readonly id: string,
    public title: string,
    readonly adminToken: string,
    readonly createdAtMs: number,
    readonly via: AppOrigin,
    readonly orgId: string | null,
    public perms: Json,
    private readonly newId: () => string,
    private readonly open: () => { catalog: AttrCatalog; store: EntityStore },
  ) {
    this.rulesVersion = perms === null ? null : 0;
  }

  get catalog(): AttrCatalog {
    return this.opened().catalog;
  }

  get store(): EntityStore {
    return this.opened().store;
  }

  get users(): AppUsers {
    return this.opened().users;
  }

  private opened(): { catalog: AttrCatalog; store: EntityStore; users: AppUsers } {
    if (!this.parts) {
      const { catalog, store } = this.open();
      this.parts = { catalog, store, users: new AppUsers({ catalog, store }, this.newId) };
    }
    return this.parts;
  }
}

function readSchema(schema: unknown, newId: () => string): AttrCatalog {
  try {
    return catalogFromSchema(schema, newId);
  } catch (error) {
    throw validationFailed('schema', (schema ?? null) as Json, [{ message: (error as Error).message }]);
  }
}
