//! The whole protocol flow of a device and a client, printed as the JSON-RPC
//! messages travel: getPublicKey, sendSecretData, getSecretData, and the
//! 40002 recovery after the device restarts with a new key.
//!
//!     cargo run --release -p paramcrypt-core --example demo
//!
//! Secret values are never printed: the wire carries only ciphertext, and the
//! demo reports whether what arrived matches what was sent.
use paramcrypt_core::{
    ENCRYPTION_FAILED_CODE, ENCRYPTION_FAILED_MESSAGE, KeyPair, Mode, Padding, PublicKey, Session,
};
use serde_json::{Value, json};

struct Device {
    key: KeyPair,
    secrets: Vec<Vec<u8>>,
}

impl Device {
    fn new() -> paramcrypt_core::Result<Self> {
        Ok(Device {
            key: KeyPair::generate(2048)?,
            secrets: Vec::new(),
        })
    }

    fn handle(&mut self, service: &str, request: &Value) -> Value {
        let id = request["id"].clone();
        let params = &request["params"][0];
        let result = match request["method"].as_str() {
            Some("getPublicKey") => self
                .key
                .public_key()
                .to_base64()
                .map(|k| json!([{ "publicKey": k }])),
            Some("sendSecretData") => self.send_secret_data(params),
            Some("getSecretData") => self.get_secret_data(params),
            _ => return json!({ "error": [12, "No Such Method"], "id": id }),
        };
        let response = match result {
            Ok(result) => json!({ "result": result, "id": id }),
            Err(_) => {
                json!({ "error": [ENCRYPTION_FAILED_CODE, ENCRYPTION_FAILED_MESSAGE], "id": id })
            }
        };
        println!("<- device ({service}): {response}");
        response
    }

    fn send_secret_data(&mut self, params: &Value) -> paramcrypt_core::Result<Value> {
        let session = self.key.unwrap(
            params["encKey"].as_str().unwrap_or("").as_bytes(),
            Padding::Pkcs1v15,
        )?;
        let mut secrets = Vec::new();
        for name in ["secretData1", "secretData2"] {
            let value = params[name].as_str().unwrap_or("");
            secrets.push(session.decrypt(value.as_bytes())?.to_vec());
        }
        self.secrets = secrets;
        Ok(json!([]))
    }

    fn get_secret_data(&self, params: &Value) -> paramcrypt_core::Result<Value> {
        let session = self.key.unwrap(
            params["encKey"].as_str().unwrap_or("").as_bytes(),
            Padding::Pkcs1v15,
        )?;
        let first = self.secrets.first().map(Vec::as_slice).unwrap_or(b"");
        Ok(json!([{ "secretData": session.encrypt(first)? }]))
    }
}

struct Client {
    common_key: Option<(Session, String)>,
    next_id: u64,
}

impl Client {
    fn call(&mut self, device: &mut Device, service: &str, method: &str, params: Value) -> Value {
        self.next_id += 1;
        let request =
            json!({ "method": method, "params": params, "id": self.next_id, "version": "1.0" });
        println!("-> client (POST /sony/{service}): {request}");
        device.handle(service, &request)
    }

    fn initialize(&mut self, device: &mut Device) -> Result<(), Box<dyn std::error::Error>> {
        println!("\n# client: initialization (fetch the public key, make a common key)");
        let response = self.call(device, "encryption", "getPublicKey", json!([]));
        let public_key = PublicKey::from_base64(
            response["result"][0]["publicKey"]
                .as_str()
                .ok_or("no key")?,
        )?;
        let session = Session::new(Mode::KeyIv)?;
        let enc_key = session.wrap(&public_key, Padding::Pkcs1v15)?;
        self.common_key = Some((session, enc_key));
        Ok(())
    }

    fn send_secrets(
        &mut self,
        device: &mut Device,
        one: &[u8],
        two: &[u8],
    ) -> Result<(), Box<dyn std::error::Error>> {
        for attempt in 0..2 {
            if self.common_key.is_none() {
                self.initialize(device)?;
            }
            let (session, enc_key) = self.common_key.as_ref().ok_or("no common key")?;
            let params = json!([{
                "secretData1": session.encrypt(one)?,
                "secretData2": session.encrypt(two)?,
                "encKey": enc_key,
            }]);
            let response = self.call(device, "demo", "sendSecretData", params);
            if response["error"][0] == ENCRYPTION_FAILED_CODE && attempt == 0 {
                println!("# client: 40002 Encryption Failed -> start over");
                self.common_key = None;
                continue;
            }
            return if response.get("result").is_some() {
                Ok(())
            } else {
                Err("sendSecretData failed".into())
            };
        }
        Err("sendSecretData failed twice".into())
    }

    fn get_secret(&mut self, device: &mut Device) -> Result<Vec<u8>, Box<dyn std::error::Error>> {
        let enc_key = self.common_key.as_ref().ok_or("no common key")?.1.clone();
        let response = self.call(
            device,
            "demo",
            "getSecretData",
            json!([{ "encKey": enc_key }]),
        );
        let value = response["result"][0]["secretData"]
            .as_str()
            .ok_or("no secretData")?;
        let (session, _) = self.common_key.as_ref().ok_or("no common key")?;
        Ok(session.decrypt(value.as_bytes())?.to_vec())
    }
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut device = Device::new()?;
    let mut client = Client {
        common_key: None,
        next_id: 0,
    };
    let (first, second) = (b"correct horse battery staple".to_vec(), b"1234".to_vec());

    println!("# sendSecretData: two secret parameters and encKey in one params object");
    client.send_secrets(&mut device, &first, &second)?;
    let stored_ok = device.secrets == [first.clone(), second.clone()];
    println!(
        "# device decrypted both secrets: {}",
        if stored_ok { "match" } else { "MISMATCH" }
    );

    println!("\n# getSecretData: the device encrypts the result with the client's common key");
    let returned_ok = client.get_secret(&mut device)? == first;
    println!(
        "# client decrypted secretData: {}",
        if returned_ok { "match" } else { "MISMATCH" }
    );

    println!("\n# the device restarts with a new key pair; the client still holds its old encKey");
    device.key = KeyPair::generate(2048)?;
    client.send_secrets(&mut device, &second, &first)?;
    let recovered_ok = device.secrets == [second, first];
    println!(
        "# after re-initialization the device decrypted both secrets: {}",
        if recovered_ok { "match" } else { "MISMATCH" }
    );

    if stored_ok && returned_ok && recovered_ok {
        println!("\ndemo OK");
        Ok(())
    } else {
        Err("demo failed".into())
    }
}
