//! The JSON-RPC flow the README describes, message by message: getPublicKey,
//! sendSecretData with two secrets and encKey, getSecretData, and the 40002
//! recovery after the server changes its key.
mod common;

use common::fixture_key;
use paramcrypt_core::{
    ENCRYPTION_FAILED_CODE, ENCRYPTION_FAILED_MESSAGE, KeyPair, Mode, Padding, PublicKey, Session,
};
use serde_json::{Value, json};

/// A device's `encryption` and demo services, reduced to JSON in, JSON out.
struct Device {
    key: KeyPair,
    stored: Vec<(String, String)>,
}

impl Device {
    fn handle(&mut self, request: &str) -> String {
        let request: Value = serde_json::from_str(request).unwrap();
        let id = request["id"].clone();
        let params = &request["params"][0];
        let response = match request["method"].as_str().unwrap() {
            "getPublicKey" => {
                Ok(json!([{ "publicKey": self.key.public_key().to_base64().unwrap() }]))
            }
            "sendSecretData" => self.send_secret_data(params),
            "getSecretData" => self.get_secret_data(params),
            other => panic!("unexpected method {other}"),
        };
        match response {
            Ok(result) => json!({ "result": result, "id": id }),
            Err(e) => {
                assert!(e.is_encryption_failure());
                json!({ "error": [ENCRYPTION_FAILED_CODE, ENCRYPTION_FAILED_MESSAGE], "id": id })
            }
        }
        .to_string()
    }

    fn open_session(&self, params: &Value) -> paramcrypt_core::Result<Session> {
        let enc_key = params["encKey"].as_str().unwrap_or("");
        self.key.unwrap(enc_key.as_bytes(), Padding::Pkcs1v15)
    }

    fn send_secret_data(&mut self, params: &Value) -> paramcrypt_core::Result<Value> {
        let session = self.open_session(params)?;
        let mut secrets = Vec::new();
        for name in ["secretData1", "secretData2"] {
            let plain = session.decrypt(params[name].as_str().unwrap().as_bytes())?;
            secrets.push((name.to_string(), String::from_utf8(plain.to_vec()).unwrap()));
        }
        self.stored = secrets;
        Ok(json!([]))
    }

    fn get_secret_data(&self, params: &Value) -> paramcrypt_core::Result<Value> {
        let session = self.open_session(params)?;
        let value = session.encrypt(self.stored[0].1.as_bytes())?;
        Ok(json!([{ "secretData": value }]))
    }
}

/// A client that keeps its common key across calls and starts over on 40002.
struct Client {
    public_key: Option<PublicKey>,
    session: Option<(Session, String)>,
    next_id: u64,
    initializations: u32,
}

impl Client {
    fn new() -> Self {
        Client {
            public_key: None,
            session: None,
            next_id: 1,
            initializations: 0,
        }
    }

    fn id(&mut self) -> u64 {
        self.next_id += 1;
        self.next_id
    }

    fn initialize(&mut self, device: &mut Device) {
        let request =
            json!({ "method": "getPublicKey", "params": [], "id": self.id(), "version": "1.0" });
        let response: Value = serde_json::from_str(&device.handle(&request.to_string())).unwrap();
        let b64 = response["result"][0]["publicKey"].as_str().unwrap();
        assert!(
            b64.starts_with("MIIBIjANBgkqhkiG9w0BAQEFAAOC"),
            "2048-bit SPKI"
        );
        let public_key = PublicKey::from_base64(b64).unwrap();
        let session = Session::new(Mode::KeyIv).unwrap();
        let enc_key = session.wrap(&public_key, Padding::Pkcs1v15).unwrap();
        self.public_key = Some(public_key);
        self.session = Some((session, enc_key));
        self.initializations += 1;
    }

    fn send_secret_data_request(&mut self, one: &str, two: &str) -> String {
        let (session, enc_key) = self.session.as_ref().unwrap();
        json!({
            "method": "sendSecretData",
            "params": [{
                "secretData1": session.encrypt(one.as_bytes()).unwrap(),
                "secretData2": session.encrypt(two.as_bytes()).unwrap(),
                "encKey": enc_key,
            }],
            "id": self.next_id + 1,
            "version": "1.0",
        })
        .to_string()
    }

    /// Sends both secrets, re-initializing once on 40002. Returns the number
    /// of 40002 answers seen.
    fn send_secrets(&mut self, device: &mut Device, one: &str, two: &str) -> u32 {
        let mut failures = 0;
        loop {
            if self.session.is_none() {
                self.initialize(device);
            }
            let request = self.send_secret_data_request(one, two);
            self.id();
            let response: Value = serde_json::from_str(&device.handle(&request)).unwrap();
            if response.get("error").is_none() {
                assert_eq!(response["result"], json!([]));
                return failures;
            }
            assert_eq!(response["error"], json!([40002, "Encryption Failed"]));
            failures += 1;
            assert!(failures < 2, "a fresh common key must succeed");
            self.session = None;
        }
    }

    fn get_secret(&mut self, device: &mut Device) -> String {
        let (session, enc_key) = self.session.as_ref().unwrap();
        let request = json!({ "method": "getSecretData", "params": [{ "encKey": enc_key }], "id": 9, "version": "1.0" });
        let response: Value = serde_json::from_str(&device.handle(&request.to_string())).unwrap();
        let value = response["result"][0]["secretData"].as_str().unwrap();
        String::from_utf8(session.decrypt(value.as_bytes()).unwrap().to_vec()).unwrap()
    }
}

#[test]
fn send_and_get_secret_data_then_recover_after_server_key_change() {
    let mut device = Device {
        key: KeyPair::generate(2048).unwrap(),
        stored: Vec::new(),
    };
    let mut client = Client::new();

    // The request on the wire has exactly the documented shape.
    client.initialize(&mut device);
    let request: Value =
        serde_json::from_str(&client.send_secret_data_request("pw-1", "pin 1234")).unwrap();
    let params = request["params"][0].as_object().unwrap();
    let mut names: Vec<&str> = params.keys().map(String::as_str).collect();
    names.sort();
    assert_eq!(names, ["encKey", "secretData1", "secretData2"]);
    assert_eq!(
        params["secretData1"].as_str().unwrap().len(),
        24,
        "one AES block in base64"
    );

    assert_eq!(client.send_secrets(&mut device, "pw-1", "pin 1234"), 0);
    assert_eq!(
        device.stored,
        [
            ("secretData1".into(), "pw-1".into()),
            ("secretData2".into(), "pin 1234".into())
        ]
    );
    assert_eq!(client.get_secret(&mut device), "pw-1");
    // The common key is reused for further calls.
    assert_eq!(client.send_secrets(&mut device, "pw-2", "x"), 0);
    assert_eq!(client.initializations, 1);

    // The server restarts with a new key: the old encKey is now 40002, and the
    // client starts over with the new public key and a new common key.
    device.key = KeyPair::generate(2048).unwrap();
    assert_eq!(client.send_secrets(&mut device, "pw-3", "after restart"), 1);
    assert_eq!(client.initializations, 2);
    assert_eq!(device.stored[1].1, "after restart");
    assert_eq!(client.get_secret(&mut device), "pw-3");
}

#[test]
fn get_secret_data_with_a_stale_enc_key_never_yields_the_secret() {
    let mut device = Device {
        key: fixture_key(2048).clone(),
        stored: vec![("secretData1".into(), "s".into())],
    };
    let client = Session::new(Mode::KeyIv).unwrap();
    let stale = client
        .wrap(device.key.public_key(), Padding::Pkcs1v15)
        .unwrap();
    device.key = fixture_key(3072).clone(); // the device came back with another key
    let request = json!({ "method": "getSecretData", "params": [{ "encKey": stale }], "id": 5, "version": "1.0" });
    let response: Value = serde_json::from_str(&device.handle(&request.to_string())).unwrap();
    match response.get("result") {
        None => assert_eq!(
            response,
            json!({ "error": [40002, "Encryption Failed"], "id": 5 })
        ),
        // With implicit rejection a stale encKey unwraps, rarely (and only
        // when a key:iv text parses, as this bare key pair detects the mode),
        // to a random key; the reply is then under a key the client does not
        // have, and opening it fails.
        Some(result) => {
            let value = result[0]["secretData"].as_str().unwrap();
            assert_ne!(
                client.decrypt(value.as_bytes()).as_deref().map(|v| &v[..]),
                Ok(&b"s"[..])
            );
        }
    }
}
