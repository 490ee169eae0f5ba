//! `paramcrypt`: make keys, wrap encKeys, encrypt and decrypt secret
//! parameters, craft a JSON-RPC request and open a captured one, as one would
//! with `openssl`, and call a device (`paramcrypt call`) with the client
//! object's policy: a fresh common key per call, one retry after 40002, a
//! failure budget, and the device's key pinned on first use.
//!
//! Secrets (plaintexts, key:iv texts) are read from a file (`@FILE`) or
//! standard input (`-`) as well as from the command line, which other users
//! of the machine can see. Errors are one line on standard error and a
//! non-zero exit status; every encryption failure is "Encryption Failed
//! (40002)".

use std::fs::{self, OpenOptions};
use std::io::{IsTerminal, Read, Write};
use std::os::unix::fs::OpenOptionsExt;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use clap::{Args, Parser, Subcommand, ValueEnum};
use paramcrypt_core::{
    ENCRYPTION_FAILED_CODE, ENCRYPTION_FAILED_MESSAGE, KeyPair, KeySizes, Mode, Padding, PublicKey,
    Session,
};
use serde_json::{Map, Value, json};
use zeroize::Zeroizing;

mod call;

#[derive(Parser)]
#[command(
    name = "paramcrypt",
    version,
    about = "Parameter encryption for JSON-RPC device APIs"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Generate an RSA key pair and store it as PKCS#8 PEM (mode 0600).
    Keygen {
        /// Key size in bits: 2048, 3072 or 4096.
        #[arg(long, default_value_t = 2048)]
        bits: usize,
        /// Where to store the private key.
        #[arg(long)]
        out: PathBuf,
        /// Overwrite an existing file.
        #[arg(long)]
        force: bool,
    },
    /// Print the getPublicKey value of a key pair.
    Pubkey {
        /// The private key (PEM, PKCS#8 or PKCS#1).
        #[arg(long)]
        key: PathBuf,
        /// Print PEM instead of the getPublicKey base64.
        #[arg(long)]
        pem: bool,
        #[command(flatten)]
        keys: KeyOptions,
        #[command(flatten)]
        output: OutputOptions,
    },
    /// Make a fresh common key and print it wrapped for a public key (encKey).
    Wrap {
        #[command(flatten)]
        client: ClientOptions,
        #[command(flatten)]
        output: OutputOptions,
    },
    /// Encrypt a secret parameter (VALUE, `@FILE` or `-` for standard input).
    Encrypt {
        #[command(flatten)]
        session: SessionOptions,
        /// The plaintext: a literal, `@FILE`, or `-` (standard input).
        #[arg(default_value = "-")]
        value: String,
        #[command(flatten)]
        output: OutputOptions,
    },
    /// Decrypt a secret parameter's base64 value (VALUE, `@FILE` or `-`).
    Decrypt {
        #[command(flatten)]
        session: SessionOptions,
        /// The base64 value: a literal, `@FILE`, or `-` (standard input).
        #[arg(default_value = "-")]
        value: String,
        /// Write a plaintext with control characters or binary bytes to a
        /// terminal too (they could drive the terminal: escape sequences).
        #[arg(long)]
        raw: bool,
        #[command(flatten)]
        output: OutputOptions,
    },
    /// Print a JSON-RPC request whose params carry encKey and encrypted secrets.
    Request {
        #[command(flatten)]
        client: ClientOptions,
        /// The method name.
        #[arg(long)]
        method: String,
        /// A plain parameter, NAME=VALUE (repeatable).
        #[arg(long = "param", value_name = "NAME=VALUE")]
        params: Vec<String>,
        /// A secret parameter, NAME=VALUE with VALUE a literal, `@FILE` or `-` (repeatable).
        #[arg(long = "secret", value_name = "NAME=VALUE")]
        secrets: Vec<String>,
        /// The request id.
        #[arg(long, default_value_t = 1)]
        id: u64,
    },
    /// Call a device: send METHOD to URL (`http://HOST[:PORT]/sony/SERVICE`)
    /// with the secrets encrypted, and print the JSON-RPC response with the
    /// --decrypt fields decrypted. The device's public key is pinned on first
    /// use in the known-devices file; a different key later is an error and
    /// nothing secret is sent (--repin accepts it).
    Call(call::Options),
    /// Open a JSON-RPC request or response: unwrap its encKey and print it
    /// with every secret decrypted.
    Open {
        /// The server's private key (PEM).
        #[arg(long)]
        key: PathBuf,
        /// The JSON document: a file, or `-` (standard input).
        #[arg(default_value = "-")]
        input: String,
        /// The encKey, for a response (a request carries its own).
        #[arg(long)]
        enc_key: Option<String>,
        /// Only these fields are secret (comma-separated); default: every
        /// string that decrypts.
        #[arg(long, value_delimiter = ',')]
        secret_fields: Option<Vec<String>>,
        /// The encKey padding the server uses.
        #[arg(long, value_enum, default_value_t = PaddingArg::Pkcs1)]
        padding: PaddingArg,
        #[command(flatten)]
        keys: KeyOptions,
    },
}

#[derive(Clone, Copy, ValueEnum)]
enum PaddingArg {
    /// RSAES-PKCS1-v1_5 (what deployed devices use)
    Pkcs1,
    /// RSAES-OAEP with SHA-1
    OaepSha1,
    /// RSAES-OAEP with SHA-256
    OaepSha256,
}

impl From<PaddingArg> for Padding {
    fn from(arg: PaddingArg) -> Padding {
        match arg {
            PaddingArg::Pkcs1 => Padding::Pkcs1v15,
            PaddingArg::OaepSha1 => Padding::OaepSha1,
            PaddingArg::OaepSha256 => Padding::OaepSha256,
        }
    }
}

#[derive(Args)]
struct KeyOptions {
    /// Accept a legacy peer's 1024-bit key (weak; refused by default).
    #[arg(long)]
    legacy_1024: bool,
}

impl KeyOptions {
    fn sizes(&self) -> KeySizes {
        if self.legacy_1024 {
            KeySizes::AllowLegacy1024
        } else {
            KeySizes::Modern
        }
    }
}

#[derive(Args)]
struct OutputOptions {
    /// Print a JSON object instead of plain text.
    #[arg(long)]
    json: bool,
}

#[derive(Args)]
struct ClientOptions {
    /// The device's public key: the getPublicKey base64, or a file holding it
    /// (or a PEM public key).
    #[arg(long)]
    pubkey: String,
    /// The RSA padding of encKey.
    #[arg(long, value_enum, default_value_t = PaddingArg::Pkcs1)]
    padding: PaddingArg,
    /// Per-message-IV mode (encKey carries the raw key).
    #[arg(long)]
    per_message_iv: bool,
    /// Also print the common key and IV, to standard error, for debugging.
    #[arg(long)]
    show_secret: bool,
    #[command(flatten)]
    keys: KeyOptions,
}

#[derive(Args)]
struct SessionOptions {
    /// The common key as `hex(key):hex(iv)` (or 32 hex digits, a per-message-IV
    /// key): a literal, `@FILE` or `-`.
    #[arg(long, conflicts_with = "enc_key")]
    key_iv: Option<String>,
    /// An encKey to unwrap with --key.
    #[arg(long, requires = "key")]
    enc_key: Option<String>,
    /// The server's private key (PEM), for --enc-key.
    #[arg(long)]
    key: Option<PathBuf>,
    /// The encKey padding, for --enc-key.
    #[arg(long, value_enum, default_value_t = PaddingArg::Pkcs1)]
    padding: PaddingArg,
    #[command(flatten)]
    keys: KeyOptions,
}

/// What went wrong, as one line.
struct Failure(String);

impl From<paramcrypt_core::Error> for Failure {
    fn from(error: paramcrypt_core::Error) -> Self {
        if error.is_encryption_failure() {
            Failure(format!(
                "{ENCRYPTION_FAILED_MESSAGE} ({ENCRYPTION_FAILED_CODE})"
            ))
        } else {
            Failure(error.to_string())
        }
    }
}

type Result<T> = std::result::Result<T, Failure>;

fn fail<T>(message: impl Into<String>) -> Result<T> {
    Err(Failure(message.into()))
}

fn main() -> ExitCode {
    match run(Cli::parse().command) {
        Ok(()) => ExitCode::SUCCESS,
        Err(Failure(message)) => {
            eprintln!("paramcrypt: error: {message}");
            ExitCode::FAILURE
        }
    }
}

fn run(command: Command) -> Result<()> {
    match command {
        Command::Keygen { bits, out, force } => keygen(bits, &out, force),
        Command::Call(options) => call::run(&options),
        Command::Pubkey {
            key,
            pem,
            keys,
            output,
        } => {
            let key_pair = load_key_pair(&key, &keys)?;
            let public = key_pair.public_key();
            let text = if pem {
                public.to_pem()?
            } else {
                public.to_base64()?
            };
            print_text(&output, "publicKey", text.trim_end())
        }
        Command::Wrap { client, output } => {
            let (session, enc_key) = new_client(&client)?;
            drop(session);
            print_text(&output, "encKey", &enc_key)
        }
        Command::Encrypt {
            session,
            value,
            output,
        } => {
            let session = open_session(&session)?;
            let plaintext = read_input(&value)?;
            print_text(&output, "value", &session.encrypt(&plaintext)?)
        }
        Command::Decrypt {
            session,
            value,
            raw,
            output,
        } => {
            let session = open_session(&session)?;
            let text = read_input(&value)?;
            let plaintext = session.decrypt(trim_line_end(&text))?;
            if output.json {
                println!("{}", json!({ "plaintext": text_or_hex(&plaintext) }));
                Ok(())
            } else if !raw && std::io::stdout().is_terminal() && !printable(&plaintext) {
                fail(
                    "the plaintext has control characters or is not UTF-8 text; write it to a file \
                     or a pipe, use --json, or --raw to send it to the terminal anyway",
                )
            } else {
                write_stdout(&plaintext)
            }
        }
        Command::Request {
            client,
            method,
            params,
            secrets,
            id,
        } => request(&client, &method, &params, &secrets, id),
        Command::Open {
            key,
            input,
            enc_key,
            secret_fields,
            padding,
            keys,
        } => open(
            &key,
            &input,
            enc_key.as_deref(),
            secret_fields.as_deref(),
            padding.into(),
            &keys,
        ),
    }
}

fn keygen(bits: usize, out: &Path, force: bool) -> Result<()> {
    let key_pair = KeyPair::generate(bits)?;
    let pem = key_pair.to_pkcs8_pem()?;
    let written = if force {
        // A new file beside the target, renamed over it: the rename replaces
        // whatever is at `out` (a symbolic link included) and never writes
        // through it.
        let dir = out
            .parent()
            .filter(|d| !d.as_os_str().is_empty())
            .unwrap_or(Path::new("."));
        let name = out
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        let temporary = dir.join(format!(".{name}.{}.tmp", std::process::id()));
        let result = create_private_file(&temporary, pem.as_bytes())
            .and_then(|()| fs::rename(&temporary, out));
        if result.is_err() {
            let _ = fs::remove_file(&temporary);
        }
        result
    } else {
        create_private_file(out, pem.as_bytes())
    };
    written.or_else(|e| {
        let hint = if e.kind() == std::io::ErrorKind::AlreadyExists {
            " (it exists; use --force to replace it)"
        } else {
            ""
        };
        fail(format!("{}: {e}{hint}", out.display()))
    })?;
    eprintln!(
        "paramcrypt: wrote a {bits}-bit key to {} (mode 0600)",
        out.display()
    );
    Ok(())
}

/// Creates `path` with mode 0600 from the start and writes `data`. It must
/// not exist: not even as a symbolic link, whose target it would create
/// (O_CREAT|O_EXCL follows no link).
fn create_private_file(path: &Path, data: &[u8]) -> std::io::Result<()> {
    let mut file = OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(path)?;
    file.write_all(data)?;
    file.sync_all()
}

/// Reads a secret or value argument: `-` is standard input, `@FILE` a file,
/// `@@...` the literal `@...`, anything else the text itself. Errors never
/// repeat the argument (it may be a secret that was meant as a literal).
fn read_input(arg: &str) -> Result<Zeroizing<Vec<u8>>> {
    if arg == "-" {
        return read_all_wiped(std::io::stdin().lock())
            .or_else(|e| fail(format!("standard input: {e}")));
    }
    if let Some(literal) = arg.strip_prefix("@@") {
        let mut data = Zeroizing::new(Vec::with_capacity(literal.len() + 1));
        data.push(b'@');
        data.extend_from_slice(literal.as_bytes());
        return Ok(data);
    }
    if let Some(path) = arg.strip_prefix('@') {
        return fs::File::open(path).and_then(read_all_wiped).or_else(|e| {
            fail(format!(
                "the file of an @FILE argument: {} (write @@ for a value that starts with @)",
                e.kind()
            ))
        });
    }
    Ok(Zeroizing::new(arg.as_bytes().to_vec()))
}

/// Reads everything from `reader` into a buffer that leaves no copy
/// behind: when it is full, the data moves to one twice as large and the
/// old one is wiped before it is freed (`read_to_end` would let the
/// allocator free it unwiped).
fn read_all_wiped(mut reader: impl Read) -> std::io::Result<Zeroizing<Vec<u8>>> {
    let mut data = Zeroizing::new(Vec::with_capacity(4096));
    let mut chunk = Zeroizing::new([0u8; 4096]);
    loop {
        let n = match reader.read(&mut chunk[..]) {
            Ok(0) => return Ok(data),
            Ok(n) => n,
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
            Err(e) => return Err(e),
        };
        if data.len() + n > data.capacity() {
            let mut larger = Zeroizing::new(Vec::with_capacity(2 * (data.len() + n)));
            larger.extend_from_slice(&data);
            data = larger; // the old buffer is wiped as it drops
        }
        data.extend_from_slice(&chunk[..n]);
    }
}

/// A value read from a file or a terminal usually ends in a newline.
fn trim_line_end(data: &[u8]) -> &[u8] {
    let end = data
        .iter()
        .rposition(|&c| c != b'\n' && c != b'\r')
        .map_or(0, |i| i + 1);
    &data[..end]
}

fn read_text_file(path: &Path) -> Result<Zeroizing<String>> {
    fs::read_to_string(path)
        .map(Zeroizing::new)
        .or_else(|e| fail(format!("{}: {e}", path.display())))
}

fn load_key_pair(path: &Path, keys: &KeyOptions) -> Result<KeyPair> {
    let pem = read_text_file(path)?;
    KeyPair::from_pem_with(&pem, keys.sizes())
        .or_else(|e| fail(format!("{}: {}", path.display(), Failure::from(e).0)))
}

fn load_public_key(arg: &str, keys: &KeyOptions) -> Result<PublicKey> {
    let path = Path::new(arg);
    let text = if path.is_file() {
        read_text_file(path)?.to_string()
    } else {
        arg.to_string()
    };
    let parsed = if text.contains("-----BEGIN PUBLIC KEY-----") {
        PublicKey::from_pem_with(&text, keys.sizes())
    } else {
        PublicKey::from_base64_with(text.trim(), keys.sizes())
    };
    parsed.or_else(|_| {
        fail("--pubkey: not an RSA public key of a supported size (base64 DER, PEM, or a file)")
    })
}

fn key_iv_text(session: &Session) -> Zeroizing<String> {
    let hex = |bytes: &[u8]| bytes.iter().map(|b| format!("{b:02x}")).collect::<String>();
    Zeroizing::new(match session.mode() {
        Mode::KeyIv => format!("{}:{}", hex(session.key()), hex(session.iv())),
        Mode::PerMessageIv => hex(session.key()),
    })
}

fn new_client(client: &ClientOptions) -> Result<(Session, String)> {
    let public_key = load_public_key(&client.pubkey, &client.keys)?;
    let mode = if client.per_message_iv {
        Mode::PerMessageIv
    } else {
        Mode::KeyIv
    };
    let session = Session::new(mode)?;
    let enc_key = session.wrap(&public_key, client.padding.into())?;
    if client.show_secret {
        eprintln!(
            "paramcrypt: SECRET common key (key:iv), for debugging only: {}",
            &*key_iv_text(&session)
        );
    }
    Ok((session, enc_key))
}

/// Parses `hex(key):hex(iv)` (key:iv mode) or `hex(key)` (per-message IV).
fn session_from_key_iv(text: &[u8]) -> Result<Session> {
    let text = trim_line_end(text);
    let unhex = |hex: &[u8]| -> Option<[u8; 16]> {
        if hex.len() != 32 {
            return None;
        }
        let mut out = [0u8; 16];
        for (i, pair) in hex.chunks(2).enumerate() {
            let pair = std::str::from_utf8(pair).ok()?;
            out[i] = u8::from_str_radix(pair, 16).ok()?;
        }
        Some(out)
    };
    let parsed = match text.len() {
        65 if text[32] == b':' => unhex(&text[..32])
            .zip(unhex(&text[33..]))
            .map(|(key, iv)| Session::from_parts(key, iv, Mode::KeyIv)),
        32 => unhex(text).map(|key| Session::from_parts(key, [0; 16], Mode::PerMessageIv)),
        _ => None,
    };
    parsed.map_or_else(
        || fail("--key-iv: expected hex(key):hex(iv) (65 characters) or hex(key) (32)"),
        Ok,
    )
}

fn open_session(options: &SessionOptions) -> Result<Session> {
    match (&options.key_iv, &options.enc_key, &options.key) {
        (Some(key_iv), None, _) => session_from_key_iv(&read_input(key_iv)?),
        (None, Some(enc_key), Some(key)) => {
            let key_pair = load_key_pair(key, &options.keys)?;
            let enc_key = read_input(enc_key)?;
            Ok(key_pair.unwrap(trim_line_end(&enc_key), options.padding.into())?)
        }
        _ => fail("give --key-iv, or --enc-key with --key"),
    }
}

fn print_text(output: &OutputOptions, name: &str, text: &str) -> Result<()> {
    if output.json {
        println!("{}", json!({ name: text }));
    } else {
        println!("{text}");
    }
    Ok(())
}

fn write_stdout(data: &[u8]) -> Result<()> {
    let mut stdout = std::io::stdout();
    stdout
        .write_all(data)
        .and_then(|()| stdout.flush())
        .or_else(|e| fail(format!("standard output: {e}")))
}

/// Whether `data` is UTF-8 text without control characters (but line
/// breaks and tabs): safe to write to a terminal.
fn printable(data: &[u8]) -> bool {
    std::str::from_utf8(data).is_ok_and(|text| {
        text.chars()
            .all(|c| !c.is_control() || matches!(c, '\n' | '\t' | '\r'))
    })
}

/// A plaintext as JSON: its text when it is UTF-8, else `{"hex": ...}`.
fn text_or_hex(data: &[u8]) -> Value {
    match std::str::from_utf8(data) {
        Ok(text) => Value::String(text.to_string()),
        Err(_) => json!({ "hex": data.iter().map(|b| format!("{b:02x}")).collect::<String>() }),
    }
}

/// NAME=VALUE. The error does not repeat the argument: without a `=` it
/// may be a secret value on its own.
fn split_assignment(arg: &str) -> Result<(&str, &str)> {
    match arg.split_once('=') {
        Some((name, value)) if !name.is_empty() => Ok((name, value)),
        _ => fail("a --param or --secret argument is not NAME=VALUE"),
    }
}

fn request(
    client: &ClientOptions,
    method: &str,
    params: &[String],
    secrets: &[String],
    id: u64,
) -> Result<()> {
    let (session, enc_key) = new_client(client)?;
    let mut object = Map::new();
    for param in params {
        let (name, value) = split_assignment(param)?;
        object.insert(name.to_string(), Value::String(value.to_string()));
    }
    for secret in secrets {
        let (name, value) = split_assignment(secret)?;
        let plaintext = read_input(value)?;
        let encrypted = session.encrypt(trim_line_end(&plaintext))?;
        object.insert(name.to_string(), Value::String(encrypted));
    }
    object.insert("encKey".to_string(), Value::String(enc_key));
    let request = json!({ "method": method, "params": [object], "id": id, "version": "1.0" });
    println!("{request}");
    Ok(())
}

fn open(
    key: &Path,
    input: &str,
    enc_key: Option<&str>,
    secret_fields: Option<&[String]>,
    padding: Padding,
    keys: &KeyOptions,
) -> Result<()> {
    let key_pair = load_key_pair(key, keys)?;
    let text = if input == "-" {
        read_input("-")?
    } else {
        read_input(&format!("@{input}"))?
    };
    let mut document: Value =
        serde_json::from_slice(&text).or_else(|e| fail(format!("{input}: not JSON: {e}")))?;
    // A request's secrets are in params[0], a response's in result[0].
    let field = if document.get("params").is_some() {
        "params"
    } else {
        "result"
    };
    let Some(object) = document
        .get_mut(field)
        .and_then(|list| list.get_mut(0))
        .and_then(Value::as_object_mut)
    else {
        return fail(format!(
            "{input}: no params[0] or result[0] object (not a JSON-RPC request or response)"
        ));
    };
    let carried = object
        .get("encKey")
        .and_then(Value::as_str)
        .map(str::to_string);
    let Some(enc_key) = enc_key.map(str::to_string).or(carried) else {
        return fail(format!(
            "{input}: no encKey (for a response, give --enc-key)"
        ));
    };
    let session = key_pair
        .unwrap(enc_key.as_bytes(), padding)
        .or_else(|e| fail(format!("encKey: {}", Failure::from(e).0)))?;
    let mut opened = Vec::new();
    for (name, value) in object.iter_mut() {
        if name == "encKey" {
            continue;
        }
        let chosen = secret_fields.is_none_or(|fields| fields.iter().any(|f| f == name));
        let Some(text) = value.as_str().filter(|_| chosen) else {
            continue;
        };
        match session.decrypt(text.as_bytes()) {
            Ok(plaintext) => {
                *value = text_or_hex(&plaintext);
                opened.push(name.clone());
            }
            // With --secret-fields, every named field must decrypt.
            Err(e) if secret_fields.is_some() => {
                return fail(format!("{name}: {}", Failure::from(e).0));
            }
            Err(_) => {}
        }
    }
    let missing = secret_fields.and_then(|fields| fields.iter().find(|f| !opened.contains(f)));
    if let Some(missing) = missing {
        return fail(format!("{missing}: no such string field"));
    }
    println!(
        "{}",
        serde_json::to_string_pretty(&document).unwrap_or_default()
    );
    eprintln!("paramcrypt: decrypted: {}", opened.join(", "));
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::alloc::{GlobalAlloc, Layout, System};
    use std::sync::atomic::{AtomicUsize, Ordering};

    /// The marker byte of the secrets these tests read.
    const SECRET: u8 = 0xA5;

    /// Counts freed blocks that still hold 64 marker bytes in a row: secret
    /// data freed unwiped.
    struct WipeChecking;

    static UNWIPED_FREES: AtomicUsize = AtomicUsize::new(0);

    // SAFETY: forwards to the system allocator; only reads the block it is
    // about to free.
    unsafe impl GlobalAlloc for WipeChecking {
        unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
            // SAFETY: the caller's layout contract is forwarded.
            unsafe { System.alloc(layout) }
        }
        unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
            // SAFETY: `ptr` points to `layout.size()` bytes until freed.
            let block = unsafe { std::slice::from_raw_parts(ptr, layout.size()) };
            if block.windows(64).any(|w| w.iter().all(|&b| b == SECRET)) {
                UNWIPED_FREES.fetch_add(1, Ordering::SeqCst);
            }
            // SAFETY: `ptr` came from `alloc` with this layout.
            unsafe { System.dealloc(ptr, layout) }
        }
    }

    #[global_allocator]
    static ALLOCATOR: WipeChecking = WipeChecking;

    /// Delivers its data a kilobyte at a time with no size hint, as a pipe does.
    struct Trickle<'a>(&'a [u8]);

    impl Read for Trickle<'_> {
        fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
            let n = buf.len().min(1024).min(self.0.len());
            buf[..n].copy_from_slice(&self.0[..n]);
            self.0 = &self.0[n..];
            Ok(n)
        }
    }

    #[test]
    fn secret_input_leaves_no_unwiped_copy_when_its_buffer_grows() {
        let secret = Zeroizing::new(vec![SECRET; 300 * 1024]);
        // The detector works: read_to_end's growth frees copies unwiped.
        let before = UNWIPED_FREES.load(Ordering::SeqCst);
        let mut grown = Vec::new();
        Trickle(&secret[..]).read_to_end(&mut grown).unwrap();
        zeroize::Zeroize::zeroize(&mut grown);
        drop(grown);
        assert!(UNWIPED_FREES.load(Ordering::SeqCst) > before);
        // read_all_wiped leaves none.
        let before = UNWIPED_FREES.load(Ordering::SeqCst);
        let read = read_all_wiped(Trickle(&secret[..])).unwrap();
        assert_eq!(read.len(), secret.len());
        drop(read);
        assert_eq!(UNWIPED_FREES.load(Ordering::SeqCst), before);
    }

    #[test]
    fn printable_text_is_text_without_control_characters() {
        assert!(printable("correct horse\tbattery\n".as_bytes()));
        assert!(printable("pässword".as_bytes()));
        for bad in [
            &b"\x1b[2J"[..],
            b"bell\x07",
            b"\xff\xfe",
            "c1 \u{9b}31m".as_bytes(),
        ] {
            assert!(!printable(bad), "{bad:?}");
        }
    }
}
