//! AWS-LC's arithmetic for paramcrypt on servers: the raw RSA
//! private-key operation (RSADP, blinded, constant time, CRT with AWS-LC's
//! fault check), the raw public-key operation (RSAEP, for wrapping), and
//! AES-128-CBC encryption of whole blocks. Padding is not done here:
//! paramcrypt-core decodes PKCS#1 v1.5 (with implicit rejection) and OAEP
//! itself and pads parameters with PKCS#7, so that this backend and the
//! key backends (`rsa-crate`, `compact`) give the same bytes.
//!
//! The FFI calls are this crate's only purpose and its only `unsafe`.
//! `src/private_op.c` runs the private-key operation with the working memory
//! of AWS-LC's AVX-512 IFMA exponentiation (12.4 KiB for RSA-2048) on the
//! calling thread's stack, as OpenSSL 3.0 keeps it, through AWS-LC's
//! allocator hooks; every other AWS-LC allocation stays as AWS-LC makes it.
//! Randomness: AWS-LC blinds with its own generator (a DRBG seeded from the
//! operating system), not with a caller's RNG.
#![deny(unsafe_op_in_unsafe_fn)]

use core::ptr::NonNull;

use aws_lc_sys as sys;

// src/private_op.c: AWS-LC's allocator hooks and the private-key operation
// that lends its AVX-512 IFMA exponentiation stack memory instead of heap.
unsafe extern "C" {
    fn rsa_aws_lc_private_op(
        rsa: *mut sys::RSA,
        written: *mut usize,
        out: *mut u8,
        out_len: usize,
        input: *const u8,
        input_len: usize,
    ) -> core::ffi::c_int;
    #[cfg(test)]
    fn rsa_aws_lc_last_private_op(served_from_stack: *mut usize, heap_peak: *mut usize);
}

/// An RSA private key held by AWS-LC.
pub struct PrivateKey {
    rsa: NonNull<sys::RSA>,
    size: usize,
}

// SAFETY: AWS-LC's RSA objects may be used from several threads at once for
// private-key operations (its blinding state is locked internally), and
// moved between threads; `PrivateKey` offers nothing that mutates the key.
unsafe impl Send for PrivateKey {}
unsafe impl Sync for PrivateKey {}

impl PrivateKey {
    /// Loads a PKCS#1 `RSAPrivateKey` DER encoding (with its CRT values)
    /// and checks the key's consistency. `None` if AWS-LC rejects it.
    pub fn from_pkcs1_der(der: &[u8]) -> Option<Self> {
        // SAFETY: `der` is a valid slice; AWS-LC returns an owned key or NULL.
        let rsa =
            NonNull::new(unsafe { sys::RSA_private_key_from_bytes(der.as_ptr(), der.len()) })?;
        // SAFETY: `rsa` is a live key; `key` owns it from here (and frees it
        // if the check fails).
        let size = unsafe { sys::RSA_size(rsa.as_ptr()) } as usize;
        let key = PrivateKey { rsa, size };
        // SAFETY: as above.
        if unsafe { sys::RSA_check_key(key.rsa.as_ptr()) } != 1 {
            return None;
        }
        Some(key)
    }

    /// The modulus length in octets.
    pub fn size(&self) -> usize {
        self.size
    }

    /// RSADP: writes `ciphertext`^d mod n as `size()` octets to `out`.
    /// `false` when the ciphertext is not `size()` octets or not below the
    /// modulus, or is 0 or 1 (which AWS-LC refuses), or the operation fails
    /// (its fault check included).
    pub fn raw_decrypt(&self, ciphertext: &[u8], out: &mut [u8]) -> bool {
        if ciphertext.len() != self.size || out.len() != self.size {
            return false;
        }
        let mut written = 0usize;
        // SAFETY: the key is live; `out` holds `out.len()` writable octets and
        // `ciphertext` `ciphertext.len()` readable ones, which do not overlap.
        // `rsa_aws_lc_private_op` is AWS-LC's `RSA_decrypt` with
        // `RSA_NO_PADDING`, its IFMA working memory on this stack.
        let ok = unsafe {
            rsa_aws_lc_private_op(
                self.rsa.as_ptr(),
                &mut written,
                out.as_mut_ptr(),
                out.len(),
                ciphertext.as_ptr(),
                ciphertext.len(),
            )
        };
        if ok != 1 || written != self.size {
            // AWS-LC queues an error; clear it so that it cannot be read
            // later by unrelated code on this thread.
            // SAFETY: no arguments; clears this thread's error queue.
            unsafe { sys::ERR_clear_error() };
            out.fill(0);
            return false;
        }
        true
    }
}

impl Drop for PrivateKey {
    fn drop(&mut self) {
        // SAFETY: we own the key; AWS-LC wipes its secret values when freeing.
        unsafe { sys::RSA_free(self.rsa.as_ptr()) };
    }
}

/// An RSA public key held by AWS-LC.
pub struct PublicKey {
    rsa: NonNull<sys::RSA>,
    size: usize,
}

// SAFETY: public-key operations on an AWS-LC RSA object may run on several
// threads at once; `PublicKey` offers nothing that mutates the key.
unsafe impl Send for PublicKey {}
unsafe impl Sync for PublicKey {}

impl PublicKey {
    /// Loads a PKCS#1 `RSAPublicKey` DER encoding. `None` if AWS-LC rejects it.
    pub fn from_pkcs1_der(der: &[u8]) -> Option<Self> {
        // SAFETY: `der` is a valid slice; AWS-LC returns an owned key or NULL.
        let rsa = NonNull::new(unsafe { sys::RSA_public_key_from_bytes(der.as_ptr(), der.len()) })?;
        // SAFETY: `rsa` is a live key, owned by the value returned.
        let size = unsafe { sys::RSA_size(rsa.as_ptr()) } as usize;
        Some(PublicKey { rsa, size })
    }

    /// The modulus length in octets.
    pub fn size(&self) -> usize {
        self.size
    }

    /// RSAEP: writes `message`^e mod n as `size()` octets to `out`.
    /// `false` when the message is not `size()` octets or not below the
    /// modulus.
    pub fn raw_encrypt(&self, message: &[u8], out: &mut [u8]) -> bool {
        if message.len() != self.size || out.len() != self.size {
            return false;
        }
        let mut written = 0usize;
        // SAFETY: the key is live; `out` holds `out.len()` writable octets and
        // `message` `message.len()` readable ones, which do not overlap.
        let ok = unsafe {
            sys::RSA_encrypt(
                self.rsa.as_ptr(),
                &mut written,
                out.as_mut_ptr(),
                out.len(),
                message.as_ptr(),
                message.len(),
                sys::RSA_NO_PADDING as core::ffi::c_int,
            )
        };
        if ok != 1 || written != self.size {
            // SAFETY: no arguments; clears this thread's error queue.
            unsafe { sys::ERR_clear_error() };
            return false;
        }
        true
    }
}

impl Drop for PublicKey {
    fn drop(&mut self) {
        // SAFETY: we own the key.
        unsafe { sys::RSA_free(self.rsa.as_ptr()) };
    }
}

/// AES-128-CBC encryption of whole blocks in place, continuing the chain
/// from `iv`, which is left holding the last ciphertext block (the IV of
/// the next call). `false`, with nothing written, when `data` is not whole
/// blocks.
///
/// Why AWS-LC here: CBC encryption is one serial chain of AES rounds, and
/// AWS-LC's AES-NI loop keeps the chain in registers (about 1.25x the
/// throughput of the `aes` and `cbc` crates on the machines we measured).
/// The key schedule lives on this function's stack and is wiped before it
/// returns.
pub fn aes128_cbc_encrypt_in_place(key: &[u8; 16], iv: &mut [u8; 16], data: &mut [u8]) -> bool {
    if !data.len().is_multiple_of(16) {
        return false;
    }
    let mut schedule = core::mem::MaybeUninit::<sys::AES_KEY>::zeroed();
    // SAFETY: `key` is 16 readable octets; `schedule` is a writable AES_KEY.
    let set = unsafe { sys::AES_set_encrypt_key(key.as_ptr(), 128, schedule.as_mut_ptr()) };
    if set == 0 {
        // SAFETY: `data` holds `data.len()` octets (input and output may be
        // the same buffer for AES_cbc_encrypt); `iv` is 16 writable octets;
        // the schedule was set above.
        unsafe {
            sys::AES_cbc_encrypt(
                data.as_ptr(),
                data.as_mut_ptr(),
                data.len(),
                schedule.as_ptr(),
                iv.as_mut_ptr(),
                sys::AES_ENCRYPT as core::ffi::c_int,
            )
        };
    }
    // SAFETY: wipes the schedule's bytes, which it owns (OPENSSL_cleanse is
    // not optimized away).
    unsafe {
        sys::OPENSSL_cleanse(
            schedule.as_mut_ptr().cast(),
            core::mem::size_of::<sys::AES_KEY>(),
        )
    };
    set == 0
}

#[cfg(test)]
mod tests {
    use super::*;

    const KEY: &str = include_str!("../../tests/data/keys/rsa2048_pkcs1.pem");

    /// The PEM body of the PKCS#1 test key, decoded.
    fn key_der() -> Vec<u8> {
        let body: String = KEY.lines().filter(|l| !l.starts_with("-----")).collect();
        let table = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
        let (mut bits, mut count, mut out) = (0u32, 0, Vec::new());
        for c in body.bytes().filter(|&c| c != b'=') {
            bits = bits << 6 | table.iter().position(|&t| t == c).expect("base64") as u32;
            count += 6;
            if count >= 8 {
                count -= 8;
                out.push((bits >> count) as u8);
            }
        }
        out
    }

    #[test]
    fn a_key_loads_and_decrypts_and_bad_inputs_fail() {
        let key = PrivateKey::from_pkcs1_der(&key_der()).expect("key");
        assert_eq!(key.size(), 256);
        let mut two = vec![0u8; 256];
        two[255] = 2;
        let (mut first, mut second) = (vec![0u8; 256], vec![0u8; 256]);
        assert!(key.raw_decrypt(&two, &mut first));
        assert!(key.raw_decrypt(&two, &mut second));
        assert_eq!(first, second, "blinding does not change the result");
        assert_ne!(first, two);
        // Not below the modulus (AWS-LC also refuses 0 and 1); wrong lengths.
        let mut out = vec![0xAAu8; 256];
        assert!(!key.raw_decrypt(&[0xFF; 256], &mut out));
        assert!(out.iter().all(|&b| b == 0), "a failure leaves no output");
        assert!(!key.raw_decrypt(&two[1..], &mut out));
        assert!(!key.raw_decrypt(&two, &mut out[1..]));
    }

    #[test]
    fn aes_cbc_matches_the_sp800_38a_vector_and_chains_across_calls() {
        // NIST SP 800-38A, F.2.1 CBC-AES128.Encrypt.
        let hex = |s: &str| -> Vec<u8> {
            (0..s.len())
                .step_by(2)
                .map(|i| u8::from_str_radix(&s[i..i + 2], 16).unwrap())
                .collect()
        };
        let key: [u8; 16] = hex("2b7e151628aed2a6abf7158809cf4f3c").try_into().unwrap();
        let iv: [u8; 16] = hex("000102030405060708090a0b0c0d0e0f").try_into().unwrap();
        let plaintext = hex(concat!(
            "6bc1bee22e409f96e93d7e117393172aae2d8a571e03ac9c9eb76fac45af8e51",
            "30c81c46a35ce411e5fbc1191a0a52eff69f2445df4f9b17ad2b417be66c3710"
        ));
        let expected = hex(concat!(
            "7649abac8119b246cee98e9b12e9197d5086cb9b507219ee95db113a917678b2",
            "73bed6b8e3c1743b7116e69e222295163ff1caa1681fac09120eca307586e1a7"
        ));
        let mut whole = plaintext.clone();
        let mut chain = iv;
        assert!(aes128_cbc_encrypt_in_place(&key, &mut chain, &mut whole));
        assert_eq!(whole, expected);
        assert_eq!(&chain[..], &expected[48..], "the IV of the next call");

        let mut split = plaintext.clone();
        let mut chain = iv;
        let (first, rest) = split.split_at_mut(16);
        assert!(aes128_cbc_encrypt_in_place(&key, &mut chain, first));
        assert!(aes128_cbc_encrypt_in_place(&key, &mut chain, rest));
        assert_eq!(split, expected, "two calls chain like one");

        let mut partial = plaintext[..17].to_vec();
        let mut chain = iv;
        assert!(!aes128_cbc_encrypt_in_place(&key, &mut chain, &mut partial));
        assert_eq!(
            partial,
            plaintext[..17],
            "nothing written for a partial block"
        );
        assert_eq!(chain, iv);
    }

    /// A fresh key of `bits` bits generated by AWS-LC (e = 65537).
    fn generated_key(bits: u32) -> PrivateKey {
        // SAFETY: plain AWS-LC calls on objects made here; the key is owned
        // by the returned `PrivateKey` (freed on drop), the exponent freed.
        unsafe {
            let rsa = NonNull::new(sys::RSA_new()).expect("RSA_new");
            let e = sys::BN_new();
            assert_eq!(sys::BN_set_word(e, 65537), 1);
            let key = PrivateKey {
                rsa,
                size: bits as usize / 8,
            };
            assert_eq!(
                sys::RSA_generate_key_ex(
                    rsa.as_ptr(),
                    bits as core::ffi::c_int,
                    e,
                    core::ptr::null_mut()
                ),
                1
            );
            sys::BN_free(e);
            key
        }
    }

    /// The public half of `key`, through its PKCS#1 DER encoding.
    fn public_key(key: &PrivateKey) -> PublicKey {
        let (mut der, mut len) = (core::ptr::null_mut::<u8>(), 0usize);
        // SAFETY: live key; AWS-LC allocates `der` (freed here after copying).
        let der = unsafe {
            assert_eq!(
                sys::RSA_public_key_to_bytes(&mut der, &mut len, key.rsa.as_ptr()),
                1
            );
            let copy = core::slice::from_raw_parts(der, len).to_vec();
            sys::OPENSSL_free(der.cast());
            copy
        };
        PublicKey::from_pkcs1_der(&der).expect("public key")
    }

    /// RSAEP: `message`^e mod n.
    fn public_op(key: &PublicKey, message: &[u8]) -> Vec<u8> {
        let mut out = vec![0u8; key.size()];
        assert!(key.raw_encrypt(message, &mut out));
        out
    }

    /// What the thread's last private-key operation took: allocations from
    /// the stack, and AWS-LC's peak heap in octets.
    fn last_private_op() -> (usize, usize) {
        let (mut served, mut heap) = (0, 0);
        // SAFETY: writes two integers.
        unsafe { rsa_aws_lc_last_private_op(&mut served, &mut heap) };
        (served, heap)
    }

    /// Whether AWS-LC takes its AVX-512 IFMA path here (the CPU features it
    /// requires, cpucap/internal.h, and no `OPENSSL_ia32cap` mask).
    fn aws_lc_uses_ifma() -> bool {
        #[cfg(target_arch = "x86_64")]
        {
            std::env::var_os("OPENSSL_ia32cap").is_none()
                && std::arch::is_x86_feature_detected!("avx512f")
                && std::arch::is_x86_feature_detected!("avx512dq")
                && std::arch::is_x86_feature_detected!("avx512ifma")
                && std::arch::is_x86_feature_detected!("avx512bw")
                && std::arch::is_x86_feature_detected!("avx512vl")
        }
        #[cfg(not(target_arch = "x86_64"))]
        false
    }

    /// A message below every modulus, different per `i`.
    fn message(size: usize, i: usize) -> Vec<u8> {
        let mut m: Vec<u8> = (0..size).map(|j| (j * 31 + i * 7 + 1) as u8).collect();
        m[0] = 0x01;
        m
    }

    #[test]
    fn ifma_working_memory_comes_from_the_stack_and_aws_lc_heap_stays_small() {
        // AWS-LC's heap per private-key operation, measured by the hooks:
        // 3,368 / 5,088 / 6,048 B at 2048 / 3072 / 4096 bits here, up to
        // 4,672 / 6,952 / 8,520 B on every 32nd operation, which renews the
        // blinding factors; with the IFMA buffers on the heap as AWS-LC
        // allocates them, 12.4 / 19.7 / 24.6 KiB more. Measured after a first
        // operation on the key, which also sets the key up (Montgomery
        // contexts, kept) and, once per process or thread, AWS-LC's random
        // generator: that one varies with what ran before.
        // Without IFMA, AWS-LC's tables for primes above 1024 bits are heap
        // memory of its other path, so 3072 and 4096 bits are bounded only
        // where the IFMA path runs.
        let ifma = aws_lc_uses_ifma();
        let loaded = PrivateKey::from_pkcs1_der(&key_der()).expect("key");
        let keys = [
            (loaded, Some(5 * 1024)),
            (generated_key(3072), ifma.then_some(8 * 1024)),
            (generated_key(4096), ifma.then_some(10 * 1024)),
        ];
        for (key, heap_limit) in keys {
            let bits = key.size * 8;
            let public = public_key(&key);
            let m = message(key.size, 99);
            assert!(key.raw_decrypt(&public_op(&public, &m), &mut vec![0u8; key.size]));
            for i in 0..100 {
                let m = message(key.size, i);
                let c = public_op(&public, &m);
                let mut out = vec![0u8; key.size];
                assert!(key.raw_decrypt(&c, &mut out));
                assert_eq!(out, m, "{bits} bits");
                let (served, heap) = last_private_op();
                assert_eq!(
                    served,
                    if ifma { 2 } else { 0 },
                    "{bits} bits: IFMA buffers from the stack"
                );
                if let Some(limit) = heap_limit {
                    assert!(
                        heap <= limit,
                        "{bits} bits, operation {i}: AWS-LC took {heap} B of heap"
                    );
                }
            }
        }
        // A refused input never reaches the exponentiation.
        let key = PrivateKey::from_pkcs1_der(&key_der()).expect("key");
        assert!(!key.raw_decrypt(&[0xFF; 256], &mut [0u8; 256]));
        assert_eq!(last_private_op().0, 0);
    }

    #[test]
    fn a_thread_without_room_on_its_stack_gets_the_working_memory_from_the_heap() {
        // Before, the buffers were always on the stack: RSA-4096 crashed on
        // a 32 KiB thread (c-examples/tests/test_threads.c runs whole
        // round trips on 16 KiB).
        let key = std::sync::Arc::new(generated_key(4096));
        for stack in [32 * 1024, 4 << 20] {
            let key = key.clone();
            let served = std::thread::Builder::new()
                .stack_size(stack)
                .spawn(move || {
                    let public = public_key(&key);
                    let m = message(key.size, 5);
                    let mut out = vec![0u8; key.size];
                    assert!(key.raw_decrypt(&public_op(&public, &m), &mut out));
                    assert_eq!(out, m);
                    last_private_op().0
                })
                .expect("thread")
                .join()
                .expect("no crash");
            let expected = if stack > 1 << 20 && aws_lc_uses_ifma() {
                2
            } else {
                0
            };
            assert_eq!(served, expected, "{stack} B stack");
        }
    }

    #[test]
    fn threads_sharing_a_key_each_use_their_own_stack() {
        let key = std::sync::Arc::new(PrivateKey::from_pkcs1_der(&key_der()).expect("key"));
        let threads: Vec<_> = (0..4)
            .map(|t| {
                let key = key.clone();
                std::thread::spawn(move || {
                    let public = public_key(&key);
                    for i in 0..50 {
                        let m = message(256, t * 1000 + i);
                        let c = public_op(&public, &m);
                        let mut out = [0u8; 256];
                        assert!(key.raw_decrypt(&c, &mut out));
                        assert_eq!(&out[..], &m[..]);
                        assert_eq!(last_private_op().0, if aws_lc_uses_ifma() { 2 } else { 0 });
                    }
                })
            })
            .collect();
        for thread in threads {
            thread.join().expect("thread");
        }
    }

    #[test]
    fn aws_lc_allocations_through_the_hooks_keep_their_contents() {
        // SAFETY: AWS-LC's allocator API on memory allocated here.
        unsafe {
            let p = sys::OPENSSL_malloc(10).cast::<u8>();
            assert!(!p.is_null());
            core::ptr::copy_nonoverlapping(b"0123456789".as_ptr(), p, 10);
            let p = sys::OPENSSL_realloc(p.cast(), 1000).cast::<u8>();
            assert!(!p.is_null());
            assert_eq!(core::slice::from_raw_parts(p, 10), b"0123456789");
            let p = sys::OPENSSL_realloc(p.cast(), 4).cast::<u8>();
            assert_eq!(core::slice::from_raw_parts(p, 4), b"0123");
            sys::OPENSSL_free(p.cast());
            let z = sys::OPENSSL_zalloc(64).cast::<u8>();
            assert!(core::slice::from_raw_parts(z, 64).iter().all(|&b| b == 0));
            sys::OPENSSL_free(z.cast());
        }
    }

    #[test]
    fn garbage_is_not_a_key() {
        assert!(PrivateKey::from_pkcs1_der(b"").is_none());
        assert!(PrivateKey::from_pkcs1_der(&[0x30, 0x03, 0x02, 0x01, 0x00]).is_none());
    }
}
