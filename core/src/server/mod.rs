//! The server object: the key pair, the server's configuration, a cache of
//! unwrapped encKeys, and the failure policy that keeps the server's answer
//! from serving as a padding oracle.
//!
//! **Why a failure policy.** CBC without integrity makes the server's
//! answer (success or 40002) a padding oracle: replaying a captured encKey
//! with forged ciphertexts recovers the secret in a few thousand requests,
//! however constant-time the unpadding, and an attacker that replays each
//! request a victim sends under a new common key tests one guess per
//! request (a guess about the plaintext carries over from key to key). So
//! every decryption failure costs ([`FailurePolicy`]):
//!
//! - the **common key**: refused for a window that doubles with each
//!   failure, and for good after a budget of failures. A client that never
//!   makes a new key (deployed ones do not) is served again after the
//!   window; an attacker gets at most the budget of answers per key, ever.
//! - the **peer** (the identity the application passes with each open,
//!   such as the client's IP address) and, as a backstop, the **whole
//!   server**: past a number of failures per window, every open and
//!   decryption it asks for answers 40002 without RSA work and without
//!   decrypting (lockdown), for a cool-down that doubles while failures go
//!   on. An attacker injecting from its own address locks only itself out.
//!
//! A refused key (the same encKey, another encoding of it, or another RSA
//! ciphertext of the same key and IV) is recognised by a keyed digest
//! (HMAC-SHA-256 under a random per-server key) of mode, key and IV, never
//! by the key itself; peers likewise. The state survives restarts through
//! [`Server::export_state`] and [`ServerBuilder::state`].
//!
//! **Why the cache.** Clients reuse one encKey for many calls; opening it
//! again costs a keyed digest and a table lookup instead of an RSA
//! private-key operation.
//!
//! Every table is allocated in full when the server is made
//! ([`ServerConfig`]); nothing grows per request, and no lookup scans. When
//! full, a table drops its least recently used entry. Failure records are
//! made only by failures, which the limits above bound, so pushing a
//! refusal out of the table takes `refusal_capacity` failures of other keys.

mod policy;
mod state;
mod tables;

use crate::Shared as Arc;
use alloc::boxed::Box;
use alloc::string::String;
use alloc::vec::Vec;
use zeroize::{Zeroize, Zeroizing};

use crate::enckey::{IV_LEN, KEY_LEN, Mode, Padding, Session};
use crate::error::{Error, Result};
use crate::keys::{KeyPair, PublicKey};
use crate::rng::{self, TryCryptoRng};
use crate::{secret_param, wire_base64};
pub use policy::FailurePolicy;
use policy::{Change, KeyRecord, Limiter, Limits, Secs, UnwrapBudget};
use tables::{LruTable, SessionCache};

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
    /// How many common keys that failed are remembered (at least 1).
    pub refusal_capacity: usize,
    /// How many peers that failed are remembered (at least 1).
    pub peer_capacity: usize,
    /// The limits on failures and unwraps.
    pub policy: FailurePolicy,
}

impl ServerConfig {
    /// Cached sessions of the server default: one per client of a busy device or gateway.
    pub const DEFAULT_CACHE_CAPACITY: usize = 1024;
    /// Failed common keys the server default remembers: at the default
    /// server-wide limit of 100 failures a day, half a year of them.
    pub const DEFAULT_REFUSAL_CAPACITY: usize = 16_384;
    /// Failed peers the server default remembers.
    pub const DEFAULT_PEER_CAPACITY: usize = 1024;
    /// Cached sessions of the firmware setting.
    pub const FIRMWARE_CACHE_CAPACITY: usize = 4;
    /// Failed common keys the firmware setting remembers.
    pub const FIRMWARE_REFUSAL_CAPACITY: usize = 64;
    /// Failed peers the firmware setting remembers.
    pub const FIRMWARE_PEER_CAPACITY: usize = 8;
    /// The largest cache capacity accepted.
    pub const MAX_CACHE_CAPACITY: usize = 1 << 20;
    /// The largest refusal capacity accepted.
    pub const MAX_REFUSAL_CAPACITY: usize = 1 << 22;
    /// The largest peer capacity accepted.
    pub const MAX_PEER_CAPACITY: usize = 1 << 20;

    /// The server default: PKCS#1 v1.5, key:iv mode only, 1,024 sessions,
    /// 16,384 failed keys and 1,024 failed peers remembered (under 1 MiB with
    /// a 2048-bit key pair, `tests/server_memory.rs`), [`FailurePolicy::server`].
    pub const fn server() -> Self {
        ServerConfig {
            padding: Padding::Pkcs1v15,
            modes: AcceptedModes::KeyIv,
            cache_capacity: Self::DEFAULT_CACHE_CAPACITY,
            refusal_capacity: Self::DEFAULT_REFUSAL_CAPACITY,
            peer_capacity: Self::DEFAULT_PEER_CAPACITY,
            policy: FailurePolicy::server(),
        }
    }

    /// A small setting for firmware: PKCS#1 v1.5, key:iv mode only, 4
    /// sessions, 64 failed keys and 8 failed peers (a few KiB of heap; the
    /// firmware's `make size` measures it), [`FailurePolicy::firmware`].
    pub const fn firmware() -> Self {
        ServerConfig {
            padding: Padding::Pkcs1v15,
            modes: AcceptedModes::KeyIv,
            cache_capacity: Self::FIRMWARE_CACHE_CAPACITY,
            refusal_capacity: Self::FIRMWARE_REFUSAL_CAPACITY,
            peer_capacity: Self::FIRMWARE_PEER_CAPACITY,
            policy: FailurePolicy::firmware(),
        }
    }

    fn check(&self) -> Result<()> {
        let cache_ok = self.cache_capacity <= Self::MAX_CACHE_CAPACITY;
        let refusals_ok = (1..=Self::MAX_REFUSAL_CAPACITY).contains(&self.refusal_capacity);
        let peers_ok = (1..=Self::MAX_PEER_CAPACITY).contains(&self.peer_capacity);
        if cache_ok && refusals_ok && peers_ok && self.policy.is_valid() {
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

/// Counters of what a server did and the state of its policy, for
/// monitoring and tests.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct ServerStats {
    /// Opens answered from the cache, without RSA work.
    pub cache_hits: u64,
    /// Opens that ran the RSA private-key operation.
    pub unwraps: u64,
    /// Decryption failures, and failures the application reported.
    pub failures: u64,
    /// Opens and decryptions answered 40002 because their common key was refused.
    pub refused: u64,
    /// Common keys refused for good (their failure budget spent).
    pub keys_refused_for_good: u64,
    /// Opens and decryptions answered 40002 in lockdown (peer or server).
    pub lockdown_answers: u64,
    /// Lockdowns of single peers started.
    pub peer_lockdowns: u64,
    /// Server-wide lockdowns started.
    pub server_lockdowns: u64,
    /// Opens answered 40002 because the unwrap limit was reached.
    pub unwraps_limited: u64,
    /// Sessions in the cache now.
    pub cached_sessions: usize,
    /// Common keys with failures remembered now.
    pub remembered_keys: usize,
    /// Peers with failures remembered now.
    pub remembered_peers: usize,
    /// Seconds of server-wide lockdown left now (0: none).
    pub server_lockdown_secs: u32,
}

/// What a lockdown event reports.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum ServerEventKind {
    /// A peer went into lockdown (a possible attack from that peer).
    PeerLockdownStarted,
    /// A peer's lockdown is over (reported at its next request).
    PeerLockdownEnded,
    /// The whole server went into lockdown (failures from many peers).
    ServerLockdownStarted,
    /// The server-wide lockdown is over (reported at the next request).
    ServerLockdownEnded,
}

/// A lockdown starting or ending, for the application's log. Carries no
/// key, secret or digest: the peer is the identity the application passed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ServerEvent<'a> {
    /// What happened.
    pub kind: ServerEventKind,
    /// The peer whose request started (or first saw the end of) it, as
    /// passed to [`Server::open`] (its first [`PEER_NAME_MAX`] bytes).
    pub peer: &'a [u8],
    /// The lockdown's length in seconds (0 for the ends).
    pub seconds: u32,
}

/// The most bytes of a peer identity an event repeats (an IPv6 address with
/// a port fits).
pub const PEER_NAME_MAX: usize = 64;

/// The server's clock: milliseconds from any fixed origin, never going back.
/// Boxed, not shared: the server (itself shared) is its only owner.
pub type Clock = Box<dyn Fn() -> u64 + Send + Sync>;
/// Receives the server's lockdown events. Runs on the request's thread,
/// outside the server's lock; keep it short.
pub type EventHook = Box<dyn Fn(&ServerEvent<'_>) + Send + Sync>;

type Digest = crate::mac::Keyed;

/// Domain separation of the keyed digests.
const CIPHERTEXT_LABEL: u8 = 1;
const COMMON_KEY_LABEL: u8 = 2;
const PEER_LABEL: u8 = 3;

struct State {
    cache: SessionCache,
    keys: LruTable<KeyRecord>,
    peers: LruTable<Limiter>,
    server: Limiter,
    unwraps: UnwrapBudget,
    stats: ServerStats,
}

/// What open digests and looks up when an unwrap gives no common key, so
/// that such a failure takes the same work as a refused key.
static NO_COMMON_KEY: Session = Session {
    key: [0; KEY_LEN],
    iv: [0; IV_LEN],
    mode: Mode::KeyIv,
};

/// Events of one call, reported after the lock is released.
#[derive(Default)]
struct Events {
    list: [Option<(ServerEventKind, u32)>; 4],
}

impl Events {
    fn push(&mut self, change: Change, peer: bool) {
        let kind = match (change, peer) {
            (Change::None, _) => return,
            (Change::Started(_), true) => ServerEventKind::PeerLockdownStarted,
            (Change::Ended, true) => ServerEventKind::PeerLockdownEnded,
            (Change::Started(_), false) => ServerEventKind::ServerLockdownStarted,
            (Change::Ended, false) => ServerEventKind::ServerLockdownEnded,
        };
        let seconds = match change {
            Change::Started(seconds) => seconds,
            _ => 0,
        };
        if let Some(free) = self.list.iter_mut().find(|slot| slot.is_none()) {
            *free = Some((kind, seconds));
        }
    }
}

impl State {
    /// Lockdown checks before any work for this peer: 40002 while the
    /// server or the peer is locked down.
    fn admit_peer(&mut self, now: Secs, peer_tag: u64, events: &mut Events) -> Result<()> {
        let (server_locked, change) = self.server.check(now);
        events.push(change, false);
        let peer_locked = match self.peers.get(peer_tag) {
            Some(peer) => {
                let (locked, change) = peer.check(now);
                events.push(change, true);
                locked
            }
            None => false,
        };
        if server_locked | peer_locked {
            self.stats.lockdown_answers += 1;
            return Err(Error::EncryptionFailed);
        }
        Ok(())
    }

    /// Whether the common key is refused now (a lookup refreshes it).
    fn key_refused(&mut self, now: Secs, key_tag: u64) -> bool {
        self.keys
            .get(key_tag)
            .is_some_and(|record| record.is_refused(now))
    }

    fn admit_decryption(
        &mut self,
        now: Secs,
        key_tag: u64,
        peer_tag: u64,
        events: &mut Events,
    ) -> Result<()> {
        self.admit_peer(now, peer_tag, events)?;
        if self.key_refused(now, key_tag) {
            self.stats.refused += 1;
            return Err(Error::EncryptionFailed);
        }
        Ok(())
    }

    /// A failure under `key_tag` from `peer_tag`: the key's window, the
    /// peer's and the server's counts.
    fn record_failure(
        &mut self,
        now: Secs,
        policy: &FailurePolicy,
        key_tag: u64,
        peer_tag: u64,
        cache_tag: u128,
        events: &mut Events,
    ) {
        self.stats.failures += 1;
        if let Some(record) = self.keys.get_or_insert(key_tag) {
            record.fail(now, policy);
            if record.refused_until == policy::FOREVER
                && u32::from(record.failures) == policy.key_failure_budget
            {
                self.stats.keys_refused_for_good += 1;
                // No use keeping it: the cached session goes (and is wiped).
                self.cache.remove(cache_tag);
            }
        }
        if let Some(peer) = self.peers.get_or_insert(peer_tag) {
            let change = peer.fail(now, &Limits::peer(policy));
            if matches!(change, Change::Started(_)) {
                self.stats.peer_lockdowns += 1;
            }
            events.push(change, true);
        }
        let change = self.server.fail(now, &Limits::server(policy));
        if matches!(change, Change::Started(_)) {
            self.stats.server_lockdowns += 1;
        }
        events.push(change, false);
    }
}

/// Decryptions under one common key run one at a time (keys are spread
/// over this many locks), so that concurrent forged requests cannot get
/// answers before the first failure is recorded.
#[cfg(feature = "std")]
const KEY_LOCKS: usize = 16;

struct Inner {
    key_pair: KeyPair,
    config: ServerConfig,
    /// HMAC-SHA-256 keyed with 32 random bytes, ready to clone.
    digest: Digest,
    /// The digest key itself, for [`Server::export_state`].
    digest_key: Zeroizing<[u8; 32]>,
    policy_on: bool,
    clock: Clock,
    origin_ms: u64,
    events: Option<EventHook>,
    state: crate::lock::Lock<State>,
    /// Taken before `state`, never after it.
    #[cfg(feature = "std")]
    key_locks: [crate::lock::Lock<()>; KEY_LOCKS],
}

/// A server: the key pair, its configuration, the encKey cache and the
/// failure policy. See the module documentation.
///
/// Cheap to clone (a shared handle). Thread-safe with `std`: many request
/// threads share one server, and the RSA work of a cache miss runs outside
/// the lock; the lock covers only table lookups and updates. Without `std`
/// (firmware) the lock does not wait: a call that finds the server in use by
/// another thread fails with [`Error::Busy`] before doing anything, so use
/// it from one task.
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

/// Makes a [`Server`] with a clock, an event hook or saved state:
/// `Server::builder(key_pair, config).clock(..).on_event(..).state(..).build()`.
pub struct ServerBuilder<'a> {
    key_pair: KeyPair,
    config: ServerConfig,
    clock: Option<Clock>,
    events: Option<EventHook>,
    state: Option<&'a [u8]>,
    policy_on: bool,
}

impl<'a> ServerBuilder<'a> {
    /// The time source of the failure policy: milliseconds from any fixed
    /// origin, never going back (firmware: its tick counter). Default with
    /// `std`: the monotonic clock; without `std` a clock is required.
    pub fn clock(mut self, clock: impl Fn() -> u64 + Send + Sync + 'static) -> Self {
        self.clock = Some(Box::new(clock));
        self
    }

    /// Receives lockdown events ([`ServerEvent`]), for example to log a
    /// possible attack.
    pub fn on_event(mut self, hook: impl Fn(&ServerEvent<'_>) + Send + Sync + 'static) -> Self {
        self.events = Some(Box::new(hook));
        self
    }

    /// Starts from a state saved by [`Server::export_state`] of a server
    /// with the same key pair: its digest key, refused keys, peers and
    /// lockdowns. Remaining windows resume where they stood at the export.
    /// [`ServerBuilder::build`] fails with [`Error::InvalidState`] for a
    /// corrupted blob, one of another key pair or another version; nothing
    /// of such a blob is loaded.
    pub fn state(mut self, blob: &'a [u8]) -> Self {
        self.state = Some(blob);
        self
    }

    /// Builds the server, with its digest key from the OS RNG (unless the
    /// state supplies it).
    #[cfg(feature = "std")]
    pub fn build(self) -> Result<Server> {
        self.build_with_rng(&mut rng::OsRng)
    }

    /// Builds the server, with its digest key from `rng` (unless the state
    /// supplies it). Allocates every table in full. Errors:
    /// [`Error::InvalidConfig`] for a value out of range (or no clock
    /// without `std`), [`Error::InvalidState`], [`Error::Rng`].
    pub fn build_with_rng<R: TryCryptoRng + ?Sized>(self, rng: &mut R) -> Result<Server> {
        let config = self.config;
        config.check()?;
        let clock = match self.clock {
            Some(clock) => clock,
            #[cfg(feature = "std")]
            None => {
                let start = std::time::Instant::now();
                Box::new(move || start.elapsed().as_millis() as u64)
            }
            #[cfg(not(feature = "std"))]
            None => return Err(Error::InvalidConfig),
        };
        let origin_ms = clock();
        let mut state = State {
            cache: SessionCache::new(config.cache_capacity),
            keys: LruTable::new(config.refusal_capacity),
            peers: LruTable::new(config.peer_capacity),
            server: Limiter::default(),
            unwraps: UnwrapBudget::default(),
            stats: ServerStats::default(),
        };
        let mut digest_key = Zeroizing::new([0u8; 32]);
        match self.state {
            Some(blob) => {
                state::import(blob, &self.key_pair, &mut digest_key, &mut state)?;
            }
            None => rng::fill(rng, &mut digest_key[..])?,
        }
        let digest = crate::mac::hmac_sha256(&digest_key);
        Ok(Server {
            inner: Arc::new(Inner {
                key_pair: self.key_pair,
                config,
                digest,
                digest_key,
                policy_on: self.policy_on,
                clock,
                origin_ms,
                events: self.events,
                state: crate::lock::Lock::new(state),
                #[cfg(feature = "std")]
                key_locks: core::array::from_fn(|_| crate::lock::Lock::new(())),
            }),
        })
    }
}

impl Server {
    /// A builder for a server with a clock, an event hook or saved state.
    pub fn builder<'a>(key_pair: KeyPair, config: ServerConfig) -> ServerBuilder<'a> {
        ServerBuilder {
            key_pair,
            config,
            clock: None,
            events: None,
            state: None,
            policy_on: true,
        }
    }

    /// A server for `key_pair`, with its digest key from the OS RNG and the
    /// monotonic clock.
    #[cfg(feature = "std")]
    pub fn new(key_pair: KeyPair, config: ServerConfig) -> Result<Self> {
        Self::builder(key_pair, config).build()
    }

    /// A server for `key_pair`, with its digest key from `rng` (and, with
    /// `std`, the monotonic clock; without it, use [`Server::builder`] with a
    /// clock). Errors as [`ServerBuilder::build_with_rng`].
    pub fn new_with_rng<R: TryCryptoRng + ?Sized>(
        rng: &mut R,
        key_pair: KeyPair,
        config: ServerConfig,
    ) -> Result<Self> {
        Self::builder(key_pair, config).build_with_rng(rng)
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

    /// What the server has done so far, and its policy state now.
    pub fn stats(&self) -> Result<ServerStats> {
        let now = self.now();
        self.inner.state.with(|state| ServerStats {
            cached_sessions: state.cache.len(),
            remembered_keys: state.keys.len(),
            remembered_peers: state.peers.len(),
            server_lockdown_secs: state.server.remaining(now),
            ..state.stats
        })
    }

    /// The policy's time: whole seconds since the server was made.
    fn now(&self) -> Secs {
        policy::secs_of_ms((self.inner.clock)().saturating_sub(self.inner.origin_ms))
    }

    /// Opens a base64 `encKey` (CR/LF tolerated) from `peer` into a server
    /// session, with the OS RNG for RSA blinding.
    #[cfg(feature = "std")]
    pub fn open(&self, peer: &[u8], enc_key: &[u8]) -> Result<ServerSession> {
        self.open_with_rng(&mut rng::OsRng, peer, enc_key)
    }

    /// Opens a base64 `encKey` from `peer` into a server session: from the
    /// cache when this RSA ciphertext was opened before, else by unwrapping
    /// it (`rng` blinds the RSA operation on the `rsa-crate` and `compact` backends; AWS-LC
    /// uses its own generator) and caching the result.
    ///
    /// `peer` is an opaque identity of the requester, such as its IP
    /// address: failures are counted per peer, and a peer in lockdown gets
    /// 40002 for everything. Requests that pass the same bytes (an empty
    /// `peer` included) count as one peer.
    ///
    /// Every failure is [`Error::EncryptionFailed`]: a malformed or stale
    /// encKey, a mode the server does not accept, a refused common key, a
    /// lockdown, the unwrap limit. Besides that: [`Error::Rng`], and
    /// [`Error::Busy`] without `std`.
    pub fn open_with_rng<R: TryCryptoRng + ?Sized>(
        &self,
        rng: &mut R,
        peer: &[u8],
        enc_key: &[u8],
    ) -> Result<ServerSession> {
        // In phases, each heavy one not inlined, and the keyed digests
        // called from this frame: the frames that the RSA work and the
        // digests stack on hold only what crosses them (firmware stack).
        // The peer's admission, the cache lookup and the parse are inlined
        // (and implicit rejection's decoding into the RSA call): measured by
        // `make size`, less firmware flash for no more stack (the firmware
        // README has the figures).
        let now = self.now();
        let peer_tag = self.tag(PEER_LABEL, peer);
        self.admit_peer(now, peer_tag, peer)?;
        // Nothing longer than the modulus allows is decoded or allocated.
        let inner = &*self.inner;
        let size = inner.key_pair.public_key().size();
        let ciphertext = wire_base64::decode_bounded(enc_key, size)
            .filter(|ciphertext| ciphertext.len() == size)
            .ok_or(Error::EncryptionFailed)?;
        let cache_tag = self.ciphertext_tag(&ciphertext);
        if let Some((session, key_tag)) = self.look_up(now, cache_tag)? {
            return Ok(self.session(session, key_tag, peer_tag, cache_tag, peer));
        }
        // A cache miss: the RSA work runs outside the lock. From here on,
        // every outcome does the same work (a parse, a keyed digest and a
        // failure-record lookup, of a stand-in when there is no common key),
        // so that the time of a 40002 does not tell an invalid RSA padding
        // from a valid one around a message that is no common key, nor
        // either of them from a refused common key.
        let plaintext = match inner
            .key_pair
            .rsa_decrypt(rng, &ciphertext, inner.config.padding)
        {
            Ok(plaintext) => Some(plaintext),
            Err(Error::EncryptionFailed) => None,
            Err(other) => return Err(other),
        };
        drop(ciphertext);
        let parsed = self.parse(plaintext);
        let key_tag = self.common_key_tag(parsed.as_ref().unwrap_or(&NO_COMMON_KEY));
        self.finish_open(now, parsed, key_tag, peer_tag, cache_tag, peer)
    }

    /// Open's parse of the unwrapped plaintext: a common key in a mode the
    /// server accepts, or `None`.
    fn parse(&self, plaintext: Option<Zeroizing<Vec<u8>>>) -> Option<Session> {
        Session::from_enc_key_plaintext(plaintext.as_deref().map_or(&[], |p| &p[..]))
            .ok()
            .filter(|session| self.inner.config.modes.accepts(session.mode))
    }

    /// Open's admission of the peer (lockdowns), its events reported.
    fn admit_peer(&self, now: Secs, peer_tag: u64, peer: &[u8]) -> Result<()> {
        let inner = &*self.inner;
        let mut events = Events::default();
        let admitted = inner.state.with(|state| {
            if inner.policy_on {
                state.admit_peer(now, peer_tag, &mut events)
            } else {
                Ok(())
            }
        });
        self.report(&events, peer);
        admitted?
    }

    /// Open's cache lookup: the cached common key and its tag, `None` for a
    /// miss that may go on to an unwrap, 40002 for a refused key or the
    /// unwrap limit.
    fn look_up(&self, now: Secs, cache_tag: u128) -> Result<Option<(Session, u64)>> {
        let inner = &*self.inner;
        inner.state.with(|state| {
            let hit = state.cache.get(cache_tag).and_then(|entry| {
                let session = entry.session.clone()?;
                Some((session, entry.key_tag))
            });
            match hit {
                Some((session, key_tag)) => {
                    state.stats.cache_hits += 1;
                    if inner.policy_on && state.key_refused(now, key_tag) {
                        state.stats.refused += 1;
                        return Err(Error::EncryptionFailed);
                    }
                    Ok(Some((session, key_tag)))
                }
                None if !inner.policy_on || state.unwraps.take(now, &inner.config.policy) => {
                    Ok(None)
                }
                None => {
                    state.stats.unwraps_limited += 1;
                    Err(Error::EncryptionFailed)
                }
            }
        })?
    }

    /// Open's last phase, after the RSA work, the parse and the common
    /// key's digest: its refusal check, the cache and the session. Not
    /// inlined (see `open_with_rng`).
    #[inline(never)]
    fn finish_open(
        &self,
        now: Secs,
        parsed: Option<Session>,
        key_tag: u64,
        peer_tag: u64,
        cache_tag: u128,
        peer: &[u8],
    ) -> Result<ServerSession> {
        let inner = &*self.inner;
        inner.state.with(|state| {
            state.stats.unwraps += 1;
            let refused = inner.policy_on & state.key_refused(now, key_tag);
            let Some(session) = parsed else {
                return Err(Error::EncryptionFailed);
            };
            if refused {
                state.stats.refused += 1;
                return Err(Error::EncryptionFailed);
            }
            state.cache.insert(cache_tag, key_tag, session.clone());
            Ok(self.session(session, key_tag, peer_tag, cache_tag, peer))
        })?
    }

    #[inline(never)]
    fn session(
        &self,
        session: Session,
        key_tag: u64,
        peer_tag: u64,
        cache_tag: u128,
        peer: &[u8],
    ) -> ServerSession {
        ServerSession {
            server: self.clone(),
            session,
            key_tag,
            peer_tag,
            cache_tag,
            peer_name: peer[..peer.len().min(PEER_NAME_MAX)].into(),
        }
    }

    /// Hands the call's events to the application's hook.
    fn report(&self, events: &Events, peer: &[u8]) {
        let Some(hook) = &self.inner.events else {
            return;
        };
        let peer = &peer[..peer.len().min(PEER_NAME_MAX)];
        for (kind, seconds) in events.list.iter().flatten() {
            hook(&ServerEvent {
                kind: *kind,
                peer,
                seconds: *seconds,
            });
        }
    }

    /// Keyed digest of an RSA ciphertext: the cache key.
    fn ciphertext_tag(&self, ciphertext: &[u8]) -> u128 {
        let mut tag = [0u8; 16];
        self.keyed_digest(CIPHERTEXT_LABEL, ciphertext, &mut tag);
        u128::from_le_bytes(tag)
    }

    /// Keyed 64-bit digest of a labelled value (a peer identity).
    fn tag(&self, label: u8, value: &[u8]) -> u64 {
        let mut tag = [0u8; 8];
        self.keyed_digest(label, value, &mut tag);
        u64::from_le_bytes(tag)
    }

    /// The first `out.len()` bytes of the keyed digest of a labelled value.
    fn keyed_digest(&self, label: u8, value: &[u8], out: &mut [u8]) {
        crate::mac::finish(&self.inner.digest, &[&[label], value], out);
    }

    /// Keyed digest of a common key (mode, key, IV): its failure record's key.
    // Not inlined: its text (the common key, wiped after) stays off the
    // caller's frame, which the RSA work stacks on (firmware stack).
    #[inline(never)]
    fn common_key_tag(&self, session: &Session) -> u64 {
        let mut text = Zeroizing::new([0u8; 1 + KEY_LEN + IV_LEN]);
        text[0] = match session.mode {
            Mode::KeyIv => 0,
            Mode::PerMessageIv => 1,
        };
        text[1..1 + KEY_LEN].copy_from_slice(&session.key);
        let len = match session.mode {
            Mode::KeyIv => {
                text[1 + KEY_LEN..].copy_from_slice(&session.iv);
                text.len()
            }
            Mode::PerMessageIv => 1 + KEY_LEN,
        };
        self.tag(COMMON_KEY_LABEL, &text[..len])
    }

    /// The refusal and failure state (with the digest key) as an opaque,
    /// versioned blob bound to this key pair and integrity-checked: keep
    /// it like the private key, and pass it to [`ServerBuilder::state`]
    /// after a restart. Cached sessions are not in it. Remaining windows
    /// and lockdowns are saved as they stand now; time while the server is
    /// down does not count.
    pub fn export_state(&self) -> Result<Zeroizing<Vec<u8>>> {
        let now = self.now();
        self.inner
            .state
            .with(|state| state::export(now, &self.inner.key_pair, &self.inner.digest_key, state))?
    }
}

/// A client's common key as the server holds it, from [`Server::open`].
///
/// Decrypts the request's secret parameters and encrypts the reply's. A
/// decryption that fails counts against the common key, the peer and the
/// server ([`FailurePolicy`]); while the key is refused, or the peer or
/// the server is in lockdown, every call fails with
/// [`Error::EncryptionFailed`], encryption included. Key and IV are wiped on
/// drop. Holds a reference to its server (dropping the server first is fine).
pub struct ServerSession {
    server: Server,
    session: Session,
    key_tag: u64,
    peer_tag: u64,
    cache_tag: u128,
    // On the heap: a session is returned by value through several frames,
    // which the firmware's stack holds at once during an open.
    peer_name: alloc::boxed::Box<[u8]>,
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
        self.key_tag
    }

    fn peer(&self) -> &[u8] {
        &self.peer_name
    }

    /// Runs `op` (a decryption, or a reported failure) when the key, the
    /// peer and the server are admitted, and records its failure. No
    /// failure is answered without being recorded: with `std` the key's
    /// lock orders decryptions under one key and the state lock waits;
    /// without `std` the state lock is held across `op`, so a busy server
    /// answers [`Error::Busy`] before decrypting, never after.
    fn guarded<T>(&self, admit: bool, op: impl FnOnce() -> Result<T>) -> Result<T> {
        let inner = &*self.server.inner;
        if !inner.policy_on {
            return op();
        }
        let now = self.server.now();
        let policy = &inner.config.policy;
        let mut events = Events::default();
        let (key_tag, peer_tag, cache_tag) = (self.key_tag, self.peer_tag, self.cache_tag);
        let run = |state: &mut State, events: &mut Events| {
            if admit {
                state.admit_decryption(now, key_tag, peer_tag, events)?;
            }
            Ok(())
        };
        #[cfg(feature = "std")]
        let result = inner.key_locks[self.key_tag as usize % KEY_LOCKS].with(|()| {
            inner.state.with(|state| run(state, &mut events))??;
            let result = op();
            if result.as_ref().err() == Some(&Error::EncryptionFailed) {
                inner.state.with(|state| {
                    state.record_failure(now, policy, key_tag, peer_tag, cache_tag, &mut events);
                })?;
            }
            result
        });
        #[cfg(not(feature = "std"))]
        let result = inner.state.with(|state| {
            run(state, &mut events)?;
            let result = op();
            if result.as_ref().err() == Some(&Error::EncryptionFailed) {
                state.record_failure(now, policy, key_tag, peer_tag, cache_tag, &mut events);
            }
            result
        });
        self.server.report(&events, self.peer());
        result?
    }

    /// Decrypts a secret parameter's base64 wire value; a failure counts
    /// ([`FailurePolicy`]). The plaintext is zeroized when dropped.
    pub fn decrypt(&self, text: &[u8]) -> Result<Zeroizing<Vec<u8>>> {
        secret_param::decrypt_to_vec(self.session.mode, text, |text, out| {
            self.decrypt_into(text, out)
        })
    }

    /// Decrypts a secret parameter into `out` (sized as for
    /// [`Session::decrypt_into`]) and returns its length; a failure counts.
    /// A too small `out` is reported before decrypting and counts nothing.
    pub fn decrypt_into(&self, text: &[u8], out: &mut [u8]) -> Result<usize> {
        self.guarded(true, || self.session.decrypt_into(text, out))
    }

    /// Decrypts a secret parameter that must be UTF-8 text (what the
    /// protocol's string parameters are): a value that is not UTF-8 is
    /// [`Error::EncryptionFailed`] and counts as a failure, like a bad
    /// padding, since answering it differently would be an oracle.
    pub fn decrypt_text(&self, text: &[u8]) -> Result<Zeroizing<String>> {
        let mut bytes = secret_param::decrypt_to_vec(self.session.mode, text, |text, out| {
            self.decrypt_text_into(text, out)
        })?;
        let text = String::from_utf8(core::mem::take(&mut *bytes)).map_err(|err| {
            err.into_bytes().zeroize();
            Error::EncryptionFailed
        })?;
        Ok(Zeroizing::new(text))
    }

    /// [`ServerSession::decrypt_text`] into `out`: the length of the UTF-8
    /// text. Nothing of a value that is not UTF-8 stays in `out`.
    pub fn decrypt_text_into(&self, text: &[u8], out: &mut [u8]) -> Result<usize> {
        self.guarded(true, || {
            let len = self.session.decrypt_into(text, out)?;
            if core::str::from_utf8(&out[..len]).is_err() {
                out[..len].zeroize();
                return Err(Error::EncryptionFailed);
            }
            Ok(len)
        })
    }

    /// Reports that a value decrypted in this session was unacceptable to
    /// the application (malformed, a setting it rejects): it counts as a
    /// failure of this common key and peer, like a bad padding. Answer such
    /// a request with 40002 as well: an application that answers a bad
    /// decrypted value differently from a good one re-creates the padding
    /// oracle unless the failure counts. Always recorded with `std`; without
    /// it, [`Error::Busy`] means it was not and the call must be repeated.
    pub fn report_failure(&self) -> Result<()> {
        match self.guarded::<()>(false, || Err(Error::EncryptionFailed)) {
            Err(Error::EncryptionFailed) => Ok(()),
            other => other,
        }
    }

    fn check_admitted(&self) -> Result<()> {
        self.guarded(true, || Ok(()))
    }

    /// Encrypts a reply value under the client's common key (OS RNG for the
    /// per-message IV). Fails with [`Error::EncryptionFailed`] while the key
    /// is refused or the peer or server in lockdown.
    #[cfg(feature = "std")]
    pub fn encrypt(&self, plaintext: &[u8]) -> Result<String> {
        self.encrypt_with_rng(&mut rng::OsRng, plaintext)
    }

    /// Encrypts a reply value; `rng` makes the per-message IV.
    pub fn encrypt_with_rng<R: TryCryptoRng + ?Sized>(
        &self,
        rng: &mut R,
        plaintext: &[u8],
    ) -> Result<String> {
        self.check_admitted()?;
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
        self.check_admitted()?;
        self.session.encrypt_into(rng, plaintext, out)
    }
}

/// For tests and benchmarks only. Not in the C or Python API.
#[cfg(feature = "hazmat")]
impl Server {
    /// A server without failure policy (caching as usual): the padding
    /// oracle that the policy closes.
    pub fn without_refusal_with_rng<R: TryCryptoRng + ?Sized>(
        rng: &mut R,
        key_pair: KeyPair,
        config: ServerConfig,
    ) -> Result<Self> {
        let mut builder = Self::builder(key_pair, config);
        builder.policy_on = false;
        builder.build_with_rng(rng)
    }

    /// Fills the cache, the key records and the peer records to capacity
    /// with entries no request will match (benchmarks of full tables).
    pub fn fill_tables(&self) -> Result<()> {
        self.inner.state.with(|state| {
            let mut seed = 0x9E37_79B9_7F4A_7C15u64;
            let mut next = move || {
                seed = seed.wrapping_add(0x9E37_79B9_7F4A_7C15);
                let mut z = seed;
                z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
                z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
                z ^ (z >> 31)
            };
            for _ in 0..self.inner.config.cache_capacity {
                let tag = u128::from(next()) << 64 | u128::from(next());
                let session = Session {
                    key: [0; KEY_LEN],
                    iv: [0; IV_LEN],
                    mode: Mode::KeyIv,
                };
                state.cache.insert(tag, next(), session);
            }
            for _ in 0..self.inner.config.refusal_capacity {
                state.keys.insert(next(), KeyRecord::default());
            }
            for _ in 0..self.inner.config.peer_capacity {
                state.peers.insert(next(), Limiter::default());
            }
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::compact::rsa::tests::TestRng;

    fn server_and_session() -> (Server, ServerSession, Session) {
        let pem = include_str!("../../../tests/data/keys/rsa2048_pkcs8.pem");
        let key = KeyPair::from_pem(pem).expect("key");
        let mut rng = TestRng(0x5EED);
        let server = Server::builder(key, ServerConfig::firmware())
            .clock(|| 0)
            .build_with_rng(&mut rng)
            .expect("server");
        let client = Session::new_with_rng(&mut rng, Mode::KeyIv).expect("session");
        let enc_key = client
            .wrap_with_rng(&mut rng, server.public_key(), Padding::Pkcs1v15)
            .expect("wrap");
        let session = server
            .open_with_rng(&mut rng, b"peer", enc_key.as_bytes())
            .expect("open");
        (server, session, client)
    }

    /// Firmware's lock does not wait, so a decryption and the record of its
    /// failure must be one step under it: a second user that finds the lock
    /// taken gets `Busy` before anything is decrypted, never between a
    /// failed decryption and its record (which left keys usable, an oracle).
    #[cfg(not(feature = "std"))]
    #[test]
    fn without_std_the_lock_is_held_from_the_check_to_the_failure_record() {
        let (server, session, _) = server_and_session();
        let during = session.guarded(true, || Ok(server.stats()));
        assert_eq!(during.expect("admitted").unwrap_err(), Error::Busy);
        // A decryption that meets the taken lock does not run.
        let forged = b"AAAAAAAAAAAAAAAAAAAAAA==";
        let busy = server
            .inner
            .state
            .with(|_| session.decrypt(forged).unwrap_err());
        assert_eq!(busy.expect("lock"), Error::Busy);
        assert_eq!(server.stats().expect("stats").failures, 0);
        // Unhindered, its failure is recorded and the key refused.
        assert_eq!(
            session.decrypt(forged).unwrap_err(),
            Error::EncryptionFailed
        );
        assert_eq!(server.stats().expect("stats").failures, 1);
        assert_eq!(
            session.decrypt(forged).unwrap_err(),
            Error::EncryptionFailed
        );
        assert_eq!(server.stats().expect("stats").refused, 1);
    }

    #[test]
    fn a_reported_failure_refuses_the_key() {
        let (server, session, client) = server_and_session();
        let value = client
            .encrypt_with_rng(&mut TestRng(3), b"setting")
            .expect("encrypt");
        assert_eq!(
            &session.decrypt(value.as_bytes()).expect("decrypt")[..],
            b"setting"
        );
        session.report_failure().expect("reported");
        assert_eq!(
            session.decrypt(value.as_bytes()).unwrap_err(),
            Error::EncryptionFailed
        );
        let stats = server.stats().expect("stats");
        assert_eq!((stats.failures, stats.refused), (1, 1));
    }
}
