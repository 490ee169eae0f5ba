//! `paramcrypt call`: one JSON-RPC call to a device through the client
//! object, over HTTP, with the device's key pinned in a known-devices file.

use std::fs;
use std::path::{Path, PathBuf};
use std::time::Duration;

use clap::Args;
use paramcrypt_core::client::{Client, ClientConfig, ClientError, Param, Transport};
use paramcrypt_core::{ENCRYPTION_FAILED_CODE, ENCRYPTION_FAILED_MESSAGE};
use serde_json::{Value, json};
use zeroize::Zeroizing;

use super::{
    Failure, KeyOptions, PaddingArg, Result, fail, read_input, split_assignment, trim_line_end,
};

/// The arguments of `paramcrypt call`.
#[derive(Args)]
pub(crate) struct Options {
    /// The device's URL for the service: http://HOST[:PORT]/sony/SERVICE.
    url: String,
    /// The method name.
    method: String,
    /// The method's JSON-RPC version.
    #[arg(long, default_value = "1.0")]
    version: String,
    /// The pre-shared key for the X-Auth-PSK header (visible to other users
    /// of the machine; prefer --psk-file).
    #[arg(long, conflicts_with = "psk_file")]
    psk: Option<String>,
    /// A file holding the pre-shared key (its first line).
    #[arg(long)]
    psk_file: Option<PathBuf>,
    /// A plain parameter, NAME=VALUE (VALUE as JSON when it parses, else a
    /// string; repeatable).
    #[arg(long = "param", value_name = "NAME=VALUE")]
    params: Vec<String>,
    /// A secret parameter, NAME=VALUE with VALUE a literal, `@FILE` or `-`
    /// (standard input); sent encrypted (repeatable).
    #[arg(long = "secret", value_name = "NAME=VALUE")]
    secrets: Vec<String>,
    /// A result field to decrypt (repeatable).
    #[arg(long = "decrypt", value_name = "NAME")]
    decrypt: Vec<String>,
    /// The known-devices file (default: $XDG_CONFIG_HOME/paramcrypt/known_devices,
    /// else ~/.config/paramcrypt/known_devices).
    #[arg(long)]
    known_devices: Option<PathBuf>,
    /// Accept the key the device presents now, replacing its pin.
    #[arg(long)]
    repin: bool,
    /// Seconds to wait for the device.
    #[arg(long, default_value_t = 10)]
    timeout: u64,
    /// The RSA padding of encKey.
    #[arg(long, value_enum, default_value_t = PaddingArg::Pkcs1)]
    padding: PaddingArg,
    #[command(flatten)]
    keys: KeyOptions,
}

/// POSTs to `{device}/sony/{service}` with the pre-shared key; remembers the
/// last response's id for printing.
struct Http {
    agent: ureq::Agent,
    device: String,
    psk: Option<Zeroizing<String>>,
    last_id: Value,
}

impl Transport for Http {
    fn send(&mut self, service: &str, request: &str) -> std::result::Result<String, String> {
        let url = format!("{}/sony/{service}", self.device);
        let mut call = self
            .agent
            .post(&url)
            .header("Content-Type", "application/json");
        if let Some(psk) = &self.psk {
            call = call.header("X-Auth-PSK", psk.as_str());
        }
        let mut response = call.send(request).map_err(|e| format!("{url}: {e}"))?;
        let body = response
            .body_mut()
            .read_to_string()
            .map_err(|e| format!("{url}: {e}"))?;
        if let Ok(parsed) = serde_json::from_str::<Value>(&body) {
            self.last_id = parsed.get("id").cloned().unwrap_or(Value::Null);
        }
        Ok(body)
    }
}

/// The device (`http://HOST[:PORT]`) and service of `http://HOST[:PORT]/sony/SERVICE`.
fn split_url(url: &str) -> Result<(String, String)> {
    let usage = "URL must be http://HOST[:PORT]/sony/SERVICE";
    if !url.starts_with("http://") {
        return fail(usage);
    }
    match url.trim_end_matches('/').rsplit_once("/sony/") {
        Some((device, service))
            if !service.is_empty() && !service.contains('/') && device.len() > 7 =>
        {
            Ok((device.to_string(), service.to_string()))
        }
        _ => fail(usage),
    }
}

fn default_known_devices() -> Result<PathBuf> {
    let config = match std::env::var_os("XDG_CONFIG_HOME") {
        Some(dir) if !dir.is_empty() => PathBuf::from(dir),
        _ => match std::env::var_os("HOME") {
            Some(home) => PathBuf::from(home).join(".config"),
            None => {
                return fail(
                    "no --known-devices file, and neither XDG_CONFIG_HOME nor HOME is set",
                );
            }
        },
    };
    Ok(config.join("paramcrypt").join("known_devices"))
}

/// The pins of a known-devices file: `URL SHA256:...` per line, `#` comments.
fn read_pins(path: &Path) -> Result<Vec<(String, String)>> {
    let text = match fs::read_to_string(path) {
        Ok(text) => text,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
        Err(e) => return fail(format!("{}: {e}", path.display())),
    };
    Ok(text
        .lines()
        .filter_map(|line| {
            let mut fields = line.split('#').next().unwrap_or("").split_whitespace();
            match (fields.next(), fields.next(), fields.next()) {
                (Some(device), Some(pin), None) => Some((device.to_string(), pin.to_string())),
                _ => None,
            }
        })
        .collect())
}

/// Writes the pins through a temporary file in the same directory.
fn write_pins(path: &Path, pins: &[(String, String)]) -> Result<()> {
    let mut text = String::from(
        "# paramcrypt known devices: URL and the SHA-256 fingerprint of its public key\n",
    );
    for (device, pin) in pins {
        text.push_str(&format!("{device} {pin}\n"));
    }
    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
        fs::create_dir_all(dir).or_else(|e| fail(format!("{}: {e}", dir.display())))?;
    }
    let temporary = path.with_extension(format!("tmp{}", std::process::id()));
    fs::write(&temporary, text)
        .and_then(|()| fs::rename(&temporary, path))
        .or_else(|e| {
            let _ = fs::remove_file(&temporary);
            fail(format!("{}: {e}", path.display()))
        })
}

fn psk_of(options: &Options) -> Result<Option<Zeroizing<String>>> {
    if let Some(psk) = &options.psk {
        return Ok(Some(Zeroizing::new(psk.clone())));
    }
    let Some(path) = &options.psk_file else {
        return Ok(None);
    };
    let data =
        Zeroizing::new(fs::read(path).or_else(|e| fail(format!("{}: {e}", path.display())))?);
    let first_line = data.split(|&b| b == b'\n').next().unwrap_or(&[]);
    let text = std::str::from_utf8(trim_line_end(first_line)).or_else(|_| {
        fail(format!(
            "{}: the pre-shared key is not UTF-8",
            path.display()
        ))
    })?;
    Ok(Some(Zeroizing::new(text.to_string())))
}

pub(crate) fn run(options: &Options) -> Result<()> {
    let (device, service) = split_url(&options.url)?;
    let known_devices = match &options.known_devices {
        Some(path) => path.clone(),
        None => default_known_devices()?,
    };
    let mut pins = read_pins(&known_devices)?;
    let plain: Vec<(String, Value)> = options
        .params
        .iter()
        .map(|arg| {
            let (name, value) = split_assignment(arg)?;
            let value =
                serde_json::from_str(value).unwrap_or_else(|_| Value::String(value.to_string()));
            Ok((name.to_string(), value))
        })
        .collect::<Result<_>>()?;
    let secrets: Vec<(String, Zeroizing<Vec<u8>>)> = options
        .secrets
        .iter()
        .map(|arg| {
            let (name, value) = split_assignment(arg)?;
            let data = read_input(value)?;
            let trimmed = Zeroizing::new(trim_line_end(&data).to_vec());
            Ok((name.to_string(), trimmed))
        })
        .collect::<Result<_>>()?;

    let agent: ureq::Agent = ureq::Agent::config_builder()
        .timeout_global(Some(Duration::from_secs(options.timeout)))
        .http_status_as_error(false)
        .build()
        .into();
    let transport = Http {
        agent,
        device: device.clone(),
        psk: psk_of(options)?,
        last_id: Value::Null,
    };
    let config = ClientConfig {
        padding: options.padding.into(),
        key_sizes: options.keys.sizes(),
        ..ClientConfig::default()
    };
    let mut client = Client::new(transport, config)?;
    let pinned = pins
        .iter()
        .find(|(d, _)| *d == device)
        .map(|(_, pin)| pin.clone());
    match (&pinned, options.repin) {
        (Some(pin), false) => client.pin(pin),
        _ => client.repin(),
    }

    let mut call_params: Vec<Param<'_>> = plain
        .iter()
        .map(|(name, value)| Param::Plain(name, value))
        .collect();
    call_params.extend(
        secrets
            .iter()
            .map(|(name, value)| Param::Secret(name, value)),
    );
    let decrypt: Vec<&str> = options.decrypt.iter().map(String::as_str).collect();
    let outcome = client.call(
        &service,
        &options.method,
        &options.version,
        &call_params,
        &decrypt,
    );

    // Pin the device's key on first use (or on --repin), whatever the call's outcome.
    if let Some(fingerprint) = client.fingerprint()
        && pinned.as_deref() != Some(fingerprint)
        && !matches!(outcome, Err(ClientError::PinMismatch { .. }))
    {
        pins.retain(|(d, _)| *d != device);
        pins.push((device.clone(), fingerprint.to_string()));
        write_pins(&known_devices, &pins)?;
    }
    let id = client.transport().last_id.clone();
    match outcome {
        Ok(result) => {
            let mut response = json!({"result": result, "id": id});
            println!("{response}");
            paramcrypt_core::client::wipe(&mut response);
            Ok(())
        }
        Err(error) => {
            let rpc = match &error {
                ClientError::EncryptionFailed => Some((
                    i64::from(ENCRYPTION_FAILED_CODE),
                    ENCRYPTION_FAILED_MESSAGE.to_string(),
                )),
                ClientError::Rpc { code, message } => Some((*code, message.clone())),
                _ => None,
            };
            if let Some((code, message)) = rpc {
                println!("{}", json!({"error": [code, message], "id": id}));
            }
            Err(Failure(error.to_string()))
        }
    }
}
