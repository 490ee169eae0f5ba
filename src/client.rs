//! The client object (feature `client`): JSON-RPC calls to a device over a
//! transport callback, with the policy of `paramcrypt_core::client`
//! (re-keying, one retry after 40002, failure budget, key pinning).

use core::ffi::c_void;
use std::sync::Mutex;

use paramcrypt_core::client::{Client, ClientConfig, ClientError, Param, Transport};
use serde_json::Value;
use zeroize::Zeroizing;

use crate::boundary::{
    borrow, copy_out, guard, guard_status, handle_slot, input, output, put, release,
};
use crate::handles::paramcrypt_client;
use crate::status::{
    KeySizesValue, ModeValue, PaddingValue, key_sizes_from_c, mode_from_c, padding_from_c,
    paramcrypt_key_sizes, paramcrypt_mode, paramcrypt_padding, paramcrypt_status,
};

/// Sends one JSON-RPC request to a service of the device (over HTTP: POST
/// `request` to `/sony/<service>`, with the X-Auth-PSK header the device
/// needs) and writes the response body to `response`. Returns 0 and sets
/// `*response_len` on success; anything else is a transport failure (a
/// response longer than `response_cap` included). `service` and `request`
/// are not NUL-terminated. Called on the thread that makes the call.
pub type paramcrypt_transport_callback = Option<
    unsafe extern "C" fn(
        user: *mut c_void,
        service: *const u8,
        service_len: usize,
        request: *const u8,
        request_len: usize,
        response: *mut u8,
        response_cap: usize,
        response_len: *mut usize,
    ) -> i32,
>;

/// How a client behaves (`paramcrypt_client_config_init` fills the
/// defaults: the protocol's advice).
#[repr(C)]
#[derive(Clone, Copy, Debug)]
pub struct paramcrypt_client_config {
    /// The RSA padding the device expects (a `paramcrypt_padding` value).
    pub padding: PaddingValue,
    /// The IV mode the device accepts (a `paramcrypt_mode` value).
    pub mode: ModeValue,
    /// Calls per common key: 1 (the default) makes a fresh key, so a fresh
    /// IV, for every call; more saves the device an RSA operation per call.
    pub reuse_calls: u32,
    /// The longest a common key is used, in seconds (0: no age limit).
    pub reuse_seconds: u32,
    /// 40002 answers within `failure_window_seconds` after which the client
    /// sends no more encrypted calls (default 3).
    pub failure_budget: u32,
    /// The window of `failure_budget` (default 600).
    pub failure_window_seconds: u32,
    /// Which public-key sizes to accept (a `paramcrypt_key_sizes` value).
    pub key_sizes: KeySizesValue,
    /// The largest response the transport may return (default 65,536).
    pub max_response_len: usize,
}

/// A parameter of a call: a name and a value, neither NUL-terminated.
#[repr(C)]
#[derive(Clone, Copy, Debug)]
pub struct paramcrypt_param {
    /// The parameter's name.
    pub name: *const u8,
    /// The length of `name`.
    pub name_len: usize,
    /// The value (a secret's UTF-8 text; unused for `decrypt` names).
    pub value: *const u8,
    /// The length of `value`.
    pub value_len: usize,
}

const DEFAULT_MAX_RESPONSE: usize = 64 * 1024;
const MAX_RESPONSE: usize = 16 << 20;

/// Fills `*config` with the defaults: PKCS#1 v1.5, key:iv mode, a fresh
/// common key per call, at most 3 failures in 10 minutes, 2048- to
/// 4096-bit keys, responses up to 64 KiB. Errors: `PARAMCRYPT_ERR_NULL_ARGUMENT`.
#[must_use]
#[unsafe(no_mangle)]
pub unsafe extern "C" fn paramcrypt_client_config_init(
    config: *mut paramcrypt_client_config,
) -> paramcrypt_status {
    guard_status(|| {
        // SAFETY: the caller upholds the crate's pointer rules.
        let config =
            unsafe { config.as_mut() }.ok_or(paramcrypt_status::PARAMCRYPT_ERR_NULL_ARGUMENT)?;
        let core = ClientConfig::default();
        *config = paramcrypt_client_config {
            padding: paramcrypt_padding::PARAMCRYPT_PADDING_PKCS1V15 as u32,
            mode: paramcrypt_mode::PARAMCRYPT_MODE_KEY_IV as u32,
            reuse_calls: core.reuse_calls,
            reuse_seconds: core.reuse_secs,
            failure_budget: core.failure_budget,
            failure_window_seconds: core.failure_window_secs,
            key_sizes: paramcrypt_key_sizes::PARAMCRYPT_KEY_SIZES_MODERN as u32,
            max_response_len: DEFAULT_MAX_RESPONSE,
        };
        Ok(())
    })
}

/// The C transport callback as the core client's transport.
pub(crate) struct CallbackTransport {
    send: unsafe extern "C" fn(
        *mut c_void,
        *const u8,
        usize,
        *const u8,
        usize,
        *mut u8,
        usize,
        *mut usize,
    ) -> i32,
    user: *mut c_void,
    max_response: usize,
}

impl Transport for CallbackTransport {
    fn send(&mut self, service: &str, request: &str) -> Result<String, String> {
        // The response may carry secrets (encrypted) and is wiped after use.
        let mut response = Zeroizing::new(vec![0u8; self.max_response]);
        let mut len = 0usize;
        // SAFETY: the callback's contract: it writes at most `response_cap`
        // bytes to `response` and the length to `len`.
        let status = unsafe {
            (self.send)(
                self.user,
                service.as_ptr(),
                service.len(),
                request.as_ptr(),
                request.len(),
                response.as_mut_ptr(),
                response.len(),
                &mut len,
            )
        };
        if status != 0 {
            return Err(format!("the transport callback failed ({status})"));
        }
        if len > response.len() {
            return Err(String::from(
                "the transport callback reported a length past its buffer",
            ));
        }
        String::from_utf8(response[..len].to_vec())
            .map_err(|_| String::from("the response is not UTF-8"))
    }
}

/// A client's mutable state, behind the handle's lock.
pub(crate) struct ClientState {
    client: Client<CallbackTransport>,
    /// The last call's result (JSON, decrypted fields included): wiped when
    /// replaced or freed.
    result: Zeroizing<String>,
    /// The last call's error, as text without secrets.
    error: String,
}

/// Makes a client with `*config` over `transport(user, ...)` and stores a
/// new handle in `*out`. No request is sent yet: the first encrypted call
/// fetches the device's public key and pins it, unless
/// `paramcrypt_client_pin` set the pin first.
///
/// Errors: `PARAMCRYPT_ERR_INVALID_ARGUMENT` (unknown padding, mode or key
/// sizes; a failure budget or `reuse_calls` of 0; `max_response_len` 0 or
/// above 16 MiB), `PARAMCRYPT_ERR_NULL_ARGUMENT`. The handle is
/// thread-safe: calls on it run one at a time.
#[must_use]
#[unsafe(no_mangle)]
pub unsafe extern "C" fn paramcrypt_client_new(
    config: *const paramcrypt_client_config,
    transport: paramcrypt_transport_callback,
    user: *mut c_void,
    out: *mut *mut paramcrypt_client,
) -> paramcrypt_status {
    guard_status(|| {
        // SAFETY: the caller upholds the crate's pointer rules.
        let (config, slot) = unsafe {
            (
                config
                    .as_ref()
                    .ok_or(paramcrypt_status::PARAMCRYPT_ERR_NULL_ARGUMENT)?,
                handle_slot(out)?,
            )
        };
        let send = transport.ok_or(paramcrypt_status::PARAMCRYPT_ERR_NULL_ARGUMENT)?;
        if !(1..=MAX_RESPONSE).contains(&config.max_response_len) {
            return Err(paramcrypt_status::PARAMCRYPT_ERR_INVALID_ARGUMENT);
        }
        let core = ClientConfig {
            padding: padding_from_c(config.padding)?,
            mode: mode_from_c(config.mode)?,
            reuse_calls: config.reuse_calls,
            reuse_secs: config.reuse_seconds,
            failure_budget: config.failure_budget,
            failure_window_secs: config.failure_window_seconds,
            key_sizes: key_sizes_from_c(config.key_sizes)?,
        };
        let transport = CallbackTransport {
            send,
            user,
            max_response: config.max_response_len,
        };
        let client = Client::new(transport, core)?;
        let state = ClientState {
            client,
            result: Zeroizing::new(String::new()),
            error: String::new(),
        };
        put(slot, paramcrypt_client(Mutex::new(state)));
        Ok(())
    })
}

/// Runs `f` on the client's state.
///
/// # Safety
/// As for `borrow`.
unsafe fn with_client<R>(
    client: *const paramcrypt_client,
    f: impl FnOnce(&mut ClientState) -> Result<R, paramcrypt_status>,
) -> Result<R, paramcrypt_status> {
    // SAFETY: forwarded from the caller's contract.
    let client = unsafe { borrow(client)? };
    // A panic inside a call leaves no broken invariant the lock guards.
    let mut state = client
        .0
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner);
    f(&mut state)
}

/// Pins the device's public key to `fingerprint` (`SHA256:` and base64, as
/// `paramcrypt_client_fingerprint` gave it before): a device presenting
/// another key gets nothing secret, and calls fail with
/// `PARAMCRYPT_ERR_PIN_MISMATCH`. Errors: `PARAMCRYPT_ERR_INVALID_ARGUMENT`
/// (not UTF-8), `PARAMCRYPT_ERR_NULL_ARGUMENT`.
#[must_use]
#[unsafe(no_mangle)]
pub unsafe extern "C" fn paramcrypt_client_pin(
    client: *mut paramcrypt_client,
    fingerprint: *const u8,
    fingerprint_len: usize,
) -> paramcrypt_status {
    guard_status(|| {
        // SAFETY: the caller upholds the crate's pointer rules.
        let fingerprint = unsafe { input(fingerprint, fingerprint_len)? };
        let fingerprint = core::str::from_utf8(fingerprint)
            .map_err(|_| paramcrypt_status::PARAMCRYPT_ERR_INVALID_ARGUMENT)?;
        // SAFETY: as above.
        unsafe {
            with_client(client, |state| {
                state.client.pin(fingerprint);
                Ok(())
            })
        }
    })
}

/// Writes the pinned fingerprint (given to `paramcrypt_client_pin`, or the
/// device's first key's) to `out`: store it for the next client. `*out_len`
/// is 0 while nothing is pinned. Errors as for other outputs.
#[must_use]
#[unsafe(no_mangle)]
pub unsafe extern "C" fn paramcrypt_client_fingerprint(
    client: *const paramcrypt_client,
    out: *mut u8,
    out_cap: usize,
    out_len: *mut usize,
) -> paramcrypt_status {
    guard_status(|| {
        // SAFETY: the caller upholds the crate's pointer rules.
        let (out, out_len) = unsafe { output(out, out_cap, out_len)? };
        // SAFETY: as above.
        unsafe {
            with_client(client, |state| {
                let pinned = state.client.fingerprint().unwrap_or("");
                copy_out(pinned.as_bytes(), out, out_len)
            })
        }
    })
}

/// Forgets the pin: the next call pins whatever key the device presents.
/// Only for a device whose key really changed. Errors:
/// `PARAMCRYPT_ERR_NULL_ARGUMENT`.
#[must_use]
#[unsafe(no_mangle)]
pub unsafe extern "C" fn paramcrypt_client_repin(
    client: *mut paramcrypt_client,
) -> paramcrypt_status {
    // SAFETY: the caller upholds the crate's pointer rules.
    guard_status(|| unsafe {
        with_client(client, |state| {
            state.client.repin();
            Ok(())
        })
    })
}

/// Ends a spent failure budget (`PARAMCRYPT_ERR_FAILURE_BUDGET`): the
/// application decided to go on. Errors: `PARAMCRYPT_ERR_NULL_ARGUMENT`.
#[must_use]
#[unsafe(no_mangle)]
pub unsafe extern "C" fn paramcrypt_client_reset_failures(
    client: *mut paramcrypt_client,
) -> paramcrypt_status {
    // SAFETY: the caller upholds the crate's pointer rules.
    guard_status(|| unsafe {
        with_client(client, |state| {
            state.client.reset_failures();
            Ok(())
        })
    })
}

fn text(bytes: &[u8]) -> Result<&str, paramcrypt_status> {
    core::str::from_utf8(bytes).map_err(|_| paramcrypt_status::PARAMCRYPT_ERR_INVALID_ARGUMENT)
}

/// The status of a client error.
fn status_of(error: &ClientError) -> paramcrypt_status {
    use paramcrypt_status as S;
    match error {
        ClientError::EncryptionFailed => S::PARAMCRYPT_ERR_ENCRYPTION_FAILED,
        ClientError::FailureBudgetSpent => S::PARAMCRYPT_ERR_FAILURE_BUDGET,
        ClientError::PinMismatch { .. } => S::PARAMCRYPT_ERR_PIN_MISMATCH,
        ClientError::Transport(_) => S::PARAMCRYPT_ERR_TRANSPORT,
        ClientError::Rpc { .. } => S::PARAMCRYPT_ERR_RPC,
        ClientError::BadResponse(_) => S::PARAMCRYPT_ERR_BAD_RESPONSE,
        ClientError::Local(error) => (*error).into(),
    }
}

/// Calls `method` (JSON-RPC `version`, such as "1.0") of `service` (such as
/// "appControl"), and writes the result (the JSON of the response's
/// `result`, with the fields named in `decrypt` decrypted to their text) to
/// `out`.
///
/// - `params_json`: the plain parameters as a JSON object text (`{"a":1}`),
///   or empty for none.
/// - `secrets`: parameters sent encrypted (their values UTF-8 text); with
///   them the call carries `encKey`.
/// - `decrypt`: names of result fields to decrypt (their `value` unused).
///
/// The client makes a fresh common key per call (or reuses one per its
/// configuration), fetches and checks the device's public key when it has
/// none, and on 40002 starts over once; a call without secrets or
/// `decrypt` names is sent plain. The result stays available to
/// `paramcrypt_client_result` until the next call (so a too small `out`
/// loses nothing: `PARAMCRYPT_ERR_BUFFER_TOO_SMALL` with the size needed).
///
/// Errors: `PARAMCRYPT_ERR_ENCRYPTION_FAILED` (40002, also after starting
/// over), `PARAMCRYPT_ERR_FAILURE_BUDGET` (nothing sent; a possible active
/// attack), `PARAMCRYPT_ERR_PIN_MISMATCH` (nothing secret sent),
/// `PARAMCRYPT_ERR_TRANSPORT`, `PARAMCRYPT_ERR_RPC` (another JSON-RPC error),
/// `PARAMCRYPT_ERR_BAD_RESPONSE`, `PARAMCRYPT_ERR_INVALID_ARGUMENT` (text
/// that is not UTF-8, `params_json` that is not a JSON object),
/// `PARAMCRYPT_ERR_RNG`, `PARAMCRYPT_ERR_NULL_ARGUMENT`;
/// `paramcrypt_client_error_message` says more (never a secret).
#[must_use]
#[unsafe(no_mangle)]
#[allow(clippy::too_many_arguments)] // the C signature, one argument each
pub unsafe extern "C" fn paramcrypt_client_call(
    client: *mut paramcrypt_client,
    service: *const u8,
    service_len: usize,
    method: *const u8,
    method_len: usize,
    version: *const u8,
    version_len: usize,
    params_json: *const u8,
    params_json_len: usize,
    secrets: *const paramcrypt_param,
    secrets_len: usize,
    decrypt: *const paramcrypt_param,
    decrypt_len: usize,
    out: *mut u8,
    out_cap: usize,
    out_len: *mut usize,
) -> paramcrypt_status {
    guard_status(|| {
        // SAFETY: the caller upholds the crate's pointer rules for every
        // buffer, and each param's (pointer, length) pairs.
        let (service, method, version, params_json, (out, out_len)) = unsafe {
            (
                text(input(service, service_len)?)?,
                text(input(method, method_len)?)?,
                text(input(version, version_len)?)?,
                input(params_json, params_json_len)?,
                output(out, out_cap, out_len)?,
            )
        };
        let plain: serde_json::Map<String, Value> = if params_json.is_empty() {
            serde_json::Map::new()
        } else {
            serde_json::from_slice(params_json)
                .map_err(|_| paramcrypt_status::PARAMCRYPT_ERR_INVALID_ARGUMENT)?
        };
        // SAFETY: as above.
        let secrets = unsafe { params(secrets, secrets_len)? };
        // SAFETY: as above.
        let decrypt = unsafe { params(decrypt, decrypt_len)? };
        let mut call_params: Vec<Param<'_>> =
            plain.iter().map(|(k, v)| Param::Plain(k, v)).collect();
        for (name, value) in &secrets {
            call_params.push(Param::Secret(name, value));
        }
        let names: Vec<&str> = decrypt.iter().map(|(name, _)| *name).collect();
        // SAFETY: as above.
        unsafe {
            with_client(client, |state| {
                state.result = Zeroizing::new(String::new());
                match state
                    .client
                    .call(service, method, version, &call_params, &names)
                {
                    Ok(mut result) => {
                        state.error.clear();
                        state.result = Zeroizing::new(result.to_string());
                        paramcrypt_core::client::wipe(&mut result);
                        copy_out(state.result.as_bytes(), out, out_len)
                    }
                    Err(error) => {
                        state.error = error.to_string();
                        Err(status_of(&error))
                    }
                }
            })
        }
    })
}

/// The (name, value) pairs of a C parameter array.
///
/// # Safety
/// `ptr` must be NULL (with `len` 0) or point to `len` parameters whose
/// buffers follow the crate's input rules.
unsafe fn params<'a>(
    ptr: *const paramcrypt_param,
    len: usize,
) -> Result<Vec<(&'a str, &'a [u8])>, paramcrypt_status> {
    if len == 0 {
        return Ok(Vec::new());
    }
    if ptr.is_null() {
        return Err(paramcrypt_status::PARAMCRYPT_ERR_NULL_ARGUMENT);
    }
    if len > isize::MAX as usize / core::mem::size_of::<paramcrypt_param>() {
        return Err(paramcrypt_status::PARAMCRYPT_ERR_INVALID_ARGUMENT);
    }
    // SAFETY: non-NULL, length checked, validity guaranteed by the caller.
    let list = unsafe { core::slice::from_raw_parts(ptr, len) };
    list.iter()
        .map(|param| {
            // SAFETY: as above, for each parameter's buffers.
            let (name, value) = unsafe {
                (
                    input(param.name, param.name_len)?,
                    input(param.value, param.value_len)?,
                )
            };
            Ok((text(name)?, value))
        })
        .collect()
}

/// Writes the last call's result (see `paramcrypt_client_call`) to `out`:
/// for a result that did not fit the call's buffer. `*out_len` is 0 after a
/// failed call. Errors as for other outputs.
#[must_use]
#[unsafe(no_mangle)]
pub unsafe extern "C" fn paramcrypt_client_result(
    client: *const paramcrypt_client,
    out: *mut u8,
    out_cap: usize,
    out_len: *mut usize,
) -> paramcrypt_status {
    // SAFETY: the caller upholds the crate's pointer rules.
    guard_status(|| unsafe {
        copy_state(client, out, out_cap, out_len, |state| {
            state.result.as_bytes()
        })
    })
}

/// Writes what went wrong in the last call (English, never a secret; for a
/// pin mismatch it names both fingerprints) to `out`; `*out_len` is 0 after
/// a call that succeeded. Errors as for other outputs.
#[must_use]
#[unsafe(no_mangle)]
pub unsafe extern "C" fn paramcrypt_client_error_message(
    client: *const paramcrypt_client,
    out: *mut u8,
    out_cap: usize,
    out_len: *mut usize,
) -> paramcrypt_status {
    // SAFETY: the caller upholds the crate's pointer rules.
    guard_status(|| unsafe {
        copy_state(client, out, out_cap, out_len, |state| {
            state.error.as_bytes()
        })
    })
}

/// Copies a part of the client's state to a C output buffer.
///
/// # Safety
/// As for `borrow` and `output`.
unsafe fn copy_state(
    client: *const paramcrypt_client,
    out: *mut u8,
    out_cap: usize,
    out_len: *mut usize,
    part: impl FnOnce(&ClientState) -> &[u8],
) -> Result<(), paramcrypt_status> {
    // SAFETY: forwarded from the caller's contract.
    let (out, out_len) = unsafe { output(out, out_cap, out_len)? };
    // SAFETY: as above.
    unsafe { with_client(client, |state| copy_out(part(state), out, out_len)) }
}

/// Releases a client and wipes its common key and last result. NULL is a
/// no-op. The handle must not be in use by another thread, nor used again.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn paramcrypt_client_free(client: *mut paramcrypt_client) {
    // SAFETY: the caller hands back a handle it no longer uses.
    guard(|| unsafe { release(client) })
}
