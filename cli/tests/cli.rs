//! The built `paramcrypt` binary, run as a user would: every subcommand,
//! request -> open round trips in every mode and padding, and bad inputs.

use std::io::Write;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

fn data(rel: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../tests/data")
        .join(rel)
}

fn scratch(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("paramcrypt-cli-{}-{name}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

fn run_with_stdin(args: &[&str], stdin: &[u8]) -> Output {
    let mut child = Command::new(env!("CARGO_BIN_EXE_paramcrypt"))
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    child.stdin.take().unwrap().write_all(stdin).unwrap();
    child.wait_with_output().unwrap()
}

fn run(args: &[&str]) -> Output {
    run_with_stdin(args, b"")
}

/// Runs a command that must succeed; returns its standard output.
fn ok(args: &[&str]) -> String {
    let output = run(args);
    assert!(
        output.status.success(),
        "{args:?} failed: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    String::from_utf8(output.stdout).unwrap()
}

/// Runs a command that must fail with one line on standard error; returns it.
fn err(args: &[&str]) -> String {
    err_with_stdin(args, b"")
}

fn err_with_stdin(args: &[&str], stdin: &[u8]) -> String {
    let output = run_with_stdin(args, stdin);
    assert!(!output.status.success(), "{args:?} succeeded");
    let stderr = String::from_utf8(output.stderr).unwrap();
    assert!(
        stderr.starts_with("paramcrypt: error: ") || stderr.starts_with("error: "),
        "{stderr}"
    );
    stderr
}

const KEY: &str = "keys/rsa2048_pkcs8.pem";

fn key() -> String {
    data(KEY).to_str().unwrap().to_string()
}

fn public_key() -> String {
    ok(&["pubkey", "--key", &key()]).trim().to_string()
}

#[test]
fn keygen_writes_a_private_file_and_never_overwrites_silently() {
    let dir = scratch("keygen");
    let out = dir.join("server.pem");
    let out = out.to_str().unwrap();
    ok(&["keygen", "--out", out]);
    let mode = std::fs::metadata(out).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode, 0o600);
    let first = std::fs::read(out).unwrap();
    assert!(err(&["keygen", "--out", out]).contains("it exists; use --force"));
    assert_eq!(std::fs::read(out).unwrap(), first, "not overwritten");
    ok(&["keygen", "--out", out, "--force", "--bits", "3072"]);
    assert_ne!(std::fs::read(out).unwrap(), first);
    assert!(
        err(&["keygen", "--out", &format!("{out}.small"), "--bits", "1024"])
            .contains("unsupported RSA key size")
    );
    // The new key works: its public key is 3072 bits.
    let published = ok(&["pubkey", "--key", out]);
    assert!(
        published.starts_with("MIIBojANBgkqhkiG9w0BAQEFAAOCAY8A"),
        "{published}"
    );
}

#[test]
fn keygen_follows_no_symbolic_link() {
    let dir = scratch("keygen-links");
    // A dangling link at --out: the link's target must not be created.
    let target = dir.join("elsewhere.pem");
    let link = dir.join("server.pem");
    std::os::unix::fs::symlink(&target, &link).unwrap();
    err(&["keygen", "--out", link.to_str().unwrap()]);
    assert!(!target.exists(), "keygen created the link's target");
    // --force replaces the link itself; the file it points to is untouched.
    let victim = dir.join("victim.txt");
    std::fs::write(&victim, "unrelated").unwrap();
    std::fs::remove_file(&link).unwrap();
    std::os::unix::fs::symlink(&victim, &link).unwrap();
    ok(&["keygen", "--out", link.to_str().unwrap(), "--force"]);
    assert_eq!(std::fs::read_to_string(&victim).unwrap(), "unrelated");
    let metadata = std::fs::symlink_metadata(&link).unwrap();
    assert!(
        metadata.file_type().is_file(),
        "the link was replaced by the key file"
    );
    assert_eq!(metadata.permissions().mode() & 0o777, 0o600);
    assert!(
        std::fs::read_to_string(&link)
            .unwrap()
            .starts_with("-----BEGIN PRIVATE KEY-----")
    );
    let leftovers = std::fs::read_dir(&dir).unwrap().count();
    assert_eq!(leftovers, 2, "no temporary file left behind");
}

#[test]
fn secrets_are_never_repeated_in_errors_and_at_at_is_a_literal_at() {
    let key_iv = "000102030405060708090a0b0c0d0e0f:101112131415161718191a1b1c1d1e1f";
    // A secret without its NAME=: the error does not repeat it.
    let message = err(&[
        "request",
        "--pubkey",
        &public_key(),
        "--method",
        "m",
        "--secret",
        "hunter2",
    ]);
    assert!(!message.contains("hunter2"), "{message}");
    // A secret starting with @ is a file name; the error does not show it.
    let message = err(&["encrypt", "--key-iv", key_iv, "@hunter2-not-a-file"]);
    assert!(!message.contains("hunter2"), "{message}");
    assert!(message.contains("@@"), "{message}");
    // @@ passes a literal that starts with @.
    let value = ok(&["encrypt", "--key-iv", key_iv, "@@hunter2"]);
    let plaintext = ok(&["decrypt", "--key-iv", key_iv, value.trim()]);
    assert_eq!(plaintext, "@hunter2");
}

#[test]
fn control_characters_reach_a_terminal_only_when_asked() {
    let key_iv = "000102030405060708090a0b0c0d0e0f:101112131415161718191a1b1c1d1e1f";
    let escape = "\u{1b}]0;owned\u{7}";
    let value = ok(&["encrypt", "--key-iv", key_iv, escape]);
    // Into a pipe it is written as it is (a file or a program asked for it).
    assert_eq!(ok(&["decrypt", "--key-iv", key_iv, value.trim()]), escape);
    // To a terminal (util-linux `script` gives the command one): refused.
    let binary = env!("CARGO_BIN_EXE_paramcrypt");
    let command = format!("{binary} decrypt --key-iv {key_iv} {}", value.trim());
    let on_terminal = Command::new("script")
        .args(["-qec", &command, "/dev/null"])
        .stdin(Stdio::null())
        .output()
        .expect("script (util-linux) runs a command on a terminal");
    let shown = String::from_utf8_lossy(&on_terminal.stdout);
    assert!(shown.contains("control characters"), "{shown}");
    assert!(
        !shown.contains('\u{1b}'),
        "the escape sequence reached the terminal"
    );
    let raw = Command::new("script")
        .args(["-qec", &format!("{command} --raw"), "/dev/null"])
        .stdin(Stdio::null())
        .output()
        .unwrap();
    assert!(
        String::from_utf8_lossy(&raw.stdout).contains('\u{1b}'),
        "--raw writes it"
    );
}

#[test]
fn pubkey_prints_the_get_public_key_value() {
    let expected = std::fs::read_to_string(data("keys/rsa2048_public.b64")).unwrap();
    assert_eq!(public_key(), expected.trim());
    let pem = ok(&["pubkey", "--key", &key(), "--pem"]);
    assert!(pem.starts_with("-----BEGIN PUBLIC KEY-----"));
    let json: serde_json::Value =
        serde_json::from_str(&ok(&["pubkey", "--key", &key(), "--json"])).unwrap();
    assert_eq!(json["publicKey"], expected.trim());
    // A legacy 1024-bit key needs the explicit flag.
    let legacy = data("keys/rsa1024_pkcs8.pem");
    let legacy = legacy.to_str().unwrap();
    assert!(err(&["pubkey", "--key", legacy]).contains("invalid"));
    ok(&["pubkey", "--key", legacy, "--legacy-1024"]);
}

#[test]
fn request_then_open_round_trips_in_every_mode_and_padding() {
    let dir = scratch("modes");
    let secret_file = dir.join("secret.txt");
    std::fs::write(&secret_file, "from a file\n").unwrap();
    let published = public_key();
    for padding in ["pkcs1", "oaep-sha1", "oaep-sha256"] {
        for per_message in [false, true] {
            let mut args = vec![
                "request",
                "--pubkey",
                &published,
                "--method",
                "sendSecretData",
                "--padding",
                padding,
                "--param",
                "user=alice",
                "--secret",
                "secretData1=correct horse",
            ];
            let file_arg = format!("secretData2=@{}", secret_file.display());
            args.extend(["--secret", &file_arg]);
            if per_message {
                args.push("--per-message-iv");
            }
            let request = ok(&args);
            let parsed: serde_json::Value = serde_json::from_str(&request).unwrap();
            assert_eq!(parsed["method"], "sendSecretData");
            assert_eq!(parsed["params"][0]["user"], "alice");
            assert_ne!(
                parsed["params"][0]["secretData1"], "correct horse",
                "encrypted"
            );
            let path = dir.join(format!("request-{padding}-{per_message}.json"));
            std::fs::write(&path, &request).unwrap();
            let opened = ok(&[
                "open",
                "--key",
                &key(),
                "--padding",
                padding,
                path.to_str().unwrap(),
            ]);
            let opened: serde_json::Value = serde_json::from_str(&opened).unwrap();
            assert_eq!(
                opened["params"][0]["secretData1"], "correct horse",
                "{padding} {per_message}"
            );
            assert_eq!(opened["params"][0]["secretData2"], "from a file");
            assert_eq!(opened["params"][0]["user"], "alice", "plain fields stay");
            // From standard input too, with the secret fields named.
            let output = run_with_stdin(
                &[
                    "open",
                    "--key",
                    &key(),
                    "--padding",
                    padding,
                    "--secret-fields",
                    "secretData1",
                    "-",
                ],
                request.as_bytes(),
            );
            assert!(output.status.success());
            let opened: serde_json::Value = serde_json::from_slice(&output.stdout).unwrap();
            assert_eq!(opened["params"][0]["secretData1"], "correct horse");
            assert_ne!(
                opened["params"][0]["secretData2"], "from a file",
                "not named: left as is"
            );
        }
    }
}

#[test]
fn wrap_encrypt_and_decrypt_agree_across_subcommands() {
    let wrapped = run(&["wrap", "--pubkey", &public_key(), "--show-secret"]);
    assert!(wrapped.status.success());
    let enc_key = String::from_utf8(wrapped.stdout).unwrap();
    let stderr = String::from_utf8(wrapped.stderr).unwrap();
    assert!(
        stderr.contains("SECRET"),
        "the debugging output is marked: {stderr}"
    );
    let key_iv = stderr.trim().rsplit(' ').next().unwrap().to_string();
    assert_eq!(key_iv.len(), 65);
    // Encrypt with the key:iv from standard input, decrypt with the encKey.
    let output = run_with_stdin(&["encrypt", "--key-iv", "-", "pässword"], key_iv.as_bytes());
    assert!(output.status.success());
    let value = String::from_utf8(output.stdout).unwrap();
    let plaintext = ok(&[
        "decrypt",
        "--enc-key",
        enc_key.trim(),
        "--key",
        &key(),
        value.trim(),
    ]);
    assert_eq!(plaintext, "pässword");
    let json: serde_json::Value = serde_json::from_str(&ok(&[
        "decrypt",
        "--enc-key",
        enc_key.trim(),
        "--key",
        &key(),
        "--json",
        value.trim(),
    ]))
    .unwrap();
    assert_eq!(json["plaintext"], "pässword");
    // A response carries no encKey: give it.
    let response = format!(
        r#"{{"result":[{{"secretData":{}}}],"id":5}}"#,
        serde_json::json!(value.trim())
    );
    let output = run_with_stdin(
        &["open", "--key", &key(), "--enc-key", enc_key.trim(), "-"],
        response.as_bytes(),
    );
    assert!(output.status.success());
    let opened: serde_json::Value = serde_json::from_slice(&output.stdout).unwrap();
    assert_eq!(opened["result"][0]["secretData"], "pässword");
}

#[test]
fn bad_inputs_are_one_clear_line_and_a_failure_status() {
    let dir = scratch("bad");
    let missing = dir.join("missing.pem");
    assert!(err(&["pubkey", "--key", missing.to_str().unwrap()]).contains("missing.pem"));
    // Wrong key: the request was made for another key pair.
    let request = ok(&[
        "request",
        "--pubkey",
        &public_key(),
        "--method",
        "m",
        "--secret",
        "s=x",
    ]);
    let other = data("keys/rsa3072_pkcs8.pem");
    let message = err_with_stdin(
        &["open", "--key", other.to_str().unwrap(), "-"],
        request.as_bytes(),
    );
    assert!(message.contains("Encryption Failed (40002)"), "{message}");
    // Corrupt JSON, and JSON that is no JSON-RPC message.
    assert!(
        err_with_stdin(&["open", "--key", &key(), "-"], b"{\"params\": [").contains("not JSON")
    );
    assert!(
        err_with_stdin(&["open", "--key", &key(), "-"], b"{\"x\": 1}").contains("no params[0]")
    );
    // Bad base64, and a truncated value.
    let key_iv = "00112233445566778899aabbccddeeff:00112233445566778899aabbccddeeff";
    assert!(err(&["decrypt", "--key-iv", key_iv, "!!!!"]).contains("Encryption Failed (40002)"));
    let value = ok(&["encrypt", "--key-iv", key_iv, "secret"]);
    assert!(
        err(&["decrypt", "--key-iv", key_iv, &value.trim()[..20]])
            .contains("Encryption Failed (40002)")
    );
    assert!(err(&["decrypt", "--key-iv", "not hex", "AAAA"]).contains("--key-iv"));
    assert!(err(&["encrypt", "AAAA"]).contains("--key-iv"));
    // Malformed arguments.
    assert!(
        err(&[
            "request",
            "--pubkey",
            &public_key(),
            "--method",
            "m",
            "--param",
            "noequals"
        ])
        .contains("NAME=VALUE")
    );
    assert!(err(&["request", "--pubkey", "AAAA", "--method", "m"]).contains("--pubkey"));
    let request_path = dir.join("request.json");
    std::fs::write(&request_path, &request).unwrap();
    let path = request_path.to_str().unwrap();
    assert!(err(&["open", "--key", &key(), "--secret-fields", "nope", path]).contains("nope"));
}

#[test]
fn every_subcommand_has_help() {
    for sub in [
        "keygen", "pubkey", "wrap", "encrypt", "decrypt", "request", "open",
    ] {
        let help = ok(&[sub, "--help"]);
        assert!(help.contains("Usage: paramcrypt"), "{sub}");
    }
    assert!(ok(&["--help"]).contains("Commands:"));
}

#[test]
fn the_readme_worked_example_runs() {
    let readme =
        std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("../README.md"))
            .unwrap();
    let section = &readme[readme.find("## Command line").expect("section")..];
    let start = section.find("```sh\n").expect("example") + "```sh\n".len();
    let script = &section[start..start + section[start..].find("```").unwrap()];
    let bin_dir = Path::new(env!("CARGO_BIN_EXE_paramcrypt"))
        .parent()
        .unwrap();
    let path = format!(
        "{}:{}",
        bin_dir.display(),
        std::env::var("PATH").unwrap_or_default()
    );
    let output = Command::new("bash")
        .args(["-eo", "pipefail", "-c", script])
        .current_dir(scratch("readme"))
        .env("PATH", path)
        .output()
        .unwrap();
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let opened: serde_json::Value = serde_json::from_slice(&output.stdout).unwrap();
    assert_eq!(opened["params"][0]["secretData1"], "correct horse");
}
