//! The images Fulmar serves for accounts and the instance that have none of their
//! own: the default avatar and header (Mastodon's `missing.png` paths, which apps
//! expect as URL fields are never empty) and the instance thumbnail.
//!
//! They are flat colours, so they are encoded here rather than shipped as files: a
//! one-colour PNG with a one-bit palette, whose pixel data is stored uncompressed
//! (a few kilobytes), built once per process.

use std::sync::OnceLock;

use axum::http::header;
use axum::response::{IntoResponse, Response};

/// A year: the images never change at these URLs.
const CACHE_CONTROL: &str = "public, max-age=31536000, immutable";

/// `GET /avatars/original/missing.png`
pub async fn missing_avatar() -> Response {
    static PNG: OnceLock<Vec<u8>> = OnceLock::new();
    serve(PNG.get_or_init(|| flat_png(120, 120, [0xd9, 0xe1, 0xe8])))
}

/// `GET /headers/original/missing.png` (Mastodon's headers are 3:1).
pub async fn missing_header() -> Response {
    static PNG: OnceLock<Vec<u8>> = OnceLock::new();
    serve(PNG.get_or_init(|| flat_png(300, 100, [0x9b, 0xae, 0xc8])))
}

/// `GET /images/preview.png`, the instance thumbnail (the 1.91:1 shape of link
/// previews).
pub async fn instance_thumbnail() -> Response {
    static PNG: OnceLock<Vec<u8>> = OnceLock::new();
    serve(PNG.get_or_init(|| flat_png(240, 126, [0x63, 0x64, 0xff])))
}

fn serve(png: &'static [u8]) -> Response {
    (
        [
            (header::CONTENT_TYPE, "image/png"),
            (header::CACHE_CONTROL, CACHE_CONTROL),
        ],
        png,
    )
        .into_response()
}

/// A `width`×`height` PNG of one colour: palette colour type with one entry, one
/// bit per pixel, every pixel index 0.
pub fn flat_png(width: u32, height: u32, rgb: [u8; 3]) -> Vec<u8> {
    let row_bytes = width.div_ceil(8) as usize;
    // Each scanline is a filter-type byte (0, none) followed by the pixels, all zero.
    let raw = vec![0u8; height as usize * (1 + row_bytes)];

    let mut ihdr = Vec::with_capacity(13);
    ihdr.extend_from_slice(&width.to_be_bytes());
    ihdr.extend_from_slice(&height.to_be_bytes());
    // Bit depth 1, colour type 3 (palette), deflate, adaptive filtering, no interlace.
    ihdr.extend_from_slice(&[1, 3, 0, 0, 0]);

    let mut png = b"\x89PNG\r\n\x1a\n".to_vec();
    chunk(&mut png, b"IHDR", &ihdr);
    chunk(&mut png, b"PLTE", &rgb);
    chunk(&mut png, b"IDAT", &zlib_stored(&raw));
    chunk(&mut png, b"IEND", &[]);
    png
}

/// Appends a PNG chunk: length, type, data, CRC of type and data.
fn chunk(out: &mut Vec<u8>, kind: &[u8; 4], data: &[u8]) {
    out.extend_from_slice(&(data.len() as u32).to_be_bytes());
    let start = out.len();
    out.extend_from_slice(kind);
    out.extend_from_slice(data);
    let crc = crc32(&out[start..]);
    out.extend_from_slice(&crc.to_be_bytes());
}

/// A zlib stream (RFC 1950) of deflate "stored" blocks (RFC 1951 §3.2.4): no
/// compression, which the small images here do not need.
fn zlib_stored(data: &[u8]) -> Vec<u8> {
    // CMF 0x78 (deflate, 32K window), FLG 0x01 (no dictionary; CMF*256+FLG is a
    // multiple of 31).
    let mut out = vec![0x78, 0x01];
    let mut blocks = data.chunks(0xffff).peekable();
    if blocks.peek().is_none() {
        out.extend_from_slice(&[1, 0, 0, 0xff, 0xff]);
    }
    while let Some(block) = blocks.next() {
        let last = blocks.peek().is_none();
        out.push(u8::from(last));
        let len = block.len() as u16;
        out.extend_from_slice(&len.to_le_bytes());
        out.extend_from_slice(&(!len).to_le_bytes());
        out.extend_from_slice(block);
    }
    out.extend_from_slice(&adler32(data).to_be_bytes());
    out
}

fn adler32(data: &[u8]) -> u32 {
    let (mut a, mut b) = (1u32, 0u32);
    for &byte in data {
        a = (a + u32::from(byte)) % 65521;
        b = (b + a) % 65521;
    }
    (b << 16) | a
}

/// CRC-32 (ISO 3309, the one PNG uses), bit by bit: it runs a few times per process.
fn crc32(data: &[u8]) -> u32 {
    let mut crc = 0xffff_ffffu32;
    for &byte in data {
        crc ^= u32::from(byte);
        for _ in 0..8 {
            crc = if crc & 1 != 0 {
                (crc >> 1) ^ 0xedb8_8320
            } else {
                crc >> 1
            };
        }
    }
    !crc
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn checksums_match_known_values() {
        assert_eq!(crc32(b"123456789"), 0xcbf4_3926);
        assert_eq!(adler32(b"Wikipedia"), 0x11e6_0398);
        // The CRC of an IEND chunk is the same in every PNG.
        let mut iend = Vec::new();
        chunk(&mut iend, b"IEND", &[]);
        assert_eq!(iend, b"\0\0\0\0IEND\xaeB`\x82");
    }

    #[test]
    fn large_images_span_several_stored_blocks() {
        let data = vec![0u8; 70_000];
        let z = zlib_stored(&data);
        assert_eq!(z.len(), 2 + (5 + 65_535) + (5 + 4_465) + 4);
        assert_eq!(z[2], 0, "first block is not the last");
        assert_eq!(z[2 + 5 + 65_535], 1, "second block is the last");
    }
}
