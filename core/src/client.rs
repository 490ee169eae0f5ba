//! The protocol's client side as one object: fetch and pin the device's
//! public key, make common keys, wrap them into `encKey`, encrypt secret
//! parameters, decrypt secret results, and handle 40002, over a transport
//! the application gives (feature `client`).
//!
//! **Policy** ([`ClientConfig`]):
//! - *Re-keying*: a fresh common key (so a fresh IV) for every call by
//!   default, as the protocol's authors advise; optionally one key for up to
//!   N calls or T seconds, for slow devices whose encKey cache then saves an
//!   RSA operation per call.
//! - *On 40002*: start over with a new common key and retry the call once;
//!   when it fails again, forget the public key too (the next call fetches
//!   it, and checks it against the pin) and report the failure. A client
//!   must not volunteer re-sends: each re-send of a secret under a new key
//!   gives a cross-key padding-oracle attacker one more guess.
//! - *Failure budget*: past `failure_budget` 40002 answers within
//!   `failure_window_secs`, the client sends no more encrypted calls and
//!   reports [`ClientError::FailureBudgetSpent`] (a possible active attack)
//!   until the application calls [`Client::reset_failures`].
//! - *Pinning*: trust on first use. The first public key the device
//!   presents is pinned by its [`PublicKey::fingerprint`]; a different key
//!   later is [`ClientError::PinMismatch`], naming both, and nothing secret
//!   is sent. The application stores the pin ([`Client::fingerprint`]) and
//!   passes it to the next client ([`Client::pin`]); re-pinning is an
//!   explicit [`Client::repin`].

use std::collections::VecDeque;
use std::string::String;
use std::time::{Duration, Instant};

use serde_json::{Map, Value, json};

use crate::enckey::{Mode, Padding, Session};
use crate::error::{ENCRYPTION_FAILED_CODE, Error};
use crate::keys::{KeySizes, PublicKey};

/// Sends one JSON-RPC request to a service of the device (for HTTP: POST
/// it to `/sony/{service}`) and returns the response body.
pub trait Transport {
    /// The response body to `request` (a JSON-RPC request object), or why
    /// there is none (a message that contains no secret).
    fn send(&mut self, service: &str, request: &str) -> Result<String, String>;
}

impl<F: FnMut(&str, &str) -> Result<String, String>> Transport for F {
    fn send(&mut self, service: &str, request: &str) -> Result<String, String> {
        self(service, request)
    }
}

/// How a [`Client`] behaves. [`ClientConfig::default`] is the protocol's
/// advice.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ClientConfig {
    /// The RSA padding the device expects (deployed devices: PKCS#1 v1.5).
    pub padding: Padding,
    /// The IV mode the device accepts (deployed devices: key:iv).
    pub mode: Mode,
    /// Calls per common key: 1 (the default) makes a fresh key, so a fresh
    /// IV, for every call.
    pub reuse_calls: u32,
    /// The longest a common key is used, in seconds (0: no age limit).
    pub reuse_secs: u32,
    /// 40002 answers within `failure_window_secs` after which the client
    /// stops (at least 1).
    pub failure_budget: u32,
    /// The window of `failure_budget`.
    pub failure_window_secs: u32,
    /// Which public-key sizes the client accepts.
    pub key_sizes: KeySizes,
}

impl Default for ClientConfig {
    /// A fresh common key per call, PKCS#1 v1.5, key:iv mode, at most 3
    /// failures in 10 minutes.
    fn default() -> Self {
        ClientConfig {
            padding: Padding::Pkcs1v15,
            mode: Mode::KeyIv,
            reuse_calls: 1,
            reuse_secs: 0,
            failure_budget: 3,
            failure_window_secs: 600,
            key_sizes: KeySizes::Modern,
        }
    }
}

/// Why a [`Client`] call failed. Messages never contain a secret.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ClientError {
    /// The device answered 40002 to the call and to its one retry with a
    /// new common key (or its reply could not be decrypted).
    EncryptionFailed,
    /// Too many 40002 answers in the failure window: the client sends no
    /// more encrypted calls until [`Client::reset_failures`]. Someone may be
    /// tampering with the traffic.
    FailureBudgetSpent,
    /// The device presented a public key other than the pinned one. Nothing
    /// secret was sent; [`Client::repin`] accepts the new key.
    PinMismatch {
        /// The pinned fingerprint.
        pinned: String,
        /// The fingerprint of the key the device presented.
        presented: String,
    },
    /// The transport failed.
    Transport(String),
    /// The device answered a JSON-RPC error other than 40002.
    Rpc {
        /// The error code.
        code: i64,
        /// The error message.
        message: String,
    },
    /// The device's answer is not what the protocol says (not JSON, no
    /// result, a public key that does not parse).
    BadResponse(&'static str),
    /// A local failure: the RNG, a key too small for the padding.
    Local(Error),
}

impl core::fmt::Display for ClientError {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        match self {
            ClientError::EncryptionFailed => {
                write!(
                    f,
                    "the device answered 40002 Encryption Failed, also after starting over"
                )
            }
            ClientError::FailureBudgetSpent => f.write_str(
                "too many 40002 answers in a short time: no more encrypted calls until the \
                 failures are reset (possible active attack)",
            ),
            ClientError::PinMismatch { pinned, presented } => write!(
                f,
                "the device presented public key {presented}, not the pinned {pinned}; nothing \
                 secret was sent (re-pin only if the device's key really changed)"
            ),
            ClientError::Transport(message) => write!(f, "transport: {message}"),
            ClientError::Rpc { code, message } => write!(f, "JSON-RPC error [{code}, {message:?}]"),
            ClientError::BadResponse(what) => write!(f, "bad response from the device: {what}"),
            ClientError::Local(error) => write!(f, "{error}"),
        }
    }
}

impl std::error::Error for ClientError {}

impl From<Error> for ClientError {
    fn from(error: Error) -> Self {
        ClientError::Local(error)
    }
}

/// A parameter of a call: a plain JSON value, or a secret sent encrypted.
#[derive(Clone, Copy, Debug)]
pub enum Param<'a> {
    /// Sent as it is.
    Plain(&'a str, &'a Value),
    /// Sent as the base64 ciphertext of these bytes (UTF-8 text, for the
    /// protocol's string parameters).
    Secret(&'a str, &'a [u8]),
}

/// The common key in use: its session, encKey, calls made and birth.
struct CommonKey {
    session: Session,
    enc_key: String,
    calls: u32,
    made: Instant,
}

/// The client. See the module documentation.
pub struct Client<T: Transport> {
    transport: T,
    config: ClientConfig,
    pinned: Option<String>,
    public_key: Option<PublicKey>,
    common_key: Option<CommonKey>,
    failures: VecDeque<Instant>,
    /// The last call ended in 40002 (the next one fetches the public key).
    repeated: bool,
    next_id: u64,
}

impl<T: Transport> Client<T> {
    /// A client over `transport`. Errors: [`Error::InvalidConfig`] for a
    /// failure budget or re-keying count of 0.
    pub fn new(transport: T, config: ClientConfig) -> Result<Self, Error> {
        if config.failure_budget == 0 || config.reuse_calls == 0 {
            return Err(Error::InvalidConfig);
        }
        Ok(Client {
            transport,
            config,
            pinned: None,
            public_key: None,
            common_key: None,
            failures: VecDeque::new(),
            repeated: false,
            next_id: 0,
        })
    }

    /// Pins the device's public key to this fingerprint (as
    /// [`Client::fingerprint`] gave it before): a device presenting another
    /// key is refused.
    pub fn pin(&mut self, fingerprint: &str) {
        if self.pinned.as_deref() != Some(fingerprint) {
            self.public_key = None;
            self.common_key = None;
        }
        self.pinned = Some(String::from(fingerprint));
    }

    /// The pinned fingerprint: the one given to [`Client::pin`], or the
    /// device's first key's. Store it for the next client.
    pub fn fingerprint(&self) -> Option<&str> {
        self.pinned.as_deref()
    }

    /// Forgets the pin and the public key: the next call fetches the key
    /// and pins whatever the device presents. Only for a device whose key
    /// really changed.
    pub fn repin(&mut self) {
        self.pinned = None;
        self.public_key = None;
        self.common_key = None;
    }

    /// Ends a spent failure budget (the application decided to go on).
    pub fn reset_failures(&mut self) {
        self.failures.clear();
    }

    /// The transport.
    pub fn transport(&mut self) -> &mut T {
        &mut self.transport
    }

    fn budget_spent(&mut self, now: Instant) -> bool {
        let window = Duration::from_secs(u64::from(self.config.failure_window_secs));
        while self
            .failures
            .front()
            .is_some_and(|&at| now.duration_since(at) >= window)
        {
            self.failures.pop_front();
        }
        self.failures.len() >= self.config.failure_budget as usize
    }

    fn rpc(
        &mut self,
        service: &str,
        method: &str,
        version: &str,
        params: Value,
    ) -> Result<Value, ClientError> {
        self.next_id += 1;
        let request =
            json!({"method": method, "params": params, "id": self.next_id, "version": version});
        let body = self
            .transport
            .send(service, &request.to_string())
            .map_err(ClientError::Transport)?;
        serde_json::from_str(&body).map_err(|_| ClientError::BadResponse("not JSON"))
    }

    /// The device's public key, fetched (and checked against the pin, or
    /// pinned) when the client has none.
    fn public_key(&mut self) -> Result<PublicKey, ClientError> {
        if let Some(key) = &self.public_key {
            return Ok(key.clone());
        }
        let response = self.rpc("encryption", "getPublicKey", "1.0", json!([]))?;
        if let Some(error) = response.get("error") {
            return Err(rpc_error(error));
        }
        let text = response
            .pointer("/result/0/publicKey")
            .and_then(Value::as_str)
            .ok_or(ClientError::BadResponse(
                "no publicKey in the getPublicKey result",
            ))?;
        let key = PublicKey::from_published_with(text.as_bytes(), self.config.key_sizes)
            .map_err(|_| ClientError::BadResponse("the device's public key does not parse"))?;
        let presented = key.fingerprint()?;
        match &self.pinned {
            Some(pinned) if *pinned != presented => {
                return Err(ClientError::PinMismatch {
                    pinned: pinned.clone(),
                    presented,
                });
            }
            Some(_) => {}
            None => self.pinned = Some(presented),
        }
        self.public_key = Some(key.clone());
        Ok(key)
    }

    /// The common key for this call, renewed per the re-keying policy.
    fn common_key(&mut self, now: Instant) -> Result<&mut CommonKey, ClientError> {
        let max_age = Duration::from_secs(u64::from(self.config.reuse_secs));
        let renew = self.common_key.as_ref().is_none_or(|key| {
            key.calls >= self.config.reuse_calls
                || (self.config.reuse_secs > 0 && now.duration_since(key.made) >= max_age)
        });
        if renew {
            let public_key = self.public_key()?;
            let session = Session::new(self.config.mode)?;
            let enc_key = session.wrap(&public_key, self.config.padding)?;
            self.common_key = Some(CommonKey {
                session,
                enc_key,
                calls: 0,
                made: now,
            });
        }
        let key = self.common_key.as_mut().expect("made above");
        key.calls += 1;
        Ok(key)
    }

    /// Calls `method` (JSON-RPC `version`) of `service` with `params` (the
    /// secrets encrypted, `encKey` added), and returns the result with the
    /// fields named in `decrypt` (in each object of the result list)
    /// decrypted to their text. A call with no secret parameter and nothing
    /// to decrypt is sent as it is, without encryption.
    ///
    /// On 40002 it starts over once with a new common key; see the module
    /// documentation for the policy. The result holds decrypted secrets:
    /// [`wipe`] it when done.
    pub fn call(
        &mut self,
        service: &str,
        method: &str,
        version: &str,
        params: &[Param<'_>],
        decrypt: &[&str],
    ) -> Result<Value, ClientError> {
        let encrypted =
            !decrypt.is_empty() || params.iter().any(|p| matches!(p, Param::Secret(..)));
        if !encrypted {
            let object = plain_params(params);
            let response = self.rpc(service, method, version, json!([object]))?;
            return result_of(response);
        }
        for attempt in 0..2 {
            let now = Instant::now();
            if self.budget_spent(now) {
                return Err(ClientError::FailureBudgetSpent);
            }
            let key = self.common_key(now)?;
            let mut object = plain_params(params);
            for param in params {
                if let Param::Secret(name, value) = param {
                    object.insert(
                        String::from(*name),
                        Value::String(key.session.encrypt(value)?),
                    );
                }
            }
            object.insert(String::from("encKey"), Value::String(key.enc_key.clone()));
            let response = self.rpc(service, method, version, json!([object]))?;
            let outcome = match response.get("error") {
                Some(error)
                    if error.get(0).and_then(Value::as_i64)
                        == Some(i64::from(ENCRYPTION_FAILED_CODE)) =>
                {
                    None
                }
                Some(error) => return Err(rpc_error(error)),
                None => {
                    let mut result = result_of(response)?;
                    match self.decrypt_fields(&mut result, decrypt) {
                        Ok(()) => Some(result),
                        // Under a key this client does not hold (a stale
                        // encKey that unwrapped to another key): as 40002.
                        Err(()) => None,
                    }
                }
            };
            match outcome {
                Some(result) => {
                    self.repeated = false;
                    return Ok(result);
                }
                None => {
                    // Start over with a new common key; when the failure
                    // repeats (the retry, or the call after a failed one),
                    // fetch the public key again too: the device may have a
                    // new one, which the pin then checks.
                    self.failures.push_back(Instant::now());
                    self.common_key = None;
                    let repeated = core::mem::replace(&mut self.repeated, true);
                    if repeated || attempt == 1 {
                        self.public_key = None;
                    }
                    if self.budget_spent(Instant::now()) {
                        return Err(ClientError::FailureBudgetSpent);
                    }
                }
            }
        }
        Err(ClientError::EncryptionFailed)
    }

    fn decrypt_fields(&self, result: &mut Value, names: &[&str]) -> Result<(), ()> {
        let Some(key) = &self.common_key else {
            return Err(());
        };
        let Some(items) = result.as_array_mut() else {
            return if names.is_empty() { Ok(()) } else { Err(()) };
        };
        for item in items.iter_mut().filter_map(Value::as_object_mut) {
            for name in names {
                if let Some(Value::String(text)) = item.get(*name) {
                    let plain = key.session.decrypt(text.as_bytes()).map_err(|_| ())?;
                    // Checked in place: no copy of a value that is not text.
                    let text = String::from(core::str::from_utf8(&plain).map_err(|_| ())?);
                    item.insert(String::from(*name), Value::String(text));
                }
            }
        }
        Ok(())
    }
}

/// Wipes every string in `value` (a result with decrypted fields, once it
/// is no longer needed): `Value` does not wipe itself when dropped.
pub fn wipe(value: &mut Value) {
    use zeroize::Zeroize;
    match value {
        Value::String(text) => text.zeroize(),
        Value::Array(items) => items.iter_mut().for_each(wipe),
        Value::Object(map) => map.values_mut().for_each(wipe),
        _ => {}
    }
}

fn plain_params(params: &[Param<'_>]) -> Map<String, Value> {
    params
        .iter()
        .filter_map(|param| match param {
            Param::Plain(name, value) => Some((String::from(*name), (*value).clone())),
            Param::Secret(..) => None,
        })
        .collect()
}

fn rpc_error(error: &Value) -> ClientError {
    ClientError::Rpc {
        code: error.get(0).and_then(Value::as_i64).unwrap_or(-1),
        message: String::from(error.get(1).and_then(Value::as_str).unwrap_or("")),
    }
}

fn result_of(mut response: Value) -> Result<Value, ClientError> {
    if let Some(error) = response.get("error") {
        return Err(rpc_error(error));
    }
    response
        .get_mut("result")
        .map(Value::take)
        .ok_or(ClientError::BadResponse("neither result nor error"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wipe_clears_every_string_of_a_result() {
        let mut result = json!([{"text": "secret", "nested": {"more": ["also secret"]}, "n": 7}]);
        wipe(&mut result);
        assert_eq!(
            result,
            json!([{"text": "", "nested": {"more": [""]}, "n": 7}])
        );
    }
}
