/**
 * What the package exports for the operator's own server: reading the admin
 * tokens the daemon stored sealed (PROVISIONER_TOKEN_KEY). The daemon itself is
 * the `instant-provisioner` command.
 */
export {
  isSealed,
  openAdminToken,
  parseTokenKey,
  TokenSealError,
  type TokenKey,
  type TokenKeys,
  type TokenSealErrorKind,
} from './token-seal.js';
