//! Tiny files of real formats, built in code. The sniffer (`infer`) looks at magic bytes only,
//! so each fixture is a valid header followed by padding up to the requested size.

use sha2::{Digest, Sha256};

/// A complete, valid 1×1 transparent PNG (67 bytes).
pub const PNG_1X1: &[u8] = &[
    0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A, 0x00, 0x00, 0x00, 0x0D, 0x49, 0x48, 0x44, 0x52,
    0x00, 0x00, 0x00, 0x01, 0x00, 0x00, 0x00, 0x01, 0x08, 0x06, 0x00, 0x00, 0x00, 0x1F, 0x15, 0xC4,
    0x89, 0x00, 0x00, 0x00, 0x0A, 0x49, 0x44, 0x41, 0x54, 0x78, 0x9C, 0x63, 0x00, 0x01, 0x00, 0x00,
    0x05, 0x00, 0x01, 0x0D, 0x0A, 0x2D, 0xB4, 0x00, 0x00, 0x00, 0x00, 0x49, 0x45, 0x4E, 0x44, 0xAE,
    0x42, 0x60, 0x82,
];

/// Pads `head` with a recognisable, position-dependent pattern up to `size` bytes.
fn padded(head: &[u8], size: usize) -> Vec<u8> {
    assert!(
        size >= head.len(),
        "fixture of {size} bytes cannot hold its {}-byte header",
        head.len()
    );
    let mut v = head.to_vec();
    v.extend((head.len()..size).map(|i| (i % 251) as u8));
    v
}

/// The 1×1 PNG (size 67) or the PNG followed by trailing bytes up to `size`.
pub fn png(size: usize) -> Vec<u8> {
    padded(PNG_1X1, size)
}

/// A JFIF JPEG header (SOI + APP0) padded to `size`.
pub fn jpeg(size: usize) -> Vec<u8> {
    let head = [
        0xFF, 0xD8, 0xFF, 0xE0, 0x00, 0x10, b'J', b'F', b'I', b'F', 0x00, 0x01, 0x01, 0x00, 0x00,
        0x01, 0x00, 0x01, 0x00, 0x00,
    ];
    padded(&head, size)
}

/// An MP4 `ftyp` box (brand `isom`) padded to `size`.
pub fn mp4(size: usize) -> Vec<u8> {
    let head = [
        0x00, 0x00, 0x00, 0x18, b'f', b't', b'y', b'p', b'i', b's', b'o', b'm', 0x00, 0x00, 0x02,
        0x00, b'i', b's', b'o', b'm', b'm', b'p', b'4', b'1',
    ];
    padded(&head, size)
}

/// A PDF header padded to `size`.
pub fn pdf(size: usize) -> Vec<u8> {
    padded(b"%PDF-1.4\n%\xE2\xE3\xCF\xD3\n", size)
}

/// Plain ASCII text of exactly `size` bytes (nothing a sniffer recognises).
pub fn text(size: usize) -> Vec<u8> {
    b"the quick brown fox jumps over the lazy dog. "
        .iter()
        .copied()
        .cycle()
        .take(size)
        .collect()
}

/// An HTML document with a script: active content a browser would run if served inline.
pub fn html() -> Vec<u8> {
    b"<!DOCTYPE html><html><head><title>x</title></head><body><script>alert(1)</script></body></html>".to_vec()
}

/// Lowercase hex SHA-256.
pub fn sha256_hex(bytes: &[u8]) -> String {
    Sha256::digest(bytes)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}
