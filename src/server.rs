//! The server object: configuration (padding, modes, capacities, failure
//! policy, clock, event hook, saved state), opening encKeys from a peer, and
//! the server sessions that decrypt requests and encrypt replies.

use core::ffi::c_void;

use paramcrypt_core::{
    FailurePolicy, Server, ServerConfig, ServerEvent, ServerEventKind, ServerStats,
};

use crate::boundary::{
    borrow, copy_out, guard, guard_status, handle_slot, input, output, put, release, with_buffers,
};
use crate::handles::{
    paramcrypt_keypair, paramcrypt_public_key, paramcrypt_server, paramcrypt_server_session,
};
use crate::rng::{FfiRng, paramcrypt_rng_callback};
use crate::status::{
    AcceptedModesValue, PaddingValue, accepted_modes_from_c, mode_to_c, padding_from_c,
    paramcrypt_accepted_modes, paramcrypt_mode, paramcrypt_padding, paramcrypt_status,
};

/// A `paramcrypt_server_setting` value from C (see `StatusValue`).
pub type ServerSettingValue = u32;

/// The defaults a `paramcrypt_server_config` starts from
/// (`paramcrypt_server_config_init`).
#[repr(u32)]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum paramcrypt_server_setting {
    /// A server or gateway: 1,024 cached sessions, 16,384 failed keys and
    /// 1,024 failed peers remembered (under 1 MiB with a 2048-bit key pair;
    /// measured in SECURITY.md), no unwrap limit.
    PARAMCRYPT_SETTING_SERVER = 0,
    /// Firmware: 4 sessions, 64 keys, 8 peers (a few KiB of heap; measured
    /// in SECURITY.md), at most 30 RSA unwraps a minute.
    PARAMCRYPT_SETTING_FIRMWARE = 1,
}

/// The limits a server applies to decryption failures (the README explains
/// each and its default). A limit of 0 switches it off.
///
/// - Per common key: after its n-th failure the key is refused for
///   `key_refusal_seconds * 2^(n-1)` seconds, for good after
///   `key_failure_budget` failures (1 to 255). A refused key answers 40002
///   without counting as a new failure.
/// - Per peer and server-wide: `*_failure_limit` failures within
///   `*_window_seconds` start a lockdown, in which every open and decryption
///   of that peer (or of everyone) answers 40002 without RSA work or
///   decryption. The first lasts `lockdown_seconds`, each next one twice as
///   long up to `lockdown_max_seconds`.
/// - At most `unwrap_limit` RSA private-key operations per
///   `unwrap_window_seconds`.
#[repr(C)]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct paramcrypt_failure_policy {
    /// A common key's refusal window after its first failure (doubling).
    pub key_refusal_seconds: u32,
    /// Failures after which a common key is refused for good.
    pub key_failure_budget: u32,
    /// Failures of one peer per window that start its lockdown.
    pub peer_failure_limit: u32,
    /// The window of `peer_failure_limit`.
    pub peer_window_seconds: u32,
    /// Failures of all peers per window that start the server-wide lockdown.
    pub server_failure_limit: u32,
    /// The window of `server_failure_limit`.
    pub server_window_seconds: u32,
    /// The first lockdown's length.
    pub lockdown_seconds: u32,
    /// The longest lockdown.
    pub lockdown_max_seconds: u32,
    /// RSA unwraps allowed per window.
    pub unwrap_limit: u32,
    /// The window of `unwrap_limit`.
    pub unwrap_window_seconds: u32,
}

impl From<FailurePolicy> for paramcrypt_failure_policy {
    fn from(p: FailurePolicy) -> Self {
        paramcrypt_failure_policy {
            key_refusal_seconds: p.key_refusal_secs,
            key_failure_budget: p.key_failure_budget,
            peer_failure_limit: p.peer_failure_limit,
            peer_window_seconds: p.peer_window_secs,
            server_failure_limit: p.server_failure_limit,
            server_window_seconds: p.server_window_secs,
            lockdown_seconds: p.lockdown_secs,
            lockdown_max_seconds: p.lockdown_max_secs,
            unwrap_limit: p.unwrap_limit,
            unwrap_window_seconds: p.unwrap_window_secs,
        }
    }
}

impl From<paramcrypt_failure_policy> for FailurePolicy {
    fn from(p: paramcrypt_failure_policy) -> Self {
        FailurePolicy {
            key_refusal_secs: p.key_refusal_seconds,
            key_failure_budget: p.key_failure_budget,
            peer_failure_limit: p.peer_failure_limit,
            peer_window_secs: p.peer_window_seconds,
            server_failure_limit: p.server_failure_limit,
            server_window_secs: p.server_window_seconds,
            lockdown_secs: p.lockdown_seconds,
            lockdown_max_secs: p.lockdown_max_seconds,
            unwrap_limit: p.unwrap_limit,
            unwrap_window_secs: p.unwrap_window_seconds,
        }
    }
}

/// The server's clock: milliseconds from any fixed origin, never going back
/// (firmware: its tick counter). Called from any thread that uses the
/// server, so it must be thread-safe.
pub type paramcrypt_clock_callback = Option<unsafe extern "C" fn(user: *mut c_void) -> u64>;

/// What a lockdown event reports (`paramcrypt_server_event.kind`).
#[repr(u32)]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum paramcrypt_server_event_kind {
    /// A peer went into lockdown: a possible attack from that peer.
    PARAMCRYPT_EVENT_PEER_LOCKDOWN_STARTED = 1,
    /// A peer's lockdown is over (reported at its next request).
    PARAMCRYPT_EVENT_PEER_LOCKDOWN_ENDED = 2,
    /// The whole server went into lockdown (failures from many peers).
    PARAMCRYPT_EVENT_SERVER_LOCKDOWN_STARTED = 3,
    /// The server-wide lockdown is over (reported at the next request).
    PARAMCRYPT_EVENT_SERVER_LOCKDOWN_ENDED = 4,
}

/// A lockdown starting or ending. Carries no key, secret or digest.
#[repr(C)]
#[derive(Clone, Copy, Debug)]
pub struct paramcrypt_server_event {
    /// A `paramcrypt_server_event_kind` value.
    pub kind: u32,
    /// The lockdown's length in seconds (0 for an end).
    pub seconds: u32,
    /// The peer identity of the request that started (or first saw the
    /// end of) it, as passed to `paramcrypt_server_open` (at most its first
    /// 64 bytes, not NUL-terminated); valid only during the callback.
    pub peer: *const u8,
    /// The length of `peer`.
    pub peer_len: usize,
}

/// Receives lockdown events, for example to log a possible attack. Runs on
/// the request's thread, outside the server's lock; it must not free the
/// server.
pub type paramcrypt_event_callback =
    Option<unsafe extern "C" fn(user: *mut c_void, event: *const paramcrypt_server_event)>;

/// Everything a server is made with. Fill it with
/// `paramcrypt_server_config_init`, then change what you need.
#[repr(C)]
#[derive(Clone, Copy, Debug)]
pub struct paramcrypt_server_config {
    /// The one RSA padding of encKeys (a `paramcrypt_padding` value).
    pub padding: PaddingValue,
    /// The accepted encKey modes (a `paramcrypt_accepted_modes` value;
    /// `PARAMCRYPT_ACCEPT_KEY_IV` is what deployed clients send).
    pub modes: AcceptedModesValue,
    /// encKeys kept unwrapped, so that a client reusing its encKey costs no
    /// RSA work (0 disables the cache; at most 1,048,576).
    pub cache_capacity: usize,
    /// Common keys that failed, remembered (1 to 4,194,304).
    pub refusal_capacity: usize,
    /// Peers that failed, remembered (1 to 1,048,576).
    pub peer_capacity: usize,
    /// The limits on failures and unwraps.
    pub policy: paramcrypt_failure_policy,
    /// The clock; NULL: the monotonic clock (firmware builds need one).
    pub clock: paramcrypt_clock_callback,
    /// Passed to `clock`.
    pub clock_user: *mut c_void,
    /// Lockdown events; NULL: none.
    pub on_event: paramcrypt_event_callback,
    /// Passed to `on_event`.
    pub event_user: *mut c_void,
    /// A state saved by `paramcrypt_server_export_state` of a server with the
    /// same key pair, or NULL (with `state_len` 0) to start afresh.
    pub state: *const u8,
    /// The length of `state`.
    pub state_len: usize,
}

/// Fills `*config` with the defaults of `setting` (a
/// `paramcrypt_server_setting` value): PKCS#1 v1.5, key:iv mode only, the
/// setting's capacities and failure policy, no clock (the monotonic one),
/// no event callback, no saved state. Errors:
/// `PARAMCRYPT_ERR_INVALID_ARGUMENT` (unknown setting),
/// `PARAMCRYPT_ERR_NULL_ARGUMENT`.
#[must_use]
#[unsafe(no_mangle)]
pub unsafe extern "C" fn paramcrypt_server_config_init(
    setting: ServerSettingValue,
    config: *mut paramcrypt_server_config,
) -> paramcrypt_status {
    guard_status(|| {
        use paramcrypt_server_setting as S;
        let core = match setting {
            s if s == S::PARAMCRYPT_SETTING_SERVER as u32 => ServerConfig::server(),
            s if s == S::PARAMCRYPT_SETTING_FIRMWARE as u32 => ServerConfig::firmware(),
            _ => return Err(paramcrypt_status::PARAMCRYPT_ERR_INVALID_ARGUMENT),
        };
        // SAFETY: the caller upholds the crate's pointer rules.
        let config =
            unsafe { config.as_mut() }.ok_or(paramcrypt_status::PARAMCRYPT_ERR_NULL_ARGUMENT)?;
        *config = paramcrypt_server_config {
            padding: paramcrypt_padding::PARAMCRYPT_PADDING_PKCS1V15 as u32,
            modes: paramcrypt_accepted_modes::PARAMCRYPT_ACCEPT_KEY_IV as u32,
            cache_capacity: core.cache_capacity,
            refusal_capacity: core.refusal_capacity,
            peer_capacity: core.peer_capacity,
            policy: core.policy.into(),
            clock: None,
            clock_user: core::ptr::null_mut(),
            on_event: None,
            event_user: core::ptr::null_mut(),
            state: core::ptr::null(),
            state_len: 0,
        };
        Ok(())
    })
}

/// A C callback and its user pointer, callable from any thread (the
/// header's contract for both callbacks).
#[derive(Clone, Copy)]
struct Callback<F> {
    function: F,
    user: *mut c_void,
}

// SAFETY: the header requires both callbacks to be thread-safe; the user
// pointer is the caller's to share.
unsafe impl<F> Send for Callback<F> {}
// SAFETY: as above.
unsafe impl<F> Sync for Callback<F> {}

type ClockFn = unsafe extern "C" fn(*mut c_void) -> u64;
type EventFn = unsafe extern "C" fn(*mut c_void, *const paramcrypt_server_event);

impl Callback<ClockFn> {
    fn now(&self) -> u64 {
        // SAFETY: a C clock callback, as the caller configured it.
        unsafe { (self.function)(self.user) }
    }
}

impl Callback<EventFn> {
    fn report(&self, event: &ServerEvent<'_>) {
        let c_event = paramcrypt_server_event {
            kind: event_kind_to_c(event.kind) as u32,
            seconds: event.seconds,
            peer: event.peer.as_ptr(),
            peer_len: event.peer.len(),
        };
        // SAFETY: a C event callback, as the caller configured it; the
        // event lives for the call.
        unsafe { (self.function)(self.user, &c_event) }
    }
}

fn event_kind_to_c(kind: ServerEventKind) -> paramcrypt_server_event_kind {
    use paramcrypt_server_event_kind as K;
    match kind {
        ServerEventKind::PeerLockdownStarted => K::PARAMCRYPT_EVENT_PEER_LOCKDOWN_STARTED,
        ServerEventKind::PeerLockdownEnded => K::PARAMCRYPT_EVENT_PEER_LOCKDOWN_ENDED,
        ServerEventKind::ServerLockdownStarted => K::PARAMCRYPT_EVENT_SERVER_LOCKDOWN_STARTED,
        _ => K::PARAMCRYPT_EVENT_SERVER_LOCKDOWN_ENDED,
    }
}

unsafe fn new_server(
    rng: &mut FfiRng,
    keypair: *const paramcrypt_keypair,
    config: *const paramcrypt_server_config,
    out: *mut *mut paramcrypt_server,
) -> Result<(), paramcrypt_status> {
    // SAFETY: forwarded from the exported function's contract.
    let (keypair, config, slot) = unsafe {
        (
            borrow(keypair)?,
            config
                .as_ref()
                .ok_or(paramcrypt_status::PARAMCRYPT_ERR_NULL_ARGUMENT)?,
            handle_slot(out)?,
        )
    };
    // SAFETY: the state buffer is the caller's, per the config's contract.
    let state = unsafe { input(config.state, config.state_len)? };
    let core_config = ServerConfig {
        padding: padding_from_c(config.padding)?,
        modes: accepted_modes_from_c(config.modes)?,
        cache_capacity: config.cache_capacity,
        refusal_capacity: config.refusal_capacity,
        peer_capacity: config.peer_capacity,
        policy: config.policy.into(),
    };
    let mut builder = Server::builder(keypair.0.clone(), core_config);
    if let Some(function) = config.clock {
        let clock: Callback<ClockFn> = Callback {
            function,
            user: config.clock_user,
        };
        builder = builder.clock(move || clock.now());
    }
    if let Some(function) = config.on_event {
        let hook: Callback<EventFn> = Callback {
            function,
            user: config.event_user,
        };
        builder = builder.on_event(move |event: &ServerEvent<'_>| hook.report(event));
    }
    if !state.is_empty() {
        builder = builder.state(state);
    }
    let server = builder.build_with_rng(rng)?;
    put(slot, paramcrypt_server(server));
    Ok(())
}

/// Makes a server for a copy of `keypair` (free yours when you no longer need
/// it) with `*config` (see `paramcrypt_server_config`; the state buffer is
/// read now and not kept) and stores a new handle in `*out`.
///
/// Every table is allocated now, in full; nothing grows per request. A
/// random digest key comes from the OS RNG, unless the saved state brings
/// it. Errors: `PARAMCRYPT_ERR_INVALID_ARGUMENT` (unknown padding or modes,
/// a capacity or policy value out of range, no clock in a firmware build),
/// `PARAMCRYPT_ERR_INVALID_STATE` (a saved state that is corrupted, of
/// another key pair or another version: nothing of it is loaded),
/// `PARAMCRYPT_ERR_RNG`, `PARAMCRYPT_ERR_NULL_ARGUMENT`.
#[must_use]
#[unsafe(no_mangle)]
pub unsafe extern "C" fn paramcrypt_server_new(
    keypair: *const paramcrypt_keypair,
    config: *const paramcrypt_server_config,
    out: *mut *mut paramcrypt_server,
) -> paramcrypt_status {
    // SAFETY: the caller upholds the crate's pointer rules.
    guard_status(|| unsafe { new_server(&mut FfiRng::os(), keypair, config, out) })
}

/// Like `paramcrypt_server_new`, with the digest key from `rng(user, buf, len)`
/// (firmware: the hardware RNG).
#[must_use]
#[unsafe(no_mangle)]
pub unsafe extern "C" fn paramcrypt_server_new_with_rng(
    keypair: *const paramcrypt_keypair,
    config: *const paramcrypt_server_config,
    rng: paramcrypt_rng_callback,
    user: *mut c_void,
    out: *mut *mut paramcrypt_server,
) -> paramcrypt_status {
    guard_status(|| {
        let mut rng = FfiRng::callback(rng, user)?;
        // SAFETY: the caller upholds the crate's pointer rules.
        unsafe { new_server(&mut rng, keypair, config, out) }
    })
}

/// Stores a new handle to the server's public key in `*out` (for
/// `getPublicKey`; release it with `paramcrypt_public_key_free`). Errors:
/// `PARAMCRYPT_ERR_NULL_ARGUMENT`. Thread-safe.
#[must_use]
#[unsafe(no_mangle)]
pub unsafe extern "C" fn paramcrypt_server_public_key(
    server: *const paramcrypt_server,
    out: *mut *mut paramcrypt_public_key,
) -> paramcrypt_status {
    guard_status(|| {
        // SAFETY: the caller upholds the crate's pointer rules.
        let (server, slot) = unsafe { (borrow(server)?, handle_slot(out)?) };
        put(slot, paramcrypt_public_key(server.0.public_key().clone()));
        Ok(())
    })
}

#[allow(clippy::too_many_arguments)] // the C signature, one argument each
unsafe fn open(
    rng: &mut FfiRng,
    server: *mut paramcrypt_server,
    peer: *const u8,
    peer_len: usize,
    enc_key: *const u8,
    enc_key_len: usize,
    out: *mut *mut paramcrypt_server_session,
) -> Result<(), paramcrypt_status> {
    // SAFETY: forwarded from the exported function's contract.
    let (server, peer, enc_key, slot) = unsafe {
        (
            borrow(server)?,
            input(peer, peer_len)?,
            input(enc_key, enc_key_len)?,
            handle_slot(out)?,
        )
    };
    put(
        slot,
        paramcrypt_server_session(server.0.open_with_rng(rng, peer, enc_key)?),
    );
    Ok(())
}

/// Opens a request's base64 `encKey` (CR/LF tolerated, no NUL needed) from
/// `peer` and stores a new server session in `*out`: from the cache, without
/// RSA work, when this encKey was opened before; else by unwrapping it (OS
/// RNG for blinding). Open it once per request.
///
/// `peer` identifies the requester (its IP address, as text or bytes):
/// failures are counted per peer, and a peer in lockdown gets 40002 for
/// everything. Requests passing the same bytes (empty included) count as one
/// peer, so pass what tells your clients apart.
///
/// Thread-safe: the server locks only around its tables, never around RSA
/// work.
///
/// @param server      the server (`paramcrypt_server_new`)
/// @param peer        `peer_len` bytes naming the requester
/// @param enc_key     the request's `encKey`, `enc_key_len` bytes
/// @param out         receives the session; free it with
///                    `paramcrypt_server_session_free`
/// @return `PARAMCRYPT_OK`; `PARAMCRYPT_ERR_ENCRYPTION_FAILED` (40002) for
///         every bad encKey, whatever the cause (malformed, stale, a mode the
///         server does not accept, a refused common key, a lockdown, the
///         unwrap limit); `PARAMCRYPT_ERR_RNG`, `PARAMCRYPT_ERR_BUSY`
///         (firmware builds), `PARAMCRYPT_ERR_NULL_ARGUMENT`.
#[must_use]
#[unsafe(no_mangle)]
pub unsafe extern "C" fn paramcrypt_server_open(
    server: *mut paramcrypt_server,
    peer: *const u8,
    peer_len: usize,
    enc_key: *const u8,
    enc_key_len: usize,
    out: *mut *mut paramcrypt_server_session,
) -> paramcrypt_status {
    // SAFETY: the caller upholds the crate's pointer rules.
    guard_status(|| unsafe {
        open(
            &mut FfiRng::os(),
            server,
            peer,
            peer_len,
            enc_key,
            enc_key_len,
            out,
        )
    })
}

/// Like `paramcrypt_server_open`, with blinding randomness from
/// `rng(user, buf, len)` (firmware: the hardware RNG). As with
/// `paramcrypt_keypair_unwrap_with_rng`, server builds with AWS-LC blind
/// with AWS-LC's own generator instead and do not call `rng`.
#[must_use]
#[unsafe(no_mangle)]
#[allow(clippy::too_many_arguments)] // the C signature
pub unsafe extern "C" fn paramcrypt_server_open_with_rng(
    server: *mut paramcrypt_server,
    peer: *const u8,
    peer_len: usize,
    enc_key: *const u8,
    enc_key_len: usize,
    rng: paramcrypt_rng_callback,
    user: *mut c_void,
    out: *mut *mut paramcrypt_server_session,
) -> paramcrypt_status {
    guard_status(|| {
        let mut rng = FfiRng::callback(rng, user)?;
        // SAFETY: the caller upholds the crate's pointer rules.
        unsafe { open(&mut rng, server, peer, peer_len, enc_key, enc_key_len, out) }
    })
}

/// Writes the server's failure state (refused keys, peers, lockdowns and its
/// digest key) to `out`: an opaque, versioned blob bound to this key pair
/// and integrity-checked. Keep it like the private key (mode 0600, or the
/// device's protected flash) and pass it as `paramcrypt_server_config.state`
/// after a restart, so that a restart ends no refusal or lockdown early.
/// Its size grows with the failures remembered; query it with `out_cap` 0.
///
/// Errors: `PARAMCRYPT_ERR_BUFFER_TOO_SMALL` (`*out_len` = size needed),
/// `PARAMCRYPT_ERR_BUSY` (firmware builds), `PARAMCRYPT_ERR_NULL_ARGUMENT`.
/// Thread-safe.
#[must_use]
#[unsafe(no_mangle)]
pub unsafe extern "C" fn paramcrypt_server_export_state(
    server: *const paramcrypt_server,
    out: *mut u8,
    out_cap: usize,
    out_len: *mut usize,
) -> paramcrypt_status {
    guard_status(|| {
        // SAFETY: the caller upholds the crate's pointer rules.
        let (server, (out, out_len)) = unsafe { (borrow(server)?, output(out, out_cap, out_len)?) };
        match server.0.export_state() {
            Ok(blob) => copy_out(&blob, out, out_len),
            Err(error) => Err(error.into()),
        }
    })
}

/// What a server has done and the state of its failure policy
/// (`paramcrypt_server_get_stats`).
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct paramcrypt_server_stats {
    /// Opens answered from the cache, without RSA work.
    pub cache_hits: u64,
    /// Opens that ran the RSA private-key operation.
    pub unwraps: u64,
    /// Decryption failures, and failures the application reported.
    pub failures: u64,
    /// Opens and decryptions answered 40002 because their key was refused.
    pub refused: u64,
    /// Common keys refused for good.
    pub keys_refused_for_good: u64,
    /// Opens and decryptions answered 40002 in lockdown.
    pub lockdown_answers: u64,
    /// Peer lockdowns started.
    pub peer_lockdowns: u64,
    /// Server-wide lockdowns started.
    pub server_lockdowns: u64,
    /// Opens answered 40002 by the unwrap limit.
    pub unwraps_limited: u64,
    /// Sessions in the cache now.
    pub cached_sessions: usize,
    /// Common keys with failures remembered now.
    pub remembered_keys: usize,
    /// Peers with failures remembered now.
    pub remembered_peers: usize,
    /// Seconds of server-wide lockdown left now (0: none).
    pub server_lockdown_seconds: u32,
}

impl From<ServerStats> for paramcrypt_server_stats {
    fn from(s: ServerStats) -> Self {
        paramcrypt_server_stats {
            cache_hits: s.cache_hits,
            unwraps: s.unwraps,
            failures: s.failures,
            refused: s.refused,
            keys_refused_for_good: s.keys_refused_for_good,
            lockdown_answers: s.lockdown_answers,
            peer_lockdowns: s.peer_lockdowns,
            server_lockdowns: s.server_lockdowns,
            unwraps_limited: s.unwraps_limited,
            cached_sessions: s.cached_sessions,
            remembered_keys: s.remembered_keys,
            remembered_peers: s.remembered_peers,
            server_lockdown_seconds: s.server_lockdown_secs,
        }
    }
}

/// Writes the server's statistics to `*out`. Errors:
/// `PARAMCRYPT_ERR_BUSY` (firmware builds), `PARAMCRYPT_ERR_NULL_ARGUMENT`.
/// Thread-safe.
#[must_use]
#[unsafe(no_mangle)]
pub unsafe extern "C" fn paramcrypt_server_get_stats(
    server: *const paramcrypt_server,
    out: *mut paramcrypt_server_stats,
) -> paramcrypt_status {
    guard_status(|| {
        // SAFETY: the caller upholds the crate's pointer rules.
        let (server, out) = unsafe { (borrow(server)?, out.as_mut()) };
        let out = out.ok_or(paramcrypt_status::PARAMCRYPT_ERR_NULL_ARGUMENT)?;
        *out = server.0.stats()?.into();
        Ok(())
    })
}

/// Releases a server and wipes its key pair and cached keys. NULL is a
/// no-op. Server sessions still open stay usable (they share the server's
/// state). The handle must not be in use by another thread, nor used again.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn paramcrypt_server_free(server: *mut paramcrypt_server) {
    // SAFETY: the caller hands back a handle it no longer uses.
    guard(|| unsafe { release(server) })
}

/// Writes the client's IV mode (a `paramcrypt_mode` value) to `*out_mode`.
/// Errors: `PARAMCRYPT_ERR_NULL_ARGUMENT`. Thread-safe.
#[must_use]
#[unsafe(no_mangle)]
pub unsafe extern "C" fn paramcrypt_server_session_mode(
    session: *const paramcrypt_server_session,
    out_mode: *mut paramcrypt_mode,
) -> paramcrypt_status {
    guard_status(|| {
        // SAFETY: the caller upholds the crate's pointer rules.
        let (session, out_mode) = unsafe { (borrow(session)?, out_mode.as_mut()) };
        *out_mode.ok_or(paramcrypt_status::PARAMCRYPT_ERR_NULL_ARGUMENT)? =
            mode_to_c(session.0.mode());
        Ok(())
    })
}

/// An identifier of the client's common key (0 for NULL): equal for every
/// session with the same key, whatever encKey carried it; a keyed digest
/// that reveals nothing about the key. Use it to keep per-client state, such
/// as the secrets a client stored. Thread-safe.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn paramcrypt_server_session_key_id(
    session: *const paramcrypt_server_session,
) -> u64 {
    // SAFETY: the caller upholds the crate's pointer rules.
    guard(|| {
        unsafe { borrow(session) }
            .map(|s| s.0.key_id())
            .unwrap_or(0)
    })
}

/// Decrypts a secret parameter of the request, as
/// `paramcrypt_session_decrypt` does (same sizes; secret output). A failure
/// counts against the common key, the peer and the server (see
/// `paramcrypt_failure_policy`): the key is refused for a while, and past
/// the limits the peer or the server is in lockdown. While refused or in
/// lockdown, every call fails with `PARAMCRYPT_ERR_ENCRYPTION_FAILED`
/// without decrypting. (Honest clients start over with a new key after
/// 40002; an attacker replaying captured requests gets a few guesses, not a
/// padding oracle.)
///
/// Errors: `PARAMCRYPT_ERR_ENCRYPTION_FAILED` (40002),
/// `PARAMCRYPT_ERR_BUFFER_TOO_SMALL` (`*out_len` = size needed; checked
/// before decrypting, counts nothing), `PARAMCRYPT_ERR_BUSY` (firmware
/// builds: before decrypting, so nothing is answered unrecorded),
/// `PARAMCRYPT_ERR_NULL_ARGUMENT`. Thread-safe.
#[must_use]
#[unsafe(no_mangle)]
pub unsafe extern "C" fn paramcrypt_server_session_decrypt(
    session: *mut paramcrypt_server_session,
    text: *const u8,
    text_len: usize,
    out: *mut u8,
    out_cap: usize,
    out_len: *mut usize,
) -> paramcrypt_status {
    // SAFETY: the caller upholds the crate's pointer rules.
    guard_status(|| unsafe {
        with_buffers(
            session,
            text,
            text_len,
            out,
            out_cap,
            out_len,
            |s, text, out| s.0.decrypt_into(text, out),
        )
    })
}

/// Like `paramcrypt_server_session_decrypt` for a parameter that must be
/// UTF-8 text (the protocol's string parameters): a value that is not UTF-8
/// fails with `PARAMCRYPT_ERR_ENCRYPTION_FAILED` and counts as a failure,
/// and nothing of it stays in `out`. Use it for text, so that a bad value
/// is answered as any failure and counted (answering it differently would
/// be an oracle).
///
/// @param session     an open server session (`paramcrypt_server_open`)
/// @param text        the parameter's base64 wire value, `text_len` bytes
/// @param out         receives the text (not NUL-terminated), `out_cap`
///                    bytes; `paramcrypt_decrypted_max_len(text_len)` always
///                    suffices
/// @param out_len     receives the text's length, on `PARAMCRYPT_OK` only
/// @return `PARAMCRYPT_OK`; `PARAMCRYPT_ERR_ENCRYPTION_FAILED` (40002) for
///         every bad value; `PARAMCRYPT_ERR_BUFFER_TOO_SMALL` (`*out_len` =
///         the size needed), `PARAMCRYPT_ERR_NULL_ARGUMENT`.
#[must_use]
#[unsafe(no_mangle)]
pub unsafe extern "C" fn paramcrypt_server_session_decrypt_text(
    session: *mut paramcrypt_server_session,
    text: *const u8,
    text_len: usize,
    out: *mut u8,
    out_cap: usize,
    out_len: *mut usize,
) -> paramcrypt_status {
    // SAFETY: the caller upholds the crate's pointer rules.
    guard_status(|| unsafe {
        with_buffers(
            session,
            text,
            text_len,
            out,
            out_cap,
            out_len,
            |s, text, out| s.0.decrypt_text_into(text, out),
        )
    })
}

/// Reports that a value decrypted in this session was unacceptable to the
/// application (malformed, a setting it rejects): it counts as a failure of
/// the common key and the peer, like a bad padding. Answer that request
/// with 40002 too: an application that answers a bad decrypted value
/// differently from a good one re-creates the padding oracle unless the
/// failure counts. Errors: `PARAMCRYPT_ERR_BUSY` (firmware builds: not
/// recorded, call again), `PARAMCRYPT_ERR_NULL_ARGUMENT`. Thread-safe.
#[must_use]
#[unsafe(no_mangle)]
pub unsafe extern "C" fn paramcrypt_server_session_report_failure(
    session: *mut paramcrypt_server_session,
) -> paramcrypt_status {
    guard_status(|| {
        // SAFETY: the caller upholds the crate's pointer rules.
        let session = unsafe { borrow(session)? };
        session.0.report_failure()?;
        Ok(())
    })
}

unsafe fn server_encrypt(
    rng: &mut FfiRng,
    session: *mut paramcrypt_server_session,
    plaintext: *const u8,
    plaintext_len: usize,
    out: *mut u8,
    out_cap: usize,
    out_len: *mut usize,
) -> Result<(), paramcrypt_status> {
    // SAFETY: forwarded from the exported function's contract.
    unsafe {
        with_buffers(
            session,
            plaintext,
            plaintext_len,
            out,
            out_cap,
            out_len,
            |s, pt, out| s.0.encrypt_into(rng, pt, out),
        )
    }
}

/// Encrypts a reply value under the client's common key, as
/// `paramcrypt_session_encrypt` does (exactly
/// `paramcrypt_encrypted_len(mode, plaintext_len)` bytes; per-message IVs
/// from the OS RNG). Fails with `PARAMCRYPT_ERR_ENCRYPTION_FAILED` while the
/// key is refused or the peer or server in lockdown; otherwise as
/// `paramcrypt_session_encrypt`. Thread-safe.
#[must_use]
#[unsafe(no_mangle)]
pub unsafe extern "C" fn paramcrypt_server_session_encrypt(
    session: *mut paramcrypt_server_session,
    plaintext: *const u8,
    plaintext_len: usize,
    out: *mut u8,
    out_cap: usize,
    out_len: *mut usize,
) -> paramcrypt_status {
    // SAFETY: the caller upholds the crate's pointer rules.
    guard_status(|| unsafe {
        server_encrypt(
            &mut FfiRng::os(),
            session,
            plaintext,
            plaintext_len,
            out,
            out_cap,
            out_len,
        )
    })
}

/// Like `paramcrypt_server_session_encrypt`, with per-message IVs from
/// `rng(user, buf, len)` (unused in key:iv mode).
#[must_use]
#[unsafe(no_mangle)]
pub unsafe extern "C" fn paramcrypt_server_session_encrypt_with_rng(
    session: *mut paramcrypt_server_session,
    plaintext: *const u8,
    plaintext_len: usize,
    rng: paramcrypt_rng_callback,
    user: *mut c_void,
    out: *mut u8,
    out_cap: usize,
    out_len: *mut usize,
) -> paramcrypt_status {
    guard_status(|| {
        let mut rng = FfiRng::callback(rng, user)?;
        // SAFETY: the caller upholds the crate's pointer rules.
        unsafe {
            server_encrypt(
                &mut rng,
                session,
                plaintext,
                plaintext_len,
                out,
                out_cap,
                out_len,
            )
        }
    })
}

/// Releases a server session and wipes its key and IV. NULL is a no-op. The
/// handle must not be in use by another thread, nor used again.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn paramcrypt_server_session_free(session: *mut paramcrypt_server_session) {
    // SAFETY: the caller hands back a handle it no longer uses.
    guard(|| unsafe { release(session) })
}
