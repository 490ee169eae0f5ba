//! The opaque handle types C code holds. Each pointer C holds leads to a
//! tag (see `boundary::Handle`) that is checked on every use and poisoned on
//! free, so that a handle of the wrong type or a double free is reported or
//! ignored rather than undefined (a best effort: freed memory may be reused).

use crate::boundary::Handle;

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

/// A server: the key pair, its configuration, the encKey session cache and
/// the failure policy's records (refused common keys, peers, lockdowns).
/// Opaque; create with `paramcrypt_server_new`, release with
/// `paramcrypt_server_free`. Thread-safe: it locks internally.
pub struct paramcrypt_server(pub(crate) paramcrypt_core::Server);

/// A client's common key as a server holds it. Opaque; create with
/// `paramcrypt_server_open`, release with `paramcrypt_server_session_free`,
/// which wipes the key. After a decryption fails, every call on any session
/// with the same key fails with `PARAMCRYPT_ERR_ENCRYPTION_FAILED` while the
/// key is refused.
pub struct paramcrypt_server_session(pub(crate) paramcrypt_core::ServerSession);

/// A client of one device: its pinned public key, common key, failure
/// budget and transport. Opaque; create with `paramcrypt_client_new`,
/// release with `paramcrypt_client_free`, which wipes its common key and
/// last result. Thread-safe: calls on one client run one at a time.
#[cfg(feature = "client")]
pub struct paramcrypt_client(pub(crate) std::sync::Mutex<crate::client::ClientState>);

// "PC" and two letters each.
impl Handle for paramcrypt_keypair {
    const TAG: u32 = u32::from_be_bytes(*b"PCKP");
}

impl Handle for paramcrypt_public_key {
    const TAG: u32 = u32::from_be_bytes(*b"PCPK");
}

impl Handle for paramcrypt_session {
    const TAG: u32 = u32::from_be_bytes(*b"PCSE");
}

impl Handle for paramcrypt_server {
    const TAG: u32 = u32::from_be_bytes(*b"PCSV");
}

impl Handle for paramcrypt_server_session {
    const TAG: u32 = u32::from_be_bytes(*b"PCSS");
}

#[cfg(feature = "client")]
impl Handle for paramcrypt_client {
    const TAG: u32 = u32::from_be_bytes(*b"PCCL");
}
