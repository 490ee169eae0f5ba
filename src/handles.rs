//! The opaque handle types C code holds.

/// An RSA key pair (the server's). Opaque; create with
/// `paramcrypt_keypair_generate` or `paramcrypt_keypair_from_*`, release with
/// `paramcrypt_keypair_free`. Immutable: share it between threads freely.
pub struct paramcrypt_keypair(pub(crate) paramcrypt_core::KeyPair);

/// An RSA public key (what `getPublicKey` returns). Opaque; create with
/// `paramcrypt_public_key_from_*` or `paramcrypt_keypair_public_key`, release
/// with `paramcrypt_public_key_free`. Immutable.
pub struct paramcrypt_public_key(pub(crate) paramcrypt_core::PublicKey);

/// A common key: AES-128 key, IV and IV mode. Opaque; create with
/// `paramcrypt_session_new` (client) or `paramcrypt_keypair_unwrap` (server),
/// release with `paramcrypt_session_free`, which wipes the key. Immutable.
pub struct paramcrypt_session(pub(crate) paramcrypt_core::Session);
