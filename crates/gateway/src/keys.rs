//! Institution secrets: issued by `yibao keys issue`, stored in the database only sealed
//! (XChaCha20-Poly1305) with a master key that lives in a file outside the database, and
//! never written to a log.

use chacha20poly1305::aead::{Aead, KeyInit};
use chacha20poly1305::{XChaCha20Poly1305, XNonce};
use rand::RngCore;
use std::path::{Path, PathBuf};

/// Where the master key is when neither `--key-file` nor `YIBAO_KEY_FILE` says otherwise:
/// beside, not inside, the data directory, so a copy of the database alone reveals nothing.
pub const DEFAULT_KEY_FILE: &str = "yibao-keys/master.key";

/// A key failure, in Chinese.
#[derive(Debug, thiserror::Error)]
pub enum KeyError {
    #[error("主密钥文件 {path} 无法读取：{reason}")]
    Read { path: String, reason: String },
    #[error("主密钥文件 {path} 无法写入：{reason}")]
    Write { path: String, reason: String },
    #[error("主密钥文件 {path} 内容无效：应为 64 位十六进制")]
    Invalid { path: String },
    #[error("机构密钥无法解开：密文损坏或主密钥不符")]
    Unseal,
}

/// The master key (32 bytes).
#[derive(Clone)]
pub struct MasterKey {
    key: [u8; 32],
    /// The file it was read from (`None` for [`MasterKey::from_bytes`]).
    path: Option<PathBuf>,
}

impl std::fmt::Debug for MasterKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("MasterKey(***)")
    }
}

/// The master key file to use: the flag, else `YIBAO_KEY_FILE`, else the default.
pub fn key_file(flag: Option<&Path>) -> PathBuf {
    flag.map(Path::to_path_buf)
        .or_else(|| std::env::var_os("YIBAO_KEY_FILE").map(PathBuf::from))
        .unwrap_or_else(|| PathBuf::from(DEFAULT_KEY_FILE))
}

impl MasterKey {
    /// Reads the master key from `path`.
    pub fn load(path: &Path) -> Result<MasterKey, KeyError> {
        if let Some(mode) = readable_by_others(path) {
            tracing::warn!(
                path = %path.display(),
                mode = format!("{mode:o}"),
                "主密钥文件的权限允许其他用户读取：请 chmod 600（能读它的人能解开全部机构密钥）"
            );
        }
        let text = std::fs::read_to_string(path).map_err(|e| KeyError::Read {
            path: path.display().to_string(),
            reason: e.to_string(),
        })?;
        let bytes = hex::decode(text.trim()).map_err(|_| KeyError::Invalid {
            path: path.display().to_string(),
        })?;
        let key: [u8; 32] = bytes.try_into().map_err(|_| KeyError::Invalid {
            path: path.display().to_string(),
        })?;
        Ok(MasterKey {
            key,
            path: Some(path.to_path_buf()),
        })
    }

    /// Reads the master key, creating the file (owner-only) with a fresh key if missing.
    pub fn load_or_create(path: &Path) -> Result<MasterKey, KeyError> {
        if path.exists() {
            return MasterKey::load(path);
        }
        let write_err = |e: std::io::Error| KeyError::Write {
            path: path.display().to_string(),
            reason: e.to_string(),
        };
        if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
            // Owner-only, whatever the umask (only the directories created here).
            let mut b = std::fs::DirBuilder::new();
            b.recursive(true);
            #[cfg(unix)]
            {
                use std::os::unix::fs::DirBuilderExt;
                b.mode(0o700);
            }
            b.create(dir).map_err(write_err)?;
        }
        let mut key = [0u8; 32];
        rand::thread_rng().fill_bytes(&mut key);
        let mut opts = std::fs::OpenOptions::new();
        opts.write(true).create_new(true);
        #[cfg(unix)]
        {
            use std::os::unix::fs::OpenOptionsExt;
            opts.mode(0o600);
        }
        use std::io::Write;
        let mut f = opts.open(path).map_err(write_err)?;
        writeln!(f, "{}", hex::encode(key)).map_err(write_err)?;
        Ok(MasterKey {
            key,
            path: Some(path.to_path_buf()),
        })
    }

    /// A key for tests and benchmarks (never for production).
    pub fn from_bytes(key: [u8; 32]) -> MasterKey {
        MasterKey { key, path: None }
    }

    /// The file the key was read from, if it was.
    pub fn file(&self) -> Option<&Path> {
        self.path.as_deref()
    }

    /// How the key is named in messages: its file, or 「主密钥」.
    pub fn name(&self) -> String {
        match &self.path {
            Some(p) => format!("主密钥文件 {}", p.display()),
            None => "主密钥".to_string(),
        }
    }

    /// Seals `secret`: hex of a random 24-byte nonce followed by the ciphertext.
    pub fn seal(&self, secret: &str) -> String {
        let cipher = XChaCha20Poly1305::new((&self.key).into());
        let mut nonce = [0u8; 24];
        rand::thread_rng().fill_bytes(&mut nonce);
        // Encryption with a fresh nonce and an in-memory buffer cannot fail.
        let sealed = cipher
            .encrypt(XNonce::from_slice(&nonce), secret.as_bytes())
            .unwrap_or_default();
        let mut out = hex::encode(nonce);
        out.push_str(&hex::encode(sealed));
        out
    }

    /// Opens what [`MasterKey::seal`] produced.
    pub fn open(&self, sealed: &str) -> Result<String, KeyError> {
        let bytes = hex::decode(sealed).map_err(|_| KeyError::Unseal)?;
        if bytes.len() < 24 {
            return Err(KeyError::Unseal);
        }
        let (nonce, body) = bytes.split_at(24);
        let cipher = XChaCha20Poly1305::new((&self.key).into());
        let plain = cipher
            .decrypt(XNonce::from_slice(nonce), body)
            .map_err(|_| KeyError::Unseal)?;
        String::from_utf8(plain).map_err(|_| KeyError::Unseal)
    }
}

/// The permission bits of the file at `path` when others than its owner may read it
/// (group or world read), for a warning; `None` otherwise or when unknown.
pub fn readable_by_others(path: &Path) -> Option<u32> {
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(path).ok()?.permissions().mode() & 0o777;
        (mode & 0o044 != 0).then_some(mode)
    }
    #[cfg(not(unix))]
    {
        let _ = path;
        None
    }
}

/// A new institution secret: 32 random bytes as lowercase hex.
pub fn new_secret() -> String {
    let mut b = [0u8; 32];
    rand::thread_rng().fill_bytes(&mut b);
    hex::encode(b)
}

/// The signature of `interface.md` §3: lowercase hex SHA-256 of
/// `timestamp + secret + nonce + timestamp`.
pub fn signature(timestamp: &str, secret: &str, nonce: &str) -> String {
    use sha2::{Digest, Sha256};
    let mut h = Sha256::new();
    h.update(timestamp.as_bytes());
    h.update(secret.as_bytes());
    h.update(nonce.as_bytes());
    h.update(timestamp.as_bytes());
    hex::encode(h.finalize())
}

/// Compares two signatures in time independent of where they differ.
pub fn same_signature(a: &str, b: &str) -> bool {
    a.len() == b.len()
        && a.bytes()
            .zip(b.bytes())
            .fold(0u8, |acc, (x, y)| acc | (x ^ y))
            == 0
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn seal_and_open() {
        let k = MasterKey::from_bytes([7; 32]);
        let s = new_secret();
        let sealed = k.seal(&s);
        assert!(!sealed.contains(&s));
        assert_eq!(k.open(&sealed).unwrap(), s);
        let other = MasterKey::from_bytes([8; 32]);
        assert!(other.open(&sealed).is_err());
        assert!(k.open("zz").is_err());
        assert!(k.open(&sealed[..40]).is_err());
    }

    #[test]
    fn signature_is_sha256_of_the_concatenation() {
        // sha256("1700000000" + "s" + "n" + "1700000000")
        let sig = signature("1700000000", "s", "n");
        assert_eq!(sig.len(), 64);
        assert_eq!(sig, signature("1700000000", "s", "n"));
        assert_ne!(sig, signature("1700000001", "s", "n"));
        assert!(same_signature(&sig, &sig.clone()));
        assert!(!same_signature(&sig, &sig[1..]));
        use sha2::{Digest, Sha256};
        let direct = hex::encode(Sha256::digest(b"1700000000sn1700000000"));
        assert_eq!(sig, direct);
    }

    #[test]
    fn master_key_file_is_created_once() {
        let dir = std::env::temp_dir().join(format!("yibao-key-{}", std::process::id()));
        let path = dir.join("master.key");
        let _ = std::fs::remove_dir_all(&dir);
        let a = MasterKey::load_or_create(&path).unwrap();
        let b = MasterKey::load_or_create(&path).unwrap();
        assert_eq!(a.key, b.key);
        std::fs::write(&path, "not hex").unwrap();
        assert!(matches!(
            MasterKey::load(&path),
            Err(KeyError::Invalid { .. })
        ));
        let _ = std::fs::remove_dir_all(&dir);
    }

    /// The key directory is created 0700 and the key file 0600, whatever the umask; a key
    /// file others can read is found (and warned about on load).
    #[cfg(unix)]
    #[test]
    fn key_directory_and_file_are_owner_only() {
        use std::os::unix::fs::PermissionsExt;
        let base = std::env::temp_dir().join(format!("yibao-keymode-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&base);
        let dir = base.join("yibao-keys");
        let path = dir.join("master.key");
        MasterKey::load_or_create(&path).unwrap();
        let mode = |p: &Path| std::fs::metadata(p).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode(&dir), 0o700);
        assert_eq!(mode(&path), 0o600);
        assert_eq!(readable_by_others(&path), None);
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o644)).unwrap();
        assert_eq!(readable_by_others(&path), Some(0o644));
        assert!(MasterKey::load(&path).is_ok());
        let _ = std::fs::remove_dir_all(&base);
    }
}
