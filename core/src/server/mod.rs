//! The server object: the key pair, the server's configuration, a cache of
//! unwrapped encKeys, and the refusal of a common key after its first failure.
//!
//! **Why refusal.** CBC without integrity makes the server's answer (success
//! or 40002) a padding oracle: replaying a captured encKey with forged
//! ciphertexts recovers the secret in a few thousand requests, however
//! constant-time the unpadding. So after a decryption under a common key
//! fails, the server refuses that key: every later open of an encKey that
//! yields it (the same encKey, another encoding of it, or another RSA
//! ciphertext of the same key and IV) fails with 40002, and so does every
//! further decryption in sessions with that key that are still open. An
//! attacker gets one query per captured key; an honest client starts over
//! after 40002 anyway, with a new key.
//!
//! **Why the cache.** Clients reuse one encKey for many calls; opening it
//! again costs a keyed digest and a table lookup instead of an RSA
//! private-key operation.
//!
//! Both tables are allocated in full when the server is made
//! ([`ServerConfig`]); nothing grows per request. Refusals are remembered
//! by a keyed digest (HMAC-SHA-256 under a random per-server key) of mode,
//! key and IV, never by the key itself. When full, each table drops its
//! least recently used entry, and trying a refused key refreshes it: to
//! push one refusal out, an attacker must make the server refuse
//! `refusal_capacity` other keys in between, and each of those costs the
//! server an RSA private-key operation to unwrap.

mod tables;

use alloc::sync::Arc;
use alloc::vec::Vec;
use hmac::{Hmac, KeyInit, Mac};
use sha2::Sha256;
use zeroize::Zeroizing;

use crate::enckey::{IV_LEN, KEY_LEN, Mode, Padding, Session};
use crate::error::{Error, Result};
use crate::keys::{KeyPair, PublicKey};
use crate::rng::{self, TryCryptoRng};
use crate::{secret_param, wire_base64};
use tables::{CacheEntry, RefusalSet, SessionCache};

/// The encKey modes a server accepts. A server accepts the modes it is
/// configured for; with one mode an encKey made for another server key always
/// fails, where detecting the mode from the plaintext length would let it
/// unwrap about 1 time in 245 (2048-bit key) to a random key.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub enum AcceptedModes {
    /// Only [`Mode::KeyIv`] (`hex(key):hex(iv)`), what deployed clients send.
    /// The default.
    #[default]
    KeyIv,
    /// Only [`Mode::PerMessageIv`] (the raw 16-byte key).
    PerMessageIv,
    /// Both, told apart by the plaintext length.
    Both,
}

impl AcceptedModes {
    /// Whether a session in `mode` is accepted.
    pub fn accepts(self, mode: Mode) -> bool {
        matches!(
            (self, mode),
            (AcceptedModes::Both, _)
                | (AcceptedModes::KeyIv, Mode::KeyIv)
                | (AcceptedModes::PerMessageIv, Mode::PerMessageIv)
        )
    }
}

/// What a [`Server`] is configured with. Fixed when the server is made.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ServerConfig {
    /// The one RSA padding of encKeys (a server never tries several).
    pub padding: Padding,
    /// The accepted encKey modes.
    pub modes: AcceptedModes,
    /// How many unwrapped encKeys are kept (0: none; every open unwraps).
    pub cache_capacity: usize,
    /// How many refused common keys are remembered (at least 1).
    pub refusal_capacity: usize,
}

impl ServerConfig {
    /// Cached sessions of the server default: one per client of a busy device or gateway.
    pub const DEFAULT_CACHE_CAPACITY: usize = 1024;
    /// Refusals of the server default: 65,536 in 0.86 MiB.
    pub const DEFAULT_REFUSAL_CAPACITY: usize = 65_536;
    /// Cached sessions of the firmware setting.
    pub const FIRMWARE_CACHE_CAPACITY: usize = 4;
    /// Refusals of the firmware setting (about 3.5 KiB).
    pub const FIRMWARE_REFUSAL_CAPACITY: usize = 256;
    /// The largest cache capacity accepted.
    pub const MAX_CACHE_CAPACITY: usize = 1 << 20;
    /// The largest refusal capacity accepted.
    pub const MAX_REFUSAL_CAPACITY: usize = 1 << 24;

    /// The server default: PKCS#1 v1.5, key:iv mode only, 1,024 sessions,
    /// 65,536 refusals (about 0.9 MiB in all with 2048-bit keys).
    pub const fn server() -> Self {
        ServerConfig {
            padding: Padding::Pkcs1v15,
            modes: AcceptedModes::KeyIv,
            cache_capacity: Self::DEFAULT_CACHE_CAPACITY,
            refusal_capacity: Self::DEFAULT_REFUSAL_CAPACITY,
        }
    }

    /// A small setting for firmware: PKCS#1 v1.5, key:iv mode only, 4
    /// sessions, 256 refusals (about 4 KiB of heap in all).
    pub const fn firmware() -> Self {
        ServerConfig {
            padding: Padding::Pkcs1v15,
            modes: AcceptedModes::KeyIv,
            cache_capacity: Self::FIRMWARE_CACHE_CAPACITY,
            refusal_capacity: Self::FIRMWARE_REFUSAL_CAPACITY,
        }
    }

    fn check(&self) -> Result<()> {
        let cache_ok = self.cache_capacity <= Self::MAX_CACHE_CAPACITY;
        let refusals_ok = (1..=Self::MAX_REFUSAL_CAPACITY).contains(&self.refusal_capacity);
        if cache_ok && refusals_ok {
            Ok(())
        } else {
            Err(Error::InvalidConfig)
        }
    }
}

impl Default for ServerConfig {
    fn default() -> Self {
        Self::server()
    }
}

/// Counters of what a server did, for monitoring and tests.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct ServerStats {
    /// Opens answered from the cache, without RSA work.
    pub cache_hits: u64,
    /// Opens that ran the RSA private-key operation.
    pub unwraps: u64,
    /// Opens and decryptions that failed because their common key was refused.
    pub refused: u64,
    /// Common keys refused after a failed decryption.
    pub refusals: u64,
    /// Sessions in the cache now.
    pub cached_sessions: usize,
    /// Refusals remembered now.
    pub remembered_refusals: usize,
}

type Digest = Hmac<Sha256>;

/// Domain separation of the two keyed digests.
const CIPHERTEXT_LABEL: u8 = 1;
const COMMON_KEY_LABEL: u8 = 2;

struct State {
    cache: SessionCache,
    refusals: RefusalSet,
    stats: ServerStats,
}

/// Decryptions under one common key run one at a time (keys are spread
/// over this many locks), so that concurrent forged requests cannot get
/// answers before the first failure's refusal is recorded.
const KEY_LOCKS: usize = 16;

struct Inner {
    key_pair: KeyPair,
    config: ServerConfig,
    /// HMAC-SHA-256 keyed with 32 random bytes, ready to clone.
    digest: Digest,
    refusal: bool,
    state: crate::lock::Lock<State>,
    /// Taken before `state`, never after it.
    key_locks: [crate::lock::Lock<()>; KEY_LOCKS],
}

/// A server: the key pair, its configuration, the encKey cache and the
/// refusals. See the module documentation.
///
/// Cheap to clone (a shared handle). Thread-safe with `std`: many request
/// threads share one server, and the RSA work of a cache miss runs outside
/// the lock; the lock covers only table lookups and updates. Without `std`
/// (firmware) the lock does not wait: a call that finds the server in use by
/// another thread fails with [`Error::Busy`], so use it from one task.
#[derive(Clone)]
pub struct Server {
    inner: Arc<Inner>,
}

impl core::fmt::Debug for Server {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("Server")
            .field("bits", &self.inner.key_pair.bits())
            .field("config", &self.inner.config)
            .finish_non_exhaustive()
    }
}

impl Server {
    /// A server for `key_pair`, with its digest key from the OS RNG.
    #[cfg(feature = "std")]
    pub fn new(key_pair: KeyPair, config: ServerConfig) -> Result<Self> {
        Self::new_with_rng(&mut rng::OsRng, key_pair, config)
    }

    /// A server for `key_pair`, with its digest key from `rng`. Allocates
    /// both tables in full. Errors: [`Error::InvalidConfig`] for a capacity
    /// out of range, [`Error::Rng`].
    pub fn new_with_rng<R: TryCryptoRng + ?Sized>(
        rng: &mut R,
        key_pair: KeyPair,
        config: ServerConfig,
    ) -> Result<Self> {
        Self::build(rng, key_pair, config, true)
    }

    fn build<R: TryCryptoRng + ?Sized>(
        rng: &mut R,
        key_pair: KeyPair,
        config: ServerConfig,
        refusal: bool,
    ) -> Result<Self> {
        config.check()?;
        let mut digest_key = Zeroizing::new([0u8; 32]);
        rng::fill(rng, &mut digest_key[..])?;
        let digest = Digest::new_from_slice(&digest_key[..]).map_err(|_| Error::Rng)?;
        let state = State {
            cache: SessionCache::new(config.cache_capacity),
            refusals: RefusalSet::new(config.refusal_capacity),
            stats: ServerStats::default(),
        };
        Ok(Server {
            inner: Arc::new(Inner {
                key_pair,
                config,
                digest,
                refusal,
                state: crate::lock::Lock::new(state),
                key_locks: core::array::from_fn(|_| crate::lock::Lock::new(())),
            }),
        })
    }

    /// The configuration the server was made with.
    pub fn config(&self) -> &ServerConfig {
        &self.inner.config
    }

    /// The server's public key (its base64 is the `getPublicKey` value).
    pub fn public_key(&self) -> &PublicKey {
        self.inner.key_pair.public_key()
    }

    /// The server's key pair.
    pub fn key_pair(&self) -> &KeyPair {
        &self.inner.key_pair
    }

    /// What the server has done so far.
    pub fn stats(&self) -> Result<ServerStats> {
        self.inner.state.with(|state| ServerStats {
            cached_sessions: state.cache.len(),
            remembered_refusals: state.refusals.len(),
            ..state.stats
        })
    }

    /// Opens a base64 `encKey` (CR/LF tolerated) into a server session, with
    /// the OS RNG for RSA blinding.
    #[cfg(feature = "std")]
    pub fn open(&self, enc_key: &[u8]) -> Result<ServerSession> {
        self.open_with_rng(&mut rng::OsRng, enc_key)
    }

    /// Opens a base64 `encKey` into a server session: from the cache when
    /// this RSA ciphertext was opened before, else by unwrapping it (`rng`
    /// blinds the RSA operation on the portable backend; AWS-LC uses its own
    /// generator) and caching the result.
    ///
    /// Every failure is [`Error::EncryptionFailed`]: a malformed or stale
    /// encKey, a mode the server does not accept, a refused common key.
    /// Besides that: [`Error::Rng`], and [`Error::Busy`] without `std`.
    pub fn open_with_rng<R: TryCryptoRng + ?Sized>(
        &self,
        rng: &mut R,
        enc_key: &[u8],
    ) -> Result<ServerSession> {
        let inner = &*self.inner;
        // Nothing longer than the modulus allows is decoded or allocated.
        let ciphertext = wire_base64::decode_bounded(enc_key, inner.key_pair.public_key().size())
            .ok_or(Error::EncryptionFailed)?;
        if ciphertext.len() != inner.key_pair.public_key().size() {
            return Err(Error::EncryptionFailed);
        }
        let cache_tag = self.ciphertext_tag(&ciphertext);
        let cached = inner.state.with(|state| {
            let hit = state
                .cache
                .get(cache_tag)
                .map(|entry| (entry.session.clone(), entry.refusal_tag));
            if hit.is_some() {
                state.stats.cache_hits += 1;
            }
            hit
        })?;
        if let Some((session, refusal_tag)) = cached {
            return Ok(self.session(session, refusal_tag));
        }

        // A cache miss: the RSA work runs outside the lock.
        let plaintext = inner
            .key_pair
            .rsa_decrypt(rng, &ciphertext, inner.config.padding)?;
        let parsed = Session::from_enc_key_plaintext(&plaintext)
            .ok()
            .filter(|session| inner.config.modes.accepts(session.mode));
        // The same work whether or not the plaintext is a common key we
        // accept: a keyed digest and a refusal lookup (of a stand-in when
        // it is not), so that the time of a 40002 does not tell a refused
        // common key from an encKey that never held one.
        let refusal_tag = match &parsed {
            Some(session) => self.common_key_tag(session),
            None => self.common_key_tag(&Session {
                key: [0; KEY_LEN],
                iv: [0; IV_LEN],
                mode: Mode::KeyIv,
            }),
        };
        inner.state.with(|state| {
            state.stats.unwraps += 1;
            let refused = inner.refusal & state.refusals.contains(refusal_tag);
            let Some(session) = parsed else {
                return Err(Error::EncryptionFailed);
            };
            if refused {
                state.stats.refused += 1;
                return Err(Error::EncryptionFailed);
            }
            let entry = CacheEntry {
                refusal_tag,
                session: session.clone(),
            };
            state.cache.insert(cache_tag, entry);
            Ok(self.session(session, refusal_tag))
        })?
    }

    fn session(&self, session: Session, refusal_tag: u64) -> ServerSession {
        ServerSession {
            server: self.clone(),
            session,
            refusal_tag,
        }
    }

    /// Keyed digest of an RSA ciphertext: the cache key.
    fn ciphertext_tag(&self, ciphertext: &[u8]) -> u128 {
        let mut mac = self.inner.digest.clone();
        mac.update(&[CIPHERTEXT_LABEL]);
        mac.update(ciphertext);
        let out = mac.finalize().into_bytes();
        let mut tag = [0u8; 16];
        tag.copy_from_slice(&out[..16]);
        u128::from_le_bytes(tag)
    }

    /// Keyed digest of a common key (mode, key, IV): the refusal key.
    fn common_key_tag(&self, session: &Session) -> u64 {
        let mut mac = self.inner.digest.clone();
        let mode = match session.mode {
            Mode::KeyIv => 0u8,
            Mode::PerMessageIv => 1u8,
        };
        mac.update(&[COMMON_KEY_LABEL, mode]);
        mac.update(&session.key);
        if session.mode == Mode::KeyIv {
            mac.update(&session.iv);
        }
        let out = mac.finalize().into_bytes();
        let mut tag = [0u8; 8];
        tag.copy_from_slice(&out[..8]);
        u64::from_le_bytes(tag)
    }

    /// Whether the common key with this tag is refused (counting the refusal).
    fn is_refused(&self, refusal_tag: u64) -> Result<bool> {
        if !self.inner.refusal {
            return Ok(false);
        }
        self.inner.state.with(|state| {
            let refused = state.refusals.contains(refusal_tag);
            if refused {
                state.stats.refused += 1;
            }
            refused
        })
    }

    /// Refuses the common key with this tag and drops its cached sessions.
    fn refuse(&self, refusal_tag: u64) -> Result<()> {
        if !self.inner.refusal {
            return Ok(());
        }
        self.inner.state.with(|state| {
            state.refusals.insert(refusal_tag);
            state.cache.remove_common_key(refusal_tag);
            state.stats.refusals += 1;
        })
    }
}

/// A client's common key as the server holds it, from [`Server::open`].
///
/// Decrypts the request's secret parameters and encrypts the reply's. After
/// a decryption fails, the common key is refused: that call and every later
/// one on any session with the same key fails with
/// [`Error::EncryptionFailed`], encryption included. Key and IV are wiped on
/// drop. Holds a reference to its server (dropping the server first is fine).
pub struct ServerSession {
    server: Server,
    session: Session,
    refusal_tag: u64,
}

impl core::fmt::Debug for ServerSession {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("ServerSession")
            .field("mode", &self.session.mode)
            .finish_non_exhaustive()
    }
}

impl ServerSession {
    /// The IV mode of the client's common key.
    pub fn mode(&self) -> Mode {
        self.session.mode
    }

    /// An identifier of the client's common key: equal for every session
    /// with the same key (whatever encKey carried it), a keyed digest that
    /// reveals nothing about the key. Use it to keep per-client state, such
    /// as secrets a client stored for itself.
    pub fn key_id(&self) -> u64 {
        self.refusal_tag
    }

    fn check_not_refused(&self) -> Result<()> {
        if self.server.is_refused(self.refusal_tag)? {
            Err(Error::EncryptionFailed)
        } else {
            Ok(())
        }
    }

    /// Decrypts a secret parameter's base64 wire value; on failure the
    /// common key is refused. The plaintext is zeroized when dropped.
    pub fn decrypt(&self, text: &[u8]) -> Result<Zeroizing<Vec<u8>>> {
        secret_param::decrypt_to_vec(self.session.mode, text, |text, out| {
            self.decrypt_into(text, out)
        })
    }

    /// Decrypts a secret parameter into `out` (sized as for
    /// [`Session::decrypt_into`]) and returns its length; on failure the
    /// common key is refused. A too small `out` is reported before
    /// decrypting and refuses nothing.
    pub fn decrypt_into(&self, text: &[u8], out: &mut [u8]) -> Result<usize> {
        // Check, decrypt and refuse as one step per common key: every
        // decryption sees every failure before it.
        let key_lock = &self.server.inner.key_locks[self.refusal_tag as usize % KEY_LOCKS];
        key_lock.with(|()| {
            self.check_not_refused()?;
            match self.session.decrypt_into(text, out) {
                Err(Error::EncryptionFailed) => {
                    self.server.refuse(self.refusal_tag)?;
                    Err(Error::EncryptionFailed)
                }
                other => other,
            }
        })?
    }

    /// Encrypts a reply value under the client's common key (OS RNG for the
    /// per-message IV). Fails with [`Error::EncryptionFailed`] once the key
    /// is refused.
    #[cfg(feature = "std")]
    pub fn encrypt(&self, plaintext: &[u8]) -> Result<alloc::string::String> {
        self.encrypt_with_rng(&mut rng::OsRng, plaintext)
    }

    /// Encrypts a reply value; `rng` makes the per-message IV.
    pub fn encrypt_with_rng<R: TryCryptoRng + ?Sized>(
        &self,
        rng: &mut R,
        plaintext: &[u8],
    ) -> Result<alloc::string::String> {
        self.check_not_refused()?;
        self.session.encrypt_with_rng(rng, plaintext)
    }

    /// Encrypts a reply value into `out` (exactly
    /// [`Session::encrypted_len`] bytes).
    pub fn encrypt_into<R: TryCryptoRng + ?Sized>(
        &self,
        rng: &mut R,
        plaintext: &[u8],
        out: &mut [u8],
    ) -> Result<usize> {
        self.check_not_refused()?;
        self.session.encrypt_into(rng, plaintext, out)
    }
}

/// For tests only: a server without refusal, the padding oracle that
/// refusal closes. Not in the C or Python API.
#[cfg(feature = "hazmat")]
impl Server {
    /// A server that never refuses a common key (caching as usual).
    pub fn without_refusal_with_rng<R: TryCryptoRng + ?Sized>(
        rng: &mut R,
        key_pair: KeyPair,
        config: ServerConfig,
    ) -> Result<Self> {
        Self::build(rng, key_pair, config, false)
    }
}
