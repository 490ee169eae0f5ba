//! The client object against an in-process device (a `Server` behind a
//! transport closure that speaks the device's JSON-RPC): calls with secret
//! parameters and secret results, re-keying, the single retry after 40002,
//! key pinning and the failure budget. Over HTTP against the example
//! server: python/tests/test_client.py.
// The client object is a default feature; builds without it (the compact
// backend's run) have nothing to test here.
#![cfg(feature = "client")]

mod common;

use std::cell::RefCell;
use std::rc::Rc;

use common::fixture_key;
use paramcrypt_core::client::{Client, ClientConfig, ClientError, Param};
use paramcrypt_core::{KeyPair, Server, ServerConfig};
use serde_json::{Value, json};

const CLIENT_ADDRESS: &[u8] = b"192.0.2.10";

/// A device: getPublicKey, and appControl setTextForm/getTextForm (the text
/// form belongs to the device; getTextForm answers it encrypted under the
/// caller's common key). It counts what it receives.
struct Device {
    server: Server,
    text: Option<Vec<u8>>,
    /// Requests to services other than encryption (the ones that carry
    /// encrypted values).
    secret_requests: usize,
    /// Answer 40002 to everything encrypted.
    always_fail: bool,
    /// The encKey of the last encrypted request (what an eavesdropper sees).
    last_enc_key: Option<String>,
}

impl Device {
    fn new(key: KeyPair) -> Rc<RefCell<Device>> {
        Rc::new(RefCell::new(Device {
            server: Server::new(key, ServerConfig::server()).unwrap(),
            text: None,
            secret_requests: 0,
            always_fail: false,
            last_enc_key: None,
        }))
    }

    fn handle(&mut self, service: &str, request: &str) -> String {
        let request: Value = serde_json::from_str(request).unwrap();
        let id = request["id"].clone();
        let params = &request["params"][0];
        let answer = |result: Value| json!({"result": result, "id": id}).to_string();
        let failed = json!({"error": [40002, "Encryption Failed"], "id": id}).to_string();
        match (service, request["method"].as_str().unwrap()) {
            ("encryption", "getPublicKey") => {
                answer(json!([{"publicKey": self.server.public_key().to_base64().unwrap()}]))
            }
            ("appControl", method) => {
                self.secret_requests += 1;
                if self.always_fail {
                    return failed;
                }
                let enc_key = params["encKey"].as_str().unwrap_or("");
                self.last_enc_key = Some(enc_key.to_string());
                let Ok(session) = self.server.open(CLIENT_ADDRESS, enc_key.as_bytes()) else {
                    return failed;
                };
                match method {
                    "setTextForm" => {
                        match session.decrypt_text(params["text"].as_str().unwrap().as_bytes()) {
                            Ok(text) => {
                                self.text = Some(text.as_bytes().to_vec());
                                answer(json!([]))
                            }
                            Err(_) => failed,
                        }
                    }
                    "getTextForm" => {
                        let text = self.text.clone().unwrap_or_default();
                        answer(json!([{"text": session.encrypt(&text).unwrap()}]))
                    }
                    _ => json!({"error": [12, "No Such Method"], "id": id}).to_string(),
                }
            }
            _ => json!({"error": [12, "No Such Method"], "id": id}).to_string(),
        }
    }
}

type Transport = Box<dyn FnMut(&str, &str) -> Result<String, String>>;

fn client_of(device: &Rc<RefCell<Device>>, config: ClientConfig) -> Client<Transport> {
    let device = Rc::clone(device);
    let transport: Transport =
        Box::new(move |service, request| Ok(device.borrow_mut().handle(service, request)));
    Client::new(transport, config).unwrap()
}

fn set_text(client: &mut Client<Transport>, text: &str) -> Result<Value, ClientError> {
    client.call(
        "appControl",
        "setTextForm",
        "1.1",
        &[Param::Secret("text", text.as_bytes())],
        &[],
    )
}

fn get_text(client: &mut Client<Transport>) -> Result<String, ClientError> {
    let result = client.call("appControl", "getTextForm", "1.1", &[], &["text"])?;
    Ok(result[0]["text"].as_str().unwrap().to_string())
}

#[test]
fn a_secret_goes_in_one_call_and_comes_back_in_another_under_a_fresh_key() {
    let device = Device::new(fixture_key(2048).clone());
    let mut client = client_of(&device, ClientConfig::default());
    assert!(client.fingerprint().is_none());
    set_text(&mut client, "the wifi password").unwrap();
    assert_eq!(get_text(&mut client).unwrap(), "the wifi password");
    // Trust on first use: the device's key is pinned.
    let expected = fixture_key(2048).public_key().fingerprint().unwrap();
    assert_eq!(client.fingerprint(), Some(expected.as_str()));
    // A fresh common key for every call: every open was an RSA unwrap.
    let stats = device.borrow().server.stats().unwrap();
    assert_eq!((stats.unwraps, stats.cache_hits), (2, 0));
}

#[test]
fn a_common_key_is_reused_for_n_calls_when_configured() {
    let device = Device::new(fixture_key(2048).clone());
    let config = ClientConfig {
        reuse_calls: 5,
        ..ClientConfig::default()
    };
    let mut client = client_of(&device, config);
    for i in 0..10 {
        set_text(&mut client, &format!("text {i}")).unwrap();
    }
    let stats = device.borrow().server.stats().unwrap();
    assert_eq!((stats.unwraps, stats.cache_hits), (2, 8));
}

#[test]
fn a_refused_common_key_is_answered_40002_and_served_by_the_single_retry() {
    let device = Device::new(fixture_key(2048).clone());
    let config = ClientConfig {
        reuse_calls: 100,
        ..ClientConfig::default()
    };
    let mut client = client_of(&device, config);
    set_text(&mut client, "first").unwrap();
    // An attacker replays the client's encKey with a junk value: the
    // device refuses that common key for a while.
    {
        let device = device.borrow();
        let enc_key = device.last_enc_key.clone().unwrap();
        let session = device
            .server
            .open(b"192.0.2.66", enc_key.as_bytes())
            .unwrap();
        assert!(session.decrypt(b"AAAAAAAAAAAAAAAAAAAAAAA=").is_err());
    }
    let before = device.borrow().secret_requests;
    set_text(&mut client, "second").unwrap();
    assert_eq!(
        device.borrow().secret_requests - before,
        2,
        "the call and its one retry"
    );
    assert_eq!(get_text(&mut client).unwrap(), "second");
}

#[test]
fn the_call_fails_after_one_retry_and_the_budget_stops_re_sending() {
    let device = Device::new(fixture_key(2048).clone());
    let mut client = client_of(&device, ClientConfig::default());
    set_text(&mut client, "first").unwrap();
    device.borrow_mut().always_fail = true;
    let before = device.borrow().secret_requests;
    assert_eq!(
        set_text(&mut client, "second"),
        Err(ClientError::EncryptionFailed)
    );
    assert_eq!(
        device.borrow().secret_requests - before,
        2,
        "the call and one retry"
    );
    // The third 40002 in ten minutes spends the budget: no retry, and from
    // then on nothing encrypted is sent.
    assert_eq!(
        set_text(&mut client, "third"),
        Err(ClientError::FailureBudgetSpent)
    );
    assert_eq!(device.borrow().secret_requests - before, 3);
    for _ in 0..5 {
        assert_eq!(get_text(&mut client), Err(ClientError::FailureBudgetSpent));
    }
    assert_eq!(
        device.borrow().secret_requests - before,
        3,
        "nothing sent past the budget"
    );
    // The application decides to go on.
    device.borrow_mut().always_fail = false;
    client.reset_failures();
    assert_eq!(get_text(&mut client).unwrap(), "first");
}

#[test]
fn a_device_with_a_new_key_gets_nothing_secret_until_the_pin_is_reset() {
    let first = Device::new(fixture_key(2048).clone());
    let mut client = client_of(&first, ClientConfig::default());
    set_text(&mut client, "before").unwrap();
    let pin = client.fingerprint().unwrap().to_string();

    // The device comes back with another key; a new client with the stored pin.
    let restarted = Device::new(fixture_key(3072).clone());
    let mut client = client_of(&restarted, ClientConfig::default());
    client.pin(&pin);
    let presented = fixture_key(3072).public_key().fingerprint().unwrap();
    assert_eq!(
        set_text(&mut client, "a secret"),
        Err(ClientError::PinMismatch {
            pinned: pin.clone(),
            presented: presented.clone()
        })
    );
    assert_eq!(
        restarted.borrow().secret_requests,
        0,
        "no encrypted value was sent"
    );
    let message = set_text(&mut client, "a secret").unwrap_err().to_string();
    assert!(
        message.contains(&pin) && message.contains(&presented) && !message.contains("a secret")
    );
    // Re-pinning is explicit.
    client.repin();
    set_text(&mut client, "after").unwrap();
    assert_eq!(client.fingerprint(), Some(presented.as_str()));
    assert_eq!(get_text(&mut client).unwrap(), "after");
}

#[test]
fn a_long_lived_client_meets_the_new_key_through_its_pin() {
    // The same client across the device's key change: the call fails once
    // (40002, and 40002 again after starting over), then the next call
    // fetches the public key and the pin stops it before anything is sent.
    let device = Device::new(fixture_key(2048).clone());
    let mut client = client_of(&device, ClientConfig::default());
    set_text(&mut client, "before").unwrap();
    device.borrow_mut().server =
        Server::new(fixture_key(3072).clone(), ServerConfig::server()).unwrap();
    assert_eq!(
        set_text(&mut client, "x"),
        Err(ClientError::EncryptionFailed)
    );
    let sent = device.borrow().secret_requests;
    assert!(matches!(
        set_text(&mut client, "x"),
        Err(ClientError::PinMismatch { .. })
    ));
    assert_eq!(device.borrow().secret_requests, sent);
}

#[test]
fn plain_calls_rpc_errors_and_transport_errors() {
    let device = Device::new(fixture_key(2048).clone());
    let mut client = client_of(&device, ClientConfig::default());
    let result = client
        .call("encryption", "getPublicKey", "1.0", &[], &[])
        .unwrap();
    assert!(
        result[0]["publicKey"]
            .as_str()
            .unwrap()
            .starts_with("MIIBIjANBgkqhkiG9w0BAQEFAAOC")
    );
    let volume = json!(10);
    assert_eq!(
        client.call(
            "audio",
            "setVolume",
            "1.0",
            &[Param::Plain("volume", &volume)],
            &[]
        ),
        Err(ClientError::Rpc {
            code: 12,
            message: "No Such Method".to_string()
        })
    );
    let failing: Transport = Box::new(|_, _| Err("connection refused".to_string()));
    let mut client = Client::new(failing, ClientConfig::default()).unwrap();
    assert_eq!(
        set_text(&mut client, "x"),
        Err(ClientError::Transport("connection refused".to_string()))
    );
    let bad = ClientConfig {
        failure_budget: 0,
        ..ClientConfig::default()
    };
    let none: Transport = Box::new(|_, _| Ok(String::new()));
    assert!(Client::new(none, bad).is_err());
}
