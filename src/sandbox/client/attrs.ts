/**
 * An app's attributes as `init-ok` and `refresh-ok` carry them (attr.clj's wire form, the same
 * objects the Platform API prints), serialized once per catalogue version: a hundred sessions
 * opening at once cost one `JSON.stringify`.
 */
import { blobAttrJson, refAttrJson, type AttrCatalog } from '../schema.js';

const cache = new WeakMap<AttrCatalog, { version: number; json: string }>();

/** The catalogue's attrs as a JSON array (text). */
export function attrsJson(catalog: AttrCatalog): string {
  const hit = cache.get(catalog);
  if (hit?.version === catalog.version) return hit.json;
  const list = [...catalog.all()].map((attr) => (attr.kind === 'blob' ? blobAttrJson(attr) : refAttrJson(attr)));
  const json = JSON.stringify(list);
  cache.set(catalog, { version: catalog.version, json });
  return json;
}
