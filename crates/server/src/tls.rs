//! TLS material: a configured certificate and key, or one generated on first start
//! (self-signed, kept in `DATA/tls/`), served through rustls with the ring provider.

use std::path::{Path, PathBuf};

/// Writes `DIR/tls/cert.pem` and `key.pem` unless they exist; returns their paths.
pub fn generate(data: &Path, names: &[String]) -> Result<(PathBuf, PathBuf), String> {
    let dir = data.join("tls");
    let cert = dir.join("cert.pem");
    let key = dir.join("key.pem");
    if cert.exists() && key.exists() {
        return Ok((cert, key));
    }
    std::fs::create_dir_all(&dir).map_err(|e| format!("{}: {e}", dir.display()))?;
    let mut sans: Vec<String> = vec!["localhost".into(), "127.0.0.1".into(), "::1".into()];
    sans.extend(names.iter().cloned());
    let ck = rcgen::generate_simple_self_signed(sans)
        .map_err(|e| format!("certificate generation: {e}"))?;
    std::fs::write(&cert, ck.cert.pem()).map_err(|e| format!("{}: {e}", cert.display()))?;
    write_private(&key, ck.key_pair.serialize_pem().as_bytes())?;
    Ok((cert, key))
}

fn write_private(path: &Path, data: &[u8]) -> Result<(), String> {
    use std::io::Write;
    let mut o = std::fs::OpenOptions::new();
    o.write(true).create(true).truncate(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        o.mode(0o600);
    }
    let mut f = o
        .open(path)
        .map_err(|e| format!("{}: {e}", path.display()))?;
    f.write_all(data)
        .map_err(|e| format!("{}: {e}", path.display()))
}

/// Installs the ring crypto provider once (not aws-lc-rs).
pub fn install_provider() {
    let _ = rustls::crypto::ring::default_provider().install_default();
}
